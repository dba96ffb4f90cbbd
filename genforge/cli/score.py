"""`genforge score levels | music`: the style score of files, per window, as percentiles among the
held-out real windows (onnxruntime + numpy)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from genforge.cli.common import MODEL_HELP, report_written

app = typer.Typer(help="How much files look like the model's data: a style score per window and file.",
                  no_args_is_help=True)


def _pct(value) -> str:
    return "-" if value is None else f"{value:.0f}"


def _run(domain: str, files: list[Path], out: Path, model: Optional[Path], condition: Optional[str]) -> None:
    from genforge.score import score_files

    report, written = score_files(model, domain, files, out, condition)
    unit = "column" if domain == "levels" else "bar"
    for name, r in report["files"].items():
        pct = "no reference" if r["percentile"] is None else f"percentile {r['percentile']:.0f}"
        worst = ", ".join(f"{unit} {w['first_' + unit]} ({_pct(w['percentile'])})" for w in r["worst"])
        typer.echo(f"{name}: score {r['score']:+.3f} nats/cell, {pct} among held-out {r['label'] or 'real'} windows; "
                   f"worst windows at {worst}")
    typer.echo(f"reference: {report['reference']}")
    report_written(written, "previews with the worst windows framed, and scores.json")


@app.command("levels")
def score_levels(
    files: list[Path] = typer.Argument(..., help="Level files: Tiled maps (.tmj) or VGLC text (.txt)."),
    out: Path = typer.Option(Path("outputs/score"), "--out", help="Folder for the previews and scores.json."),
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    condition: Optional[str] = typer.Option(None, help="The game to compare with (default: the map's, else the "
                                            "first)."),
    seed: int = typer.Option(0, help="Unused by the score (deterministic); accepted as every command does."),
):
    """Style score of levels: per 28-column window and per file, with percentiles among the held-out real windows.

    Examples:

      genforge score levels mylevel.tmj other.txt
    """
    _run("levels", files, out, model, condition)


@app.command("music")
def score_music(
    files: list[Path] = typer.Argument(..., help="MIDI files."),
    out: Path = typer.Option(Path("outputs/score"), "--out", help="Folder for the previews and scores.json."),
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    condition: Optional[str] = typer.Option(None, help="Label to compare with (default: each tune's mode)."),
    seed: int = typer.Option(0, help="Unused by the score (deterministic); accepted as every command does."),
):
    """Style score of music: per window (one a bar) and per file, with percentiles among the held-out real windows.

    Examples:

      genforge score music song.mid
    """
    _run("music", files, out, model, condition)
