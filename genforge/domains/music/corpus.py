"""Music corpora on disk: folders of MIDI files, notes archives, and the labels files beside them.

A folder is read file by file; files that cannot be used are skipped and counted by reason. A
notes archive (.npz) holds many pieces as note lists, read with numpy alone (no mido).
"""
from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genforge.domains.music.midi import MAX_TICKS_PER_BEAT, MidiError, grid_segments, nearest_step, read_midi
from genforge.domains.music.roll import Piece, Voice, check_steps_per_beat
from genforge.errors import GenforgeError, brief

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


MAX_ARCHIVE_BYTES = 4 << 30  # the arrays of one archive, from their headers; the chorales take 1.3 MB


def _load_archive(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a notes archive of this format and version; MidiError "not a notes archive" otherwise.
    Read without pickle, each array's size checked from its header before it is read."""
    import zipfile
    import zlib

    from genforge.trust import npz_arrays

    try:
        npz_arrays(path, MAX_ARCHIVE_BYTES)
    except ValueError as e:
        raise MidiError(path, "not a notes archive", brief(e, 200)) from None
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error, RuntimeError, NotImplementedError) as e:
        raise MidiError(path, "not a notes archive", f"not a readable .npz file ({type(e).__name__}: "
                                                     f"{brief(e, 160)})") from None
    fmt, version = data.get("format"), data.get("version")
    if fmt is None or fmt.shape != () or fmt.dtype.kind != "U" or str(fmt) != ARCHIVE_FORMAT:
        raise MidiError(path, "not a notes archive", "a .npz file but not a genforge notes archive")
    if version is None or version.shape != () or version.dtype.kind not in "iu" or int(version) != ARCHIVE_VERSION:
        raise MidiError(path, "not a notes archive", f"notes archive version {brief(version, 20)}; this "
                                                     f"genforge reads version {ARCHIVE_VERSION}")
    return data


def _archive_arrays(path: Path, data: dict[str, np.ndarray]) -> dict:
    """The archive's arrays checked against each other: types, shapes, counts that add up, notes
    inside their voices, pitches and times, valid time signatures. MidiError "corrupt archive" else."""
    from genforge.domains.music.roll import MAX_BPM

    def bad(what: str) -> MidiError:
        return MidiError(path, "corrupt archive", f"corrupt notes archive ({what})")

    def get(name: str, kinds: str, ndim: int) -> np.ndarray:
        a = data.get(name)
        if a is None or a.dtype.kind not in kinds or a.ndim != ndim:
            raise bad(f"{name!r} is missing or not a {ndim}-d array of {'whole numbers' if kinds == 'iu' else kinds}")
        return a

    tpb, tempo = get("ticks_per_beat", "iu", 0), get("tempo", "iuf", 0)
    if not 0 < int(tpb) <= MAX_TICKS_PER_BEAT or not (math.isfinite(float(tempo)) and 1 <= float(tempo) <= MAX_BPM):
        raise bad(f"ticks per beat {int(tpb)}, tempo {float(tempo):g}")
    names, note_counts, ts_counts = get("names", "U", 1), get("note_counts", "iu", 1), get("ts_counts", "iu", 1)
    v_names, programs, channels = get("voice_names", "U", 1), get("voice_programs", "iu", 1), get("voice_channels", "iu", 1)
    cols = [get(k, "iu", 1).astype(np.int64) for k in ("voice", "pitch", "start", "length")]
    ts = get("ts", "iu", 2).astype(np.int64)
    if not (len(names) == len(note_counts) == len(ts_counts) and len(v_names) == len(programs) == len(channels) > 0):
        raise bad("inconsistent counts of pieces or voices")
    if (note_counts < 0).any() or (ts_counts < 0).any() or int(note_counts.astype(np.int64).sum()) != len(cols[0]) \
            or any(len(c) != len(cols[0]) for c in cols) or ts.shape[1:] != (3,) \
            or int(ts_counts.astype(np.int64).sum()) != len(ts):
        raise bad("inconsistent counts of notes or time signatures")
    if (programs > 127).any() or (channels > 15).any():
        raise bad("a voice's program or channel out of range")
    voice, pitch, start, length = cols
    if len(voice) and (voice.min() < 0 or voice.max() >= len(v_names) or pitch.min() < 0 or pitch.max() > 127
                       or start.min() < 0 or length.min() < 1 or (start + length).max() > 2 ** 48):
        raise bad("a note outside its voices, pitches or times")
    if len(ts) and (ts[:, 0].min() < 0 or ts[:, 1].min() < 1 or ts[:, 1].max() > 255 or ts[:, 2].min() < 1
                    or ts[:, 2].max() > 64 or (ts[:, 2] & (ts[:, 2] - 1)).any()):
        raise bad("an invalid time signature")
    voices = [Voice(str(n), int(p), int(c)) for n, p, c in zip(v_names, programs, channels)]
    return {"tpb": int(tpb), "us": int(round(60e6 / float(tempo))), "names": names, "voices": voices,
            "note_ends": np.cumsum(note_counts.astype(np.int64)), "ts_ends": np.cumsum(ts_counts.astype(np.int64)),
            "cols": cols, "ts": ts}


