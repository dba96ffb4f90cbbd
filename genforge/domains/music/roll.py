"""Piano rolls: the notes of a piece on a time grid, and the grid tensor the model sees.

Vocabulary used throughout the music package:

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

Also here: the checks of grid step, tempo and time signature that reading, writing and rendering
share. Numpy only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genforge.errors import GenforgeError

MAX_BPM = 1000.0


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

    def pitched_notes(self) -> np.ndarray:
        """The notes of the pitched voices (drums left out), (N, 4) as `notes`."""
        return self.notes[np.isin(self.notes[:, 0], self.pitched_voices())]

    def pitch_range(self, pitched_only: bool = True) -> tuple[int, int] | None:
        n = self.pitched_notes() if pitched_only else self.notes
        return (int(n[:, 1].min()), int(n[:, 1].max())) if len(n) else None


# ---------------------------------------------------------------- grids

def as_grid(grid) -> np.ndarray:
    """A grid (or a batch of grids) as bool cells: a bool array as it is, any other on where > 0.5."""
    g = np.asarray(grid)
    return g if g.dtype == bool else g > 0.5


def as_batch(grids) -> np.ndarray:
    """One grid (S, P, 2V) or a batch (N, S, P, 2V) as a bool batch (N, S, P, 2V)."""
    g = as_grid(grids)
    return g[None] if g.ndim == 3 else g


def planes_to_grid(onset: np.ndarray, hold: np.ndarray, low: int = 0, high: int = 127) -> np.ndarray:
    """(V, S, 128) onset and hold planes -> (S, high-low+1, 2V) grid (onset channels even, hold odd)."""
    v, s, _ = onset.shape
    g = np.empty((s, high - low + 1, 2 * v), bool)
    g[..., 0::2] = onset[:, :, low:high + 1].transpose(1, 2, 0)
    g[..., 1::2] = (hold | onset)[:, :, low:high + 1].transpose(1, 2, 0)
    return g


def grid_to_planes(grid: np.ndarray, low: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of planes_to_grid: (V, S, 128) onset and hold, hold made to include every onset."""
    g = as_grid(grid)
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
    g = as_grid(grid)
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


# ---------------------------------------------------------------- argument checks

def check_steps_per_beat(steps_per_beat, where=None) -> int:
    """`steps_per_beat` as an int, or a GenforgeError (prefixed with `where`) unless a whole number 1-96."""
    if not isinstance(steps_per_beat, (int, np.integer)) or isinstance(steps_per_beat, bool) \
            or not 1 <= steps_per_beat <= 96:
        raise GenforgeError(f"{where + ': ' if where else ''}steps per beat must be a whole number from 1 to 96, "
                            f"got {steps_per_beat!r}")
    return int(steps_per_beat)


def check_tempo(bpm, where) -> float:
    """`bpm` as a float, or a GenforgeError naming `where` unless a number from 1 to MAX_BPM."""
    try:
        bpm = float(bpm)
    except (TypeError, ValueError):
        raise GenforgeError(f"{where}: tempo must be a number of beats per minute, got {bpm!r}") from None
    if not math.isfinite(bpm) or not 1.0 <= bpm <= MAX_BPM:
        raise GenforgeError(f"{where}: tempo {bpm:g} bpm is out of range (1 to {MAX_BPM:g})")
    return bpm


def check_time_signature(ts, where) -> tuple[int, int]:
    """(numerator, denominator) as ints, or a GenforgeError naming `where` unless MIDI can write it
    (numerator 1-255, denominator a power of two up to 64)."""
    try:
        num, den = int(ts[0]), int(ts[1])
    except (TypeError, ValueError, IndexError):
        raise GenforgeError(f"{where}: time signature must be (numerator, denominator), got {ts!r}") from None
    if not 1 <= num <= 255 or den < 1 or den > 64 or den & (den - 1):
        raise GenforgeError(f"{where}: invalid time signature {num}/{den}")
    return num, den
