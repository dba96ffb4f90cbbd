"""Bar-aligned windows: where in a Piece the model's fixed-length windows fall, cutting them, and
transposing them for augmentation.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from genforge.domains.music.roll import Piece, bar_steps, check_time_signature, ts_text
from genforge.errors import GenforgeError


@dataclass
class Windows:
    """The windows cut from one piece, where each starts and where its content ends, and what was
    skipped on the way."""

    grids: np.ndarray            # (N, steps, pitches, 2V) bool
    starts: list[int]            # first step of each window in its piece
    report: Counter              # reason (with its unit) -> count
    ends: list[int] = field(default_factory=list)   # step after each window's last content step


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
                report: Counter | None = None, keep_silent: bool = False, length: int | None = None,
                same_signature: bool = False, short_sections: bool = False) -> Windows:
    """Windows of `bars` whole bars, each starting on a bar line inside one metre section.

    Sections whose bar length (in steps) differs from `time_signature`'s, and bars too few to fill
    a window before the section ends (a metre change or the end of the piece), are skipped and
    counted in `report` (in bars); windows with notes outside low..high or with no notes are
    skipped and counted (in windows). Drum voices are left out. `voices`: the number of pitched
    voices a window must have (None: the piece's own); 1 merges all pitched voices into one;
    any other mismatch skips the piece (counted in pieces).

    `length`: the windows' length in steps (None: `bars` bars); steps past a window's bars are
    silent padding. `same_signature`: only sections in exactly `time_signature` (other sections
    are left alone and not counted: their own metre's windows take them). `short_sections`: a
    section of at least one whole bar but fewer than `bars` gives one window of its whole bars,
    padded with silence (see `Windows.ends`)."""
    report = Counter() if report is None else report
    spans = window_spans(piece, bars, time_signature, voices, stride_bars, report,   # checks the arguments
                         same_signature=same_signature, short_sections=short_sections)
    want = bar_steps(time_signature, piece.steps_per_beat)
    length = bars * want if length is None else int(length)
    if length < bars * want:
        raise GenforgeError(f"a window of {length} steps cannot hold {bars} bars of {ts_text(time_signature)}")
    idx = piece.pitched_voices()
    n_v = len(idx) if voices is None else voices
    empty = Windows(np.zeros((0, length, high - low + 1, 2 * n_v), bool), [], report, [])
    if not spans:
        return empty
    full = piece.grid(0, 127, idx)
    if voices == 1 and len(idx) > 1:
        full = np.stack([full[..., 0::2].any(-1), full[..., 1::2].any(-1)], axis=-1)
    kept, kept_spans = [], []
    for s, e in spans:
        w = full[s:e]
        if len(w) < length:       # silence past the window's bars (or past the end of the piece)
            w = np.concatenate([w, np.zeros((length - len(w), *w.shape[1:]), bool)])
        if w[:, :low].any() or w[:, high + 1:].any():
            report[f"windows with notes outside pitches {low}-{high} (windows)"] += 1
            continue
        w = w[:, low:high + 1]
        if not keep_silent and not w.any():
            report["silent windows (windows)"] += 1
            continue
        kept.append(w)
        kept_spans.append((s, e))
    if not kept:
        return empty
    return Windows(np.stack(kept), [s for s, _ in kept_spans], report, [e for _, e in kept_spans])


def window_starts(piece: Piece, bars: int = 4, time_signature: tuple[int, int] = (4, 4),
                  voices: int | None = None, stride_bars: int = 1, report: Counter | None = None,
                  **kw) -> list[int]:
    """The first steps of the windows `cut_windows` would cut (before its pitch-range and
    silence checks), without rendering anything; skipped bars and pieces counted in `report`."""
    return [s for s, _ in window_spans(piece, bars, time_signature, voices, stride_bars, report, **kw)]


def window_spans(piece: Piece, bars: int = 4, time_signature: tuple[int, int] = (4, 4),
                 voices: int | None = None, stride_bars: int = 1, report: Counter | None = None,
                 same_signature: bool = False, short_sections: bool = False) -> list[tuple[int, int]]:
    """(first step, step after the last bar) of each window `cut_windows` would cut, before its
    pitch-range and silence checks; see there for `same_signature` and `short_sections`."""
    report = Counter() if report is None else report
    spb = piece.steps_per_beat
    time_signature = check_time_signature(time_signature, "window time signature")
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
    spans = []
    for first, end, ts, per_bar in section_bars(piece):
        if same_signature and ts != time_signature:
            continue
        if not isinstance(per_bar, int):
            report[f"sections in {ts_text(ts)}, whose bars do not fit a {spb}-steps-per-beat grid (sections)"] += 1
            continue
        origin = first                 # a time-signature event starts a bar (and its section)
        n_bars = max(0, (end - origin) // per_bar)
        if per_bar != want:
            report[f"bars in {ts_text(ts)} (bar of {per_bar} steps, not {want}) (bars)"] += n_bars
            continue
        if n_bars < bars:
            if short_sections and n_bars:
                spans.append((origin, origin + n_bars * per_bar))
            else:
                report[f"bars in {ts_text(ts)} sections shorter than {bars} bars (bars)"] += n_bars
            continue
        spans += [(origin + k * per_bar, origin + (k + bars) * per_bar)
                  for k in range(0, n_bars - bars + 1, stride_bars)]
    return spans


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
