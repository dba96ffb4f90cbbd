"""genforge.core.sizing: patch entropy counts what a latent cell must carry; the channel rule keeps
its anchors (4 for Super Mario Bros' 4.7 bits, 12 for Super Mario Land's 6.2, at most 16)."""
from __future__ import annotations

import numpy as np
import pytest

from genforge.core.sizing import latent_channels, patch_entropy, patch_size


def test_patch_entropy_counts_the_distinct_patches_a_cell_sees():
    flat = np.zeros((10, 8, 8), np.uint8)
    assert patch_entropy(flat, 4) == 0.0
    # 4 patches a window; two windows, each patch different from every other: 8 equally likely symbols
    rng = np.random.default_rng(0)
    distinct = rng.integers(0, 13, (2, 8, 8)).astype(np.uint8)
    assert patch_entropy(distinct, 4) == pytest.approx(3.0)
    # padding at the bottom and right edges, as the networks pad: a 6 x 6 window is 4 patches too
    assert patch_entropy(distinct[:, :6, :6], 4) == pytest.approx(3.0)
    # piano rolls: (N, steps, pitches, channels) of bools
    rolls = np.zeros((4, 8, 4, 2), bool)
    rolls[0, 0, 0, 0] = True
    assert patch_entropy(rolls, 4) == pytest.approx(-(1 / 8 * np.log2(1 / 8) + 7 / 8 * np.log2(7 / 8)))
    assert patch_size(2) == 4


def test_channels_follow_the_entropy_within_bounds():
    assert latent_channels(4.73) == 4 and latent_channels(3.1) == 4      # Super Mario Bros + SMB2J; Bach
    assert latent_channels(6.19) == 12                                    # Super Mario Land
    assert latent_channels(9.0) == 16 and latent_channels(0.0) == 4
    assert all(latent_channels(a) <= latent_channels(b) for a, b in zip(np.arange(3, 9, 0.1), np.arange(3.1, 9, 0.1)))
