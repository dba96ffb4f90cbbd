"""One split of whole items (levels, pieces) into training, validation and test.

Whole items, never windows: windows of one level overlap, so a window held out beside its
neighbours in training would measure memory, not generalisation.
"""
from __future__ import annotations

import numpy as np


def split_items(items: list, test: float, validation: float, seed: int) -> tuple[list, list, list]:
    """(train, validation, test) lists of `items`, shuffled by `seed`. Shares round to whole
    items, at least one each when asked for; with fewer than three items nothing is held out
    (the caller reports on training windows and says so)."""
    order = np.random.default_rng(seed).permutation(len(items))
    shuffled = [items[i] for i in order]
    if len(items) < 3:
        return shuffled, [], []
    n_test = max(1, round(test * len(items))) if test else 0
    n_val = max(1, round(validation * len(items))) if validation else 0
    return shuffled[n_test + n_val:], shuffled[n_test:n_test + n_val], shuffled[:n_test]