def read_notes_archive(path: str | Path, steps_per_beat: int = 4) -> list[Piece]:
    """The pieces of a notes archive (see write_notes_archive) on a grid, as read_midi would give
    them. Raises MidiError (reason "not a notes archive" or "corrupt archive")."""
    from genforge.domains.music.midi import MAX_CELLS

    spb = check_steps_per_beat(steps_per_beat)
    path = Path(path)
    a = _archive_arrays(path, _load_archive(path))
    tpb, voices = a["tpb"], a["voices"]
    voice, pitch, start, length = a["cols"]

    def step(t):
        return nearest_step(t, spb, tpb)

    pieces = []
    n0 = t0 = 0
    for i, name in enumerate(a["names"]):
        n1, t1 = int(a["note_ends"][i]), int(a["ts_ends"][i])
        on, off = start[n0:n1], start[n0:n1] + length[n0:n1]
        s, e = step(on), step(off)
        snapped = int(np.count_nonzero(((on * spb) % tpb) | ((off * spb) % tpb)))
        short = e <= s
        e = np.where(short, s + 1, e)
        arr = np.stack([voice[n0:n1], pitch[n0:n1], s, e], axis=1)
        sigs = [(int(t), int(num), int(den)) for t, num, den in a["ts"][t0:t1]]
        n0, t0 = n1, t1
        if not len(arr):
            continue
        if int(arr[:, 3].max()) * len(voices) > MAX_CELLS:
            raise MidiError(path, "corrupt archive", f"piece {brief(name, 60)!r} is too long: {int(arr[:, 3].max())} "
                                                     f"steps x {len(voices)} voices (at most {MAX_CELLS} cells)")
        arr = arr[np.lexsort((arr[:, 1], arr[:, 0], arr[:, 2]))].astype(np.int32)
        segments, n_steps = grid_segments(sigs, [(0, a["us"])], int(arr[:, 3].max()), spb, step)
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
        except (ValueError, RecursionError) as e:  # a number of thousands of digits, lists nested thousands deep
            raise GenforgeError(f"{path}: malformed JSON: {brief(e, 120)}") from None
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                                 for k, v in data.items()):
            raise GenforgeError(f"{path}: expected a JSON object {{\"file.mid\": \"label\"}} of strings")
        return {k.strip(): v.strip() for k, v in data.items()}
    rows = csv.reader(io.StringIO(text))
    try:
        for row in rows:
            n = rows.line_num  # the line the row ends on (a quoted field may span lines)
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if n == 1 and [c.strip().lower() for c in row] == ["file", "label"]:
                continue
            if len(row) != 2 or not row[0].strip() or not row[1].strip():
                raise GenforgeError(f"{path}:{n}: expected `file,label`, got {brief(repr(','.join(row)), 80)}")
            labels[row[0].strip()] = row[1].strip()
    except csv.Error as e:  # a field over csv's limit (128 KB), a quote left open at the end...
        raise GenforgeError(f"{path}:{rows.line_num}: not a CSV file of `file,label` rows: {brief(e, 80)}") from None
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
