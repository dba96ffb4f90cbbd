"""`genforge train levels | music`: settings from the options, then the training job."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from genforge.cli.common import print_description, recorded_command
from genforge.errors import GenforgeError

app = typer.Typer(help="Train a model; writes a run folder.", no_args_is_help=True)

MUSIC_LABELS = ("mode", "folder", "sidecar", "none")
RESUME_HELP = ("Go on from the checkpoint a killed run left in --out (written after every epoch): the same "
               "command, continued from its last whole epoch. Without it, such a folder is refused, not overwritten.")
WORKERS_HELP = ("Train as N worker processes on this machine (127.0.0.1) under tf.distribute's "
                "MultiWorkerMirroredStrategy, as a cluster of N machines would; the global batch stays the same. "
                "On a real cluster leave this out: each process started with TF_CONFIG set (or as one task of a "
                "Slurm step) trains as that worker.")


def _on_local_workers(ctx: typer.Context, workers: int, out: Path) -> None:
    """`--workers N`: the same command as N local worker processes; the chief shows what it wrote."""
    from genforge.cli.common import ARGV
    from genforge.cluster import train_on_local_workers

    train_on_local_workers(ctx.meta.get(ARGV, []), workers, out)


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


def _options(data: list[Path], out: Path, **options) -> dict:
    """Every option of the command by name, as the bundle records them (paths relative)."""
    from genforge.bundle import relative_path

    return {"data": [relative_path(d) for d in data], "out": relative_path(out), **options}


@app.command("levels")
def train_levels(
    ctx: typer.Context,
    data: list[Path] = typer.Option(..., "--data", help="Folder of levels (VGLC .txt + legend, or Tiled .tmj). "
                                    "Repeat for several games: the game becomes the condition."),
    out: Path = typer.Option(..., "--out", help="Run folder to write."),
    preset: str = typer.Option("vae", help="Model preset: vae, beta-vae or contractive-ae."),
    epochs: Optional[int] = typer.Option(None, help="Most epochs (early stopping may end sooner)."),
    latent_dim: Optional[int] = typer.Option(None, "--latent", help="Latent size."),
    beta: Optional[float] = typer.Option(None, help="Weight of the KL term."),
    window: Optional[str] = typer.Option(None, help="Window ROWSxCOLS; default: the game's (14x28 for Mario)."),
    seed: int = typer.Option(0, help="Random seed: same seed, same data split and model."),
    pad: bool = typer.Option(False, "--pad", help="Pad ragged level files (rows of unequal length) with the empty "
                             "tile instead of refusing them; each padded file and row is reported."),
    init_from: Optional[str] = typer.Option(None, "--init-from", help="Start from a trained run's weights (a run "
                                            "folder, or `bundled` for the bundled default model): a strong start for "
                                            "a game with few levels that shares tiles with the run's."),
    resume: bool = typer.Option(False, "--resume", help=RESUME_HELP),
    workers: Optional[int] = typer.Option(None, "--workers", help=WORKERS_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Train a level VAE.

    Examples:

      genforge train levels --data "../shared/datasets/vglc/Super Mario Bros" --out outputs/runs/smb

      genforge train levels --data DIR1 --data DIR2 --out outputs/runs/multi

      genforge train levels --data DIR --out outputs/runs/mine --resume

      genforge train levels --data DIR --out outputs/runs/mine --workers 2
    """
    from genforge import config
    from genforge.cluster import source

    if workers is not None:
        return _on_local_workers(ctx, workers, out)
    model_cfg, train_cfg = config.for_training("levels", preset, epochs, latent_dim, beta, seed)
    shape = _window(window)
    from genforge.train import train_levels as run

    options = _options(data, out, preset=preset, epochs=epochs, latent=latent_dim, beta=beta, window=window,
                       seed=seed, pad=pad, init_from=init_from, quiet=quiet)
    path = run([str(d) for d in data], out, model_cfg, train_cfg, recorded_command(ctx), shape, quiet, options, pad,
               init_from, resume, source())
    if path is not None:  # None: a worker other than the chief, which writes no run folder
        print_description(path)


@app.command("music")
def train_music(
    ctx: typer.Context,
    data: list[Path] = typer.Option(..., "--data", help="Folder of MIDI files (read recursively), or a notes "
                                    "archive such as datasets/chorales. Repeat for several folders."),
    out: Path = typer.Option(..., "--out", help="Run folder to write."),
    bars: int = typer.Option(4, help="Bars per window (the model's length)."),
    epochs: Optional[int] = typer.Option(None, help="Most epochs (early stopping may end sooner)."),
    latent_dim: Optional[int] = typer.Option(None, "--latent", help="Latent size."),
    beta: Optional[float] = typer.Option(None, help="Weight of the KL term."),
    seed: int = typer.Option(0, help="Random seed: same seed, same data split and model."),
    labels: str = typer.Option("mode", help="Condition: mode (major/minor, estimated from the notes; a "
                               "labels.csv/.json beside the files overrides), folder (each --data folder is a "
                               "label), sidecar (labels.csv/.json only; unlabelled files skipped) or none."),
    init_from: Optional[str] = typer.Option(None, "--init-from", help="Start from a trained run's weights (a run "
                                            "folder with the same voices, or `bundled`)."),
    resume: bool = typer.Option(False, "--resume", help=RESUME_HELP),
    workers: Optional[int] = typer.Option(None, "--workers", help=WORKERS_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Train a piano-roll VAE on MIDI files; conditioned on key mode by default.

    Examples:

      genforge train music --data ../shared/datasets/midi/bach_chorales_music21 --out outputs/runs/bach

      genforge train music --data datasets/chorales --out outputs/runs/chorales --epochs 20

      genforge train music --data DIR1 --data DIR2 --labels folder --out outputs/runs/two-styles
    """
    from genforge import config
    from genforge.cluster import source

    if workers is not None:
        return _on_local_workers(ctx, workers, out)
    if labels not in MUSIC_LABELS:
        raise GenforgeError(f"unknown --labels {labels!r}; choose from {', '.join(MUSIC_LABELS)}")
    if not 1 <= bars <= 64:
        raise GenforgeError("--bars must be between 1 and 64")
    model_cfg, train_cfg = config.for_training("music", "vae", epochs, latent_dim, beta, seed)
    from genforge.train import train_music as run

    options = _options(data, out, bars=bars, epochs=epochs, latent=latent_dim, beta=beta, seed=seed, labels=labels,
                       init_from=init_from, quiet=quiet)
    path = run([str(d) for d in data], out, model_cfg, train_cfg, recorded_command(ctx), bars=bars,
               labels=None if labels == "none" else labels, quiet=quiet, options=options, init_from=init_from,
               resume=resume, cluster=source())
    if path is not None:
        print_description(path)
