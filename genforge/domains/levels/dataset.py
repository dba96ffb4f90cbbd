"""Training data: the windows of one or more games' level folders on one vocabulary and one window
shape, split into training, validation and test by whole levels.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genforge.domains.levels.grid import TileLegend, cut_windows, filled_legend, place_in, to_indices
from genforge.domains.levels.read import LevelSet, read_level_folder
from genforge.domains.splits import split_items
from genforge.errors import GenforgeError


@dataclass
class LevelDataset:
    """Windows of one or more games on one vocabulary and one window shape, split by whole levels."""

    vocabulary: str                       # index -> tile character
    shape: tuple[int, int]                # common window (rows, cols)
    games: list[dict]                     # per game: name, legend, empty tile, layout, window
    labels: list[str]                     # condition labels (game names); empty for one game
    splits: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (tile indices (N,H,W), label ids (N,))
    notes: list[str]
    split: dict[str, dict[str, list[str]]]  # game -> "train" | "validation" | "test" -> level names

    def legend_for(self, game: str | None) -> TileLegend:
        """The game's legend, with tiles only other games know filled in (blends use them)."""
        by_name = {g["name"]: g for g in self.games}
        return filled_legend(by_name.get(game) or self.games[0], self.games)


def build_dataset(folders: list[str | Path], window: tuple[int, int] | None = None, stride: int = 1,
                  test: float = 0.2, validation: float = 0.1, seed: int = 0, pad: bool = False,
                  mirror: bool | None = None) -> LevelDataset:
    """The windows of every level in `folders` (one game each), split by whole levels: `test` and
    `validation` are shares of each game's levels; `stride` thins the training windows only.
    `pad`: ragged level files are padded, not refused. `mirror`: add the training windows mirrored
    left-right; None: for each game whose legend names no side-bound tile (a pipe's left half)."""
    sets = [read_level_folder(f, window, pad) for f in folders]
    names = [s.game for s in sets]
    if len(set(names)) != len(names):
        raise GenforgeError(f"the same game was given twice: {', '.join(names)}")
    notes = [n for s in sets for n in s.notes]
    vocabulary = _vocabulary(sets)
    shape = (max(s.window[0] for s in sets), max(s.window[1] for s in sets))
    parts: dict[str, list] = {"train": [], "validation": [], "test": []}
    mirrored: list = []  # training windows mirrored: training only, never standing in for a held-out split
    games, split_names = [], {}
    for label, s in enumerate(sets):
        train, val, held = split_items(s.levels, test, validation, seed)
        if not val:
            notes.append(f"{s.game}: {len(s.levels)} level(s) only, none held out; metrics are on training windows")
        for split, lvls in (("train", train), ("validation", val), ("test", held)):
            for lv in lvls:
                wins = cut_windows(lv, s.layout, s.window, s.legend.empty, stride if split == "train" else 1,
                                   s.legend.null)
                if len(wins):
                    parts[split].append((_indices(place_in(wins, shape, s.legend.empty), vocabulary), label))
        if mirror or (mirror is None and not s.legend.directional()):
            own = [(w, lab) for w, lab in parts["train"] if lab == label]
            mirrored += [(_mirrored(w, s.window, shape), lab) for w, lab in own]
            n = sum(len(w) for w, _ in own)
            notes.append(f"{s.game}: training windows mirrored left-right (the legend names no side-bound tile): "
                         f"{n} -> {2 * n}")
        games.append({"name": s.game, "legend": s.legend.tiles, "empty": s.legend.empty, "layout": s.layout,
                      "window": list(s.window), **({"structures": list(s.legend.structures)}
                                                   if s.legend.structures else {})})
        split_names[s.game] = {"train": [lv.name for lv in train], "validation": [lv.name for lv in val],
                               "test": [lv.name for lv in held]}
    if not parts["train"]:
        raise GenforgeError(f"no training windows of {shape[0]} x {shape[1]} tiles in {', '.join(map(str, folders))}")
    splits = _stacked(parts)
    if mirrored:
        more, more_ids = _stacked({"train": mirrored})["train"]
        splits["train"] = (np.concatenate([splits["train"][0], more]), np.concatenate([splits["train"][1], more_ids]))
    return LevelDataset(vocabulary, shape, games, names if len(sets) > 1 else [], splits, notes, split_names)


def _indices(windows: np.ndarray, vocabulary: str) -> np.ndarray:
    """Character windows as compact tile indices (uint8 up to 256 tiles): a level's windows are
    converted as they are cut, so the character arrays (4 bytes a cell) never pile up."""
    indices = to_indices(windows, vocabulary)
    return indices.astype(np.uint8) if len(vocabulary) <= 256 else indices


def _mirrored(windows: np.ndarray, native: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """Windows (placed bottom-left in the common `shape`) mirrored within their game's own width."""
    out = windows.copy()
    w = native[1]
    out[:, :, :w] = windows[:, :, w - 1::-1]
    return out


def _vocabulary(sets: list[LevelSet]) -> str:
    """Every tile character the levels use (and each game's empty tile), sorted: index -> character."""
    used = set()
    for s in sets:
        used.update(s.legend.empty)
        for lv in s.levels:
            used.update(np.unique(lv.grid).tolist())
    return "".join(sorted(used))


def _stacked(parts: dict[str, list]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Split name -> (tile indices (N, H, W), label ids (N,)) from each split's (windows, label) parts;
    an empty split holds the training windows (metrics are then on training windows, as noted)."""
    splits = {}
    for split, items in parts.items():
        if not items:
            items = parts["train"]
        grids = np.concatenate([g for g, _ in items])
        ids = np.concatenate([np.full(len(g), lab, dtype=np.int32) for g, lab in items])
        splits[split] = (grids, ids)
    return splits
