"""Music corpora on disk: folders of MIDI files, notes archives, and the labels files beside them.

A folder is read file by file; files that cannot be used are skipped and counted by reason. A
notes archive (.npz) holds many pieces as note lists, read with numpy alone (no mido).
"""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genforge.domains.music.midi import MAX_TICKS_PER_BEAT, MidiError, grid_segments, nearest_step, read_midi
from genforge.domains.music.roll import Piece, Voice, check_steps_per_beat
from genforge.errors import GenforgeError

MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".smf")
LABEL_FILES = ("labels.csv", "labels.json")


# ---------------------------------------------------------------- folders

@dataclass
class MusicFolder:
    """Pieces read from a folder; files that could not be used are listed with their reasons."""

    root: Path
    pieces: list[Piece]
    skipped: list[tuple[Path, str, str]] = field(default_factory=list)   # path, reason, message

    def skip_counts(self) -> Counter:
        return Counter(reason for _, reason, _ in self.skipped)

    def summary(self) -> str:
        """One line: the folder (relative to the current folder, as bundles record data folders),
        the pieces read and the files skipped by reason."""
        from genforge.bundle import relative_path

        counts = ", ".join(f"{r} {n}" for r, n in sorted(self.skip_counts().items()))
        return f"{relative_path(self.root)}: {len(self.pieces)} MIDI file(s) read" + \
            (f"; {len(self.skipped)} skipped ({counts})" if self.skipped else "")


