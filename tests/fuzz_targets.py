"""What each fuzzed reader is asked to do with a case, and how its ending is judged.

The contract: every case ends in a result (which must make sense: a level's tiles are in its
legend, a piece's notes inside its voices, pitches and steps) or in one GenforgeError, the error
the CLI prints as one `genforge: error:` line with exit status 2, whose message is one line and
names the file or folder. Anything else is a "traceback": another exception, an error message
over several lines or naming nothing, or a result that does not hold together.
"""
from __future__ import annotations

import contextlib
import io
import signal
import traceback
from pathlib import Path

from genforge.errors import GenforgeError

OUTCOMES = ("result", "clean error", "traceback", "hang", "memory")
MOST_MESSAGE = 1500


class Hang(BaseException):
    """Raised by the in-process alarm (the test suite's guard; benchmarks/fuzz.py kills a worker instead)."""


def _check_level(level, legend) -> None:
    grid = level.grid
    assert grid.ndim == 2 and grid.size > 0, f"level {level.name} has shape {grid.shape}"
    unknown = set(grid.reshape(-1).tolist()) - set(legend.tiles)
    assert not unknown, f"level {level.name} has tiles {sorted(unknown)[:5]} outside its legend"


def read_levels(path: Path, pad: bool = False):
    from genforge.domains.levels.read import read_level_folder

    ls = read_level_folder(path, pad=pad)
    assert ls.levels, "a level set without levels"
    assert all(isinstance(n, int) and n > 0 for n in ls.window), f"window {ls.window}"
    for level in ls.levels:
        _check_level(level, ls.legend)
    return ls


def read_tiled(path: Path):
    from genforge.domains.levels.read import read_tmj

    level, legend = read_tmj(path, "fuzz")
    _check_level(level, legend)
    return level


def check_piece(piece) -> None:
    from genforge.domains.music.midi import MAX_CELLS

    n = piece.notes
    v = len(piece.voices)
    assert n.ndim == 2 and n.shape[1] == 4, f"notes of shape {n.shape}"
    assert piece.n_steps > 0 and piece.n_steps * max(v, 1) <= MAX_CELLS * 2, f"{piece.n_steps} steps x {v} voices"
    if len(n):
        assert n[:, 0].min() >= 0 and n[:, 0].max() < v, "a note outside the voices"
        assert n[:, 1].min() >= 0 and n[:, 1].max() <= 127, "a pitch outside 0..127"
        assert n[:, 2].min() >= 0 and (n[:, 3] > n[:, 2]).all() and n[:, 3].max() <= piece.n_steps, "a note's steps"
    assert piece.segments and piece.segments[0].start == 0 and piece.segments[-1].end == piece.n_steps, "segments"
    for s in piece.segments:
        num, den = s.time_signature
        assert num >= 1 and den >= 1 and 0 < s.tempo < float("inf"), f"segment {s}"


def read_midi(path: Path):
    from genforge.domains.music.midi import read_midi

    piece = read_midi(path)
    check_piece(piece)
    return piece


def read_labels(path: Path):
    from genforge.domains.music.corpus import read_labels

    labels = read_labels(path)
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in labels.items()), "labels not str -> str"
    return labels


def read_archive(path: Path):
    from genforge.domains.music.corpus import read_notes_archive

    pieces = read_notes_archive(path)
    assert pieces, "an archive read as no pieces"
    for piece in pieces:
        check_piece(piece)
    return pieces


def load_model(path: Path, domain: str | None = None, keras: bool = False):
    """What loading a model reads, and what sampling one and `genforge info` do with it; `keras`:
    also its .keras files as `--init-from` loads them (TensorFlow: only for cases that changed one)."""
    from genforge import runtime
    from genforge.bundle import META_FILE, open_bundle
    from genforge.cli.common import print_description
    from genforge.domains import codec_for

    bundle = open_bundle(path, domain)
    bundle.prior
    codec = codec_for(bundle.meta, path / META_FILE)
    net = runtime.decoder(bundle)
    z, ids = runtime.sample_latents(bundle, 2, 0, None)
    assets = runtime.decode_assets(bundle, codec, z, ids, net=net)
    assert len(assets) == 2, f"{len(assets)} assets"
    out = path.parent / "out"  # as `genforge sample --out` writes: one sample
    out.mkdir(exist_ok=True)
    codec.export(assets[0], int(ids[0]), out, "sample", {"model": str(path)})
    runtime.encoder(bundle)
    with contextlib.redirect_stdout(io.StringIO()):
        print_description(path)
    if keras:
        from genforge.core.keras_file import load_keras

        for name in ("decoder_keras", "encoder_keras"):
            load_keras(bundle.file(name))
    return assets


TARGETS = {"levels": read_levels, "tiled": read_tiled, "midi": read_midi, "labels": read_labels,
           "archive": read_archive, "model": load_model}


def _listing(root: Path) -> set[str]:
    """Every file under the case folder but the output folder `out` (what a reader may write)."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.relative_to(root).parts[0] != "out"}


def judge(reader: str, entry: Path, options: dict, root: Path, alarm_s: float | None = None) -> tuple[str, str]:
    """(outcome, detail) of one case: OUTCOMES[0..2] here; with `alarm_s`, a case still running after
    that long is stopped by SIGALRM as a "hang" (Python code only: benchmarks/fuzz.py uses processes).
    A reader that leaves a file anywhere under the case folder but `out/` fails too."""
    before = _listing(root)
    outcome, detail = _run(reader, entry, options, root, alarm_s)
    if outcome in ("result", "clean error") and _listing(root) != before:
        return "traceback", f"wrote outside its output folder: {sorted(_listing(root) ^ before)[:5]}"
    return outcome, detail


def _run(reader: str, entry: Path, options: dict, root: Path, alarm_s: float | None) -> tuple[str, str]:
    def on_alarm(signum, frame):
        raise Hang()

    if alarm_s:
        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, alarm_s)
    try:
        TARGETS[reader](entry, **options)
        return "result", ""
    except GenforgeError as e:
        message = str(e)
        if "\n" in message or "\r" in message or len(message) > MOST_MESSAGE:
            return "traceback", f"a GenforgeError that is not one short line: {message[:300]!r}"
        if str(root) not in message:
            return "traceback", f"a GenforgeError naming no file: {message[:300]!r}"
        return "clean error", message
    except Hang:
        return "hang", f"still running after {alarm_s} s"
    except MemoryError:
        return "memory", "MemoryError"
    except AssertionError as e:
        return "traceback", f"a result that does not hold together: {e}"
    except Exception as e:
        return "traceback", "".join(traceback.format_exception(type(e), e, e.__traceback__)[-6:])[-3000:]
    finally:
        if alarm_s:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
