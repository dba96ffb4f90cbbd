"""What the level tests share besides support.py: the corpus's own numbers (SOURCE.md), windows
of a level set, and hand-made grids with the Super Mario Bros checker to run on them."""
from __future__ import annotations

import numpy as np

from genforge.domains.games import MARIO_TILES
from genforge.domains.levels.grid import TileLegend, cut_windows
from genforge.domains.levels.playability import Checker

SMB_WIDTHS = {"1-1": 202, "1-2": 158, "1-3": 150, "2-1": 197, "3-1": 197, "3-3": 149, "4-1": 222, "4-2": 187,
              "5-1": 198, "5-3": 150, "6-1": 184, "6-2": 215, "6-3": 165, "7-1": 176, "8-1": 373}


def windows_of(level_set, window=None):
    """Level name -> its windows (N, H, W), cut with the level set's rules."""
    window = window or level_set.window
    return {lv.name: cut_windows(lv, level_set.layout, window, level_set.legend.empty) for lv in level_set.levels}


# ---------------------------------------------------------------- hand-made grids

MARIO = TileLegend({k: list(v) for k, v in MARIO_TILES.items()})


def grid(rows: list[str]) -> np.ndarray:
    return np.array([list(r) for r in rows], dtype="<U1")


def mario() -> Checker:
    return Checker.for_game("Super Mario Bros", MARIO, "horizontal")


def flat_with_gap(gap: int, width: int = 28, at: int = 6) -> np.ndarray:
    rows = ["-" * width] * 13 + ["X" * at + "-" * gap + "X" * (width - at - gap)]
    return grid(rows)