def _is_midi_header(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"MThd"
    except OSError:
        return False


def _candidate_files(root: Path, recursive: bool) -> list[Path]:
    """Files under root, hidden ones and label sidecars left out."""
    out = []
    try:
        for p in (root.rglob("*") if recursive else root.iterdir()):
            rel = p.relative_to(root)
            if any(part.startswith(".") for part in rel.parts) or p.name.lower() in LABEL_FILES:
                continue
            if p.is_file():
                out.append(p)
    except OSError as e:
        raise GenforgeError(f"{root}: cannot list the folder: {e.strerror or e}") from None
    return sorted(out)


def read_folder(path: str | Path, recursive: bool = True, steps_per_beat: int = 4) -> MusicFolder:
    """Every MIDI file under a folder (or one file). Unusable files are skipped and counted; the
    call fails only when nothing usable remains."""
    check_steps_per_beat(steps_per_beat)
    root = Path(path)
    if not root.exists():
        raise GenforgeError(f"{root}: no such file or folder")
    files = [root] if root.is_file() else _candidate_files(root, recursive)
    pieces, skipped = [], []
    for f in files:
        if f.suffix.lower() == ARCHIVE_SUFFIX:
            try:
                pieces += read_notes_archive(f, steps_per_beat)
            except MidiError as e:
                skipped.append((f, e.reason, str(e)))
            continue
        if f.suffix.lower() not in MIDI_SUFFIXES and not _is_midi_header(f):
            skipped.append((f, "not a MIDI file", f"{f}: not a MIDI file"))
            continue
        try:
            pieces.append(read_midi(f, steps_per_beat))
        except MidiError as e:
            skipped.append((f, e.reason, str(e)))
    if not pieces:
        if not files:
            raise GenforgeError(f"{root}: no files in this folder")
        counts = ", ".join(f"{r} {n}" for r, n in sorted(Counter(r for _, r, _ in skipped).items()))
        first = skipped[0][2] if skipped else ""
        raise GenforgeError(f"{root}: no usable MIDI file among {len(files)} file(s) ({counts}); first: {first}")
    return MusicFolder(root if root.is_dir() else root.parent, pieces, skipped)


# ---------------------------------------------------------------- notes archives

ARCHIVE_SUFFIX = ".npz"
ARCHIVE_FORMAT = "genforge-notes"
ARCHIVE_VERSION = 1


@dataclass
class ArchivePiece:
    """One piece for a notes archive, in ticks (`ticks_per_beat` per quarter note)."""

    name: str                                   # e.g. "riem002_bwv347.mid": what reports and labels files use
    notes: np.ndarray                           # (N, 4) int: voice, pitch, start tick, end tick (exclusive)
    time_signatures: list[tuple[int, int, int]]  # (tick, numerator, denominator), the first at tick 0
    source: str = ""


def write_notes_archive(path: str | Path, pieces: list[ArchivePiece], voices: list[Voice], ticks_per_beat: int,
                        tempo: float, extra: dict[str, np.ndarray] | None = None) -> Path:
    """Many pieces in one compressed .npz: far smaller than MIDI files, read without mido.
    Every piece has the same voices (e.g. S, A, T, B) and tempo. Written atomically."""
    from genforge.atomic import atomic_path

    if not pieces:
        raise GenforgeError(f"{path}: no pieces to write")
    notes = [np.asarray(p.notes, np.int64).reshape(-1, 4) for p in pieces]
    for p, n in zip(pieces, notes):
        if len(n) and (n[:, 0].min() < 0 or n[:, 0].max() >= len(voices) or n[:, 1].min() < 0
                       or n[:, 1].max() > 127 or (n[:, 3] <= n[:, 2]).any() or n[:, 2].min() < 0):
            raise GenforgeError(f"{path}: piece {p.name} has a note outside its voices, pitches or times")
    allnotes = np.concatenate(notes)
    sigs = [np.asarray(p.time_signatures, np.int64).reshape(-1, 3) for p in pieces]
    arrays = {
        "format": np.array(ARCHIVE_FORMAT), "version": np.array(ARCHIVE_VERSION),
        "ticks_per_beat": np.array(ticks_per_beat), "tempo": np.array(float(tempo)),
        "names": np.array([p.name for p in pieces]), "sources": np.array([p.source for p in pieces]),
        "voice_names": np.array([v.name for v in voices]),
        "voice_programs": np.array([v.program for v in voices], np.uint8),
        "voice_channels": np.array([v.channel for v in voices], np.uint8),
        "note_counts": np.array([len(n) for n in notes], np.int32),
        "voice": allnotes[:, 0].astype(np.uint8), "pitch": allnotes[:, 1].astype(np.uint8),
        "start": allnotes[:, 2].astype(np.int32), "length": (allnotes[:, 3] - allnotes[:, 2]).astype(np.int32),
        "ts_counts": np.array([len(t) for t in sigs], np.int32),
        "ts": np.concatenate(sigs).astype(np.int32),
        **(extra or {}),
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    return path


def _load_archive(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a notes archive of this format and version; MidiError "not a notes archive" otherwise."""
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise MidiError(path, "not a notes archive", f"not a readable .npz file ({type(e).__name__}: {e})") from None
    if str(data.get("format", "")) != ARCHIVE_FORMAT:
        raise MidiError(path, "not a notes archive", "a .npz file but not a genforge notes archive")
    if int(data.get("version", -1)) != ARCHIVE_VERSION:
        raise MidiError(path, "not a notes archive", f"notes archive version {data.get('version')}; this "
                                                     f"genforge reads version {ARCHIVE_VERSION}")
    return data


def read_notes_archive(path: str | Path, steps_per_beat: int = 4) -> list[Piece]:
    """The pieces of a notes archive (see write_notes_archive) on a grid, as read_midi would give
    them. Raises MidiError (reason "not a notes archive" or "corrupt archive")."""
    spb = check_steps_per_beat(steps_per_beat)
    path = Path(path)
    data = _load_archive(path)
    try:
        tpb = int(data["ticks_per_beat"])
        us = int(round(60e6 / float(data["tempo"])))
        voices = [Voice(str(n), int(p), int(c)) for n, p, c in
                  zip(data["voice_names"], data["voice_programs"], data["voice_channels"])]
        note_ends = np.cumsum(data["note_counts"])
        ts_ends = np.cumsum(data["ts_counts"])
        cols = [data[k].astype(np.int64) for k in ("voice", "pitch", "start", "length")]
        if not (len(data["names"]) == len(note_ends) == len(ts_ends) and note_ends[-1] == len(cols[0])
                and ts_ends[-1] == len(data["ts"]) and 0 < tpb <= MAX_TICKS_PER_BEAT):
            raise ValueError("inconsistent counts")
    except (KeyError, ValueError, TypeError, IndexError, ZeroDivisionError) as e:
        raise MidiError(path, "corrupt archive", f"corrupt notes archive ({type(e).__name__}: {e})") from None
    voice, pitch, start, length = cols
    if len(voice) and (voice.max() >= len(voices) or pitch.max() > 127 or start.min() < 0 or length.min() < 1):
        raise MidiError(path, "corrupt archive", "corrupt notes archive (a note outside its voices, pitches or times)")

    def step(t):
        return nearest_step(t, spb, tpb)

    pieces = []
    n0 = t0 = 0
    for i, name in enumerate(data["names"]):
        n1, t1 = int(note_ends[i]), int(ts_ends[i])
        on, off = start[n0:n1], start[n0:n1] + length[n0:n1]
        s, e = step(on), step(off)
        snapped = int(np.count_nonzero(((on * spb) % tpb) | ((off * spb) % tpb)))
        short = e <= s
        e = np.where(short, s + 1, e)
        arr = np.stack([voice[n0:n1], pitch[n0:n1], s, e], axis=1)
        arr = arr[np.lexsort((arr[:, 1], arr[:, 0], arr[:, 2]))].astype(np.int32)
        sigs = [(int(t), int(a), int(b)) for t, a, b in data["ts"][t0:t1]]
        n0, t0 = n1, t1
        if not len(arr):
            continue
        segments, n_steps = grid_segments(sigs, [(0, us)], int(arr[:, 3].max()), spb, step)
        pieces.append(Piece(arr, n_steps, spb, segments, list(voices), path.parent / str(name), tpb, snapped,
                            int(short.sum()), 0))
    if not pieces:
        raise MidiError(path, "no notes", "no notes in this notes archive")
    return pieces


# ---------------------------------------------------------------- labels files

def read_labels(folder: str | Path) -> dict[str, str]:
    """A user's labels for the files of a folder: labels.csv (`file,label` rows, header optional)
    or labels.json (`{file: label}`). Keys are file paths relative to the folder, names or stems."""
    folder = Path(folder)
    found = [folder / n for n in LABEL_FILES if (folder / n).is_file()]
    if not found:
        return {}
    if len(found) > 1:
        raise GenforgeError(f"{folder}: both labels.csv and labels.json; keep one")
    path = found[0]
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise GenforgeError(f"{path}: not a UTF-8 text file") from None
    except OSError as e:
        raise GenforgeError(f"{path}: cannot read: {e.strerror}") from None
    labels: dict[str, str] = {}
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise GenforgeError(f"{path}:{e.lineno}: malformed JSON: {e.msg}") from None
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                                 for k, v in data.items()):
            raise GenforgeError(f"{path}: expected a JSON object {{\"file.mid\": \"label\"}} of strings")
        return {k.strip(): v.strip() for k, v in data.items()}
    for n, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if n == 1 and [c.strip().lower() for c in row] == ["file", "label"]:
            continue
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise GenforgeError(f"{path}:{n}: expected `file,label`, got {','.join(row)!r}")
        labels[row[0].strip()] = row[1].strip()
    return labels


def label_of(labels: dict[str, str], folder: Path, path: Path) -> str | None:
    """The label read_labels' `labels` (of `folder`) give the file at `path`: by its path relative to
    the folder, else its name, else its stem; None if none matches."""
    try:
        rel = path.relative_to(folder).as_posix()
    except ValueError:
        rel = path.name
    for key in (rel, path.name, path.stem):
        if key in labels:
            return labels[key]
    return None


def nearest_labels(start: Path, root: Path, cache: dict[Path, dict]) -> tuple[dict[str, str], Path]:
    """The labels of the nearest labels file at or above the folder `start`, up to `root`, and the
    folder holding it ({} and `root` when there is none). `cache`: folder -> read_labels, shared
    between calls."""
    d, side, side_root = start, {}, root
    while True:
        if d not in cache:
            cache[d] = read_labels(d)
        if cache[d]:
            side, side_root = cache[d], d
            break
        if d == root or root not in d.parents:
            break
        d = d.parent
    return side, side_root
