"""Per-window statistics of levels: density, enemies, gap columns, structures and leniency, as
`genforge evaluate levels` reports them and training compares its samples with the data. numpy only.
"""
from __future__ import annotations

import numpy as np

from genforge.domains.levels.grid import TileLegend
from genforge.domains.levels.playability import Checker


def window_stats(windows: np.ndarray, legend: TileLegend, layout: str,
                 checker: Checker) -> dict[str, np.ndarray]:
    """Per-window statistics of tile-character windows (N, H, W)."""
    n, h, w = windows.shape
    tags = legend.tiles

    def having(pred) -> np.ndarray:
        chars = [c for c, t in tags.items() if pred(set(t))]
        return np.isin(windows, chars) if chars else np.zeros(windows.shape, bool)

    empty = windows == legend.empty
    enemy = having(lambda t: bool(t & {"enemy", "monster"}))
    hazard_solid = having(lambda t: "hazard" in t and "solid" in t)
    support = having(lambda t: ("solid" in t and "damaging" not in t) or bool(t & {"solidtop", "platform"}))
    out = {"density": 1.0 - empty.mean((1, 2)), "enemies": enemy.sum((1, 2)).astype(float)}
    if layout == "horizontal":
        out["gap_columns"] = (~support[:, -1, :]).sum(1).astype(float)
    for s in checker.structures:
        out[s["name"] + "s"] = (windows == s["mouth"][0]).sum((1, 2)).astype(float)
    gaps = out.get("gap_columns", np.zeros(n))
    out["leniency"] = -(out["enemies"] + hazard_solid.sum((1, 2)) + gaps) / w
    return out
