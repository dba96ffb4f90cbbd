"""Latent-space arithmetic in numpy alone (the sampling path never imports TensorFlow)."""
from __future__ import annotations

import numpy as np


def sample_z(rng: np.random.Generator, n: int, dim: int, prior: dict | None = None) -> np.ndarray:
    """Draws from the prior: N(0, I) for a VAE; for a deterministic autoencoder, whose codes
    follow no prior, a diagonal Gaussian fitted to the training codes (stored in the bundle)."""
    z = rng.standard_normal((n, dim)).astype(np.float32)
    if prior and "mean" in prior:
        z = z * np.asarray(prior["std"], np.float32) + np.asarray(prior["mean"], np.float32)
    return z


def seed_z(seed: int, dim: int, prior: dict | None = None) -> np.ndarray:
    """The latent vector a seed names: the first draw of `sample` with that seed."""
    return sample_z(np.random.default_rng(seed), 1, dim, prior)[0]


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation: stays where Gaussian samples live (a straight line passes
    through the low-norm middle of the ball, where decoders give washed-out outputs)."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return (1 - t) * a + t * b
    omega = np.arccos(np.clip(np.dot(a / na, b / nb), -1.0, 1.0))
    if omega < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def path(a: np.ndarray, b: np.ndarray, steps: int, spherical: bool = True) -> np.ndarray:
    ts = np.linspace(0.0, 1.0, steps)
    if spherical:
        return np.stack([slerp(a, b, t) for t in ts]).astype(np.float32)
    return np.stack([(1 - t) * a + t * b for t in ts]).astype(np.float32)


def one_hot(ids: np.ndarray, n_labels: int) -> np.ndarray:
    return np.eye(n_labels, dtype=np.float32)[np.asarray(ids, dtype=np.int64)] if n_labels else \
        np.zeros((len(ids), 0), np.float32)


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))
