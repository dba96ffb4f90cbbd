"""Latent-space arithmetic in numpy alone (the sampling path never imports TensorFlow): the priors
sampling draws from (a full-covariance Gaussian fitted to the training codes, or the mixture of the
training windows' posteriors), their conditionals, interpolation, attribute vectors."""
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


MIXTURE = "mixture"
MIXTURE_VALUES = 1_500_000  # at most this many numbers of component means (and as many spreads) in a bundle


def fit_mixture(means: np.ndarray, log_vars: np.ndarray, label_ids: np.ndarray, seed: int = 0) -> dict:
    """The aggregate posterior as the prior: one component per training window, N(mean_i, var_i),
    its encoder's posterior, weighted equally within a label. It is the distribution the decoder
    was trained to decode, tails included: on Super Mario Bros, samples from it have the corpus's
    pipes (0.67 a window, data 0.67) where a single Gaussian's have 0.09. At most MIXTURE_VALUES
    numbers are kept: windows are then taken evenly, every label keeping its share (and at least
    64, or all it has)."""
    means, log_vars = np.asarray(means, np.float32), np.asarray(log_vars, np.float32)
    ids = np.maximum(np.asarray(label_ids), 0)
    most = max(1, MIXTURE_VALUES // max(1, means.shape[1]))
    keep = []
    for label in np.unique(ids):
        mine = np.nonzero(ids == label)[0]
        share = max(min(len(mine), 64), round(most * len(mine) / len(ids)))
        keep.append(mine[np.linspace(0, len(mine) - 1, min(len(mine), share)).astype(int)])
    keep = np.concatenate(keep)
    return {"kind": MIXTURE, "means": means[keep], "spreads": np.exp(0.5 * log_vars[keep]).astype(np.float32),
            "labels": ids[keep].astype(np.int32)}


def window_hashes(windows: np.ndarray) -> np.ndarray:
    """One 64-bit fingerprint per window (tile indices or on/off cells): how sampling tells a
    sample that copies a training window (training stores its windows' fingerprints)."""
    import hashlib

    rows = np.asarray(windows)
    rows = rows.astype(np.uint8 if rows.max(initial=0) < 256 else np.int32).reshape(len(rows), -1)
    return np.array([int.from_bytes(hashlib.blake2b(r.tobytes(), digest_size=8).digest(), "little") for r in rows],
                    np.uint64)


def components(prior: dict, label_ids: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """For each sample, a mixture component of its label: `uniform` (one draw in [0, 1) per sample)
    picks among the label's components, so the first k of n samples pick as k samples would."""
    owner = np.asarray(prior["labels"])
    labels = np.maximum(np.asarray(label_ids), 0)
    out = np.empty(len(labels), np.int64)
    for label in sorted(set(labels.tolist())):  # not np.unique: it imports numpy.ma
        sel = np.nonzero(labels == label)[0]
        mine = np.nonzero(owner == label)[0]
        if not len(mine):  # a label without windows of its own (it cannot happen for a trained model)
            mine = np.arange(len(owner))
        out[sel] = mine[np.minimum((np.asarray(uniform)[sel] * len(mine)).astype(np.int64), len(mine) - 1)]
    return out


def draw(prior: dict | None, rng: np.random.Generator, n: int, dim: int,
         label_ids: np.ndarray | None = None) -> np.ndarray:
    """n latents from the prior: a mixture's components of each sample's label, or the
    Gaussian's (and N(0, I)'s) standard-normal draws through `to_z`. A seed names a sequence: the
    first k of n draws are the k draws."""
    if prior and prior.get("kind") == MIXTURE:
        pick = np.random.default_rng(rng.integers(2 ** 62)).random(n)  # its own stream, whatever n is
        noise = rng.standard_normal((n, dim)).astype(np.float32)
        comp = components(prior, np.zeros(n, int) if label_ids is None else np.asarray(label_ids), pick)
        return (np.asarray(prior["means"], np.float32)[comp] + np.asarray(prior["spreads"], np.float32)[comp]
                * noise).astype(np.float32)
    return to_z(sample_u(rng, n, dim), prior)


def spread(prior: dict | None, rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """n draws of prior-shaped noise around 0 (a local search's steps): the Gaussian's covariance,
    or a mixture's spread per latent (between and within components)."""
    if prior and prior.get("kind") == MIXTURE:
        means, spreads = np.asarray(prior["means"], np.float64), np.asarray(prior["spreads"], np.float64)
        scale = np.sqrt(means.var(0) + (spreads ** 2).mean(0))
        return (rng.standard_normal((n, dim)) * scale).astype(np.float32)
    return to_z(sample_u(rng, n, dim), prior) - to_z(np.zeros((1, dim), np.float32), prior)


def centre(prior: dict | None, dim: int) -> np.ndarray:
    """The prior's mean latent (interpolation turns around it)."""
    if not prior:
        return np.zeros(dim, np.float32)
    if prior.get("kind") == MIXTURE:
        return np.asarray(prior["means"], np.float32).mean(0)
    return np.asarray(prior["mean"], np.float32)


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


def draw_conditional(prior: dict | None, rng: np.random.Generator, n: int, known: np.ndarray, values: np.ndarray,
                     label: int = 0) -> np.ndarray:
    """n draws of the latents not `known`, given the known ones' `values` (continuing a level: the
    kept cells fix some latents). A mixture: each component reweighted by how likely it makes the
    known values (its own diagonal Gaussian), one drawn per sample, its other latents drawn from it;
    a Gaussian: its closed-form conditional (`conditional`)."""
    known = np.asarray(known, bool)
    if prior and prior.get("kind") == MIXTURE:
        mine = np.nonzero(np.asarray(prior["labels"]) == max(label, 0))[0]
        mine = mine if len(mine) else np.arange(len(prior["labels"]))
        means = np.asarray(prior["means"], np.float64)[mine]
        spreads = np.asarray(prior["spreads"], np.float64)[mine]
        var = spreads[:, known] ** 2
        log_w = -0.5 * (((np.asarray(values, np.float64) - means[:, known]) ** 2) / var + np.log(var)).sum(1)
        w = np.exp(log_w - log_w.max())
        comp = rng.choice(len(mine), n, p=w / w.sum())
        free = ~known
        return (means[comp][:, free] + spreads[comp][:, free] * rng.standard_normal((n, int(free.sum()))))
    mean, scale = conditional(prior, known, values)
    return mean + rng.standard_normal((n, int((~known).sum()))) @ scale.T


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


def path_between(a: np.ndarray, b: np.ndarray, steps: int, spherical: bool, prior: dict | None) -> np.ndarray:
    """`steps` latents from a to b. A Gaussian prior: interpolated among the standard-normal draws
    it is made of (where slerp belongs), back through `to_z`; a mixture: around its centre."""
    if prior and prior.get("kind") == MIXTURE:
        c = centre(prior, len(a))
        return (path(a - c, b - c, steps, spherical) + c).astype(np.float32)
    return to_z(path(to_u(a[None], prior)[0], to_u(b[None], prior)[0], steps, spherical), prior)


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
