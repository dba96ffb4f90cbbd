"""The `genforge` command: parses arguments, calls library functions, prints what it wrote.

Training imports TensorFlow inside its command only: sample, interpolate and info never do.
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from genforge.errors import GenforgeError

app = typer.Typer(help="Train convolutional VAEs on game levels and generate new ones.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
train_app = typer.Typer(help="Train a model; writes a run folder.", no_args_is_help=True)
sample_app = typer.Typer(help="Sample new content from a model (the bundled default if no --model).",
                         no_args_is_help=True)
interpolate_app = typer.Typer(help="Walk the latent space between two seeds or two real files.", no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(sample_app, name="sample")
app.add_typer(interpolate_app, name="interpolate")

MODEL_HELP = "Run folder written by `genforge train`; the bundled default model if omitted."


def _report(paths: list[Path], what: str) -> None:
    folders = sorted({str(p.parent) for p in paths})
    typer.echo(f"wrote {len(paths)} files ({what}) to {', '.join(folders)}")


def _window(text: Optional[str]) -> Optional[tuple[int, int]]:
    if text is None:
        return None
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise GenforgeError(f"--window must look like 14x28 (rows x columns), got {text!r}") from None
    if not (2 <= h <= 256 and 2 <= w <= 256):
        raise GenforgeError(f"--window {text}: rows and columns must be between 2 and 256")
    return h, w


@train_app.command("levels")
def train_levels(
    data: list[Path] = typer.Option(..., "--data", help="Folder of levels (VGLC .txt + legend, or Tiled .tmj). "
                                    "Repeat for several games: the game becomes the condition."),
    out: Path = typer.Option(..., "--out", help="Run folder to write."),
    preset: str = typer.Option("vae", help="Model preset: vae, beta-vae or contractive-ae."),
    epochs: Optional[int] = typer.Option(None, help="Most epochs (early stopping may end sooner)."),
    latent_dim: Optional[int] = typer.Option(None, "--latent", help="Latent size."),
    beta: Optional[float] = typer.Option(None, help="Weight of the KL term."),
    window: Optional[str] = typer.Option(None, help="Window ROWSxCOLS; default: the game's (14x28 for Mario)."),
    seed: int = typer.Option(0, help="Random seed: same seed, same data split and model."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Train a level VAE.

    Examples:

      genforge train levels --data "../shared/datasets/vglc/Super Mario Bros" --out outputs/runs/smb

      genforge train levels --data DIR1 --data DIR2 --out outputs/runs/multi
    """
    from genforge import config

    if preset not in config.PRESETS:
        raise GenforgeError(f"unknown --preset {preset!r}; choose from {', '.join(config.PRESETS)}")
    changes = {k: v for k, v in {"latent_dim": latent_dim, "beta": beta}.items() if v is not None}
    model_cfg = config.replace(config.LEVELS_MODEL, **{**config.PRESETS[preset], **changes})
    train_cfg = config.replace(config.LEVELS_TRAIN, seed=seed, **({"epochs": epochs} if epochs else {}))
    if not 1 <= train_cfg.epochs <= 10_000:
        raise GenforgeError("--epochs must be between 1 and 10000")
    if not 2 <= model_cfg.latent_dim <= 4096:
        raise GenforgeError("--latent must be between 2 and 4096")
    from genforge.train import train_levels as run

    command = "genforge " + shlex.join(sys.argv[1:])
    path = run([str(d) for d in data], out, model_cfg, train_cfg, command, _window(window), quiet)
    from genforge.bundle import open_bundle

    _print_summary(open_bundle(path))


