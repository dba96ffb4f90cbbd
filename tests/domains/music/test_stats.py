"""Music statistics of grid batches, one by one and summarised together."""
from __future__ import annotations

import numpy as np
import pytest

from genforge.domains.music.stats import (empty_bar_rate, in_scale_share, music_stats, onset_scores,
                                          pitch_classes_per_bar, polyphony, qualified_note_rate)
from genforge.domains.music.theory import MODES, estimate_key, window_keys


def test_music_statistics(two_bar_window):
    g = two_bar_window
    assert onset_scores(g, g) == {"onset_precision": 1.0, "onset_recall": 1.0, "onset_f1": 1.0}
    half = g.copy()
    half[16:, :, 0] = False                                  # drop the melody's onsets in bar 2
    s = onset_scores(g, half)
    assert s["onset_precision"] == 1.0 and s["onset_recall"] == pytest.approx(6 / 10)
    assert polyphony(g) == pytest.approx(2.0)
    assert empty_bar_rate(g, 16) == 0.0
    assert empty_bar_rate(np.concatenate([g, np.zeros_like(g)]), 16) == 0.5
    # Bar 1: melody pitches 60,61,62,63 (C C# D D#) and bass 48 (C) -> 4 classes; bar 2 likewise + G.
    assert pitch_classes_per_bar(g, 16, low=48) == pytest.approx((4 + 5) / 2)
    assert qualified_note_rate(g, min_steps=2) == 1.0
    blips = np.zeros((16, 4, 2), bool)
    blips[[0, 2], 0, :] = True
    blips[4, 1, 0] = True
    blips[4:8, 1, 1] = True                                  # two one-step notes and one of four steps
    assert qualified_note_rate(blips, 2) == pytest.approx(1 / 3)
    c_major = np.zeros((16, 12, 2), bool)
    for i, pc in enumerate([0, 2, 4, 5, 7, 9, 11, 1]):
        c_major[2 * i, pc, :] = True
    assert in_scale_share(c_major, 0, "major", low=60) == pytest.approx(7 / 8)
    assert estimate_key(c_major[:14], low=60)[:2] == (0, "major")
    # The batch summary agrees with the single statistics, and the vectorised key with estimate_key.
    batch = np.stack([g, half, np.zeros_like(g)])
    st = music_stats(batch, 16, low=48)
    assert st["polyphony"] == pytest.approx(polyphony(batch))
    assert st["pitch_classes_per_bar"] == pytest.approx(pitch_classes_per_bar(batch, 16, low=48))
    assert st["empty_bar_rate"] == pytest.approx(empty_bar_rate(batch, 16)) == pytest.approx(2 / 6)
    assert st["qualified_note_rate"] == pytest.approx(qualified_note_rate(batch))
    k = window_keys(batch[:2], low=48)
    assert [(i % 12, MODES[i // 12]) for i in k] == [estimate_key(w, 48)[:2] for w in batch[:2]]
