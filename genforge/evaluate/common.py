"""What both evaluations share: nearest-neighbour and pairwise distances, summaries, relative
gaps, number formatting, and finding the data a model was trained on. numpy only."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from genforge.bundle import Bundle
from genforge.errors import GenforgeError

SETS = ("samples", "held_out", "training")


def nearest_distance(a: np.ndarray, b: np.ndarray, chunk_bytes: int = 128 << 20) -> np.ndarray:
    """For each row of `a` (N, D) bool, the number of cells differing from its nearest row of `b`
    (M, D) bool; (N,) int, -1 where `b` is empty. |a| + |b| - 2 a.b by float32 matrix products over
    chunks of at most `chunk_bytes` each (exact: counts stay far below 2**24)."""
    a = a.reshape(len(a), int(np.prod(a.shape[1:])))
    b = b.reshape(len(b), int(np.prod(b.shape[1:])))
    best = np.full(len(a), np.iinfo(np.int64).max if len(b) else -1, np.int64)
    if not len(a) or not len(b):
        return best
    rows = max(1, chunk_bytes // (4 * a.shape[1]))
    a_count = np.count_nonzero(a, axis=1)
    for j in range(0, len(b), rows):
        bf = b[j:j + rows].astype(np.float32)
        b_count = np.count_nonzero(b[j:j + rows], axis=1)
        for i in range(0, len(a), rows):
            dot = np.rint(a[i:i + rows].astype(np.float32) @ bf.T).astype(np.int64)
            d = a_count[i:i + rows, None] + b_count[None] - 2 * dot
            best[i:i + rows] = np.minimum(best[i:i + rows], d.min(1))
    return best


def hamming_nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each window of `a` (N, H, W) of class indices, the share of cells differing from its
    nearest window in `b`: on one-hot cells every differing cell counts twice in `nearest_distance`."""
    if not len(b):
        return np.full(len(a), np.nan)
    depth = int(max(a.max(initial=0), b.max(initial=0))) + 1
    cells = int(np.prod(a.shape[1:]))
    return nearest_distance(np.eye(depth, dtype=bool)[a], np.eye(depth, dtype=bool)[b]) / (2 * cells)


def mean_pairwise(a: np.ndarray, chunk_cells: int = 40_000_000) -> float:
    """Mean Hamming distance (share of differing cells) over all pairs of windows."""
    a = a.reshape(len(a), -1)
    if len(a) < 2:
        return float("nan")
    step = max(1, chunk_cells // max(1, a.size))
    total = 0.0
    for i in range(0, len(a), step):
        total += float((a[i:i + step, None, :] != a[None]).sum())
    return total / (len(a) * (len(a) - 1) * a.shape[1])


def summary(values: np.ndarray) -> dict:
    values = np.asarray(values, float)
    if not len(values):
        return {"mean": None, "std": None, "median": None}
    return {"mean": round(float(values.mean()), 4), "std": round(float(values.std()), 4),
            "median": round(float(np.median(values)), 4)}


def relative_gap(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round((a - b) / abs(b), 4)


def fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def percent(v) -> str:
    return "-" if v is None else f"{v:+.1%}"


def finite(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, float)
    return v[np.isfinite(v)]


def training_data(bundle: Bundle, data: list[str | Path] | None, what: str) -> tuple[list[Path], bool]:
    """The folders (or notes archives) to rebuild a model's data split from: `data` if given, else
    the ones its bundle records; and whether they are the recorded ones. `what`: the words for
    the error when they cannot be found, e.g. "--data FOLDER (once per game)"."""
    recorded = bundle.data_folders()
    if data:
        paths = [Path(d) for d in data]
        for p in paths:
            if not p.exists():
                raise GenforgeError(f"--data {p}: no such file or folder")
        return paths, [p.resolve() for p in paths] == [p.resolve() for p in recorded]
    missing = [p for p in recorded if not p.exists()]
    if not recorded or missing:
        raise GenforgeError(f"cannot find the {bundle.domain} this model was trained on"
                            f"{' (' + ', '.join(map(str, missing)) + ')' if missing else ''}; pass {what}")
    return recorded, True


def two_sample_auc(a: np.ndarray, b: np.ndarray, folds: int = 5, seed: int = 0, l2: float = 1.0,
                   steps: int = 300) -> float | None:
    """How well a linear classifier tells set `a` (N, F) from set `b` (M, F): held-out AUC of an
    L2-regularised logistic regression over `folds`-fold cross-validation (0.5: indistinguishable,
    1.0: always told apart). The sets are cut to the same size first, so neither side wins by count;
    features are standardised on each fold's training part. None when a set has fewer than
    2 * `folds` rows."""
    rng = np.random.default_rng([seed, 31])
    n = min(len(a), len(b))
    if n < 2 * folds:
        return None
    x = np.concatenate([a[rng.permutation(len(a))[:n]], b[rng.permutation(len(b))[:n]]]).astype(np.float64)
    y = np.concatenate([np.ones(n), np.zeros(n)])
    fold = np.concatenate([rng.permutation(n) % folds, rng.permutation(n) % folds])  # stratified
    scores = np.empty(2 * n)
    for k in range(folds):
        fit_part, held = fold != k, fold == k
        mean, std = x[fit_part].mean(0), x[fit_part].std(0) + 1e-6
        w, bias = _logistic(((x[fit_part] - mean) / std), y[fit_part], l2, steps)
        scores[held] = ((x[held] - mean) / std) @ w + bias
    return round(_auc(scores, y), 4)


def _logistic(x: np.ndarray, y: np.ndarray, l2: float, steps: int) -> tuple[np.ndarray, float]:
    """Weights of logistic regression, mean log-loss + l2 / N * |w|^2, by Adam (full batch)."""
    n, f = x.shape
    w, bias = np.zeros(f), 0.0
    m, v = np.zeros(f + 1), np.zeros(f + 1)
    for t in range(1, steps + 1):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w + bias, -30, 30)))
        grad = np.append(x.T @ (p - y) / n + 2 * l2 / n * w, np.mean(p - y))
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad ** 2
        step = 0.05 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        w, bias = w - step[:-1], bias - step[-1]
    return w, bias


def _auc(scores: np.ndarray, y: np.ndarray) -> float:
    """Area under the ROC curve: the chance a random positive outscores a random negative (ties half)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores[np.diff(np.sort(scores), prepend=np.nan) == 0]):  # average tied ranks
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    pos = y == 1
    return float((ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum()))
