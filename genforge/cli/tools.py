"""`genforge check`, `info`, `export` and `datasets build`: commands around the models."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from genforge.cli.common import print_description, recorded_command, report_written

datasets_app = typer.Typer(help="Build the corpora genforge ships (under datasets/).", no_args_is_help=True)
build_app = typer.Typer(help="Build a corpus from its source.", no_args_is_help=True)
datasets_app.add_typer(build_app, name="build")


def check_levels(
    files: list[Path] = typer.Argument(..., help="Level files: VGLC .txt (legend in their folder) or Tiled .tmj."),
    game: Optional[str] = typer.Option(None, help="Game preset for files that do not say (a bare .txt)."),
    png: Optional[Path] = typer.Option(None, "--png", help="Draw the path (or where it fails): a .png file for "
                                       "one level, else a folder of NAME-check.png."),
):
    """Is each level playable? Prints the path found or where the player gets stuck.

    Exit status 0 if every level is playable, 1 if any is not, 2 for bad input.

    Examples:

      genforge check outputs/levels/level-7-000.tmj

      genforge check "../shared/datasets/vglc/Super Mario Bros/mario-1-1.txt" --png outputs/1-1-path.png
    """
    from genforge.domains.levels.check import check_files

    raise typer.Exit(0 if check_files(files, game, png, typer.echo) else 1)


def info(model: Path = typer.Argument(..., help="Run folder."),
         as_json: bool = typer.Option(False, "--json", help="Print the whole metadata as JSON.")):
    """Describe a run: shape, tile vocabulary, labels, metrics and the command that trained it.

    Example:

      genforge info outputs/runs/smb
    """
    if as_json:
        import json

        from genforge.bundle import open_bundle

        typer.echo(json.dumps(open_bundle(model).meta, indent=2))
    else:
        print_description(model)


def export_decoder(model: Path = typer.Argument(..., help="Run folder."),
                   out: Path = typer.Option(..., "--out", help="Folder for the engine package.")):
    """Write a decoder package for a game engine: decoder.onnx, a JSON sidecar and a README.

    Example:

      genforge export outputs/runs/smb --out outputs/smb-decoder
    """
    from genforge.export import export

    report_written(export(model, out), "decoder package")


@build_app.command("chorales")
def build_chorales(
    ctx: typer.Context,
    out: Path = typer.Option(Path("datasets/chorales"), "--out", help="Folder for chorales.npz and PROVENANCE.md."),
):
    r"""Convert the Bach chorales bundled with music21 into datasets/chorales/ (needs the chorales extra).

    Writes chorales.npz (the notes of every chorale, S/A/T/B) and PROVENANCE.md. Train on it with
    `genforge train music --data datasets/chorales`, which needs no music21.

    Example:

      pip install "genforge\[chorales]" && genforge datasets build chorales
    """
    from genforge.domains.music.chorales import build

    report_written(build(out, recorded_command(ctx)), "chorales corpus")


JOBS_HELP = "Processes converting at once (default: every core). Finished pieces are cached in OUT/.cache: " \
            "the same command after an interruption goes on where it stopped."


@build_app.command("folk")
def build_folk(
    ctx: typer.Context,
    out: Path = typer.Option(Path("datasets/folk"), "--out", help="Folder for the archives and PROVENANCE.md."),
    jobs: int = typer.Option(os.cpu_count() or 1, "--jobs", "-j", help=JOBS_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    r"""Convert the folk melodies bundled with music21 (Essen, O'Neill's, Ryan's) into datasets/folk/.

    Writes essen.npz, oneills.npz and ryans.npz (one melody voice per tune, every metre) and
    PROVENANCE.md. Train on them with `genforge train music --data datasets/folk`.

    Example:

      pip install "genforge\[corpora]" && genforge datasets build folk
    """
    from genforge.domains.music.folk import build

    report_written(build(out, recorded_command(ctx), jobs, quiet=quiet), "folk corpus")


@build_app.command("palestrina")
def build_palestrina(
    ctx: typer.Context,
    out: Path = typer.Option(Path("datasets/palestrina"), "--out", help="Folder for the archives and PROVENANCE.md."),
    jobs: int = typer.Option(os.cpu_count() or 1, "--jobs", "-j", help=JOBS_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    r"""Convert Palestrina's masses bundled with music21 (4-6 voices) into datasets/palestrina/.

    Writes one archive per number of voices (palestrina-4v.npz, ...) and PROVENANCE.md. Train on
    them with `genforge train music --data datasets/palestrina/palestrina-4v.npz`.

    Example:

      pip install "genforge\[corpora]" && genforge datasets build palestrina
    """
    from genforge.domains.music.palestrina import build

    report_written(build(out, recorded_command(ctx), jobs, quiet=quiet), "Palestrina corpus")
