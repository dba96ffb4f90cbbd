"""One-of groups of a Bernoulli grid, in numpy: the classes a row of a group's cells is one of,
the class a grid's row holds, the best constant logits, and decoding (the most likely sequence of
rows, or a draw).

A grid (N, H, W, C) of on/off cells may name groups of channels (c0, c1, ...) whose cells along
the W axis form one categorical per row: in a row, at most one position p has any of the group's
cells on, and the cells on there are c_j, ..., c_last for one j (nested: an earlier channel's cell
implies the later channels' cells at the same position). So a row of the group is one of
1 + k * W classes: class 0, nothing on; class 1 + j * W + p, channels c_j..c_last on at p. The
decoder's logits at (row, p, c_j) are that class's logit; class 0 has the fixed logit 0.

(Music: a voice that never sounds two notes at once, channels (onset, hold): per step rest, a
new note at pitch p, or the continuation of the note at pitch p. genforge.core.vae trains these
groups by cross-entropy, the other channels by Bernoulli.)
"""
from __future__ import annotations

import numpy as np


def class_logits(logits: np.ndarray, group) -> np.ndarray:
    """(N, H, W, C) logits -> (N, H, 1 + k W) class logits of a group, class 0 (nothing) at 0."""
    logits = np.asarray(logits)
    return np.concatenate([np.zeros((*logits.shape[:-2], 1), logits.dtype)] + [logits[..., c] for c in group], -1)


def targets(grid: np.ndarray, group) -> np.ndarray:
    """(N, H) class of each row of a group in a grid: the first cell on in class order (channel by
    channel, position by position), 0 if none. Exact for rows that keep the group's rule."""
    on = np.moveaxis(np.asarray(grid)[..., list(group)] > 0.5, -1, -2)          # (N, H, k, W)
    flat = on.reshape(*on.shape[:-2], -1)
    return np.where(flat.any(-1), flat.argmax(-1) + 1, 0)


def cells(classes: np.ndarray, size: int, width: int) -> np.ndarray:
    """(N, H) classes -> (N, H, W, k) bool cells of the group's channels (nested, see above)."""
    classes = np.asarray(classes)
    out = np.zeros((*classes.shape, width, size), bool)
    where = np.nonzero(classes)
    channel, pos = np.divmod(classes[where] - 1, width)
    for j in range(size):
        later = channel <= j                                                 # channel c_i's class sets c_i..c_last
        out[tuple(w[later] for w in where) + (pos[later], j)] = True
    return out


def choose(logits: np.ndarray, group, rng: np.random.Generator | None = None, temperature: float = 0.0,
           uniform: np.ndarray | None = None) -> np.ndarray:
    """(N, H) class per row, the rows of a window decoded together: a class of the group's last
    channel at position p (music: hold) continues the row before, so it may follow only a class at
    the same position p (or open the window). Temperature 0: the most likely such sequence of rows
    (Viterbi); > 0: one drawn from the rows' softmax(logits / T) restricted to such sequences
    (forward filtering, backward sampling). Without the rule, rows decoded one by one jump from
    position to position mid-run (music: a note sliding to another pitch without a new onset).
    `uniform`: the draw's (N, H) numbers in [0, 1), else drawn from `rng` in one call, a window's
    after the window before's, so windows decoded a chunk at a time draw as in one call."""
    # (H, N, K) row by row. Each row's softmax normaliser is the same for all its classes: it changes
    # neither the best sequence nor the draw, so the scores are the logits themselves.
    lp = np.ascontiguousarray(np.moveaxis(class_logits(np.asarray(logits, np.float64), group), 1, 0))
    if temperature:
        lp /= temperature
    h, n, k = lp.shape
    width = (k - 1) // len(group)
    cont = slice(k - width, k)                                              # the last channel's classes
    same = [slice(1 + j * width, 1 + (j + 1) * width) for j in range(len(group))]   # classes by channel
    best, pair = (lambda a: a.max(-1), np.maximum) if not temperature else (_logsumexp, np.logaddexp)
    score = np.empty_like(lp)
    score[0] = lp[0]
    for r in range(1, h):
        prev = score[r - 1]
        score[r] = lp[r] + best(prev)[:, None]
        at_p = prev[:, same[0]]
        for c in same[1:]:
            at_p = pair(at_p, prev[:, c])
        score[r, :, cont] = lp[r, :, cont] + at_p
    if temperature and uniform is None:
        uniform = (rng or np.random.default_rng()).random((n, h))
    out = np.empty((n, h), np.int64)
    allowed = np.ones((n, k), bool)
    for r in range(h - 1, -1, -1):
        a = np.where(allowed, score[r], -np.inf)
        if not temperature:
            out[:, r] = a.argmax(-1)
        else:
            cdf = np.cumsum(np.exp(a - a.max(-1, keepdims=True)), -1)
            u = uniform[:, r:r + 1] * cdf[:, -1:]
            out[:, r] = np.minimum((cdf <= u).sum(-1), k - 1)
        # The row before may be anything, unless this row continues position p: then a class at p.
        pos = (out[:, r] - 1) % width
        continues = out[:, r] >= k - width
        allowed = np.ones((n, k), bool)
        allowed[continues] = False
        for c in same:
            allowed[continues, c.start + pos[continues]] = True
    return out


def _logsumexp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    top = a.max(axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.log(np.exp(a - top).sum(axis)) + np.squeeze(top, axis)


def decode(logits: np.ndarray, groups, on: np.ndarray, rng: np.random.Generator | None = None,
           temperature: float = 0.0, uniform: np.ndarray | None = None) -> np.ndarray:
    """Write each group's decoded cells (see `choose`) into `on` (N, H, W, C bool, the other channels
    left as they are); returns `on`. `uniform`: the draws' (N, groups, H) numbers, else drawn from
    `rng` window by window (see `choose`)."""
    n, h, width = np.shape(logits)[:3]
    if temperature and uniform is None and groups:
        uniform = (rng or np.random.default_rng()).random((n, len(groups), h))
    if len(groups) > 1 and len({len(g) for g in groups}) == 1:
        # Groups of one size decode as one batch (each window's rows stay apart from every other's, so
        # the classes are the same): a quarter of the row loop's numpy calls for four voices, which is
        # most of a music window's decoding time (the explorer decodes one per slider move).
        size = len(groups[0])
        stacked = np.concatenate([np.asarray(logits)[..., list(g)] for g in groups])     # (groups * n, H, W, size)
        draws = None if uniform is None else np.concatenate([uniform[:, i] for i in range(len(groups))])
        classes = choose(stacked, tuple(range(size)), rng, temperature, draws).reshape(len(groups), n, h)
        for i, group in enumerate(groups):
            on[..., list(group)] = cells(classes[i], size, width)
        return on
    for i, group in enumerate(groups):
        on[..., list(group)] = cells(choose(logits, group, rng, temperature,
                                            None if uniform is None else uniform[:, i]), len(group), width)
    return on


def constant_logits(grids: np.ndarray, group, floor: float = 1e-5) -> np.ndarray:
    """Per channel of a group, the logit that (the same at every position) gives the rows' class
    shares in `grids`: log(q_j / (W q_0)), q_j the share of rows of channel j's classes, q_0 of
    nothing."""
    classes = targets(grids, group)
    width = np.shape(grids)[-2]
    k = len(group)
    q = np.bincount(np.where(classes > 0, (classes - 1) // width + 1, 0).ravel(), minlength=k + 1) / max(1, classes.size)
    q = np.clip(q, floor, 1.0)
    return np.log(q[1:] / (width * q[0]))
