"""A codec's assets as the explorer page holds them, and back.

Levels: the window's tile indices as rows of numbers (the model's whole window; the page draws its
game's own part). Music: notes [voice, pitch row, first step, steps, struck], where a note not
struck (0) continues a note from before the window (a hold with no onset, which only the first
step may open); the codec's grid, (steps, pitches, onset/hold per voice), is rebuilt exactly from
them. A grid as JSON would be 23,552 booleans; its notes are a few dozen.
"""
from __future__ import annotations

import numpy as np

from genforge.errors import GenforgeError


def to_json(codec, asset: np.ndarray) -> dict:
    if codec.domain == "levels":
        return {"tiles": np.asarray(asset).astype(int).tolist()}
    return {"notes": notes_of(np.asarray(asset, bool))}


def from_json(codec, data: dict) -> np.ndarray:
    """The page's asset as the codec's, every number checked: a page is input like any other."""
    if not isinstance(data, dict):
        raise GenforgeError("an asset must be an object")
    if codec.domain == "levels":
        tiles = _array(data.get("tiles"), "tiles")
        if tiles.shape != tuple(codec.shape):
            raise GenforgeError(f"tiles must be {codec.shape[0]} x {codec.shape[1]}, got {tiles.shape}")
        if tiles.min() < 0 or tiles.max() >= len(codec.vocabulary):
            raise GenforgeError(f"tile indices must be between 0 and {len(codec.vocabulary) - 1}")
        return tiles
    return grid_of(data.get("notes"), codec.grid_shape)


def notes_of(grid: np.ndarray) -> list[list[int]]:
    """[voice, pitch row, start, steps, struck] for every note of a (steps, pitches, 2 x voices) grid:
    a note starts where a cell sounds after silence or is struck, and lasts while it sounds unstruck."""
    steps, pitches, channels = grid.shape
    out = []
    for voice in range(channels // 2):
        onset = grid[:, :, 2 * voice].T
        hold = onset | grid[:, :, 2 * voice + 1].T                       # (pitches, steps)
        before = np.pad(hold, ((0, 0), (1, 0)))[:, :-1]
        starts = hold & (~before | onset)
        after_starts = np.pad(starts, ((0, 0), (0, 1)))[:, 1:]
        after_hold = np.pad(hold, ((0, 0), (0, 1)))[:, 1:]
        ends = hold & (~after_hold | after_starts)
        rows, first = np.nonzero(starts)                               # row by row, in time: they pair up
        _, last = np.nonzero(ends)
        out += [[voice, int(r), int(a), int(b - a + 1), int(onset[r, a])] for r, a, b in zip(rows, first, last)]
    out.sort(key=lambda n: (n[2], n[0], n[1]))
    return out


def grid_of(notes, shape: tuple[int, int, int]) -> np.ndarray:
    steps, pitches, channels = shape
    if not isinstance(notes, list):
        raise GenforgeError("notes must be a list of [voice, pitch row, start, steps, struck]")
    grid = np.zeros(shape, bool)
    for note in notes:
        if not (isinstance(note, list) and len(note) == 5 and all(isinstance(x, int) for x in note)):
            raise GenforgeError("each note must be five whole numbers: [voice, pitch row, start, steps, struck]")
        voice, row, start, length, struck = note
        if not (0 <= voice < channels // 2 and 0 <= row < pitches and 0 <= start and length >= 1
                and start + length <= steps):
            raise GenforgeError(f"note {note} lies outside the window ({channels // 2} voices, {pitches} pitches, "
                                f"{steps} steps)")
        grid[start:start + length, row, 2 * voice + 1] = True
        if struck:
            grid[start, row, 2 * voice] = True
    return grid


def known_mask(codec, asset: np.ndarray, data) -> np.ndarray:
    """The cells inpainting keeps, from the page: levels, rows of 0/1 (1 kept); music, the
    [voice, step] pairs left unknown (every pitch of that voice at that step is filled)."""
    if codec.domain == "levels":
        known = _array(data, "known")
        if known.shape != asset.shape:
            raise GenforgeError(f"the known mask must be {asset.shape[0]} x {asset.shape[1]}, got {known.shape}")
        return known.astype(bool)
    known = np.ones(asset.shape, bool)
    if not isinstance(data, list):
        raise GenforgeError("unknown must be a list of [voice, step]")
    voices, steps = asset.shape[2] // 2, asset.shape[0]
    for cell in data:
        if not (isinstance(cell, list) and len(cell) == 2 and all(isinstance(x, int) for x in cell)
                and 0 <= cell[0] < voices and 0 <= cell[1] < steps):
            raise GenforgeError(f"unknown cell {cell!r} is not a [voice, step] of this window")
        known[cell[1], :, 2 * cell[0]:2 * cell[0] + 2] = False
    return known


def _array(data, name: str) -> np.ndarray:
    try:
        out = np.asarray(data, dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise GenforgeError(f"{name} must be rows of whole numbers") from None
    if out.ndim != 2:
        raise GenforgeError(f"{name} must be rows of whole numbers")
    return out
