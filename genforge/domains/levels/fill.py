"""Inpainting's levels side: how likely decoder logits make the known tiles, logits that force
the known tiles, a filled window finished (structures mended, known tiles untouched), and
sketches read from files (which cells are unknown).

A sketch marks unknown cells with the tile character UNKNOWN (`*`) in VGLC text, and in a Tiled
map either with a tile whose `char` property is `*` or with any tile on a second tile layer
named `unknown` (the first tile layer holds the known tiles, as genforge writes maps).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from genforge.domains.levels.grid import TileLegend, to_chars, to_indices
from genforge.domains.levels.read import read_tmj, read_tmj_layer, read_vglc_text
from genforge.errors import GenforgeError

UNKNOWN = "*"
UNKNOWN_LAYER = "unknown"
FORCE = 1e4   # a known tile's logit: no repair gives it up (log-probability 0 against -1e4)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, np.float64)
    top = logits.max(-1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))


def log_likelihood(codec, logits: np.ndarray, assets: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Per window (N), the log-probability the logits (N, H, W, C) give the known tiles of
    `assets` ((H, W) or (N, H, W) tile indices; `known` alike), null cells left out."""
    assets, known = np.asarray(assets), np.asarray(known, bool)
    lp = log_softmax(logits)
    idx = np.broadcast_to(assets, lp.shape[:-1])
    picked = np.take_along_axis(lp, idx[..., None], -1)[..., 0]
    mask = np.broadcast_to(known, picked.shape)
    if codec.ignore_class is not None:
        mask = mask & (idx != codec.ignore_class)
    return (picked * mask).sum((1, 2))


def forced(logits: np.ndarray, asset: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Logits with each known cell's tile certain."""
    out = np.array(logits, np.float32, copy=True)
    rows, cols = np.nonzero(known)
    out[:, rows, cols, :] = -FORCE
    out[:, rows, cols, asset[rows, cols]] = FORCE
    return out


def neutral(codec, asset: np.ndarray, known: np.ndarray, label_id: int) -> np.ndarray:
    """The sketch the encoder sees first: unknown cells empty."""
    empty = codec.vocabulary.index(codec.game(label_id)["empty"])
    return np.where(known, asset, empty)


def finish(codec, logits: np.ndarray, asset: np.ndarray, known: np.ndarray, label_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate windows (N, H, W) from decoder logits: the most likely tile per unknown cell,
    broken structures mended (Checker.repair over the forced logits, so only unknown tiles move),
    the known tiles put back; and per window whether it passes (known tiles as given, no broken
    structure; playable ranks it first: see `rank`)."""
    f = forced(logits, asset, known)
    ids = np.full(len(f), label_id)
    out = codec.repair(codec.from_logits(f), f, ids)
    kept = (out[:, known] == asset[known]).all(1)
    out[:, known] = asset[known]
    chars = to_chars(np.stack([codec.native(a, label_id) for a in out]), codec.vocabulary)
    checker = codec.checker(label_id)
    whole = ~checker.broken(chars)
    playable = checker.playable(chars)
    return out, np.where(kept & whole, np.where(playable, 2, 1), 0)


def read_sketch(path: Path, codec, label_id: int) -> tuple[np.ndarray, np.ndarray, str | None]:
    """A sketch file as (tile indices (H, W) with unknown cells empty, known mask, the game the
    map names or None). Unknown cells: see the module's docstring."""
    path = Path(path)
    if not path.is_file():
        raise GenforgeError(f"{path}: no such level file")
    legend = codec.legend(label_id)
    game = None
    if path.suffix.lower() == ".tmj":
        level, _ = read_tmj(path, codec.game(label_id)["name"])
        game = level.game
        marked = read_tmj_layer(path, UNKNOWN_LAYER)
        if marked is not None and marked.shape != level.grid.shape:
            raise GenforgeError(f"{path}: the {UNKNOWN_LAYER!r} layer is {marked.shape[1]} x {marked.shape[0]}, the "
                                f"map {level.grid.shape[1]} x {level.grid.shape[0]}")
        unknown = level.grid == UNKNOWN
        if marked is not None:
            unknown |= marked > 0
    else:
        level = read_vglc_text(path, TileLegend({c: [] for c in codec.vocabulary + UNKNOWN}, legend.empty),
                               codec.game(label_id)["name"])
        unknown = level.grid == UNKNOWN
    grid = np.where(unknown, legend.empty, level.grid)
    foreign = sorted(set(np.unique(grid).tolist()) - set(codec.vocabulary))
    if foreign:
        raise GenforgeError(f"{path}: tiles {' '.join(foreign)} are not in this model's vocabulary "
                            f"({codec.vocabulary}); mark cells to fill with {UNKNOWN!r}")
    return to_indices(grid, codec.vocabulary), ~unknown, game


def randomise_cells(assets: np.ndarray, share: float, classes: int, rng: np.random.Generator) -> np.ndarray:
    """Copies of windows (N, H, W) with `share` of their cells, drawn at random, set to a random
    tile (the style score's test of damaged levels)."""
    out = np.array(assets, copy=True)
    hit = rng.random(out.shape) < share
    out[hit] = rng.integers(0, classes, int(hit.sum()))
    return out


def mean_logits(codec, logits: np.ndarray) -> np.ndarray:
    """(1, H, W, C) log of the tile probabilities averaged over windows' logits (N, H, W, C)."""
    p = np.exp(log_softmax(logits)).mean(0, keepdims=True)
    return np.log(p + 1e-12).astype(np.float32)
