"""Metres: which time signatures a dataset's windows come in, how many whole bars each metre's
window holds inside the one tensor length, the labels that name a metre, and how many bars of
each metre the windows use.

One tensor length L for every window: `bars` bars of the most common metre (by bars). A metre
whose bar has S steps gets windows of max(1, L // S) whole bars; the steps after them are silent
padding that the loss leaves out (MusicCodec.row_mask). 3/4 at 4 steps per beat beside 4-bar 4/4:
5 bars = 60 of 64 steps; 12/8 and 3/2: 2 bars = 48; 2/4: 8 bars = 64.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from genforge.domains.music.roll import Piece, bar_steps, check_time_signature, ts_text
from genforge.domains.music.windows import Windows, cut_windows, section_bars, window_spans
from genforge.errors import GenforgeError


@dataclass(frozen=True)
class WindowSpec:
    """The windows of one metre: `bars` whole bars of `time_signature` on the grid, `voices` pitched
    voices, a window starting every `stride_bars` bars, each `length` steps long (None: its bars;
    any steps after the bars are silent padding). `same_signature`: only sections in exactly this
    time signature (else any section whose bar has as many steps); `short_sections`: a section
    shorter than `bars` bars gives one padded window of its whole bars (see cut_windows)."""

    steps_per_beat: int
    bars: int
    time_signature: tuple[int, int]
    voices: int
    stride_bars: int = 1
    length: int | None = None
    same_signature: bool = False
    short_sections: bool = False

    @property
    def steps_per_bar(self) -> int:
        return int(bar_steps(self.time_signature, self.steps_per_beat))

    @property
    def content(self) -> int:
        """Steps of music in a whole window: its bars."""
        return self.bars * self.steps_per_bar

    @property
    def steps(self) -> int:
        """A window's length in steps, padding included."""
        return self.length or self.content

    def spans(self, piece: Piece, report: Counter) -> list[tuple[int, int]]:
        """(first step, step after its last bar) of this spec's windows in `piece` (see window_spans)."""
        return window_spans(piece, self.bars, self.time_signature, self.voices, self.stride_bars, report,
                            same_signature=self.same_signature, short_sections=self.short_sections)

    def cut(self, piece: Piece, low: int, high: int, report: Counter) -> Windows:
        """This spec's windows of `piece` inside pitches low..high (see cut_windows)."""
        return cut_windows(piece, self.bars, self.time_signature, low, high, self.voices, self.stride_bars, report,
                           length=self.length, same_signature=self.same_signature,
                           short_sections=self.short_sections)


def bars_by_metre(pieces: list[Piece]) -> Counter:
    """Whole bars per time signature over the pieces' metre sections (metres off the grid included,
    their bars counted by length)."""
    out: Counter = Counter()
    for piece in pieces:
        for first, end, ts, per_bar in section_bars(piece):
            out[tuple(ts)] += max(0, int((end - first) // per_bar))
    return out


def choose_metres(pieces: list[Piece], steps_per_beat: int, bars: int, time_signature, voices: int,
                  stride_bars: int, notes: list[str]) -> list[WindowSpec]:
    """The window spec of each metre, the most common first.

    `time_signature` given: that metre only, matched by bar length, sections shorter than a window
    skipped (as genforge did before windows came in every metre). None: every metre in `pieces`
    whose bar fits the grid and the window, each in its own time signature, short sections kept."""
    if time_signature is not None:
        ts = check_time_signature(time_signature, "time signature")
        if not isinstance(bar_steps(ts, steps_per_beat), int):
            raise GenforgeError(f"time signature {ts_text(ts)} has no whole number of steps per bar at "
                                f"{steps_per_beat} steps per beat")
        return [WindowSpec(steps_per_beat, bars, ts, voices, stride_bars)]
    counts = bars_by_metre(pieces)
    fitting = {ts: n for ts, n in counts.items() if n and isinstance(bar_steps(ts, steps_per_beat), int)}
    if not fitting:
        raise GenforgeError("no metre in the data fits the grid")
    for ts in sorted(set(counts) - set(fitting), key=ts_text):
        if counts[ts]:
            notes.append(f"metre {ts_text(ts)} skipped: its bar is not a whole number of steps at {steps_per_beat} "
                         "steps per beat")
    order = sorted(fitting, key=lambda ts: (-fitting[ts], ts_text(ts)))
    main = order[0]
    length = bars * int(bar_steps(main, steps_per_beat))
    specs = []
    for ts in order:
        per_bar = int(bar_steps(ts, steps_per_beat))
        if per_bar > length:
            notes.append(f"metre {ts_text(ts)} skipped: a bar of {per_bar} steps is longer than the window "
                         f"({length} steps)")
            continue
        specs.append(WindowSpec(steps_per_beat, max(1, length // per_bar), ts, voices, stride_bars, length,
                                same_signature=True, short_sections=True))
    parts = [f"{ts_text(s.time_signature)} {s.bars} bar(s) = {s.content} steps" for s in specs]
    notes.append(f"window: {length} steps ({bars} bars of {ts_text(main)}, the most common metre by bars); "
                 f"whole bars per metre, the rest silent padding left out of the loss: {', '.join(parts)}")
    return specs


def label_name(base: str | None, time_signature, metre_labels: bool) -> str | None:
    """A window's label: its piece's label, followed by its metre when the labels name metres
    ("minor 3/4"; "3/4" alone for an unlabelled piece)."""
    if not metre_labels:
        return base
    return f"{base} {ts_text(time_signature)}" if base else ts_text(time_signature)


def mode_word(label: str | None, modes=("major", "minor")) -> str | None:
    """The mode a label names ("minor", "minor 3/4" -> "minor"), None if it names none."""
    words = (label or "").lower().split()
    return next((w for w in words if w in modes), None)


def coverage(pieces: list[Piece], kept: list[list[tuple[WindowSpec, Windows]]]) -> dict[str, dict]:
    """Per time signature (text): bars in the pieces ("bars") and bars inside at least one window
    ("in_windows"); `kept[i]`: the (spec, windows) of pieces[i]."""
    out: dict[str, dict] = {}
    for piece, parts in zip(pieces, kept):
        covered: set[int] = set()
        for spec, w in parts:
            for s, e in zip(w.starts, w.ends):
                covered.update(range(s, e, spec.steps_per_bar))
        for first, end, ts, per_bar in section_bars(piece):
            row = out.setdefault(ts_text(ts), {"bars": 0, "in_windows": 0})
            n = max(0, int((end - first) // per_bar))
            row["bars"] += n
            if isinstance(per_bar, int):
                row["in_windows"] += sum(first + k * per_bar in covered for k in range(n))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["bars"]))


def coverage_notes(cover: dict[str, dict]) -> list[str]:
    """The dataset notes on bars used: per metre, then overall."""
    total = sum(r["bars"] for r in cover.values())
    used = sum(r["in_windows"] for r in cover.values())
    lines = [f"bars in {ts}: {r['bars']} in the data, {r['in_windows']} in windows "
             f"({r['in_windows'] / r['bars']:.1%})" if r["bars"] else f"bars in {ts}: none whole"
             for ts, r in cover.items()]
    if total:
        lines.append(f"bars in windows: {used} of {total} ({used / total:.1%})")
    return lines
