"""Boolean masks of tile-character grids, numpy only: which cells hold given tiles, a mask shifted
by whole cells, 4-connected groups of cells. The playability and structure checks are built on them.
"""
from __future__ import annotations

import numpy as np


def shifted(a: np.ndarray, dy: int, dx: int, wrap: bool) -> np.ndarray:
    """out[..., y + dy, x + dx] = a[..., y, x]; what moves off the grid is lost (or wraps in x)."""
    if dy:
        out = np.zeros_like(a)
        if dy > 0:
            out[..., dy:, :] = a[..., :-dy, :]
        else:
            out[..., :dy, :] = a[..., -dy:, :]
        a = out
    if dx:
        if wrap:
            return np.roll(a, dx, axis=-1)
        out = np.zeros_like(a)
        if dx > 0:
            out[..., dx:] = a[..., :-dx]
        else:
            out[..., :dx] = a[..., -dx:]
        a = out
    return a


def char_mask(grids: np.ndarray, chars) -> np.ndarray:
    """Which cells of tile-character grids hold one of `chars`. A lookup of the characters' code
    points: np.isin sorts strings, ten times slower on window-sized grids, and the structure
    checks of every sampled level call this hundreds of times."""
    codes = np.ascontiguousarray(grids, dtype="<U1").view(np.uint32)
    table = np.zeros(max(map(ord, chars), default=0) + 2, bool)  # the last entry: any other character
    table[[ord(c) for c in chars]] = True
    return table[np.minimum(codes, len(table) - 1)]


def tile_mask(grids: np.ndarray, table: dict[str, bool]) -> np.ndarray:
    """Per cell of tile-character grids, the table's value for its tile (False for tiles it lacks)."""
    uniq, inv = np.unique(grids, return_inverse=True)
    return np.array([table.get(str(c), False) for c in uniq], dtype=bool)[inv].reshape(grids.shape)


def components(mask: np.ndarray) -> np.ndarray:
    """4-connected component labels of a 2-D boolean mask (0: background)."""
    labels = np.zeros(mask.shape, np.int32)
    h, w = mask.shape
    n = 0
    for y0, x0 in zip(*np.nonzero(mask)):
        if labels[y0, x0]:
            continue
        n += 1
        labels[y0, x0] = n
        stack = [(y0, x0)]
        while stack:
            y, x = stack.pop()
            for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not labels[yy, xx]:
                    labels[yy, xx] = n
                    stack.append((yy, xx))
    return labels

