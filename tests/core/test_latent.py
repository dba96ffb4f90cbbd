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


# ---------------------------------------------------------------- the mixture of the training windows' posteriors

def mixture(n_per_label=(300, 100), dim=6, seed=0):
    rng = np.random.default_rng(seed)
    means = np.concatenate([rng.normal(3.0 * k, 1.0, (n, dim)) for k, n in enumerate(n_per_label)])
    log_vars = np.full_like(means, np.log(0.2 ** 2))
    ids = np.concatenate([np.full(n, k) for k, n in enumerate(n_per_label)])
    return latent.fit_mixture(means, log_vars, ids), means, ids


def test_the_mixture_draws_each_labels_own_windows_and_a_seed_names_a_sequence():
    prior, means, ids = mixture()
    assert prior["kind"] == "mixture" and np.allclose(prior["spreads"], 0.2)
    z = latent.draw(prior, np.random.default_rng(1), 2000, 6, np.full(2000, 1))
    assert abs(z.mean() - 3.0) < 0.2, "label 1's windows sit around 3"
    # each draw lies near one training code of its label: within a few posterior spreads
    nearest = np.min(((z[:, None] - means[ids == 1][None]) ** 2).sum(-1), 1)
    assert np.quantile(np.sqrt(nearest), 0.95) < 0.2 * np.sqrt(6) * 2
    a = latent.draw(prior, np.random.default_rng(7), 5, 6, np.array([0, 1, 0, 1, 1]))
    b = latent.draw(prior, np.random.default_rng(7), 3, 6, np.array([0, 1, 0]))
    assert np.array_equal(a[:3], b)


def test_the_mixture_keeps_every_labels_share_under_its_size_cap(monkeypatch):
    monkeypatch.setattr(latent, "MIXTURE_VALUES", 6 * 200)
    prior, _, _ = mixture((900, 100))
    counts = np.bincount(prior["labels"])
    assert counts.sum() <= 200 + 64 and counts[1] >= 64 and counts[0] > counts[1]


def test_a_conditional_draw_follows_the_components_that_explain_the_kept_latents():
    prior, means, ids = mixture((200, 200))
    known = np.array([True, True, True, False, False, False])
    target = means[ids == 1][17]                      # keep the first half of one of label 1's codes
    z = latent.draw_conditional(prior, np.random.default_rng(2), 500, known, target[:3], label=1)
    assert z.shape == (500, 3)
    assert np.abs(np.median(z, 0) - target[3:]).max() < 0.6, "the free half follows the kept half's window"
    other = latent.draw_conditional(prior, np.random.default_rng(2), 500, known, np.zeros(3), label=0)
    assert abs(other.mean()) < 1.0


def test_interpolation_turns_around_the_mixtures_centre():
    prior, _, _ = mixture()
    a, b = np.ones(6, np.float32) * 4, -np.ones(6, np.float32)
    line = latent.path_between(a, b, 5, False, prior)
    assert np.allclose(line[0], a) and np.allclose(line[-1], b) and np.allclose(line[2], (a + b) / 2)
    arc = latent.path_between(a, b, 5, True, prior)
    c = latent.centre(prior, 6)
    assert np.allclose(arc[0], a, atol=1e-5) and np.allclose(arc[-1], b, atol=1e-5)
    assert np.linalg.norm(arc[2] - c) > np.linalg.norm(line[2] - c), "the arc keeps its distance from the centre"
