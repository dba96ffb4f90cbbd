"""Latent-space arithmetic in numpy alone (the sampling path never imports TensorFlow)."""
from __future__ import annotations

import numpy as np


def fit_prior(codes: np.ndarray) -> dict:
    """A full-covariance Gaussian fitted to the training codes ("ex-post density estimation",
    Ghosh et al. 2020). Sampling from it instead of N(0, I) keeps the correlations between
    latent cells that make ground continuous and pipes whole; it also gives a deterministic
    autoencoder, whose codes follow no prior, something to sample from."""
    mean = codes.mean(0)
    cov = np.cov(codes, rowvar=False) + 1e-4 * np.eye(codes.shape[1])
    return {"kind": "gaussian", "mean": mean.astype(np.float32),
            "scale_tril": np.linalg.cholesky(cov).astype(np.float32)}


def to_z(u: np.ndarray, prior: dict | None) -> np.ndarray:
    """Standard-normal draws u -> latents z (identity for the N(0, I) prior)."""
    if not prior:
        return u.astype(np.float32)
    return (np.asarray(prior["mean"]) + u @ np.asarray(prior["scale_tril"]).T).astype(np.float32)


def to_u(z: np.ndarray, prior: dict | None) -> np.ndarray:
    """Inverse of `to_z`: where a real asset's code sits among the standard-normal draws."""
    if not prior:
        return z.astype(np.float32)
    centred = (z - np.asarray(prior["mean"])).T
    return np.linalg.solve(np.asarray(prior["scale_tril"]), centred).T.astype(np.float32)


def conditional(prior: dict | None, known: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The prior's Gaussian over the other latents given some fixed ones: (mean, scale_tril) of
    z[~known] | z[known] = values. Continuing a level keeps the latents of the cells it shares with
    the window before and draws only the new cells, consistent with the kept ones."""
    known = np.asarray(known, bool)
    free = ~known
    if not prior:  # N(0, I): the latents are independent
        return np.zeros(int(free.sum()), np.float64), np.eye(int(free.sum()))
    mean = np.asarray(prior["mean"], np.float64)
    scale = np.asarray(prior["scale_tril"], np.float64)
    cov = scale @ scale.T
    gain = np.linalg.solve(cov[np.ix_(known, known)], cov[np.ix_(known, free)]).T  # S_fk S_kk^-1
    cond_mean = mean[free] + gain @ (np.asarray(values, np.float64) - mean[known])
    cond_cov = cov[np.ix_(free, free)] - gain @ cov[np.ix_(known, free)]
    cond_cov = (cond_cov + cond_cov.T) / 2 + 1e-6 * np.eye(int(free.sum()))
    return cond_mean, np.linalg.cholesky(cond_cov)


def sample_u(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    return rng.standard_normal((n, dim)).astype(np.float32)


def seed_u(seed: int, dim: int) -> np.ndarray:
    """The draw a seed names: the first sample of `sample` with that seed."""
    return sample_u(np.random.default_rng(seed), 1, dim)[0]


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


def attribute_vectors(z: np.ndarray, values: dict[str, np.ndarray], quantile: float = 0.25) -> dict:
    """Latent directions of measurable attributes (MusicVAE's attribute vectors): for each
    name, the mean latent of the windows in the top quartile of its per-window values minus the
    mean of the bottom quartile. Adding `amount * vector` to a latent moves a sample towards more
    (amount > 0) or less (amount < 0) of the attribute.

    `z`: (N, D) latent means; `values`: name -> (N,) numbers (NaN: not measurable for a window,
    left out). Returns name -> {"vector", "low", "high", "windows"}: the quartile bounds and
    how many windows each end averaged. When the quartiles coincide (most windows share one value),
    the ends are the windows below and above that value. Attributes with fewer than 8 measurable
    windows, or no windows on one side, are left out."""
    z = np.asarray(z, np.float64)
    out = {}
    for name, v in values.items():
        v = np.asarray(v, np.float64)
        if v.shape != (len(z),):
            raise ValueError(f"attribute {name!r}: {v.shape[0] if v.ndim else 0} values for {len(z)} latents")
        ok = np.isfinite(v)
        if ok.sum() < 8:
            continue
        lo, hi = np.quantile(v[ok], [quantile, 1 - quantile])
        if lo < hi:
            bottom, top = ok & (v <= lo), ok & (v >= hi)
        else:                          # most windows share one value: compare those below and above it
            bottom, top = ok & (v < lo), ok & (v > hi)
        if not bottom.any() or not top.any():
            continue
        out[name] = {"vector": [round(float(x), 6) for x in z[top].mean(0) - z[bottom].mean(0)],
                     "low": float(lo), "high": float(hi), "windows": [int(bottom.sum()), int(top.sum())]}
    return out


def apply_attributes(z: np.ndarray, vectors: dict, amounts: dict[str, float]) -> np.ndarray:
    """z + sum(amount * vector) over the asked attributes; `vectors` as attribute_vectors returns.
    Unknown names raise KeyError (the caller words the message)."""
    z = np.array(z, np.float32, copy=True)
    for name, amount in amounts.items():
        z += np.float32(amount) * np.asarray(vectors[name]["vector"], np.float32)
    return z
