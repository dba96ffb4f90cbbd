"""`genforge sample` and `genforge interpolate`, for levels and music: through the exported decoder."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from genforge.cli.common import MODEL_HELP, report_written
from genforge.errors import GenforgeError

sample_app = typer.Typer(help="Sample new content from a model (the bundled default if no --model).",
                         no_args_is_help=True)
interpolate_app = typer.Typer(help="Walk the latent space between two seeds or two real files.", no_args_is_help=True)


@sample_app.command("levels")
def sample_levels(
    n: int = typer.Option(8, "-n", help="How many levels."),
    seed: int = typer.Option(0, help="Same seed, same levels."),
    out: Path = typer.Option(Path("outputs/levels"), "--out", help="Folder to write .tmj, .txt and .png files to."),
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    condition: Optional[str] = typer.Option(None, help="Label to generate (a game, for multi-game models)."),
    temperature: float = typer.Option(0.0, help="0: most likely tile per cell; > 0: draw tiles at this temperature."),
    playable: bool = typer.Option(False, "--playable", help="Every level passes the playability checker and "
                                  "keeps its structures whole (rejected draws are replaced: fresh draws, then a "
                                  "latent search near the last one)."),
    length: Optional[int] = typer.Option(None, "--length", help="Whole levels this many tiles long (columns; rows "
                                         "for climbing games), chained from windows that join without seams."),
    raw: bool = typer.Option(False, "--raw", help="The decoder's raw output: broken pipes and cannons are left as "
                             "they are instead of mended (not with --playable or --length)."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
):
    """Sample levels as Tiled maps (.tmj), VGLC text and PNG previews.

    Examples:

      genforge sample levels -n 8 --seed 7 --out outputs/levels

      genforge sample levels --model outputs/runs/multi --condition "Kid Icarus" -n 4

      genforge sample levels -n 20 --playable --out outputs/levels

      genforge sample levels -n 4 --length 200 --playable --out outputs/long
    """
    from genforge.generate import sample

    stats: dict = {}
    if raw and (playable or length):
        raise GenforgeError("--raw cannot go with --playable or --length: those guarantee whole structures")
    report_written(sample(model, "levels", n, seed, out, condition, temperature, quiet, playable=playable, stats=stats,
                   length=length, repair=not raw), f"{n} levels" + (f" of {length}" if length else ""))
    if length:
        typer.echo(f"chained: {stats['windows_decoded_per_level']:.0f} windows decoded per level, "
                   f"{stats['restarts_per_level']:.2f} restarts per level")
    elif stats:
        typer.echo(f"playable: {stats['attempts_per_level']:.2f} attempts per accepted level (most "
                   f"{stats['most_attempts']}); {stats['first_draw_playable']:.0%} playable at the first draw")


@sample_app.command("music")
def sample_music(
    n: int = typer.Option(8, "-n", help="How many pieces."),
    bars: Optional[int] = typer.Option(None, help="Bars per piece: must be the model's (default: the model's)."),
    seed: int = typer.Option(0, help="Same seed, same music."),
    out: Path = typer.Option(Path("outputs/music"), "--out", help="Folder to write .mid, .png and .wav files to."),
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    condition: Optional[str] = typer.Option(None, help="Label to generate, or words of labels: major, minor, "
                                            "3/4, \"minor 3/4\"... (default: drawn per piece as often as the "
                                            "training data has each)."),
    attribute: Optional[list[str]] = typer.Option(None, "--attribute", help="NAME=AMOUNT: push every sample "
                                                  "along an attribute vector (density, pitch_range, polyphony, "
                                                  "register, note_length); repeatable."),
    temperature: float = typer.Option(0.0, help="0: every note the decoder gives > 50%; > 0: draw notes at "
                                      "this temperature."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
):
    """Sample music as MIDI (.mid), piano-roll previews (.png) and audio previews (.wav).

    Examples:

      genforge sample music -n 4 --bars 4 --seed 3 --out outputs/music

      genforge sample music --model outputs/runs/bach -n 8 --condition minor --out outputs/music

      genforge sample music --model outputs/runs/bach -n 4 --attribute density=+1.5
    """
    from genforge.generate import sample

    report_written(sample(model, "music", n, seed, out, condition, temperature, quiet, attributes=_attributes(attribute),
                   require={"bars": bars}), f"{n} pieces")


def _attributes(items: Optional[list[str]]) -> dict[str, float]:
    """["density=+1.5", "pitch_range=-1"] -> {"density": 1.5, "pitch_range": -1.0}."""
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, amount = item.partition("=")
        try:
            value = float(amount)
        except ValueError:
            value = None
        if not sep or not name.strip() or value is None:
            raise GenforgeError(f"--attribute must look like NAME=AMOUNT (e.g. density=+1.5), got {item!r}")
        if name.strip() in out:
            raise GenforgeError(f"--attribute {name.strip()} given twice")
        out[name.strip()] = value
    return out


@interpolate_app.command("levels")
def interpolate_levels(
    steps: int = typer.Option(8, help="Points on the path, ends included."),
    out: Path = typer.Option(Path("outputs/interp"), "--out"),
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    from_seed: Optional[int] = typer.Option(None, help="Start at the latent this seed samples."),
    to_seed: Optional[int] = typer.Option(None, help="End at the latent this seed samples."),
    from_file: Optional[Path] = typer.Option(None, "--from", help="Start at a real level (.txt or .tmj)."),
    to_file: Optional[Path] = typer.Option(None, "--to", help="End at a real level (.txt or .tmj)."),
    condition: Optional[str] = typer.Option(None, help="Label for the whole path (multi-game models)."),
    linear: bool = typer.Option(False, help="Straight line instead of spherical interpolation."),
):
    """Interpolate between two levels in latent space; writes each step and a strip.png.

    Examples:

      genforge interpolate levels --model outputs/runs/smb --from-seed 1 --to-seed 2 --steps 8 --out outputs/interp

      genforge interpolate levels --model outputs/runs/smb --from a.tmj --to b.txt --steps 8 --out outputs/interp
    """
    from genforge.generate import interpolate

    paths = interpolate(model, "levels", steps, out, from_seed, to_seed,
                        str(from_file) if from_file else None, str(to_file) if to_file else None,
                        condition, not linear)
    report_written(paths, f"{steps} steps and a strip")


@interpolate_app.command("music")
def interpolate_music(
    steps: int = typer.Option(8, help="Points on the path, ends included."),
    out: Path = typer.Option(Path("outputs/interp"), "--out"),
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    from_seed: Optional[int] = typer.Option(None, help="Start at the latent this seed samples."),
    to_seed: Optional[int] = typer.Option(None, help="End at the latent this seed samples."),
    from_file: Optional[Path] = typer.Option(None, "--from", help="Start at a real piece (.mid): its first "
                                             "window in the model's metre."),
    to_file: Optional[Path] = typer.Option(None, "--to", help="End at a real piece (.mid)."),
    condition: Optional[str] = typer.Option(None, help="Label for the whole path (e.g. minor, 3/4; of several "
                                            "matching labels, the most frequent)."),
    linear: bool = typer.Option(False, help="Straight line instead of spherical interpolation."),
):
    """Interpolate between two pieces in latent space; writes each step (.mid, .png, .wav) and a strip.png.

    Examples:

      genforge interpolate music --model outputs/runs/bach --from a.mid --to b.mid --steps 6 --out outputs/interp

      genforge interpolate music --model outputs/runs/bach --from-seed 1 --to-seed 2 --steps 6 --out outputs/interp
    """
    from genforge.generate import interpolate

    paths = interpolate(model, "music", steps, out, from_seed, to_seed,
                        str(from_file) if from_file else None, str(to_file) if to_file else None,
                        condition, not linear)
    report_written(paths, f"{steps} steps and a strip")
