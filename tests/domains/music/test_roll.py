"""The grid layout: notes <-> onset/hold grids, bar lengths, and the shared argument checks."""
from __future__ import annotations

import numpy as np
import pytest

from genforge.domains.music.roll import (as_batch, as_grid, bar_steps, check_steps_per_beat, check_tempo,
                                         check_time_signature, grid_notes, grid_to_planes, notes_to_grid,
                                         planes_to_grid)
from genforge.errors import GenforgeError


def test_grid_notes_split_repeated_onsets_and_start_hold_runs():
    # Onset cells split a held pitch even with hold on throughout.
    g = np.zeros((16, 1, 2), bool)
    g[:, 0, 1] = True
    g[[0, 3, 9], 0, 0] = True
    notes = grid_notes(g, low=60)
    assert notes.tolist() == [[0, 60, 0, 3], [0, 60, 3, 9], [0, 60, 9, 16]]
    assert np.array_equal(notes_to_grid(notes, 16, 1, low=60, high=60), g)
    # An onset without hold still sounds (for one step); a hold run with no onset starts a note.
    h = np.zeros((8, 1, 2), bool)
    h[2, 0, 0] = True
    h[5:7, 0, 1] = True
    assert grid_notes(h).tolist() == [[0, 0, 2, 3], [0, 0, 5, 7]]
    # The planes round trip, hold made to include the lone onset.
    onset, hold = grid_to_planes(h)
    assert hold[0, 2, 0] and np.array_equal(planes_to_grid(onset, hold, 0, 0)[..., 0], h[..., 0])


def test_bar_lengths():
    # Bar lengths: 4/4 -> 16, 3/4 -> 12, 6/8 -> 12, 12/8 -> 24 at 4 steps per beat.
    assert [bar_steps(ts, 4) for ts in [(4, 4), (3, 4), (6, 8), (12, 8), (3, 2)]] == [16, 12, 12, 24, 24]
    assert bar_steps((5, 16), 2) == 2.5                  # no whole number of steps: a float


def test_grids_as_bool_batches():
    probs = np.array([[[0.2, 0.7]]])                     # one step, one pitch, one voice
    assert as_grid(probs).tolist() == [[[False, True]]]
    assert as_batch(probs).shape == (1, 1, 1, 2) and as_batch(np.stack([probs] * 3)).shape == (3, 1, 1, 2)
    g = np.ones((2, 1, 2), bool)
    assert as_grid(g) is g


def test_argument_checks_name_the_caller():
    assert check_steps_per_beat(np.int64(4)) == 4 and check_tempo("90", "x") == 90.0
    assert check_time_signature([6, 8], "x") == (6, 8)
    for bad in (0, 97, 2.0, True):
        with pytest.raises(GenforgeError, match="here: steps per beat"):
            check_steps_per_beat(bad, "here")
    for bad in (0, 1001, float("nan"), "fast"):
        with pytest.raises(GenforgeError, match="here: tempo"):
            check_tempo(bad, "here")
    for bad in ((0, 4), (4, 3), (4, 128), (256, 4), "4/4"):
        with pytest.raises(GenforgeError, match="here: .*time signature"):
            check_time_signature(bad, "here")
