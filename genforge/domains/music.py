"""Piano-roll music: MIDI <-> onset/hold piano rolls <-> bar-aligned grid windows for the VAE.

Knows nothing of Keras, and reads and writes MIDI with mido alone (numpy for everything else).

Vocabulary used throughout:

* **step**: one cell of the time grid; `steps_per_beat` steps per quarter note (MIDI's "beat",
  whatever the time signature's denominator). The default 4 is a 16th-note grid.
* **bar length** in steps = numerator * steps_per_beat * 4 / denominator: 4/4 -> 16, 3/4 -> 12,
  6/8 -> 12, 12/8 -> 24, 3/2 -> 24 at 4 steps per beat.
* **Piece**: a whole MIDI file on the grid. Its notes are kept compactly as an (N, 4) int array
  (voice, pitch, start step, end step exclusive); `piece.onset` / `piece.hold` render the
  (voices, steps, 128) bool planes on demand.
* **grid** (the model's tensor): (steps, pitches, 2 * voices), pitches `low..high` bottom-up.
  Channel 2v is voice v's ONSET plane, 2v+1 its HOLD plane. HOLD means "sounding": the cell
  where a note starts has onset=1 and hold=1; each later cell of the note has onset=0, hold=1.
  So onset <= hold everywhere, and two repeated notes of one pitch differ from one long note
  only by the second onset. When decoding, an onset without hold still starts a (one-step or
  longer) note, and a hold run with no onset at its first cell starts a note there.

MIDI out is always type 1: track 0 holds tempo and time signature (and a text event with the
asset's properties), then one named track per voice with its program and channel.
"""
from __future__ import annotations

import csv
import io
import json
import math
import wave
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genforge.domains.splits import split_items
from genforge.errors import GenforgeError
from genforge.images import png_bytes, sheet as _sheet

MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".smf")
LABEL_FILES = ("labels.csv", "labels.json")
DRUM_CHANNEL = 9                 # MIDI channel 10
DEFAULT_TEMPO_US = 500_000       # 120 bpm, MIDI's default
MAX_BPM = 1000.0
MAX_TICKS_PER_BEAT = 32767       # above this the division field means SMPTE time, which we do not read
MAX_CELLS = 1_000_000            # voices x steps (x 128 pitches): 16 voices of ~2 h at 120 bpm on 16ths
MODES = ("major", "minor")


