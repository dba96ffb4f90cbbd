"""Keys and scales: Krumhansl-Schmuckler key estimates, for a Piece, a grid or each window of a batch.

A key index is tonic + 12 * (mode == "minor"): 0-11 major keys on C..B, 12-23 minor keys.
"""
from __future__ import annotations

import numpy as np

from genforge.domains.music.roll import Piece, as_batch, as_grid

MODES = ("major", "minor")

# Krumhansl-Kessler probe-tone profiles, tonic first.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_PROFILES = np.stack([np.roll(p, t) for p in (_MAJOR, _MINOR) for t in range(12)])   # (24, 12)


def pitch_class_weights(x, low: int = 0) -> np.ndarray:
    """Duration per pitch class (12,) of a Piece (pitched voices), or of a grid (S, P, 2V)."""
    if isinstance(x, Piece):
        n = x.pitched_notes()
        return np.bincount(n[:, 1] % 12, weights=(n[:, 3] - n[:, 2]).astype(float), minlength=12)
    g = as_grid(x)
    per_pitch = np.count_nonzero(g[..., 1::2] | g[..., 0::2], axis=(0, 2)).astype(float)
    return np.bincount((np.arange(len(per_pitch)) + low) % 12, weights=per_pitch, minlength=12)


def estimate_key(x, low: int = 0) -> tuple[int, str, float]:
    """(tonic pitch class, "major"|"minor", correlation): Krumhansl-Schmuckler, the key profile
    best correlated with the duration-weighted pitch-class distribution."""
    w = pitch_class_weights(x, low)
    if not w.any():
        return 0, "major", 0.0
    wc = w - w.mean()
    pc = _PROFILES - _PROFILES.mean(1, keepdims=True)
    r = pc @ wc / (np.linalg.norm(pc, axis=1) * np.linalg.norm(wc) + 1e-12)
    best = int(r.argmax())
    return best % 12, MODES[best // 12], float(r[best])


def estimate_mode(x, low: int = 0) -> str:
    """"major" or "minor" for a Piece (or a grid), from its notes."""
    return estimate_key(x, low)[1]


def key_index(tonic: int, mode: str) -> int:
    """The key index of (tonic pitch class, mode): its row in KEY_SCALES, as window_keys gives it."""
    return MODES.index(mode) * 12 + tonic % 12


def scale_pitch_classes(tonic: int, mode: str) -> set[int]:
    """Major scale; for minor the natural minor plus the raised 6th and 7th (melodic/harmonic)."""
    steps = (0, 2, 4, 5, 7, 9, 11) if mode == "major" else (0, 2, 3, 5, 7, 8, 9, 10, 11)
    return {(tonic + s) % 12 for s in steps}


# (24 keys, 12 classes): KEY_SCALES[key_index(t, m), pc] is whether pc is in the scale of (t, m).
KEY_SCALES = np.array([[pc in scale_pitch_classes(t, m) for pc in range(12)]
                       for m in MODES for t in range(12)])


def window_keys(grids, low: int = 0) -> np.ndarray:
    """Krumhansl-Schmuckler key index per window (tonic + 12 * (mode == minor)); (N,) int."""
    g = as_batch(grids)
    per_pitch = np.count_nonzero(g[..., 1::2] | g[..., 0::2], axis=(1, 3)).astype(float)   # (N, P)
    pcs = np.eye(12)[(low + np.arange(g.shape[2])) % 12]                           # (P, 12)
    w = per_pitch @ pcs
    wc = w - w.mean(1, keepdims=True)
    pc = _PROFILES - _PROFILES.mean(1, keepdims=True)
    r = wc @ pc.T / (np.linalg.norm(wc, axis=1, keepdims=True) * np.linalg.norm(pc, axis=1) + 1e-12)
    return r.argmax(1)


def key_normalised(grids: np.ndarray, low: int, pad: int = 6) -> np.ndarray:
    """Windows (N, S, P, C) moved to an estimated tonic of C (shift -5..+6 semitones) on a pitch
    axis widened by `pad` rows each side, flattened: (N, S * (P + 2 pad) * C) bool."""
    g = as_batch(grids)
    n, s, p, c = g.shape
    shift = (5 - window_keys(g, low) % 12) % 12 - 5 if n else np.zeros(0, int)    # tonic t -> t + shift = C
    out = np.zeros((n, s, p + 2 * pad, c), bool)
    for k in np.unique(shift):
        sel = shift == k
        out[sel, :, pad + k:pad + k + p] = g[sel]
    return out.reshape(n, s * (p + 2 * pad) * c)              # (an empty set too)