@sample_app.command("levels")
def sample_levels(
    n: int = typer.Option(8, "-n", help="How many levels."),
    seed: int = typer.Option(0, help="Same seed, same levels."),
    out: Path = typer.Option(Path("outputs/levels"), "--out", help="Folder to write .tmj, .txt and .png files to."),
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    condition: Optional[str] = typer.Option(None, help="Label to generate (a game, for multi-game models)."),
    temperature: float = typer.Option(0.0, help="0: most likely tile per cell; > 0: draw tiles at this temperature."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
):
    """Sample levels as Tiled maps (.tmj), VGLC text and PNG previews.

    Examples:

      genforge sample levels -n 8 --seed 7 --out outputs/levels

      genforge sample levels --model outputs/runs/multi --condition "Kid Icarus" -n 4
    """
    from genforge.generate import sample

    _report(sample(model, "levels", n, seed, out, condition, temperature, quiet), f"{n} levels")


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
    _report(paths, f"{steps} steps and a strip")


def _print_summary(bundle) -> None:
    m = bundle.meta
    typer.echo(f"model      {bundle.path}")
    typer.echo(f"domain     {m['domain']}  (genforge {m['genforge_version']}, run format {m['format_version']})")
    typer.echo(f"window     {' x '.join(map(str, m['shape']))}  latent {m['latent_dim']}  likelihood {m['likelihood']}")
    codec = m["codec"]
    if m["domain"] == "levels":
        for g in codec["games"]:
            tiles = ", ".join(f"{c} {'/'.join(g['legend'].get(c, [])[:2])}" for c in codec["vocabulary"]
                              if c in g["legend"])
            typer.echo(f"game       {g['name']}: {g['layout']} windows {g['window'][0]} x {g['window'][1]}")
            typer.echo(f"  tiles    {tiles}")
            if g.get("test_levels"):
                typer.echo(f"  held out {', '.join(g['test_levels'])}")
    typer.echo(f"labels     {', '.join(m['labels']) if m['labels'] else '(unconditional)'}")
    for split in ("train", "test"):
        s = m["metrics"].get(split)
        if s:
            typer.echo(f"{split:<10} accuracy {s['accuracy']:.4f}  non-empty {s['accuracy_non_empty']:.4f}  "
                       f"({s['windows']} windows)")
            for name, ps in s.get("per_label", {}).items():
                typer.echo(f"  {name:<30} {ps['accuracy']:.4f}  non-empty {ps['accuracy_non_empty']:.4f}")
    samples = m["metrics"].get("samples")
    if samples:
        typer.echo(f"samples    {samples['share_identical_to_training']:.1%} of {samples['n']} identical to a "
                   "training window")
    h = m.get("history", {})
    if h:
        typer.echo(f"training   {h.get('epochs_run')} epochs in {h.get('seconds', 0):.0f} s")
    typer.echo(f"command    {m['command']}")
    for note in m.get("notes", []):
        typer.echo(f"note       {note}")


@app.command()
def info(model: Path = typer.Argument(..., help="Run folder."),
         as_json: bool = typer.Option(False, "--json", help="Print the whole metadata as JSON.")):
    """Describe a run: shape, tile vocabulary, labels, metrics and the command that trained it.

    Example:

      genforge info outputs/runs/smb
    """
    from genforge.bundle import open_bundle

    bundle = open_bundle(model)
    if as_json:
        import json

        typer.echo(json.dumps(bundle.meta, indent=2))
    else:
        _print_summary(bundle)


@app.command("export")
def export_decoder(model: Path = typer.Argument(..., help="Run folder."),
                   out: Path = typer.Option(..., "--out", help="Folder for the engine package.")):
    """Write a decoder package for a game engine: decoder.onnx, a JSON sidecar and a README.

    Example:

      genforge export outputs/runs/smb --out outputs/smb-decoder
    """
    from genforge.export import export

    _report(export(model, out), "decoder package")


def main() -> None:
    try:
        app()
    except GenforgeError as e:
        typer.echo(f"genforge: error: {e}", err=True)
        raise SystemExit(2) from None
    except OSError as e:  # a path the user gave that cannot be written or read
        where = e.filename or ""
        typer.echo(f"genforge: error: {where}: {e.strerror or e}", err=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        typer.echo("genforge: interrupted", err=True)
        raise SystemExit(130) from None
