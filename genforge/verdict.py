"""Did training work? Held-out reconstruction beside a baseline that learned nothing, sample
statistics beside the data's, and plain warnings with the likely cause and what to try.

numpy only; the codec supplies the metrics (`codec.metrics`) and, where it has them, per-window
statistics of its assets (`codec.summary_stats`). Training records the result in genforge.json
(`metrics.baseline`, `metrics.sample_stats`, `warnings`) and `genforge info` prints it.
"""
from __future__ import annotations

import numpy as np

CATEGORICAL = "categorical"
# A statistic of the samples this many times the data's (or this many times less) is worth a warning,
# where the data has at least FLOOR of it per window (rare things vary too much to judge).
FAR, FLOOR = 2.0, 0.1


def baseline_prediction(windows: np.ndarray, n: int, likelihood: str, seed: int = 0, batch: int = 4096) -> np.ndarray:
    """What a model that learned nothing but the training windows' cell statistics predicts for `n`
    windows: the most frequent class at each cell (categorical), or each cell on with its training
    frequency (Bernoulli: the data's note density, cell by cell)."""
    if likelihood == CATEGORICAL:
        depth = int(windows.max()) + 1
        counts = np.zeros((*windows.shape[1:], depth), np.int64)
        for i in range(0, len(windows), batch):
            counts += np.eye(depth, dtype=np.int32)[windows[i:i + batch]].sum(0)
        return np.broadcast_to(counts.argmax(-1), (n, *windows.shape[1:]))
    freq = np.zeros(windows.shape[1:], np.float64)
    for i in range(0, len(windows), batch):
        freq += np.asarray(windows[i:i + batch], np.float64).sum(0)
    freq /= max(1, len(windows))
    return np.random.default_rng([seed, 11]).random((n, *windows.shape[1:])) < freq


def reconstruction_warnings(test: dict, baseline: dict) -> list[str]:
    """Warnings when held-out reconstruction is not clearly better than the baseline's."""
    out = []
    if test.get("onset_f1") is not None:  # piano rolls: onsets are what matters, silence is easy
        if test["onset_f1"] < (baseline.get("onset_f1") or 0.0) + 0.2:
            out.append(f"held-out onset F1 {test['onset_f1']:.3f} is not clearly above the note-density baseline's "
                       f"{baseline.get('onset_f1') or 0:.3f}: the model has not learned the music; more pieces, "
                       "more --epochs, or a larger --latent may help")
        return out
    if (1 - test["accuracy"]) > 0.7 * (1 - baseline["accuracy"]) or \
            test["accuracy_non_empty"] < baseline["accuracy_non_empty"] + 0.1:
        out.append(f"held-out accuracy {test['accuracy']:.3f} (non-empty {test['accuracy_non_empty']:.3f}) is not "
                   f"clearly above the most-frequent-tile baseline's {baseline['accuracy']:.3f} "
                   f"({baseline['accuracy_non_empty']:.3f}): the model has not learned the levels; more levels, more "
                   "--epochs, or a larger --latent may help")
    return out


def sample_warnings(samples: dict[str, float], data: dict[str, float]) -> list[str]:
    """Warnings for sample statistics far from the data's (per window means)."""
    out = []
    for name, want in data.items():
        got = samples.get(name)
        if got is None or want is None or abs(want) < FLOOR:
            continue
        ratio = got / want
        if ratio > FAR or ratio < 1 / FAR:
            words = name.replace("_", " ")
            out.append(f"samples have {ratio:.1f}x the training windows' {words} per window ({got:.2f} against "
                       f"{want:.2f}); likely too short a training or too small a latent for this data: try more "
                       "--epochs or a larger --latent")
    return out
