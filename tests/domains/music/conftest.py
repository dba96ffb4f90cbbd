"""Fixtures the music test files share: the Bach chorales read once, their metadata, a small
hand-made window, and the check that an independent MIDI reader (pretty_midi) agrees with a grid.

The Bach fixtures need the shared MIDI set (../shared/datasets/midi beside the repository) and
skip without it.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
from support import BACH, NO_BACH

from genforge.domains.music.corpus import read_folder
from genforge.domains.music.roll import grid_notes

# pretty_midi is only a test-time reference reader (genforge itself uses mido alone).
try:
    import pretty_midi
except ImportError:
    pretty_midi = None


@pytest.fixture(scope="session")
def bach():
    if not (BACH / "metadata.csv").is_file():
        pytest.skip(NO_BACH)
    return read_folder(BACH)


@pytest.fixture(scope="session")
def bach_meta():
    if not (BACH / "metadata.csv").is_file():
        pytest.skip(NO_BACH)
    with open(BACH / "metadata.csv", newline="") as f:
        return {r["file"]: r for r in csv.DictReader(f)}


@pytest.fixture(scope="session")
def bach_subset(tmp_path_factory):
    """40 chorales (symlinked, not copied) plus a labels.csv overriding two modes, and a 3/4 piece."""
    if not (BACH / "metadata.csv").is_file():
        pytest.skip(NO_BACH)
    d = tmp_path_factory.mktemp("bach40")
    files = sorted((BACH / "midi").glob("*.mid"))[:40]
    for f in files:
        os.symlink(f, d / f.name)
    (d / "labels.csv").write_text(f"file,label\n{files[2].name},major\n{files[3].stem},Minor\n")
    (d / "notes.txt").write_text("not music\n")
    return d, files


@pytest.fixture
def two_bar_window() -> np.ndarray:
    """Two bars, two voices, pitches 48..71: a held chord and a repeated melody."""
    g = np.zeros((32, 24, 4), bool)
    for s in range(0, 32, 4):
        g[s, 12 + (s // 4) % 5, 0] = True
        g[s:s + 4, 12 + (s // 4) % 5, 1] = True
    g[0, 0, 2] = True
    g[0:16, 0, 3] = True
    g[16, 7, 2] = True
    g[16:32, 7, 3] = True
    return g


def seconds_of(step: int, segments: list, spb: int) -> float:
    """Where a grid step falls in seconds under the segments' tempos."""
    t = 0.0
    for s in segments:
        if step <= s.start:
            break
        t += (min(step, s.end) - s.start) * 60.0 / (s.tempo * spb)
    return t


def check_with_pretty_midi(path: Path, grid: np.ndarray, voices: list, segments: list, spb: int, low: int = 0):
    """An independent reader agrees on tracks, names, programs, note counts and onset times.
    Without pretty_midi this does nothing; test_pretty_midi_reads_every_written_bach_file
    (test_midi.py) then reports the skip."""
    if pretty_midi is None:
        return
    pm = pretty_midi.PrettyMIDI(str(path))
    assert len(pm.instruments) == len(voices)
    notes = grid_notes(grid, low)
    for vi, (inst, v) in enumerate(zip(pm.instruments, voices)):
        assert inst.name == v.name
        assert inst.program == v.program
        assert inst.is_drum == v.is_drum
        mine = notes[notes[:, 0] == vi]
        assert len(inst.notes) == len(mine)
        got = sorted((n.start, n.pitch) for n in inst.notes)
        want = sorted((seconds_of(int(s), segments, spb), int(p)) for _, p, s, _ in mine)
        assert [p for _, p in got] == [p for _, p in want]
        # MIDI stores tempo in whole microseconds per beat: allow that rounding, nothing more.
        assert np.allclose([t for t, _ in got], [t for t, _ in want], rtol=1e-6, atol=1e-6)


@pytest.fixture
def pretty_midi_agrees():
    """check_with_pretty_midi(path, grid, voices, segments, steps_per_beat, low=0), for the test
    files that write MIDI (test_midi.py, test_codec.py)."""
    return check_with_pretty_midi
