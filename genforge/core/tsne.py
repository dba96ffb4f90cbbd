"""t-SNE (van der Maaten & Hinton 2008), exact, in numpy: a 2-D map of latent codes in which near
neighbours stay near, for `evaluate levels --map tsne`.

Exact t-SNE costs O(N^2) memory and time per iteration: meant for the few thousand points of an
evaluation map (about 10 s for 1,500 points on 2 cores), not for whole corpora.
"""
from __future__ import annotations

import numpy as np


def _squared_distances(x: np.ndarray) -> np.ndarray:
    sq = (x * x).sum(1)
    return np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0)


def _affinities(x: np.ndarray, perplexity: float, steps: int = 60) -> np.ndarray:
    """Symmetric input similarities P: per point, a Gaussian whose width gives the neighbour
    distribution the asked perplexity (found by bisection, all points at once)."""
    d = _squared_distances(x)
    n = len(x)
    d /= np.median(d[d > 0]) if np.any(d > 0) else 1.0  # scale-free starting point for the search
    target = np.log(perplexity)
    beta = np.ones(n)
    lo, hi = np.zeros(n), np.full(n, np.inf)
    for _ in range(steps):
        p = np.exp(-d * beta[:, None])
        np.fill_diagonal(p, 0.0)
        total = np.maximum(p.sum(1), 1e-12)
        entropy = np.log(total) + beta * (d * p).sum(1) / total
        wide = entropy > target                     # too many neighbours: narrow the Gaussian
        lo = np.where(wide, beta, lo)
        hi = np.where(wide, hi, beta)
        beta = np.where(np.isinf(hi), beta * 2, (lo + hi) / 2)
    p = p / total[:, None]
    p = (p + p.T) / (2 * n)
    return np.maximum(p, 1e-12)


def tsne(points: np.ndarray, perplexity: float = 30.0, iterations: int = 400, seed: int = 0) -> np.ndarray:
    """(N, D) points -> (N, 2) map. Early exaggeration for the first 100 iterations, momentum,
    per-parameter gains and sklearn's automatic learning rate, as in the reference method."""
    x = np.asarray(points, np.float64)
    n = len(x)
    if n < 4:
        raise ValueError(f"t-SNE needs at least 4 points, got {n}")
    perplexity = min(perplexity, (n - 1) / 3)
    p = _affinities(x - x.mean(0), perplexity)
    rng = np.random.default_rng(seed)
    y = rng.normal(0.0, 1e-4, (n, 2))
    velocity = np.zeros_like(y)
    gains = np.ones_like(y)
    rate = max(n / 12.0 / 4.0, 50.0)
    for it in range(iterations):
        exaggeration, momentum = (12.0, 0.5) if it < 100 else (1.0, 0.8)
        num = 1.0 / (1.0 + _squared_distances(y))
        np.fill_diagonal(num, 0.0)
        q = np.maximum(num / num.sum(), 1e-12)
        pq = (exaggeration * p - q) * num
        grad = 4.0 * (pq.sum(1)[:, None] * y - pq @ y)
        same = (grad > 0) == (velocity > 0)
        gains = np.maximum(np.where(same, gains * 0.8, gains + 0.2), 0.01)
        velocity = momentum * velocity - rate * gains * grad
        y += velocity
        y -= y.mean(0)
    return y
