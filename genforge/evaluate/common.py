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
