"""Calibrated decoding: per-class logit offsets that give samples the data's class frequencies.

Taking the most likely class per cell is mode-seeking: where the decoder is unsure whether a
cell holds an enemy or a block, the common class (empty) wins every such cell, so argmax samples
hold a quarter fewer filled tiles and a third fewer enemies than the levels they learnt from.
One offset per class and label, added to the logits before the argmax, moves the decision
boundaries until the classes' frequencies over many prior samples equal the training data's
(the prior-shift correction of Saerens et al. 2002, fitted on the decoder's own samples).

Classes can be left out (`free` False, offset 0): a codec leaves out the tiles of multi-tile
structures, which more often come out broken when pushed to appear more (a lone pipe top).

numpy only: fitted at training time, applied by the onnxruntime generation path.
"""
from __future__ import annotations

import numpy as np


def class_frequencies(classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Share of cells of each class in an integer array of class indices."""
    return np.bincount(np.asarray(classes).ravel(), minlength=n_classes) / max(1, np.size(classes))


def fit_logit_bias(logits: np.ndarray, target: np.ndarray, free: np.ndarray | None = None,
                   iterations: int = 200, rate: float = 0.3) -> np.ndarray:
    """Offsets b (C,) so that argmax(logits + b) has the `target` class frequencies (C,).

    `logits`: (..., C) decoder output for samples from the prior. Fixed-point iteration on
    b += rate * (log target - log achieved); classes with `free` False keep b = 0."""
    n_classes = logits.shape[-1]
    free = np.ones(n_classes, bool) if free is None else np.asarray(free, bool)
    flat = logits.reshape(-1, n_classes).astype(np.float32)
    target = np.asarray(target, np.float64)
    bias = np.zeros(n_classes, np.float32)
    eps = 1e-5
    for _ in range(iterations):
        achieved = class_frequencies((flat + bias).argmax(-1), n_classes)
        step = rate * (np.log(target + eps) - np.log(achieved + eps))
        bias = np.where(free, bias + step, 0.0).astype(np.float32)
    return bias


def apply_bias(logits: np.ndarray, bias: np.ndarray | None, label_ids: np.ndarray) -> np.ndarray:
    """logits (N, ..., C) + the offsets of each sample's label; `bias` (labels, C), or (1, C) for
    an unconditional model (label id -1)."""
    if bias is None:
        return logits
    rows = np.asarray(bias, np.float32)[np.maximum(np.asarray(label_ids), 0)]
    return logits + rows.reshape(len(rows), *([1] * (logits.ndim - 2)), logits.shape[-1])
