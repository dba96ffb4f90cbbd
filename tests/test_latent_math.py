"""The numpy side of the core that generation relies on: the fitted prior stored in its own file,
the prior's conditional (used to continue levels), and calibrated decoding. No TensorFlow."""
from __future__ import annotations

import json

import numpy as np
import pytest

from genforge.bundle import PRIOR_FILE, default_model, open_bundle, write_prior
from genforge.core import calibrate, latent


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


def test_calibration_reaches_the_target_frequencies_and_leaves_held_out_classes_alone():
    rng = np.random.default_rng(0)
    # a mode-seeking decoder: class 0 wins most cells though the data has it 70% of the time
    logits = rng.normal(size=(500, 10, 10, 4)) + np.array([2.0, 0.0, -0.5, 0.0])
    before = calibrate.class_frequencies(logits.argmax(-1), 4)
    target = np.array([0.70, 0.15, 0.10, 0.05])
    assert before[0] > 0.8
    free = np.array([True, True, True, False])
    bias = calibrate.fit_logit_bias(logits, target, free)
    after = calibrate.class_frequencies((logits + bias).argmax(-1), 4)
    assert bias[3] == 0
    assert np.allclose(after[:3] / after[:3].sum(), target[:3] / target[:3].sum(), atol=0.01)
    # per-label rows, broadcast over every cell of each sample
    rows = np.stack([np.zeros(4), bias])
    out = calibrate.apply_bias(logits[:2], rows, np.array([0, 1]))
    assert np.allclose(out[0], logits[0]) and np.allclose(out[1], logits[1] + bias)
    assert calibrate.apply_bias(logits, None, np.zeros(500)) is logits


def test_bundled_models_keep_their_prior_in_a_binary_file():
    for domain in ("levels", "music"):
        path = default_model(domain)
        meta = json.loads((path / "genforge.json").read_text())
        assert "prior" not in meta and meta["files"]["prior"] == PRIOR_FILE
        prior = open_bundle(path).prior
        d = meta["latent_dim"]
        assert prior["mean"].shape == (d,) and prior["scale_tril"].shape == (d, d)
        assert np.allclose(np.triu(prior["scale_tril"], 1), 0) and (np.diag(prior["scale_tril"]) > 0).all()


def test_prior_file_round_trip_and_inline_priors_of_older_runs(tmp_path):
    prior = latent.fit_prior(correlated_codes(500))
    write_prior(tmp_path, prior)
    assert not list(tmp_path.glob(".*.tmp"))
    meta = {"format": "genforge-run", "format_version": 1, "domain": "levels", "latent_dim": 3,
            "labels": [], "files": {"prior": PRIOR_FILE}}
    (tmp_path / "genforge.json").write_text(json.dumps(meta))
    loaded = open_bundle(tmp_path).prior
    assert np.allclose(loaded["scale_tril"], prior["scale_tril"]) and loaded["mean"].dtype == np.float32
    # a run written before prior.npz existed kept the prior inside genforge.json
    meta["files"] = {}
    meta["prior"] = {k: np.asarray(v).tolist() if k != "kind" else v for k, v in prior.items()}
    (tmp_path / "genforge.json").write_text(json.dumps(meta))
    assert np.allclose(open_bundle(tmp_path).prior["mean"], prior["mean"])


def test_a_damaged_prior_file_is_one_clear_error(tmp_path):
    from genforge.errors import GenforgeError

    (tmp_path / PRIOR_FILE).write_bytes(b"not an npz")
    meta = {"format": "genforge-run", "format_version": 1, "domain": "levels", "latent_dim": 3,
            "labels": [], "files": {"prior": PRIOR_FILE}}
    (tmp_path / "genforge.json").write_text(json.dumps(meta))
    with pytest.raises(GenforgeError, match="unreadable prior.npz"):
        open_bundle(tmp_path).prior


def test_tsne_keeps_clusters_apart_and_neighbours_near():
    from genforge.core.tsne import tsne

    rng = np.random.default_rng(0)
    centres = np.zeros((3, 12))
    centres[1, 0], centres[2, 1] = 6.0, 6.0
    points = np.concatenate([rng.normal(size=(120, 12)) + c for c in centres])
    label = np.repeat([0, 1, 2], 120)
    y = tsne(points, perplexity=20, iterations=300)
    assert y.shape == (360, 2) and np.isfinite(y).all()
    d = ((y[:, None] - y[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    neighbours = d.argsort(1)[:, :8]
    assert (label[neighbours] == label[:, None]).mean() > 0.95, "each point's map neighbours are its cluster's"
    # same seed, same map
    assert np.allclose(tsne(points[:60], iterations=50), tsne(points[:60], iterations=50))
    with pytest.raises(ValueError, match="at least 4 points"):
        tsne(points[:3])
