"""The `genforge` command: parses arguments, calls library functions, prints what it wrote.

Training imports TensorFlow inside its command only: sample, interpolate and info never do.
"""
from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from genforge.errors import GenforgeError

app = typer.Typer(help="Train convolutional VAEs on game levels and music, and generate new ones.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
train_app = typer.Typer(help="Train a model; writes a run folder.", no_args_is_help=True)
sample_app = typer.Typer(help="Sample new content from a model (the bundled default if no --model).",
                         no_args_is_help=True)
interpolate_app = typer.Typer(help="Walk the latent space between two seeds or two real files.", no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(sample_app, name="sample")
datasets_app = typer.Typer(help="Build the corpora genforge ships (under datasets/).", no_args_is_help=True)
build_app = typer.Typer(help="Build a corpus from its source.", no_args_is_help=True)
app.add_typer(interpolate_app, name="interpolate")
app.add_typer(datasets_app, name="datasets")
datasets_app.add_typer(build_app, name="build")
evaluate_app = typer.Typer(help="Measure a model's samples against its corpus and held-out data.",
                           no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")

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
    _report(sample(model, "levels", n, seed, out, condition, temperature, quiet, playable=playable, stats=stats,
                   length=length, repair=not raw), f"{n} levels" + (f" of {length}" if length else ""))
    if length:
        typer.echo(f"chained: {stats['windows_decoded_per_level']:.0f} windows decoded per level, "
                   f"{stats['restarts_per_level']:.2f} restarts per level")
    elif stats:
        typer.echo(f"playable: {stats['attempts_per_level']:.2f} attempts per accepted level (most "
                   f"{stats['most_attempts']}); {stats['first_draw_playable']:.0%} playable at the first draw")


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


@app.command("check")
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
    from genforge.domains.playability import check_files

    raise typer.Exit(0 if check_files(files, game, png, typer.echo) else 1)


def _print_report(lines: list[str], out: Path) -> None:
    for line in lines:
        typer.echo(line)
    typer.echo(f"wrote report.json, report.md and figures to {out}")


@evaluate_app.command("levels")
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
    from genforge.evaluate import evaluate_levels as run, summary_lines

    _print_report(summary_lines(run(model, n, out, seed, data, temperature=temperature, latent_map=latent_map)), out)


@evaluate_app.command("music")
def evaluate_music(
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    n: int = typer.Option(500, "-n", help="Samples per condition (each label, or --condition only)."),
    out: Path = typer.Option(Path("outputs/eval/music"), "--out", help="Folder for report.json, report.md and PNGs."),
    data: Optional[list[Path]] = typer.Option(None, "--data", help="The MIDI folder or notes archive the model was "
                                              "trained on (default: the one its training command names). "
                                              "Repeat for several folders."),
    seed: int = typer.Option(0, help="Same seed, same samples (the draws of `sample music --seed`)."),
    condition: Optional[str] = typer.Option(None, help="Only this label (major or minor for a mode-conditioned "
                                            "model); default: every label."),
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
    from genforge.evaluate_music import evaluate_music as run, summary_lines

    _print_report(summary_lines(run(model, n, out, seed, data, condition, temperature)), out)


# ---------------------------------------------------------------- music

MUSIC_LABELS = ("mode", "folder", "sidecar", "none")


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


@train_app.command("music")
def train_music(
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
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Train a piano-roll VAE on MIDI files; conditioned on key mode by default.

    Examples:

      genforge train music --data ../shared/datasets/midi/bach_chorales_music21 --out outputs/runs/bach

      genforge train music --data datasets/chorales --out outputs/runs/chorales --epochs 20

      genforge train music --data DIR1 --data DIR2 --labels folder --out outputs/runs/two-styles
    """
    from genforge import config

    if labels not in MUSIC_LABELS:
        raise GenforgeError(f"unknown --labels {labels!r}; choose from {', '.join(MUSIC_LABELS)}")
    if not 1 <= bars <= 64:
        raise GenforgeError("--bars must be between 1 and 64")
    changes = {k: v for k, v in {"latent_dim": latent_dim, "beta": beta}.items() if v is not None}
    model_cfg = config.replace(config.MUSIC_MODEL, **changes)
    train_cfg = config.replace(config.MUSIC_TRAIN, seed=seed, **({"epochs": epochs} if epochs else {}))
    if not 1 <= train_cfg.epochs <= 10_000:
        raise GenforgeError("--epochs must be between 1 and 10000")
    if not 2 <= model_cfg.latent_dim <= 4096:
        raise GenforgeError("--latent must be between 2 and 4096")
    if model_cfg.beta < 0:
        raise GenforgeError("--beta must be at least 0")
    from genforge.train import train_music as run

    command = "genforge " + shlex.join(sys.argv[1:])
    path = run([str(d) for d in data], out, model_cfg, train_cfg, command, bars=bars,
               labels=None if labels == "none" else labels, quiet=quiet)
    from genforge.bundle import open_bundle

    _print_summary(open_bundle(path))


@sample_app.command("music")
def sample_music(
    n: int = typer.Option(8, "-n", help="How many pieces."),
    bars: Optional[int] = typer.Option(None, help="Bars per piece: must be the model's (default: the model's)."),
    seed: int = typer.Option(0, help="Same seed, same music."),
    out: Path = typer.Option(Path("outputs/music"), "--out", help="Folder to write .mid, .png and .wav files to."),
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    condition: Optional[str] = typer.Option(None, help="Label to generate: major or minor for a mode-conditioned "
                                            "model (default: drawn at random per piece)."),
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

    _report(sample(model, "music", n, seed, out, condition, temperature, quiet, attributes=_attributes(attribute),
                   require={"bars": bars}), f"{n} pieces")


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
    condition: Optional[str] = typer.Option(None, help="Label for the whole path (major or minor)."),
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
    _report(paths, f"{steps} steps and a strip")


@build_app.command("chorales")
def build_chorales(
    out: Path = typer.Option(Path("datasets/chorales"), "--out", help="Folder for chorales.npz and PROVENANCE.md."),
):
    r"""Convert the Bach chorales bundled with music21 into datasets/chorales/ (needs the chorales extra).

    Writes chorales.npz (the notes of every chorale, S/A/T/B) and PROVENANCE.md. Train on it with
    `genforge train music --data datasets/chorales`, which needs no music21.

    Example:

      pip install "genforge\[chorales]" && genforge datasets build chorales
    """
    from genforge.chorales import build

    command = "genforge " + shlex.join(sys.argv[1:])
    _report(build(out, command), "chorales corpus")


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
    if m["domain"] == "music":
        voices = ", ".join(f"{v['name']} (program {v['program']})" for v in codec["voices"])
        typer.echo(f"music      {codec['bars']} bars of {codec['time_signature'][0]}/{codec['time_signature'][1]}, "
                   f"{codec['steps_per_beat']} steps per beat, pitches {codec['low']}-{codec['high']}, "
                   f"{codec['tempo']:g} bpm")
        typer.echo(f"voices     {voices}")
    for split in ("train", "test"):
        s = m["metrics"].get(split)
        if s:
            f1 = f"  onset F1 {s['onset_f1']:.4f}" if s.get("onset_f1") is not None else ""
            typer.echo(f"{split:<10} accuracy {s['accuracy']:.4f}  non-empty {s['accuracy_non_empty']:.4f}{f1}  "
                       f"({s['windows']} windows)")
            for name, ps in s.get("per_label", {}).items():
                f1 = f"  onset F1 {ps['onset_f1']:.4f}" if ps.get("onset_f1") is not None else ""
                typer.echo(f"  {name:<30} {ps['accuracy']:.4f}  non-empty {ps['accuracy_non_empty']:.4f}{f1}")
    if m.get("attributes"):
        typer.echo(f"attributes {', '.join(m['attributes'])}  (sample with --attribute NAME=AMOUNT)")
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


def run() -> None:
    """The `genforge` command: main(), then out of the process without tearing the interpreter
    down. Every output is complete by then (written atomically, threads joined); the teardown
    only frees numpy's and onnxruntime's modules: 70-100 ms of a 0.5 s sampling run."""
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code
    if not isinstance(code, int):  # SystemExit("message") or SystemExit(None)
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away (`| head`), or a closed stream
            pass
    os._exit(code)


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
