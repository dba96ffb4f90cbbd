"""music21 scores -> note lists in ticks: what every `genforge datasets build` converter shares.

music21 (an optional extra) is imported only by `need_music21`, when a build starts: training reads
the archives the builds write with numpy alone.

The rules (the chorales' since the first build): tied notes merged; notes without a duration of
their own (grace notes, chord symbols) left out and counted; a pickup bar padded with rest in front,
so bar lines fall on whole bars from the start; every time signature kept at its position.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from genforge.errors import GenforgeError

TICKS_PER_BEAT = 48
EXTRA_HINT = 'pip install "genforge[corpora]"'


def need_music21(what: str, hint: str = EXTRA_HINT):
    """The music21 package, or one clear error saying how to install it."""
    try:
        import music21
    except ImportError:
        raise GenforgeError(f"building the {what} needs music21, which is not installed: {hint} "
                            "(or pip install music21)") from None
    return music21


def ticks(quarters) -> int:
    return int(round(Fraction(quarters) * TICKS_PER_BEAT))


def pickup_shift(part) -> Fraction:
    """Quarters of rest to put in front so the first full bar starts on a bar line."""
    measures = part.getElementsByClass("Measure")
    if not len(measures):
        return Fraction(0)
    m0 = measures[0]
    pad = Fraction(m0.paddingLeft or 0)
    if not pad:
        bar, have = Fraction(m0.barDuration.quarterLength), Fraction(m0.duration.quarterLength)
        if 0 < have < bar:
            pad = bar - have
    return pad


def time_signatures(part, shift: Fraction) -> list[tuple[int, int, int]]:
    """(tick, numerator, denominator) of each change of metre in `part` (the first at tick 0);
    empty when the part has none."""
    sigs: list[tuple[int, int, int]] = []
    for ts in part.recurse().getElementsByClass("TimeSignature"):
        tick = ticks(Fraction(ts.getOffsetInHierarchy(part)) + shift) if sigs else 0
        sig = (tick, int(ts.numerator), int(ts.denominator))
        if not sigs or sig[1:] != sigs[-1][1:]:
            sigs.append(sig)
    return sigs


def metre_problem(sigs: list[tuple[int, int, int]]) -> str | None:
    """Why a piece's time signatures cannot go into a notes archive (or a MIDI file), or None: MIDI
    writes a denominator as a power of two (music21 reads some ABC tunes' "M:1/6" as 1/6)."""
    for _, num, den in sigs:
        if not (1 <= num <= 255 and 1 <= den <= 64 and den & (den - 1) == 0):
            return f"a metre MIDI cannot write ({num}/{den})"
    return None


def parts_notes(parts: list, top_only: bool = False) -> tuple[np.ndarray, list[tuple[int, int, int]], dict]:
    """(notes (N, 4) voice, pitch, start tick, end tick; time signatures; facts) of `parts`, voice i
    the i-th part, times shifted by the first part's pickup. `top_only`: a chord gives its highest
    pitch only (a melody's double stops). Time signatures from the first part, 4/4 when it has none
    (facts["no_time_signature"] says so). Facts: shift_quarters, grace_notes, chords."""
    from music21 import harmony

    shift = pickup_shift(parts[0])
    rows = []
    graces = chords = 0
    for v, part in enumerate(parts):
        for n in part.stripTies().flatten().notes:
            if isinstance(n, harmony.Harmony):          # chord symbols above a melody: not notes
                continue
            if n.duration.isGrace or not n.quarterLength:    # ornaments without a duration of their own
                graces += 1
                continue
            start = ticks(Fraction(n.offset) + shift)
            end = max(start + 1, ticks(Fraction(n.offset) + shift + Fraction(n.quarterLength)))
            pitches = [int(p.midi) for p in n.pitches]
            if top_only and len(pitches) > 1:
                chords += 1
                pitches = [max(pitches)]
            for p in pitches:
                rows.append((v, p, start, end))
    sigs = time_signatures(parts[0], shift)
    facts = {"shift_quarters": float(shift), "grace_notes": graces, "chords": chords,
             "no_time_signature": not sigs}
    notes = np.array(rows, np.int64).reshape(-1, 4)
    notes = notes[np.lexsort((notes[:, 1], notes[:, 0], notes[:, 2]))]
    return notes, sigs or [(0, 4, 4)], facts
