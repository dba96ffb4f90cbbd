"""Bar-aligned windows: where they fall in the Bach chorales (other metres skipped and counted), and
transposition inside the pitch range.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
from support import BACH, needs_bach

from genforge.domains.music.midi import read_midi
from genforge.domains.music.windows import cut_windows, transpose_windows


@needs_bach
def test_bach_windows_skip_other_metres_and_count_them(bach, bach_meta):
    report, n, per_piece = Counter(), 0, {}
    for p in bach.pieces:
        w = cut_windows(p, bars=4, time_signature=(4, 4), report=report)
        per_piece[p.name] = len(w.grids)
        n += len(w.grids)
        assert w.grids.shape[1:] == (64, 128, 8) or len(w.grids) == 0
        assert all((s - p.segments[0].bar_start) % 16 == 0 for s in w.starts)   # on bar lines
    print(f"4-bar 4/4 windows: {n}; skipped: {dict(report)}")
    three_four = [f for f, r in bach_meta.items() if r["time_signatures"] == "3/4"]
    assert len(three_four) == 35
    assert all(per_piece[f] == 0 for f in three_four)
    assert report["bars in 3/4 (bar of 12 steps, not 16) (bars)"] > 0
    assert report["bars in 3/2 (bar of 24 steps, not 16) (bars)"] > 0
    assert report["bars in 12/8 (bar of 24 steps, not 16) (bars)"] > 0
    assert sum(v > 0 for v in per_piece.values()) == 311
    assert n > 3000
    # The same pieces asked for 3/4 windows give windows from the 3/4 pieces only.
    r34 = Counter()
    assert len(cut_windows(bach.pieces[0], 4, (3, 4), report=r34).grids) > 0   # riem001 is in 3/4
    assert read_midi(BACH / "midi" / "riem001_bwv269.mid").time_signature == (3, 4)


def test_transposition_stays_in_range_and_keeps_every_note():
    g = np.zeros((3, 16, 12, 2), bool)                       # pitch rows 0..11
    g[0, 0:4, 0, :] = True                                   # touches the bottom row: no downward shift
    g[1, 0:4, 11, :] = True                                  # touches the top row: no upward shift
    g[2, 0:4, 4, :] = True
    g[2, 8, 7, :] = True                                     # rows 4..7: -4..+4 fit
    out, src, shift = transpose_windows(g, max_shift=5)
    by = {i: sorted(shift[src == i].tolist()) for i in range(3)}
    assert by == {0: [0, 1, 2, 3, 4, 5], 1: [-5, -4, -3, -2, -1, 0], 2: [-4, -3, -2, -1, 0, 1, 2, 3, 4]}
    for w, i, k in zip(out, src, shift):
        assert w.sum() == g[i].sum()                         # no note lost at the edges
        assert np.array_equal(np.roll(g[i], k, axis=1), w)   # (no wrap-around: the shift is legal)
    capped, csrc, cshift = transpose_windows(g, 5, per_window=2, seed=1)
    assert all((csrc == i).sum() == 3 and 0 in cshift[csrc == i] for i in range(3))