class MidiError(GenforgeError):
    """A MIDI input we cannot use. `reason` is a short category for skip reports."""

    def __init__(self, path, reason: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path, self.reason = Path(path), reason


# ---------------------------------------------------------------- data types

@dataclass(frozen=True)
class Voice:
    name: str
    program: int = 0
    channel: int = 0
    is_drum: bool = False

    def to_dict(self) -> dict:
        return {"name": self.name, "program": self.program, "channel": self.channel, "is_drum": self.is_drum}

    @classmethod
    def from_dict(cls, d: dict) -> "Voice":
        return cls(str(d["name"]), int(d.get("program", 0)), int(d.get("channel", 0)), bool(d.get("is_drum", False)))


@dataclass(frozen=True)
class Segment:
    """Steps [start, end) under one time signature and tempo. `bar_start` is the step of the
    time-signature event the bar lines count from (a tempo change alone does not move bar lines)."""

    start: int
    end: int
    time_signature: tuple[int, int]
    tempo: float                 # quarter notes per minute
    bar_start: int = 0

    def steps_per_bar(self, steps_per_beat: int) -> float:
        return bar_steps(self.time_signature, steps_per_beat)


def bar_steps(time_signature: tuple[int, int], steps_per_beat: int) -> float:
    """Steps in one bar; an int when the metre fits the grid, else a float (no whole bars)."""
    num, den = time_signature
    x = num * steps_per_beat * 4 / den
    return int(x) if float(x).is_integer() else x


def ts_text(time_signature) -> str:
    return f"{time_signature[0]}/{time_signature[1]}"


@dataclass(eq=False)
class Piece:
    """A MIDI file on a beat grid. Render the roll planes with `.onset`, `.hold` or `.grid()`."""

    notes: np.ndarray            # (N, 4) int32: voice, pitch, start step, end step (exclusive)
    n_steps: int
    steps_per_beat: int
    segments: list[Segment]
    voices: list[Voice]
    path: Path | None = None
    ticks_per_beat: int = 480
    snapped: int = 0             # notes whose start or end was off the grid and moved to the nearest step
    lengthened: int = 0          # notes shorter than a step after snapping, stretched to one step
    unterminated: int = 0        # notes with no note-off, ended at the end of their track

    @property
    def name(self) -> str:
        return self.path.name if self.path else "piece"

    @property
    def tempo(self) -> float:
        return self.segments[0].tempo

    @property
    def time_signature(self) -> tuple[int, int]:
        return self.segments[0].time_signature

    def _planes(self) -> tuple[np.ndarray, np.ndarray]:
        v, s = len(self.voices), self.n_steps
        onset = np.zeros((v, s, 128), bool)
        hold = np.zeros((v, s, 128), bool)
        n = self.notes
        onset[n[:, 0], n[:, 2], n[:, 1]] = True
        for i in range(v):               # one voice at a time keeps the counting buffer small
            m = n[n[:, 0] == i]
            d = np.zeros((s + 1, 128), np.int32)
            np.add.at(d, (m[:, 2], m[:, 1]), 1)
            np.add.at(d, (m[:, 3], m[:, 1]), -1)
            hold[i] = np.cumsum(d[:s], axis=0) > 0
        return onset, hold

    @property
    def onset(self) -> np.ndarray:
        """(voices, steps, 128) bool: a note starts here."""
        return self._planes()[0]

    @property
    def hold(self) -> np.ndarray:
        """(voices, steps, 128) bool: a note sounds here (its onset cell included)."""
        return self._planes()[1]

    def grid(self, low: int = 0, high: int = 127, voices: list[int] | None = None) -> np.ndarray:
        """The model layout (steps, high-low+1, 2*voices) bool, for the chosen voice indices."""
        onset, hold = self._planes()
        idx = list(range(len(self.voices))) if voices is None else list(voices)
        return planes_to_grid(onset[idx], hold[idx], low, high)

    def pitched_voices(self) -> list[int]:
        return [i for i, v in enumerate(self.voices) if not v.is_drum]

    def pitch_range(self, pitched_only: bool = True) -> tuple[int, int] | None:
        n = self.notes
        if pitched_only:
            n = n[np.isin(n[:, 0], self.pitched_voices())]
        return (int(n[:, 1].min()), int(n[:, 1].max())) if len(n) else None


def planes_to_grid(onset: np.ndarray, hold: np.ndarray, low: int = 0, high: int = 127) -> np.ndarray:
    """(V, S, 128) onset and hold planes -> (S, high-low+1, 2V) grid (onset channels even, hold odd)."""
    v, s, _ = onset.shape
    g = np.empty((s, high - low + 1, 2 * v), bool)
    g[..., 0::2] = onset[:, :, low:high + 1].transpose(1, 2, 0)
    g[..., 1::2] = (hold | onset)[:, :, low:high + 1].transpose(1, 2, 0)
    return g


def grid_to_planes(grid: np.ndarray, low: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of planes_to_grid: (V, S, 128) onset and hold, hold made to include every onset."""
    g = np.asarray(grid) > 0.5 if np.asarray(grid).dtype != bool else np.asarray(grid)
    s, p, c = g.shape
    onset = np.zeros((c // 2, s, 128), bool)
    hold = np.zeros((c // 2, s, 128), bool)
    onset[:, :, low:low + p] = g[..., 0::2].transpose(2, 0, 1)
    hold[:, :, low:low + p] = g[..., 1::2].transpose(2, 0, 1)
    return onset, hold | onset


def grid_notes(grid: np.ndarray, low: int = 0) -> np.ndarray:
    """Notes of a grid (S, P, 2V): (N, 4) int array of voice, pitch, start, end (exclusive).

    A note starts at an onset cell, or where a hold run begins without one; it ends where the
    sound stops or the next onset of the same voice and pitch begins."""
    g = np.asarray(grid)
    if g.dtype != bool:
        g = g > 0.5
    s, p, c = g.shape
    onset = g[..., 0::2].transpose(2, 1, 0)                  # (V, P, S)
    sound = onset | g[..., 1::2].transpose(2, 1, 0)
    sound = np.concatenate([sound, np.zeros((*sound.shape[:2], 1), bool)], axis=2)   # (V, P, S+1)
    onset = np.concatenate([onset, np.zeros((*onset.shape[:2], 1), bool)], axis=2)
    prev = np.zeros_like(sound)
    prev[..., 1:] = sound[..., :-1]
    starts = np.flatnonzero(sound & (onset | ~prev))
    stops = np.flatnonzero(~sound & prev)
    if not len(starts):
        return np.zeros((0, 4), np.int32)
    # Every run of sound ends in a stop inside its own row (the padding column is silent), so a
    # note ends at the next stop or the next start, whichever comes first; both lists are sorted.
    ends = np.minimum(stops[np.searchsorted(stops, starts, side="right")], np.append(starts[1:], sound.size))
    v, pitch, t0 = np.unravel_index(starts, sound.shape)
    return np.stack([v, pitch + low, t0, t0 + (ends - starts)], axis=1).astype(np.int32)


def notes_to_grid(notes: np.ndarray, n_steps: int, n_voices: int, low: int = 0, high: int = 127) -> np.ndarray:
    """(N, 4) notes -> (S, P, 2V) grid; notes outside the pitch range are dropped."""
    notes = np.asarray(notes, np.int64).reshape(-1, 4)
    notes = notes[(notes[:, 1] >= low) & (notes[:, 1] <= high)]
    g = np.zeros((n_steps, high - low + 1, 2 * n_voices), bool)
    d = np.zeros((n_steps + 1, high - low + 1, n_voices), np.int32)
    np.add.at(d, (notes[:, 2], notes[:, 1] - low, notes[:, 0]), 1)
    np.add.at(d, (np.minimum(notes[:, 3], n_steps), notes[:, 1] - low, notes[:, 0]), -1)
    g[..., 1::2] = np.cumsum(d, axis=0)[:n_steps] > 0
    g[notes[:, 2], notes[:, 1] - low, 2 * notes[:, 0]] = True
    return g


# ---------------------------------------------------------------- reading MIDI

def _is_midi_header(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"MThd"
    except OSError:
        return False


def _check_steps_per_beat(steps_per_beat, where=None) -> int:
    if not isinstance(steps_per_beat, (int, np.integer)) or isinstance(steps_per_beat, bool) \
            or not 1 <= steps_per_beat <= 96:
        raise GenforgeError(f"{where + ': ' if where else ''}steps per beat must be a whole number from 1 to 96, "
                            f"got {steps_per_beat!r}")
    return int(steps_per_beat)


def read_midi(path: str | Path, steps_per_beat: int = 4) -> Piece:
    """A MIDI file (type 0 or 1) on a grid of `steps_per_beat` steps per quarter note.

    Voices: one per (track, channel) that plays notes, so one per track in an ordinary type-1
    file and one per channel in a type-0 file; channel 10 (index 9) is always a voice of its own,
    flagged `is_drum`. Names come from track names, programs from the first program change.
    Note-offs close the oldest open note of their pitch and channel (first in, first out).
    Raises MidiError (a GenforgeError naming the file) for anything it cannot use."""
    import mido

    spb = _check_steps_per_beat(steps_per_beat)
    path = Path(path)
    if not path.exists():
        raise MidiError(path, "missing", "no such file")
    if not path.is_file():
        raise MidiError(path, "not a file", "not a file")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise MidiError(path, "unreadable", f"cannot read: {e.strerror or e}") from None
    if head != b"MThd":
        what = "empty file" if not head else "a RIFF (RMID or WAV) file" if head == b"RIFF" else "no MThd header"
        raise MidiError(path, "not a MIDI file", f"not a standard MIDI file ({what})")
    try:
        mid = mido.MidiFile(path)
    except Exception as e:  # mido raises OSError, EOFError, ValueError, KeyError, IndexError, ...
        raise MidiError(path, "corrupt MIDI",
                        f"corrupt or truncated MIDI file ({type(e).__name__}: {e})") from None
    if mid.type == 2:
        raise MidiError(path, "type-2 MIDI", "type-2 MIDI (independent sequences) is not supported; "
                                             "save it as type 0 or 1")
    tpb = mid.ticks_per_beat
    if not isinstance(tpb, int) or not 0 < tpb <= MAX_TICKS_PER_BEAT:
        raise MidiError(path, "bad ticks per beat",
                        f"ticks per beat is {tpb}; expected 1 to {MAX_TICKS_PER_BEAT} (SMPTE timing is not supported)")
    try:
        return _piece_from_mido(mid, path, spb)
    except MidiError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as e:
        raise MidiError(path, "corrupt MIDI", f"unreadable MIDI content ({type(e).__name__}: {e})") from None


def _piece_from_mido(mid, path: Path, spb: int) -> Piece:
    tpb = mid.ticks_per_beat
    tempos: list[tuple[int, int]] = []
    sigs: list[tuple[int, int, int]] = []
    notes: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    programs: dict[tuple[int, int], int] = {}
    channel_programs: dict[int, int] = {}
    names: dict[int, str] = {}
    unterminated = 0
    for ti, track in enumerate(mid.tracks):
        tick = 0
        open_notes: dict[tuple[int, int], list[int]] = {}
        for msg in track:
            tick += msg.time
            kind = msg.type
            if kind == "note_on" and msg.velocity > 0:
                open_notes.setdefault((msg.channel, msg.note), []).append(tick)
            elif kind == "note_off" or kind == "note_on":
                q = open_notes.get((msg.channel, msg.note))
                if q:
                    notes.setdefault((ti, msg.channel), []).append((msg.note, q.pop(0), tick))
            elif kind == "program_change":
                programs.setdefault((ti, msg.channel), msg.program)
                channel_programs.setdefault(msg.channel, msg.program)
            elif kind == "set_tempo":
                tempos.append((tick, msg.tempo))
            elif kind == "time_signature":
                sigs.append((tick, msg.numerator, msg.denominator))
            elif kind == "track_name" and ti not in names and msg.name.strip():
                names[ti] = msg.name.strip()
        for (ch, note), q in open_notes.items():
            for on in q:
                notes.setdefault((ti, ch), []).append((note, on, tick))
                unterminated += 1

    for tick, us in tempos:
        bpm = 60e6 / us if us > 0 else math.inf
        if not 0 < bpm <= MAX_BPM:
            raise MidiError(path, "absurd tempo", f"absurd tempo {bpm:g} bpm (set_tempo {us} us per beat) "
                                                  f"at tick {tick}; expected at most {MAX_BPM:g} bpm")
    for tick, num, den in sigs:
        if num < 1 or den < 1 or den > 64 or den & (den - 1):
            raise MidiError(path, "bad time signature", f"invalid time signature {num}/{den} at tick {tick}")

    keys = sorted(k for k, v in notes.items() if v)
    if not keys:
        raise MidiError(path, "no notes", "no notes in this MIDI file")
    if all(ch == DRUM_CHANNEL for _, ch in keys):
        raise MidiError(path, "drums only", "drums only (channel 10): no pitched notes to learn from")

    def step(t: int) -> int:
        return (2 * t * spb + tpb) // (2 * tpb)

    voices: list[Voice] = []
    rows = []
    snapped = lengthened = 0
    channels_of: dict[int, set[int]] = {}
    for ti, ch in keys:
        channels_of.setdefault(ti, set()).add(ch)
    for vi, (ti, ch) in enumerate(keys):
        drum = ch == DRUM_CHANNEL
        base = names.get(ti)
        if mid.type == 0 or len(channels_of[ti]) > 1:
            label = "Drums" if drum else f"Channel {ch + 1}"
            name = f"{base} {label}" if base else label
        else:
            name = base or ("Drums" if drum else f"Track {ti}")
        voices.append(Voice(name, programs.get((ti, ch), channel_programs.get(ch, 0)), ch, drum))
        for note, on, off in notes[(ti, ch)]:
            s, e = step(on), step(off)
            if (on * spb) % tpb or (off * spb) % tpb:
                snapped += 1
            if e <= s:
                e = s + 1
                lengthened += 1
            rows.append((vi, note, s, e))
    arr = np.array(rows, np.int64)
    arr = arr[np.lexsort((arr[:, 1], arr[:, 0], arr[:, 2]))].astype(np.int32)
    last = int(arr[:, 3].max())
    if last * len(voices) > MAX_CELLS:
        raise MidiError(path, "too long", f"too long: {last} steps x {len(voices)} voices on a "
                                          f"{spb}-steps-per-beat grid (at most {MAX_CELLS} cells)")
    segments, n_steps = _segments(sigs, tempos, last, spb, step)
    return Piece(arr, n_steps, spb, segments, voices, path, tpb, snapped, lengthened, unterminated)


def _segments(sigs, tempos, last: int, spb: int, step) -> tuple[list[Segment], int]:
    """Cut [0, last) at every time-signature and tempo change; pad the end to a whole bar."""
    ts_ev = [(0, 4, 4)] + [(step(t), n, d) for t, n, d in sorted(sigs, key=lambda e: e[0])]
    tempo_ev = [(0, DEFAULT_TEMPO_US)] + [(step(t), us) for t, us in sorted(tempos, key=lambda e: e[0])]
    bounds = sorted({0} | {s for s, *_ in ts_ev if s < last} | {s for s, _ in tempo_ev if s < last})
    segs: list[Segment] = []
    i_ts = i_tempo = 0
    for b in bounds:                  # the last event at or before each boundary (the later one wins a tie)
        while i_ts + 1 < len(ts_ev) and ts_ev[i_ts + 1][0] <= b:
            i_ts += 1
        while i_tempo + 1 < len(tempo_ev) and tempo_ev[i_tempo + 1][0] <= b:
            i_tempo += 1
        ts, us = ts_ev[i_ts], tempo_ev[i_tempo][1]
        seg = Segment(b, 0, (ts[1], ts[2]), 60e6 / us, ts[0])
        if segs and (segs[-1].time_signature, segs[-1].tempo, segs[-1].bar_start) == \
                (seg.time_signature, seg.tempo, seg.bar_start):
            continue
        segs.append(seg)
    per_bar = bar_steps(segs[-1].time_signature, spb)
    n_steps = last
    if isinstance(per_bar, int):
        rel = last - segs[-1].bar_start
        n_steps = segs[-1].bar_start + -(-rel // per_bar) * per_bar
    out = []
    for i, s in enumerate(segs):
        end = segs[i + 1].start if i + 1 < len(segs) else n_steps
        out.append(Segment(s.start, end, s.time_signature, s.tempo, s.bar_start))
    return out, n_steps


# ---------------------------------------------------------------- folders and labels

@dataclass
class MusicFolder:
    """Pieces read from a folder; files that could not be used are listed with their reasons."""

    root: Path
    pieces: list[Piece]
    skipped: list[tuple[Path, str, str]] = field(default_factory=list)   # path, reason, message

    def skip_counts(self) -> Counter:
        return Counter(reason for _, reason, _ in self.skipped)

    def summary(self) -> str:
        counts = ", ".join(f"{r} {n}" for r, n in sorted(self.skip_counts().items()))
        return f"{self.root}: {len(self.pieces)} MIDI file(s) read" + \
            (f"; {len(self.skipped)} skipped ({counts})" if self.skipped else "")


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
    _check_steps_per_beat(steps_per_beat)
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


def read_notes_archive(path: str | Path, steps_per_beat: int = 4) -> list[Piece]:
    """The pieces of a notes archive (see write_notes_archive) on a grid, as read_midi would give
    them. Raises MidiError (reason "not a notes archive" or "corrupt archive")."""
    import zipfile

    spb = _check_steps_per_beat(steps_per_beat)
    path = Path(path)
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
        return (2 * t * spb + tpb) // (2 * tpb)

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
        segments, n_steps = _segments(sigs, [(0, us)], int(arr[:, 3].max()), spb, step)
        pieces.append(Piece(arr, n_steps, spb, segments, list(voices), path.parent / str(name), tpb, snapped,
                            int(short.sum()), 0))
    if not pieces:
        raise MidiError(path, "no notes", "no notes in this notes archive")
    return pieces


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


def _label_lookup(labels: dict[str, str], folder: Path, path: Path) -> str | None:
    try:
        rel = path.relative_to(folder).as_posix()
    except ValueError:
        rel = path.name
    for key in (rel, path.name, path.stem):
        if key in labels:
            return labels[key]
    return None


def _mode_of(text: str) -> str | None:
    """"minor", "g minor", "Minor", "min" -> "minor"; None if not a mode."""
    word = text.strip().lower().split()[-1] if text.strip() else ""
    return {"major": "major", "maj": "major", "minor": "minor", "min": "minor"}.get(word)


# ---------------------------------------------------------------- key and mode

# Krumhansl-Kessler probe-tone profiles, tonic first.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_PROFILES = np.stack([np.roll(p, t) for p in (_MAJOR, _MINOR) for t in range(12)])   # (24, 12)


def pitch_class_weights(x, low: int = 0) -> np.ndarray:
    """Duration per pitch class (12,) of a Piece (pitched voices), or of a grid (S, P, 2V)."""
    if isinstance(x, Piece):
        n = x.notes[np.isin(x.notes[:, 0], x.pitched_voices())]
        return np.bincount(n[:, 1] % 12, weights=(n[:, 3] - n[:, 2]).astype(float), minlength=12)
    g = np.asarray(x)
    g = g if g.dtype == bool else g > 0.5
    per_pitch = np.count_nonzero(g[..., 1::2] | g[..., 0::2], axis=(0, 2)).astype(float)
    return np.bincount((np.arange(len(per_pitch)) + low) % 12, weights=per_pitch, minlength=12)


def estimate_key(x, low: int = 0) -> tuple[int, str, float]:
    """(tonic pitch class, "major"|"minor", correlation): Krumhansl-Schmuckler, the key profile
    best correlated with the duration-weighted pitch-class distribution."""
    w = pitch_class_weights(x, low)
    if not w.any():
        return 0, "major", 0.0
    wc = w - w.mean()
    pc = _PROFILES - _PROFILES.mean(1, keepdims=True)
    r = pc @ wc / (np.linalg.norm(pc, axis=1) * np.linalg.norm(wc) + 1e-12)
    best = int(r.argmax())
    return best % 12, MODES[best // 12], float(r[best])


def estimate_mode(x, low: int = 0) -> str:
    """"major" or "minor" for a Piece (or a grid), from its notes."""
    return estimate_key(x, low)[1]


def scale_pitch_classes(tonic: int, mode: str) -> set[int]:
    """Major scale; for minor the natural minor plus the raised 6th and 7th (melodic/harmonic)."""
    steps = (0, 2, 4, 5, 7, 9, 11) if mode == "major" else (0, 2, 3, 5, 7, 8, 9, 10, 11)
    return {(tonic + s) % 12 for s in steps}


# ---------------------------------------------------------------- windows

@dataclass
class Windows:
    grids: np.ndarray            # (N, steps, pitches, 2V) bool
    starts: list[int]            # first step of each window in its piece
    report: Counter              # reason (with its unit) -> count


def section_bars(piece: Piece) -> list[tuple[int, int, tuple[int, int], float]]:
    """Metre sections: (first bar line, end step, time signature, steps per bar). A section runs
    from a time-signature event to the next; tempo changes do not split it."""
    out = []
    for seg in piece.segments:
        if out and out[-1][0] == seg.bar_start and out[-1][2] == seg.time_signature:
            out[-1] = (out[-1][0], seg.end, seg.time_signature, out[-1][3])
        else:
            out.append((seg.bar_start, seg.end, seg.time_signature, seg.steps_per_bar(piece.steps_per_beat)))
    return out


def cut_windows(piece: Piece, bars: int = 4, time_signature: tuple[int, int] = (4, 4), low: int = 0,
                high: int = 127, voices: int | None = None, stride_bars: int = 1,
                report: Counter | None = None, keep_silent: bool = False) -> Windows:
    """Windows of `bars` whole bars, each starting on a bar line inside one metre section.

    Sections whose bar length (in steps) differs from `time_signature`'s, and bars too few to fill
    a window before the section ends (a metre change or the end of the piece), are skipped and
    counted in `report` (in bars); windows with notes outside low..high or with no notes are
    skipped and counted (in windows). Drum voices are left out. `voices`: the number of pitched
    voices a window must have (None: the piece's own); 1 merges all pitched voices into one;
    any other mismatch skips the piece (counted in pieces)."""
    report = Counter() if report is None else report
    starts = window_starts(piece, bars, time_signature, voices, stride_bars, report)   # checks the arguments
    want = bar_steps(time_signature, piece.steps_per_beat)
    idx = piece.pitched_voices()
    n_v = len(idx) if voices is None else voices
    empty = Windows(np.zeros((0, bars * want, high - low + 1, 2 * n_v), bool), [], report)
    if not starts:
        return empty
    full = piece.grid(0, 127, idx)
    if voices == 1 and len(idx) > 1:
        full = np.stack([full[..., 0::2].any(-1), full[..., 1::2].any(-1)], axis=-1)
    length = bars * want
    kept, kept_starts = [], []
    for s in starts:
        w = full[s:s + length]
        if len(w) < length:
            w = np.concatenate([w, np.zeros((length - len(w), *w.shape[1:]), bool)])
        if w[:, :low].any() or w[:, high + 1:].any():
            report[f"windows with notes outside pitches {low}-{high} (windows)"] += 1
            continue
        w = w[:, low:high + 1]
        if not keep_silent and not w.any():
            report["silent windows (windows)"] += 1
            continue
        kept.append(w)
        kept_starts.append(s)
    if not kept:
        return empty
    return Windows(np.stack(kept), kept_starts, report)


def window_starts(piece: Piece, bars: int = 4, time_signature: tuple[int, int] = (4, 4),
                  voices: int | None = None, stride_bars: int = 1, report: Counter | None = None) -> list[int]:
    """The first steps of the windows `cut_windows` would cut (before its pitch-range and
    silence checks), without rendering anything; skipped bars and pieces counted in `report`."""
    report = Counter() if report is None else report
    spb = piece.steps_per_beat
    time_signature = _check_ts(time_signature, "window time signature")
    want = bar_steps(time_signature, spb)
    if not isinstance(want, int):
        raise GenforgeError(f"time signature {ts_text(time_signature)} has no whole number of steps per bar "
                            f"at {spb} steps per beat")
    if not isinstance(bars, (int, np.integer)) or bars < 1 or not isinstance(stride_bars, (int, np.integer)) \
            or stride_bars < 1:
        raise GenforgeError(f"bars and stride must be at least 1, got {bars} and {stride_bars}")
    idx = piece.pitched_voices()
    if len(idx) < len(piece.voices):
        report["drum voices left out (voices)"] += len(piece.voices) - len(idx)
    if voices is not None and voices != len(idx) and voices != 1:
        report[f"pieces with {len(idx)} pitched voices, not {voices} (pieces)"] += 1
        return []
    starts = []
    for first, end, ts, per_bar in section_bars(piece):
        if not isinstance(per_bar, int):
            report[f"sections in {ts_text(ts)}, whose bars do not fit a {spb}-steps-per-beat grid (sections)"] += 1
            continue
        origin = first                 # a time-signature event starts a bar (and its section)
        n_bars = max(0, (end - origin) // per_bar)
        if per_bar != want:
            report[f"bars in {ts_text(ts)} (bar of {per_bar} steps, not {want}) (bars)"] += n_bars
            continue
        if n_bars < bars:
            report[f"bars in {ts_text(ts)} sections shorter than {bars} bars (bars)"] += n_bars
            continue
        starts += [origin + k * per_bar for k in range(0, n_bars - bars + 1, stride_bars)]
    return starts


def transpose_windows(grids: np.ndarray, max_shift: int = 5, per_window: int | None = None,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each window at every shift in -max_shift..max_shift semitones that keeps its notes inside the
    grid's pitch range (shift 0 included). `per_window`: keep the original plus at most this many
    of its legal shifts, drawn with `seed` (None: all). Returns (grids, source index, shift)."""
    if not len(grids) or max_shift <= 0:
        return grids, np.arange(len(grids)), np.zeros(len(grids), np.int32)
    n, _, p, _ = grids.shape
    used = grids.any(axis=(1, 3))                              # (N, P)
    lo = np.where(used.any(1), used.argmax(1), 0)
    hi = np.where(used.any(1), p - 1 - used[:, ::-1].argmax(1), p - 1)
    rng = np.random.default_rng(seed)
    out, src, shifts = [], [], []
    for i in range(n):
        legal = [s for s in range(-max_shift, max_shift + 1) if s and lo[i] + s >= 0 and hi[i] + s <= p - 1]
        if per_window is not None and len(legal) > per_window:
            legal = sorted(rng.choice(legal, per_window, replace=False).tolist())
        for s in sorted([0] + legal):
            if s == 0:
                out.append(grids[i])
            else:
                w = np.zeros_like(grids[i])
                w[:, lo[i] + s:hi[i] + s + 1] = grids[i][:, lo[i]:hi[i] + 1]
                out.append(w)
            src.append(i)
            shifts.append(s)
    return np.stack(out), np.asarray(src), np.asarray(shifts, np.int32)


# ---------------------------------------------------------------- writing MIDI

def _voice_list(voices, n: int, where) -> list[Voice]:
    if voices is None:
        chans = [c for c in range(16) if c != DRUM_CHANNEL]
        return [Voice(f"Voice {i + 1}", 0, chans[i % len(chans)]) for i in range(n)]
    out = []
    for v in voices:
        out.append(v if isinstance(v, Voice) else Voice.from_dict(v) if isinstance(v, dict) else Voice(str(v)))
    if len(out) != n:
        raise GenforgeError(f"{where}: the roll has {n} voice(s) (onset/hold channel pairs), "
                            f"but {len(out)} voice description(s) were given")
    for v in out:
        if not 0 <= v.channel <= 15 or not 0 <= v.program <= 127:
            raise GenforgeError(f"{where}: voice {v.name!r} has channel {v.channel} / program {v.program}; "
                                "expected channel 0-15 and program 0-127")
    return out


def _check_tempo(bpm, where) -> float:
    try:
        bpm = float(bpm)
    except (TypeError, ValueError):
        raise GenforgeError(f"{where}: tempo must be a number of beats per minute, got {bpm!r}") from None
    if not math.isfinite(bpm) or not 1.0 <= bpm <= MAX_BPM:
        raise GenforgeError(f"{where}: tempo {bpm:g} bpm is out of range (1 to {MAX_BPM:g})")
    return bpm


def _check_ts(ts, where) -> tuple[int, int]:
    try:
        num, den = int(ts[0]), int(ts[1])
    except (TypeError, ValueError, IndexError):
        raise GenforgeError(f"{where}: time signature must be (numerator, denominator), got {ts!r}") from None
    if not 1 <= num <= 255 or den < 1 or den > 64 or den & (den - 1):
        raise GenforgeError(f"{where}: invalid time signature {num}/{den}")
    return num, den


def write_midi(path: str | Path, roll: np.ndarray, voices=None, tempo: float = 120.0,
               time_signature: tuple[int, int] = (4, 4), steps_per_beat: int = 4, low: int = 0,
               segments: list[Segment] | None = None, ticks_per_beat: int | None = None,
               properties: dict | None = None, title: str | None = None, velocity: int = 80) -> Path:
    """A grid (steps, pitches, 2V) -> type-1 MIDI, written atomically.

    `voices`: Voice objects, dicts or names (None: "Voice 1".."Voice V", piano). `low`: the MIDI
    pitch of the grid's first row. `segments` (e.g. a Piece's) give tempo and time-signature changes
    and override `tempo` and `time_signature`. Every onset cell starts a new note, even when the same
    pitch sounded on the step before."""
    import mido

    from genforge.atomic import atomic_path

    path = Path(path)
    spb = _check_steps_per_beat(steps_per_beat, str(path))
    g = np.asarray(roll)
    if g.ndim != 3 or g.shape[2] % 2 or g.shape[2] == 0:
        raise GenforgeError(f"{path}: a roll must be (steps, pitches, 2*voices), got shape {g.shape}")
    if not 0 <= low or low + g.shape[1] - 1 > 127:
        raise GenforgeError(f"{path}: pitches {low}..{low + g.shape[1] - 1} are outside MIDI's 0..127")
    vs = _voice_list(voices, g.shape[2] // 2, path)
    if segments:
        segs = [Segment(s.start, s.end, _check_ts(s.time_signature, path), _check_tempo(s.tempo, path), s.bar_start)
                for s in segments]
    else:
        segs = [Segment(0, g.shape[0], _check_ts(time_signature, path), _check_tempo(tempo, path), 0)]
    tpb = ticks_per_beat or (480 if 480 % spb == 0 else 120 * spb)
    if tpb % spb or not 0 < tpb <= MAX_TICKS_PER_BEAT:
        raise GenforgeError(f"{path}: ticks per beat {tpb} must be a multiple of steps per beat {spb}, at most "
                            f"{MAX_TICKS_PER_BEAT}")
    tps = tpb // spb
    notes = grid_notes(g, low)

    def track(events):
        """(tick, order, make) -> a track; `make(delta)` builds the message once. Values are
        checked above (pitch range, channel, program, velocity), so mido's per-message
        validation, which dominates the cost of writing, is skipped."""
        t = mido.MidiTrack()
        now = 0
        for tick, _, make in sorted(events, key=lambda e: (e[0], e[1])):
            t.append(make(tick - now))
            now = tick
        return t

    def meta_msg(kind, **kw):
        return lambda dt: mido.MetaMessage(kind, time=dt, **kw)

    end_tick = max(g.shape[0], max((s.end for s in segs), default=0)) * tps
    meta = [(0, 0, meta_msg("track_name", name=_latin1(title or path.stem)))]
    if properties:
        text = "genforge " + json.dumps(properties, ensure_ascii=True, sort_keys=True, default=str)
        meta.append((0, 1, meta_msg("text", text=text)))
    last_ts, last_bpm = None, None
    for s in segs:
        if s.time_signature != last_ts or s.bar_start == s.start:
            meta.append((s.start * tps, 2, meta_msg("time_signature", numerator=s.time_signature[0],
                                                    denominator=s.time_signature[1])))
        if s.tempo != last_bpm:
            meta.append((s.start * tps, 3, meta_msg("set_tempo", tempo=int(round(60e6 / s.tempo)))))
        last_ts, last_bpm = s.time_signature, s.tempo
    if not 0 < velocity <= 127:
        raise GenforgeError(f"{path}: velocity must be 1 to 127, got {velocity}")
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    tracks = [meta]
    for vi, v in enumerate(vs):
        ch = DRUM_CHANNEL if v.is_drum else v.channel
        ev = [(0, 0, meta_msg("track_name", name=_latin1(v.name))),
              (0, 1, lambda dt, ch=ch, prog=v.program: mido.Message("program_change", skip_checks=True,
                                                                     channel=ch, program=prog, time=dt))]
        for _, pitch, s, e in notes[notes[:, 0] == vi].tolist():
            ev.append((s * tps, 3, lambda dt, n=pitch, ch=ch: mido.Message("note_on", skip_checks=True, channel=ch,
                                                                          note=n, velocity=velocity, time=dt)))
            ev.append((e * tps, 2, lambda dt, n=pitch, ch=ch: mido.Message("note_off", skip_checks=True, channel=ch,
                                                                          note=n, velocity=0, time=dt)))
        tracks.append(ev)
    for ev in tracks:
        ev.append((end_tick, 9, meta_msg("end_of_track")))
        mid.tracks.append(track(ev))
    with atomic_path(path) as tmp:
        mid.save(str(tmp))
    return path


def _latin1(text: str) -> str:
    """MIDI text events are bytes; mido encodes them as Latin-1. Anything else becomes '?'."""
    return str(text).encode("latin-1", "replace").decode("latin-1")


def write_piece(path: str | Path, piece: Piece, **kw) -> Path:
    """A Piece back to MIDI with its voices, tempo and metre changes."""
    return write_midi(path, piece.grid(), piece.voices, steps_per_beat=piece.steps_per_beat,
                      segments=piece.segments, **kw)


# ---------------------------------------------------------------- previews and audio

VOICE_COLOURS = [(214, 39, 40), (31, 119, 180), (44, 160, 44), (148, 103, 189),
                 (255, 127, 14), (23, 190, 207), (227, 119, 194), (140, 86, 75)]
_BLACK_KEYS = {1, 3, 6, 8, 10}


def preview(roll: np.ndarray, steps_per_bar: int = 16, steps_per_beat: int = 4, low: int = 0,
            step_px: int = 4, pitch_px: int = 3) -> np.ndarray:
    """A piano-roll image (pitches*pitch_px, steps*step_px, 3) uint8: time left to right, pitch
    bottom to top, one colour per voice, a darker cell at each onset, bar lines dark grey, beat
    lines light grey, black-key rows shaded."""
    g = np.asarray(roll)
    g = g if g.dtype == bool else g > 0.5
    s, p, c = g.shape
    img = np.full((p, s, 3), 250, np.uint8)
    black = np.array([(low + i) % 12 in _BLACK_KEYS for i in range(p)])
    img[black] = 236
    img = np.repeat(np.repeat(img, pitch_px, 0), step_px, 1)
    if steps_per_beat > 0:
        img[:, ::steps_per_beat * step_px] = 215
    if steps_per_bar > 0:
        img[:, ::steps_per_bar * step_px] = 110
    for v in range(c // 2):
        colour = np.array(VOICE_COLOURS[v % len(VOICE_COLOURS)])
        hold = np.repeat(np.repeat(g[:, :, 2 * v + 1].T, pitch_px, 0), step_px, 1)
        onset = np.zeros_like(hold)
        onset[:, ::step_px] = np.repeat(g[:, :, 2 * v].T, pitch_px, 0)
        hold |= onset
        img[hold] = colour
        img[onset] = (colour * 0.55).astype(np.uint8)
    return img[::-1].copy()


def render_wav(roll: np.ndarray, tempo: float = 120.0, steps_per_beat: int = 4, low: int = 0,
               sample_rate: int = 22050, voices=None, release: float = 0.08, gain: float = 0.8) -> bytes:
    """A 16-bit mono WAV of the roll: each note a few harmonics under an attack/decay/release
    envelope (drum voices: a noise burst). Length: the roll's duration plus `release` seconds."""
    g = np.asarray(roll)
    g = g if g.dtype == bool else g > 0.5
    bpm = _check_tempo(tempo, "render_wav")
    steps_per_beat = _check_steps_per_beat(steps_per_beat, "render_wav")
    if g.ndim != 3 or g.shape[2] % 2:
        raise GenforgeError(f"render_wav: a roll must be (steps, pitches, 2*voices), got shape {g.shape}")
    if not 0.0 <= release <= 10.0:
        raise GenforgeError(f"render_wav: release must be 0 to 10 seconds, got {release}")
    if not 4000 <= sample_rate <= 192000:
        raise GenforgeError(f"render_wav: sample rate {sample_rate} out of range (4000 to 192000)")
    step_s = 60.0 / (bpm * steps_per_beat)
    n_rel = int(round(release * sample_rate))
    total = int(round(g.shape[0] * step_s * sample_rate)) + n_rel
    out = np.zeros(total, np.float64)
    drum = [bool(Voice.from_dict(v).is_drum if isinstance(v, dict) else getattr(v, "is_drum", False))
            for v in voices] if voices is not None else []
    rng = np.random.default_rng(0)
    attack = max(1, int(0.005 * sample_rate))
    notes = []  # (voice, pitch, first sample, samples sounding, samples with the release)
    for v, pitch, s, e in grid_notes(g, low):
        a = int(round(s * step_s * sample_rate))
        n_on = max(1, int(round((e - s) * step_s * sample_rate)))
        n = min(n_on + n_rel, total - a)
        if n > 0:
            notes.append((v, pitch, a, n_on, n))
    # Every note starts at phase 0, so a pitch's tone is one waveform that each note cuts to its
    # length: computed once per pitch (the sines were nearly all of the time), as is the decay.
    t = np.arange(max((n for *_, n in notes), default=0)) / sample_rate
    decay = np.exp(-1.5 * t)
    tones: dict[int, np.ndarray] = {}
    rise, fall = np.linspace(0.0, 1.0, attack), np.linspace(1.0, 0.0, n_rel)
    for v, pitch, a, n_on, n in notes:
        env = decay[:n].copy()
        k = min(attack, n)
        env[:k] *= rise[:k]
        if n > n_on:  # the release; cut short only by the end of the roll
            env[n_on:] *= fall if n - n_on == n_rel else np.linspace(1.0, 0.0, n - n_on)
        if v < len(drum) and drum[v]:
            wave_ = rng.uniform(-1, 1, n) * np.exp(-t[:n] / 0.06)
        else:
            if pitch not in tones:
                f = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
                longest = max(m for _, p, _, _, m in notes if p == pitch)
                tone = np.zeros(longest)
                for h, amp in ((1, 1.0), (2, 0.5), (3, 0.25), (4, 0.12)):
                    if f * h < sample_rate / 2:
                        tone += amp * np.sin(2 * np.pi * f * h * t[:longest])
                tones[pitch] = tone
            wave_ = tones[pitch][:n]
        out[a:a + n] += 0.25 * env * wave_
    peak = np.abs(out).max()
    if peak > 0:
        out *= gain / peak
    pcm = np.clip(out * 32767, -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


# ---------------------------------------------------------------- music statistics

def _batch(grids) -> np.ndarray:
    g = np.asarray(grids)
    g = g if g.dtype == bool else g > 0.5
    return g[None] if g.ndim == 3 else g


def _ratio(a, b) -> float | None:
    return float(a / b) if b else None


def onset_scores(true, pred) -> dict:
    """Cell-wise onset precision, recall and F1 (same step, pitch and voice), over a batch."""
    t, p = _batch(true)[..., 0::2], _batch(pred)[..., 0::2]
    tp = np.count_nonzero(t & p)
    prec, rec = _ratio(tp, np.count_nonzero(p)), _ratio(tp, np.count_nonzero(t))
    f1 = 2 * prec * rec / (prec + rec) if prec and rec else (0.0 if prec is not None and rec is not None else None)
    return {"onset_precision": prec, "onset_recall": rec, "onset_f1": f1}


def polyphony(grids) -> float | None:
    """Mean number of sounding notes per step, over the steps where anything sounds."""
    snd = _batch(grids)[..., 1::2] | _batch(grids)[..., 0::2]
    per_step = np.count_nonzero(snd, axis=(2, 3))
    busy = per_step > 0
    return _ratio(per_step[busy].sum(), busy.sum())


def pitch_classes_per_bar(grids, steps_per_bar: int, low: int = 0) -> float | None:
    """Mean number of distinct pitch classes sounding in a bar, over non-empty bars."""
    g = _batch(grids)
    n, s, p, _ = g.shape
    nb = s // steps_per_bar
    snd = (g[..., 0::2] | g[..., 1::2]).any(-1)[:, :nb * steps_per_bar]           # (N, S, P)
    per_bar = snd.reshape(n, nb, steps_per_bar, p).any(2)                           # (N, B, P)
    pcs = np.zeros((n, nb, 12), bool)
    for i in range(p):
        pcs[..., (low + i) % 12] |= per_bar[..., i]
    counts = pcs.sum(-1)
    filled = counts > 0
    return _ratio(counts[filled].sum(), filled.sum())


def empty_bar_rate(grids, steps_per_bar: int) -> float | None:
    """Share of bars in which nothing sounds."""
    g = _batch(grids)
    n, s = g.shape[:2]
    nb = s // steps_per_bar
    any_ = g[:, :nb * steps_per_bar].any(axis=(2, 3)).reshape(n, nb, steps_per_bar).any(-1)
    return _ratio((~any_).sum(), any_.size)


def batch_notes(grids) -> np.ndarray:
    """Notes of a batch of grids: (N, 5) int array of window, voice, pitch row, start, end."""
    g = _batch(grids)
    n, s, p, c = g.shape
    # One grid, the windows end to end with a silent step between them so no note runs across.
    joined = np.concatenate([g, np.zeros((n, 1, p, c), bool)], axis=1).reshape(n * (s + 1), p, c)
    notes = grid_notes(joined).astype(np.int64)
    win = notes[:, 2] // (s + 1)
    notes[:, 2:] -= win[:, None] * (s + 1)
    return np.concatenate([win[:, None], notes], axis=1)


def qualified_note_rate(grids, min_steps: int = 2) -> float | None:
    """Share of notes lasting at least `min_steps` steps. Default 2 steps = an eighth note on a
    16th grid: the analogue of MuseGAN's qualified notes (>= 3 of 24 steps per beat, i.e. a 32nd),
    since on a 16th grid every note lasts >= 1 step; it catches fragmented one-step blips."""
    notes = batch_notes(grids)
    if not len(notes):
        return None
    return float(((notes[:, 4] - notes[:, 3]) >= min_steps).mean())


_SCALES = np.array([[pc in scale_pitch_classes(t, m) for pc in range(12)]
                    for m in MODES for t in range(12)])                          # (24 keys, 12 classes)


def in_scale_share(grids, tonic: int, mode: str, low: int = 0) -> float | None:
    """Share of note onsets whose pitch class is in the key's scale (see scale_pitch_classes)."""
    g = _batch(grids)
    per_pitch = np.count_nonzero(g[..., 0::2], axis=(0, 1, 3))
    inside = _SCALES[MODES.index(mode) * 12 + tonic % 12][(low + np.arange(len(per_pitch))) % 12]
    return _ratio(per_pitch[inside].sum(), per_pitch.sum())


def window_keys(grids, low: int = 0) -> np.ndarray:
    """Krumhansl-Schmuckler key index per window (tonic + 12 * (mode == minor)); (N,) int."""
    g = _batch(grids)
    per_pitch = np.count_nonzero(g[..., 1::2] | g[..., 0::2], axis=(1, 3)).astype(float)   # (N, P)
    pcs = np.eye(12)[(low + np.arange(g.shape[2])) % 12]                           # (P, 12)
    w = per_pitch @ pcs
    wc = w - w.mean(1, keepdims=True)
    pc = _PROFILES - _PROFILES.mean(1, keepdims=True)
    r = wc @ pc.T / (np.linalg.norm(wc, axis=1, keepdims=True) * np.linalg.norm(pc, axis=1) + 1e-12)
    return r.argmax(1)


def in_scale_share_by_key(grids, keys: np.ndarray, low: int = 0) -> float | None:
    """Share of onsets in the scale of each window's key (indices from window_keys)."""
    g = _batch(grids)
    onsets = np.count_nonzero(g[..., 0::2], axis=(1, 3))                            # (N, P)
    inside = _SCALES[np.asarray(keys)][:, (low + np.arange(g.shape[2])) % 12]       # (N, P)
    return _ratio((onsets * inside).sum(), onsets.sum())


def _nz(a, axis) -> np.ndarray:
    return np.count_nonzero(a, axis=axis)


def window_sums(grids, steps_per_bar: int, low: int = 0, min_steps: int = 2, keys=None) -> dict:
    """Per-window numerators and denominators of the statistics above, (N,) arrays each, so a
    batch or any subset of it (a label) is summarised by summing: see `summarise`. In-scale
    counts use `keys` (window_keys indices; None: each window's own estimated key)."""
    g = _batch(grids)
    n, s, p, _ = g.shape
    on = g[..., 0::2]
    snd = g[..., 1::2] | on
    per_step = _nz(snd, (2, 3))                                                       # (N, S)
    nb = max(1, s // steps_per_bar)
    by_bar = snd.any(-1)[:, :nb * steps_per_bar].reshape(n, nb, -1, p).any(2)      # (N, B, P)
    pcs = (by_bar.astype(np.uint8) @ np.eye(12, dtype=np.uint8)[(low + np.arange(p)) % 12]) > 0
    classes = _nz(pcs, -1)                                                            # (N, B)
    notes = batch_notes(g)
    keys = window_keys(g, low) if keys is None else np.asarray(keys)
    return {
        "poly": (per_step.sum(1), _nz(per_step, 1)),
        "pcb": (classes.sum(1), _nz(classes, 1)),
        "empty": ((classes == 0).sum(1), np.full(n, nb)),
        "qual": (np.bincount(notes[:, 0], (notes[:, 4] - notes[:, 3]) >= min_steps, minlength=n),
                 np.bincount(notes[:, 0], minlength=n)),
        "scale": _scale_counts(g, keys, low),
    }


def _scale_counts(g: np.ndarray, keys: np.ndarray, low: int) -> tuple[np.ndarray, np.ndarray]:
    onsets = _nz(g[..., 0::2], (1, 3))
    inside = _SCALES[np.asarray(keys)][:, (low + np.arange(g.shape[2])) % 12]
    return (onsets * inside).sum(1), onsets.sum(1)


_STAT_NAMES = {"poly": "polyphony", "pcb": "pitch_classes_per_bar", "empty": "empty_bar_rate",
               "qual": "qualified_note_rate", "scale": "in_scale_share"}


def summarise(sums: dict, mask=None) -> dict:
    """window_sums -> {statistic: ratio or None}, over all windows or those in `mask`."""
    out = {}
    for k, (num, den) in sums.items():
        num, den = (num, den) if mask is None else (num[mask], den[mask])
        out[_STAT_NAMES.get(k, k)] = _ratio(float(num.sum()), float(den.sum()))
    return out


def music_stats(grids, steps_per_bar: int, low: int = 0, key: tuple[int, str] | None = None,
                min_steps: int = 2) -> dict:
    """The statistics above for a batch of windows; in-scale share for `key` (tonic, mode) or
    each window's own estimated key."""
    g = _batch(grids)
    keys = None if key is None else np.full(len(g), MODES.index(key[1]) * 12 + key[0] % 12)
    return summarise(window_sums(g, steps_per_bar, low, min_steps, keys))


ATTRIBUTES = {
    "density": "note onsets per bar, all voices",
    "pitch_range": "semitones from the lowest to the highest note",
    "polyphony": "notes sounding at once, over the steps where anything sounds",
    "register": "mean pitch of the notes (MIDI number)",
    "note_length": "mean note length in steps",
}


def window_attributes(grids, steps_per_bar: int, low: int = 0, batch: int = 2048) -> dict[str, np.ndarray]:
    """name (see ATTRIBUTES) -> (N,) float per window; NaN where a window has no notes."""
    g = _batch(grids)
    out = {k: np.full(len(g), np.nan) for k in ATTRIBUTES}
    bars = max(1, g.shape[1] // steps_per_bar)
    for i in range(0, len(g), batch):             # a batch at a time: the note list of 10k windows is large
        part = g[i:i + batch]
        n = len(part)
        notes = batch_notes(part)                  # window, voice, pitch row, start, end
        win = notes[:, 0]
        count = np.bincount(win, minlength=n).astype(float)
        has = count > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            out["density"][i:i + n] = np.where(has, count / bars, np.nan)
            pitch = notes[:, 2].astype(float) + low
            top = np.full(n, -np.inf)
            bottom = np.full(n, np.inf)
            np.maximum.at(top, win, pitch)
            np.minimum.at(bottom, win, pitch)
            out["pitch_range"][i:i + n] = np.where(has, top - bottom, np.nan)
            out["register"][i:i + n] = np.bincount(win, pitch, minlength=n) / count
            lengths = (notes[:, 4] - notes[:, 3]).astype(float)
            out["note_length"][i:i + n] = np.bincount(win, lengths, minlength=n) / count
            snd = part[..., 0::2] | part[..., 1::2]
            per_step = np.count_nonzero(snd, axis=(2, 3))
            busy = np.count_nonzero(per_step, axis=1)
            out["polyphony"][i:i + n] = np.where(busy > 0, per_step.sum(1) / np.maximum(busy, 1), np.nan)
    return out


# ---------------------------------------------------------------- training data

@dataclass
class MusicDataset:
    """Bar-aligned windows on one pitch range and voice layout, split by whole pieces."""

    splits: dict[str, tuple[np.ndarray, np.ndarray]]   # name -> (grids (N,S,P,2V) bool, label ids (N,))
    labels: list[str]
    notes: list[str]
    low: int
    high: int
    voices: list[Voice]
    steps_per_beat: int
    bars: int
    time_signature: tuple[int, int]
    tempo: float
    pieces: dict[str, list[str]]                        # split -> piece file names
    split: dict[str, dict[str, list[str]]]              # data folder -> split -> piece file names
    report: Counter                                     # skip reasons -> counts


def _piece_label(piece: Piece, kind, folder_name: str, sidecar: dict, sidecar_root: Path, sidecar_file: str):
    """(label or None, where it came from)."""
    given = _label_lookup(sidecar, sidecar_root, piece.path) if sidecar and piece.path else None
    if kind == "mode":
        if given is not None:
            mode = _mode_of(given)
            if mode is None:
                raise GenforgeError(f"{sidecar_file}: label {given!r} for {piece.name} is not a mode "
                                    "(major or minor); pass labels='sidecar' for other labels")
            return mode, "sidecar"
        return estimate_mode(piece), "estimate"
    if kind == "folder":
        return folder_name, "folder"
    if kind == "sidecar":
        return given, "sidecar"
    return None, "none"


def build_dataset(folders: list[str | Path] | str | Path, bars: int = 4, steps_per_beat: int = 4,
                  test: float = 0.2, validation: float = 0.1, seed: int = 0, transpose: int = 5,
                  labels: str | None = "mode", time_signature: tuple[int, int] | None = None,
                  pitch_range: tuple[int, int] | None = None, voices: int | None = None,
                  stride_bars: int = 1, recursive: bool = True,
                  shifts_per_window: int | None = None) -> MusicDataset:
    """Windows of `bars` bars from every MIDI file in `folders`, split by whole pieces.

    labels: "mode" (major/minor, estimated per piece; a labels.csv / labels.json beside the files
    overrides), "folder" (each folder is a label), "sidecar" (any labels from the sidecar files;
    unlabelled pieces skipped) or None (unconditional). time_signature: the metre windows must
    have (by bar length); None picks the metre with the most bars. pitch_range: (low, high);
    None: the pitched notes' range over the pieces used. voices: pitched voices per window; None:
    the most common count. Transposition by up to `transpose` semitones (kept inside the range)
    augments the training split only: every legal shift of every window, or the original plus
    `shifts_per_window` random legal shifts (all shifts multiply the training set about 10x)."""
    if labels not in ("mode", "folder", "sidecar", None):
        raise GenforgeError(f"labels must be 'mode', 'folder', 'sidecar' or None, got {labels!r}")
    if isinstance(folders, (str, Path)):
        folders = [folders]
    if not folders:
        raise GenforgeError("no data folders given")
    spb = _check_steps_per_beat(steps_per_beat)
    if not isinstance(bars, int) or not 1 <= bars <= 64:
        raise GenforgeError(f"bars must be a whole number from 1 to 64, got {bars!r}")
    if not isinstance(transpose, int) or not 0 <= transpose <= 11:
        raise GenforgeError(f"transpose must be a whole number of semitones from 0 to 11, got {transpose!r}")
    if not (0 <= test < 1 and 0 <= validation < 1 and test + validation < 1):
        raise GenforgeError(f"test and validation shares must be in [0, 1) and sum to less than 1, "
                            f"got {test} and {validation}")
    if shifts_per_window is not None and (not isinstance(shifts_per_window, int) or shifts_per_window < 0):
        raise GenforgeError(f"shifts per window must be a whole number >= 0, got {shifts_per_window!r}")
    notes: list[str] = []
    report: Counter = Counter()
    entries = []                                # (piece, label, source)
    folder_of: dict[int, str] = {}              # id(piece) -> the data folder it came from
    for folder in folders:
        mf = read_folder(folder, recursive, spb)
        notes.append(mf.summary())
        for f, reason, _ in mf.skipped:
            report[f"files skipped: {reason} (files)"] += 1
        sidecars: dict[Path, dict] = {}
        for piece in mf.pieces:
            # The nearest labels file at or above the piece's folder, up to the root folder.
            d, side, side_root = piece.path.parent, {}, mf.root
            while True:
                if d not in sidecars:
                    sidecars[d] = read_labels(d) if labels in ("mode", "sidecar") else {}
                if sidecars[d]:
                    side, side_root = sidecars[d], d
                    break
                if d == mf.root or mf.root not in d.parents:
                    break
                d = d.parent
            side_file = next((str(side_root / n) for n in LABEL_FILES if (side_root / n).is_file()), "labels")
            label, source = _piece_label(piece, labels, Path(folder).name, side, side_root, side_file)
            if labels == "sidecar" and label is None:
                report["pieces without a label in labels.csv/json (pieces)"] += 1
                continue
            entries.append((piece, label, source))
            folder_of[id(piece)] = str(folder)
    if labels == "folder" and len({Path(f).name for f in folders}) != len(folders):
        raise GenforgeError(f"two data folders share a name: {', '.join(map(str, folders))}")
    if not entries:
        raise GenforgeError(f"no labelled pieces in {', '.join(map(str, folders))}")

    # Metre and voice layout: the most common, unless asked.
    if time_signature is None:
        by_len: Counter = Counter()
        ts_of: dict[int, Counter] = {}
        for piece, _, _ in entries:
            for first, end, ts, per_bar in section_bars(piece):
                if isinstance(per_bar, int):
                    by_len[per_bar] += max(0, (end - first) // per_bar)
                    ts_of.setdefault(per_bar, Counter())[ts] += max(0, (end - first) // per_bar)
        if not by_len:
            raise GenforgeError("no metre in the data fits the grid")
        per_bar = by_len.most_common(1)[0][0]
        time_signature = ts_of[per_bar].most_common(1)[0][0]
        notes.append(f"metre: {ts_text(time_signature)} ({per_bar} steps per bar), the most common by bars")
    time_signature = _check_ts(time_signature, "time signature")
    if voices is None:
        voices = Counter(len(p.pitched_voices()) for p, _, _ in entries).most_common(1)[0][0]

    # Where the windows fall, then the pitch range: that of the pitched notes under the windows.
    length = bars * bar_steps(time_signature, spb)
    lo_hi = [128, -1]
    for piece, label, source in entries:
        starts = window_starts(piece, bars, time_signature, voices, stride_bars, Counter())
        if not starts:
            continue
        n = piece.notes[np.isin(piece.notes[:, 0], piece.pitched_voices())]
        s = np.asarray(starts)
        under = ((n[:, 2, None] < s[None] + length) & (n[:, 3, None] > s[None])).any(1)
        if under.any():
            lo_hi = [min(lo_hi[0], int(n[under, 1].min())), max(lo_hi[1], int(n[under, 1].max()))]
    if pitch_range is None:
        if lo_hi[1] < 0:
            raise GenforgeError(f"no {bars}-bar windows in {ts_text(time_signature)} with {voices} pitched "
                                f"voice(s) in {', '.join(map(str, folders))}")
        low, high = lo_hi
    else:
        low, high = int(pitch_range[0]), int(pitch_range[1])
        if not 0 <= low <= high <= 127:
            raise GenforgeError(f"pitch range {low}-{high} is not inside 0-127")
    cut: list[tuple[Piece, str | None, Windows]] = []
    for piece, label, source in entries:
        w = cut_windows(piece, bars, time_signature, low, high, voices, stride_bars, report)
        if len(w.grids):
            cut.append((piece, label, w))
        else:
            report[f"pieces with no {bars}-bar {ts_text(time_signature)} window (pieces)"] += 1
    if not cut:
        raise GenforgeError(f"no {bars}-bar windows in {ts_text(time_signature)} with {voices} pitched voice(s) "
                            f"inside pitches {low}-{high} in {', '.join(map(str, folders))}")

    if labels is None:
        label_names: list[str] = []
    elif labels == "mode":
        label_names = list(MODES)
    else:
        label_names = sorted({lab for _, lab, _ in cut})
    label_index = {name: i for i, name in enumerate(label_names)}

    train, val, held = split_items(cut, test, validation, seed)
    if not val:
        notes.append(f"{len(cut)} piece(s) only, none held out; metrics are on training windows")
    if not train:
        raise GenforgeError(f"{len(cut)} usable piece(s): none left for training after holding out "
                            f"test {test} and validation {validation}")
    splits, names = {}, {}
    by_folder: dict[str, dict[str, list[str]]] = {}
    plain_train = None
    for split, items in (("train", train), ("validation", val), ("test", held)):
        names[split] = [p.name for p, _, _ in items]
        for p, _, _ in items:
            by_folder.setdefault(folder_of[id(p)], {"train": [], "validation": [], "test": []})[split].append(p.name)
        if not items:
            splits[split] = plain_train               # the training windows, not transposed
            continue
        grids = np.concatenate([w.grids for _, _, w in items])
        ids = np.concatenate([np.full(len(w.grids), label_index.get(lab, 0), np.int32) for _, lab, w in items])
        if split == "train":
            plain_train = (grids, ids)
        if split == "train" and transpose:
            n_before = len(grids)
            grids, src, _ = transpose_windows(grids, transpose, shifts_per_window, seed)
            ids = ids[src]
            notes.append(f"transposition by up to +-{transpose} semitones inside {low}-{high}: "
                         f"{n_before} training windows -> {len(grids)}")
        splits[split] = (grids, ids)

    first = next(p for p, _, _ in cut)
    vs = [first.voices[i] for i in first.pitched_voices()] if voices == len(first.pitched_voices()) else \
        [Voice("Voice 1", first.voices[first.pitched_voices()[0]].program, 0)]
    tempo = float(np.median([p.tempo for p, _, _ in cut]))
    n_windows = sum(len(w.grids) for _, _, w in cut)
    notes.append(f"{n_windows} windows of {bars} bars {ts_text(time_signature)} ({length} steps, "
                 f"stride {stride_bars} bar(s)) from {len(cut)} of {len(entries)} pieces; "
                 f"pitches {low}-{high}; {voices} voice(s)")
    if labels == "mode":
        src = Counter(s for _, _, s in entries)
        per = Counter(lab for _, lab, _ in cut)
        notes.append(f"mode labels: {per['major']} major, {per['minor']} minor pieces "
                     f"({src['estimate']} estimated from the notes, {src['sidecar']} from labels files)")
    snapped = sum(p.snapped for p, _, _ in cut)
    if snapped:
        notes.append(f"{snapped} note(s) off the {spb}-steps-per-beat grid snapped to the nearest step")
    for reason, n in sorted(report.items()):
        notes.append(f"skipped: {reason}: {n}")
    return MusicDataset(splits, label_names, notes, low, high, vs, spb, bars, time_signature, tempo, names, by_folder,
                        report)


# ---------------------------------------------------------------- the codec the VAE plugs into

class MusicCodec:
    """Piano-roll windows <-> model tensors, for training (from a MusicDataset) and generation
    (from a bundle). Grids are (steps, pitches, 2*voices) bool: onset channels even, hold odd."""

    domain = "music"
    likelihood = "bernoulli"

    def __init__(self, low: int, high: int, voices: list, labels: list[str], steps_per_beat: int = 4,
                 bars: int = 4, time_signature: tuple[int, int] = (4, 4), tempo: float = 120.0):
        self.low, self.high = int(low), int(high)
        self.voices = [v if isinstance(v, Voice) else Voice.from_dict(v) for v in voices]
        self.labels = list(labels)
        self.steps_per_beat, self.bars = int(steps_per_beat), int(bars)
        self.time_signature = (int(time_signature[0]), int(time_signature[1]))
        self.tempo = float(tempo)
        per_bar = bar_steps(self.time_signature, self.steps_per_beat)
        if not isinstance(per_bar, int):
            raise GenforgeError(f"time signature {ts_text(self.time_signature)} does not fit "
                                f"{self.steps_per_beat} steps per beat")
        self.steps_per_bar = per_bar

    @classmethod
    def from_dataset(cls, ds: MusicDataset) -> "MusicCodec":
        return cls(ds.low, ds.high, ds.voices, ds.labels, ds.steps_per_beat, ds.bars, ds.time_signature, ds.tempo)

    @classmethod
    def from_meta(cls, meta: dict) -> "MusicCodec":
        m = meta["codec"]
        return cls(m["low"], m["high"], m["voices"], meta.get("labels", []), m["steps_per_beat"], m["bars"],
                   tuple(m["time_signature"]), m["tempo"])

    def meta(self) -> dict:
        return {"low": self.low, "high": self.high, "voices": [v.to_dict() for v in self.voices],
                "steps_per_beat": self.steps_per_beat, "bars": self.bars,
                "time_signature": list(self.time_signature), "tempo": self.tempo,
                "layout": "channel 2v = onset of voice v, 2v+1 = hold (sounding, onset included); "
                          "pitch row i = MIDI pitch low+i"}

    @property
    def grid_shape(self) -> tuple[int, int, int]:
        return (self.bars * self.steps_per_bar, self.high - self.low + 1, 2 * len(self.voices))

    def describe(self, split: dict[str, dict[str, list[str]]]) -> list[str]:
        """`genforge info`'s lines for the codec: metre, grid, pitch range, tempo and voices."""
        voices = ", ".join(f"{v.name} (program {v.program})" for v in self.voices)
        return [f"music      {self.bars} bars of {ts_text(self.time_signature)}, {self.steps_per_beat} steps per "
                f"beat, pitches {self.low}-{self.high}, {self.tempo:g} bpm",
                f"voices     {voices}"]

    # ---- tensors
    def to_onehot(self, grids: np.ndarray) -> np.ndarray:
        """Codec grids are already binary planes: as float32."""
        return np.asarray(grids, dtype=np.float32)

    def from_logits(self, logits: np.ndarray, rng: np.random.Generator | None = None,
                    temperature: float = 0.0) -> np.ndarray:
        """Bool grids: each cell on where sigmoid(logit) > 0.5, or drawn at a temperature. Onset
        cells are made to sound (hold |= onset), so the result obeys the layout."""
        logits = np.asarray(logits, np.float64)
        if not temperature:
            on = logits > 0
        else:
            rng = rng or np.random.default_rng()
            p = 1.0 / (1.0 + np.exp(-np.clip(logits / temperature, -60, 60)))
            on = rng.random(p.shape) < p
        on[..., 1::2] |= on[..., 0::2]
        return on

    # ---- metrics
    def metrics(self, true: np.ndarray, pred: np.ndarray, label_ids: np.ndarray) -> dict:
        """Reconstruction of `true` by `pred` (bool grids), overall and per label: cell accuracy
        (all cells, and `accuracy_non_empty` on the cells that are on in `true`, 1.0 if none),
        onset precision/recall/F1, and the music statistics of both (see window_sums); the
        reconstruction's in-scale share is also given in the key estimated for the true window."""
        t, p = _batch(true), _batch(pred)
        label_ids = np.asarray(label_ids)
        ax = (1, 2, 3)
        cells = {"same": _nz(t == p, ax), "on": _nz(t, ax), "hit": _nz(t & p, ax),
                 "o_t": _nz(t[..., 0::2], ax), "o_p": _nz(p[..., 0::2], ax),
                 "o_tp": _nz(t[..., 0::2] & p[..., 0::2], ax)}
        size = int(np.prod(t.shape[1:]))
        st = window_sums(t, self.steps_per_bar, self.low)
        true_keys = window_keys(t, self.low)
        sp = window_sums(p, self.steps_per_bar, self.low)
        # The reconstruction's notes in the key of the window it reconstructs.
        sp["scale_true_key"] = _scale_counts(p, true_keys, self.low)

        def measure(mask):
            c = {k: int(v[mask].sum()) for k, v in cells.items()}
            prec, rec = _ratio(c["o_tp"], c["o_p"]), _ratio(c["o_tp"], c["o_t"])
            pred = summarise(sp, mask)
            pred["in_scale_share_true_key"] = pred.pop("scale_true_key")
            return {"accuracy": _ratio(c["same"], size * int(mask.sum())),
                    "accuracy_non_empty": c["hit"] / c["on"] if c["on"] else 1.0, "windows": int(mask.sum()),
                    "onset_precision": prec, "onset_recall": rec,
                    "onset_f1": 2 * prec * rec / (prec + rec) if prec and rec else
                    (0.0 if prec is not None and rec is not None else None),
                    "true": summarise(st, mask), "pred": pred}

        out = measure(np.ones(len(t), bool))
        if self.labels:
            out["per_label"] = {name: measure(label_ids == i)
                                for i, name in enumerate(self.labels) if np.any(label_ids == i)}
        return out

    # ---- attributes (latent attribute vectors are computed from these at training time)
    def attributes(self, grids: np.ndarray) -> dict[str, np.ndarray]:
        """Per-window values of the attributes `--attribute NAME=AMOUNT` can push: see
        window_attributes."""
        return window_attributes(grids, self.steps_per_bar, self.low)

    # ---- assets
    def read_window(self, path: str | Path, label_id: int) -> np.ndarray:
        """A real MIDI file as one window: its first window in this model's metre, voices and range."""
        piece = read_midi(path, self.steps_per_beat)
        report: Counter = Counter()
        w = cut_windows(piece, self.bars, self.time_signature, self.low, self.high, len(self.voices), 1, report)
        if not len(w.grids):
            why = "; ".join(f"{k}: {n}" for k, n in report.items()) or "too short"
            raise GenforgeError(f"{path}: no {self.bars}-bar {ts_text(self.time_signature)} window with "
                                f"{len(self.voices)} voice(s) inside pitches {self.low}-{self.high} ({why})")
        return w.grids[0]

    def _check(self, grid: np.ndarray) -> np.ndarray:
        g = np.asarray(grid)
        if g.shape != self.grid_shape:
            raise GenforgeError(f"a music grid must have shape {self.grid_shape}, got {g.shape}")
        return g if g.dtype == bool else g > 0.5

    def preview(self, grid: np.ndarray, label_id: int = -1) -> np.ndarray:
        return preview(self._check(grid), self.steps_per_bar, self.steps_per_beat, self.low)

    def sheet(self, previews: list[np.ndarray]) -> bytes:
        return png_bytes(_sheet(previews, columns=4))

    def sheet_of(self, grids: list[np.ndarray], label_ids) -> bytes:
        return self.sheet([self.preview(g, int(i)) for g, i in zip(grids, label_ids)])

    def export(self, grid: np.ndarray, label_id: int, out_dir: Path, stem: str, properties: dict) -> list[Path]:
        """Write a window as MIDI (.mid), a piano-roll image (.png) and audio (.wav)."""
        from genforge.atomic import write_bytes

        g = self._check(grid)
        out_dir = Path(out_dir)
        props = dict(properties)
        if self.labels and 0 <= label_id < len(self.labels):
            props.setdefault("label", self.labels[label_id])
        # Everything that can fail is rendered before the first file is written.
        png = png_bytes(self.preview(g, label_id))
        wav = render_wav(g, self.tempo, self.steps_per_beat, self.low, voices=self.voices)
        return [
            write_midi(out_dir / f"{stem}.mid", g, self.voices, self.tempo, self.time_signature,
                       self.steps_per_beat, self.low, properties=props, title=stem),
            write_bytes(out_dir / f"{stem}.png", png),
            write_bytes(out_dir / f"{stem}.wav", wav),
        ]
