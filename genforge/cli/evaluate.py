"""`genforge evaluate levels | music`: samples measured beside held-out and training data."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from genforge.cli.common import MODEL_HELP

app = typer.Typer(help="Measure a model's samples against its corpus and held-out data.", no_args_is_help=True)


def _print_report(lines: list[str], out: Path) -> None:
    for line in lines:
        typer.echo(line)
    typer.echo(f"wrote report.json, report.md and figures to {out}")


@app.command("levels")
def evaluate_levels(
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    n: int = typer.Option(1000, "-n", help="How many unfiltered samples to measure."),
    out: Path = typer.Option(Path("outputs/eval"), "--out", help="Folder for report.json, report.md and PNGs."),
    data: Optional[list[Path]] = typer.Option(None, "--data", help="The model's level folders (default: the "
                                              "ones its training command names). Repeat per game."),
    seed: int = typer.Option(0, help="Same seed, same samples."),
    temperature: float = typer.Option(0.0, help="Decode as `sample levels` would at this temperature."),
    latent_map: str = typer.Option("pca", "--map", help="2-D map of the latent codes: pca (all of them) or tsne "
                                   "(t-SNE of up to 1,200, about 10 s)."),
):
    """Playability, structures, novelty, diversity, tile-pattern KL, per-window statistics, expressive
    range and a PCA (or t-SNE) map of samples, each beside the same figure for the held-out real levels.

    Examples:

      genforge evaluate levels -n 1000 --out outputs/eval/default

      genforge evaluate levels --model outputs/runs/smb -n 1000 --out outputs/eval/smb

      genforge evaluate levels -n 500 --map tsne --out outputs/eval/tsne
    """
    from genforge.evaluate.level_report import summary_lines
    from genforge.evaluate.levels import evaluate_levels as run

    _print_report(summary_lines(run(model, n, out, seed, data, temperature=temperature, latent_map=latent_map)), out)


@app.command("music")
def evaluate_music(
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    n: int = typer.Option(500, "-n", help="Samples per condition (each label, or --condition only)."),
    out: Path = typer.Option(Path("outputs/eval/music"), "--out", help="Folder for report.json, report.md and PNGs."),
    data: Optional[list[Path]] = typer.Option(None, "--data", help="The MIDI folder or notes archive the model was "
                                              "trained on (default: the one its training command names). "
                                              "Repeat for several folders."),
    seed: int = typer.Option(0, help="Same seed, same samples (the draws of `sample music --seed`)."),
    condition: Optional[str] = typer.Option(None, help="Only this label (e.g. \"minor 4/4\"; of several matching "
                                            "labels, the most frequent); default: every label."),
    temperature: float = typer.Option(0.0, help="Decode as `sample music` would at this temperature."),
):
    """Polyphony, pitch classes per bar, in-scale share, mode agreement, empty-bar and qualified-note
    rates, novelty and per-window attributes of the samples, each beside the same figure for the
    held-out real music (whole pieces the model never trained on) and the training windows.

    Examples:

      genforge evaluate music -n 500 --out outputs/eval/music

      genforge evaluate music --model outputs/runs/bach -n 500 --out outputs/eval/bach

      genforge evaluate music --model outputs/runs/chorales --data datasets/chorales --condition minor
    """
    from genforge.evaluate.music import evaluate_music as run
    from genforge.evaluate.music_report import summary_lines

    _print_report(summary_lines(run(model, n, out, seed, data, condition, temperature)), out)
