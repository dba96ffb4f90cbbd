"""genforge.core.latent: the prior's conditional (used to continue levels). numpy only."""
from __future__ import annotations

import numpy as np

from genforge.core import latent


def correlated_codes(n: int = 20_000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = np.array([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.3, 0.5, 0.8]])
    return rng.standard_normal((n, 3)) @ mix.T + np.array([1.0, -2.0, 0.5])


def test_conditional_matches_the_gaussian_formulas_and_the_data():
    codes = correlated_codes()
    prior = latent.fit_prior(codes)
    known = np.array([True, False, True])
    mean, scale = latent.conditional(prior, known, np.array([2.0, 0.0]))
    cov = np.cov(codes, rowvar=False)
    m = codes.mean(0)
    k, f = [0, 2], [1]
    want_mean = m[f] + cov[np.ix_(f, k)] @ np.linalg.solve(cov[np.ix_(k, k)], np.array([2.0, 0.0]) - m[k])
    want_var = cov[1, 1] - cov[np.ix_(f, k)] @ np.linalg.solve(cov[np.ix_(k, k)], cov[np.ix_(k, f)])
    assert np.allclose(mean, want_mean, atol=1e-3) and np.allclose(scale @ scale.T, want_var, atol=1e-3)
    # and against the data itself: codes whose kept latents fall near the given values
    near = (np.abs(codes[:, 0] - 2.0) < 0.15) & (np.abs(codes[:, 2] - 0.0) < 0.15)
    assert near.sum() > 50 and abs(codes[near, 1].mean() - mean[0]) < 0.1
    # N(0, I): the free latents stay standard normal whatever the kept ones are
    mean0, scale0 = latent.conditional(None, known, np.array([5.0, -5.0]))
    assert np.allclose(mean0, 0) and np.allclose(scale0, np.eye(1))
