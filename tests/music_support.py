"""What the music tests share besides support.py: a folder of small tunes in several metres,
written as MIDI by the test (no shared data needed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from genforge.domains.music.midi import write_midi
from genforge.domains.music.roll import Segment, Voice, bar_steps, notes_to_grid

SCALE = [60, 62, 64, 65, 67, 69, 71, 72]
BASS = [48, 43, 45, 41]
VOICES = [Voice("Melody", 0, 0), Voice("Bass", 32, 1)]

# name -> [(time signature, bars)]: 4/4 is the most common metre by bars (12 + 12 + 4 = 28 bars
# against 22 of 3/4), so windows are 64 steps; "mixed" ends in a 3/4 section of 2 bars, shorter
# than a 3/4 window (5 bars), which is kept as one padded window.
MIXED_TUNES = {
    "four_a": [((4, 4), 12)],
    "four_b": [((4, 4), 12)],
    "three_a": [((3, 4), 10)],
    "three_b": [((3, 4), 10)],
    "six_a": [((6, 8), 7)],
    "mixed": [((4, 4), 4), ((3, 4), 2)],
}
# Windows of each metre at stride 1 (bars - window + 1 per section; a short section gives one).
MIXED_WINDOWS = {"4/4": 9 + 9 + 1, "3/4": 6 + 6 + 1, "6/8": 3}


def tune_notes(sections: list[tuple[tuple[int, int], int]], seed: int, spb: int = 4) -> tuple[np.ndarray, list]:
    """A melody (a note every beat, stepping along a scale) over a held bass note per bar, in
    every bar of every section: (notes (N, 4), segments)."""
    rng = np.random.default_rng(seed)
    notes, segments, start = [], [], 0
    for ts, bars in sections:
        per_bar = int(bar_steps(ts, spb))
        end = start + bars * per_bar
        segments.append(Segment(start, end, ts, 100.0, start))
        for b in range(bars):
            bar = start + b * per_bar
            notes.append((1, BASS[(b + seed) % len(BASS)], bar, bar + per_bar))
            beat = spb if ts[1] == 4 else spb * 3 // 2     # a dotted quarter in compound metres
            for k, s in enumerate(range(bar, bar + per_bar, beat)):
                step = int(rng.integers(-1, 2))
                notes.append((0, SCALE[(b + k + step) % len(SCALE)], s, min(s + beat, bar + per_bar)))
        start = end
    return np.asarray(notes, np.int32), segments


def write_mixed_metre_folder(root: Path, name: str = "tunes") -> Path:
    """MIXED_TUNES as two-voice MIDI files under root/name; returns the folder."""
    folder = Path(root) / name
    folder.mkdir(parents=True, exist_ok=True)
    for i, (stem, sections) in enumerate(MIXED_TUNES.items()):
        notes, segments = tune_notes(sections, i)
        grid = notes_to_grid(notes, segments[-1].end, len(VOICES))
        write_midi(folder / f"{stem}.mid", grid, VOICES, segments=segments)
    return folder
