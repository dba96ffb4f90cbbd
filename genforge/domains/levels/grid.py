"""Tile grids in memory: a level is a 2-D numpy array of one-character strings, read through a legend
(character -> tags). Windows are cut from levels, padded to a common shape and turned into tile
indices and one-hot arrays for the model, and back to characters and VGLC text. No file reading
(read.py), no drawing (tiles.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genforge.domains.games import AREA, HORIZONTAL, ROOMS
from genforge.errors import GenforgeError


NULL_TAG = "null"  # a legend's mark for cells outside the map: no content, never learned nor generated


@dataclass
class TileLegend:
    """Tile character -> tags (solid, passable, hazard, pipe...), the tile that means 'nothing', and
    multi-tile structures the legend declares beyond the ones genforge knows by their tags."""

    tiles: dict[str, list[str]]
    empty: str = "-"
    structures: tuple = ()

    def filled_from(self, other: dict[str, list[str]]) -> tuple["TileLegend", list[str]]:
        """This legend plus the tiles only `other` knows; also returns which characters were added."""
        added = sorted(set(other) - set(self.tiles))
        return TileLegend({**self.tiles, **{c: list(other[c]) for c in added}}, self.empty, self.structures), added

    def has(self, ch: str, tag: str) -> bool:
        return tag in self.tiles.get(ch, ())

    @property
    def null(self) -> str | None:
        """The tile marking cells outside the map (tagged `null`), if the legend has one."""
        return next((ch for ch, tags in self.tiles.items() if NULL_TAG in tags), None)

    def directional(self) -> list[str]:
        """Tiles whose tags name a side (a pipe's left or right half): a mirrored level would misplace
        them, so levels of a legend with any are never mirrored."""
        return [ch for ch, tags in self.tiles.items() if any("left" in t or "right" in t for t in tags)]


def is_tile_char(ch) -> bool:
    """A character that can name a tile: one character, not NUL (numpy's one-character strings
    drop a NUL, so a NUL tile would read back as '')."""
    return isinstance(ch, str) and len(ch) == 1 and ch != "\x00"


def empty_tile(legend_tiles: dict[str, list[str]], counts: dict[str, int] | None = None) -> str | None:
    """The tile that means nothing, as the legend says: the one tagged `empty`, else `void`, else
    (given tile counts of the levels) the most frequent passable tile, else the most frequent one."""
    for tag in ("empty", "void"):
        for ch, tags in legend_tiles.items():
            if tag in tags:
                return ch
    if not counts:
        return None
    passable = {ch: n for ch, n in counts.items() if "passable" in legend_tiles.get(ch, ())}
    return max(passable or counts, key=lambda ch: (passable or counts)[ch])


def filled_legend(game: dict, games: list[dict]) -> TileLegend:
    """A game's legend (`game`: one of a dataset's or a model's `games` entries), with the tiles
    only the other games know filled in: a blend of games may use them."""
    legend = TileLegend(dict(game["legend"]), game["empty"], tuple(game.get("structures", ())))
    for other in games:
        legend = legend.filled_from(other["legend"])[0]
    return legend


@dataclass
class Level:
    grid: np.ndarray          # (rows, cols) of one-character strings
    name: str
    game: str
    path: Path | None = None
    padded_rows: list[int] = field(default_factory=list)  # lines of the file padded to its width (--pad)


# ---------------------------------------------------------------- windows

def fit_to_window(grid: np.ndarray, shape: tuple[int, int], empty: str, layout: str) -> np.ndarray:
    """Pad or trim the fixed axis of a level to the window's. Levels sit at the bottom-left:
    extra rows above are sky (trimmed only if empty), missing ones are padded with `empty`."""
    h, w = shape
    if layout == ROOMS:
        # Rooms tile the level exactly: trimming or padding would shift every room after it.
        if grid.shape[0] % h or grid.shape[1] % w:
            raise GenforgeError(f"level of {grid.shape[0]} x {grid.shape[1]} tiles is not a grid of "
                                f"{h} x {w} rooms")
        return grid
    if layout == AREA:  # a level smaller than the window on an axis is padded above and to the right
        rows, cols = max(h - grid.shape[0], 0), max(w - grid.shape[1], 0)
        return np.pad(grid, ((rows, 0), (0, cols)), constant_values=empty) if rows or cols else grid
    if layout == HORIZONTAL:
        while grid.shape[0] > h and np.all(grid[0] == empty):
            grid = grid[1:]
        if grid.shape[0] < h:
            grid = np.concatenate([np.full((h - grid.shape[0], grid.shape[1]), empty), grid], axis=0)
        if grid.shape[1] < w:
            grid = np.concatenate([grid, np.full((grid.shape[0], w - grid.shape[1]), empty)], axis=1)
    else:
        while grid.shape[1] > w and np.all(grid[:, -1] == empty):
            grid = grid[:, :-1]
        if grid.shape[1] < w:
            grid = np.concatenate([grid, np.full((grid.shape[0], w - grid.shape[1]), empty)], axis=1)
        if grid.shape[0] < h:
            grid = np.concatenate([np.full((h - grid.shape[0], grid.shape[1]), empty), grid], axis=0)
    return grid


def cut_windows(level: Level, layout: str, shape: tuple[int, int], empty: str, stride: int = 1,
                null: str | None = None) -> np.ndarray:
    """All windows of `shape` in a level: (N, h, w) character arrays. AREA windows step a quarter
    window (or `stride`, if larger) along both axes, and skip windows mostly outside the map
    (`null` cells)."""
    h, w = shape
    grid = fit_to_window(level.grid, shape, empty, layout)
    if layout == AREA:
        step = max(stride, min(h, w) // 4)
        ys = sorted(set(range(0, grid.shape[0] - h + 1, step)) | {grid.shape[0] - h})
        xs = sorted(set(range(0, grid.shape[1] - w + 1, step)) | {grid.shape[1] - w})
        windows = [grid[y:y + h, x:x + w] for y in ys for x in xs]
        if null is not None:
            windows = [win for win in windows if np.mean(win == null) <= 0.5]
        return np.stack(windows) if windows else np.zeros((0, h, w), dtype="<U1")
    if layout == ROOMS:
        rows, cols = grid.shape[0] // h, grid.shape[1] // w
        rooms = [grid[r * h:(r + 1) * h, c * w:(c + 1) * w] for r in range(rows) for c in range(cols)]
        rooms = [room for room in rooms if not np.all(room == empty)]  # void rooms: not part of the dungeon
        return np.stack(rooms) if rooms else np.zeros((0, h, w), dtype="<U1")
    if layout == HORIZONTAL:
        if grid.shape[0] > h:
            raise GenforgeError(f"{level.path or level.name}: level is {grid.shape[0]} rows high, "
                                f"the window {h}; pass a taller --window")
        return np.stack([grid[:, x:x + w] for x in range(0, grid.shape[1] - w + 1, stride)])
    if grid.shape[1] > w:
        raise GenforgeError(f"{level.path or level.name}: level is {grid.shape[1]} columns wide, "
                            f"the window {w}; pass a wider --window")
    starts = range(grid.shape[0] - h, -1, -stride)  # bottom to top: the direction of play
    return np.stack([grid[y:y + h] for y in starts])


def place_in(windows: np.ndarray, shape: tuple[int, int], empty: str) -> np.ndarray:
    """Pad windows (N, h, w) at the top and right to a larger common `shape` (multi-game models)."""
    n, h, w = windows.shape
    out = np.full((n, *shape), empty, dtype="<U1")
    out[:, shape[0] - h:, :w] = windows
    return out


def crop_from(windows: np.ndarray, native: tuple[int, int]) -> np.ndarray:
    """Inverse of `place_in`: a game's own window shape from the bottom-left of a common one."""
    h, w = native
    return windows[..., windows.shape[-2] - h:, :w]


def to_indices(grids: np.ndarray, vocabulary: str) -> np.ndarray:
    lookup = {ch: i for i, ch in enumerate(vocabulary)}
    flat = [lookup[c] for c in grids.reshape(-1).tolist()]
    return np.asarray(flat, dtype=np.int32).reshape(grids.shape)


def to_chars(indices: np.ndarray, vocabulary: str) -> np.ndarray:
    return np.asarray(list(vocabulary), dtype="<U1")[indices]


def one_hot(indices: np.ndarray, depth: int) -> np.ndarray:
    return np.eye(depth, dtype=np.float32)[indices]


def level_text(grid: np.ndarray) -> str:
    return "\n".join(["".join(row) for row in grid.tolist()]) + "\n"  # lists: 8x faster than numpy rows
