"""Inpainting's search for a latent code, in numpy alone (the decoder is an ONNX graph: no
gradients). Knows no domain: the caller passes how to decode a batch of codes and how likely
decoder output makes the known cells.

The code sought is the most probable one given the known cells, log p(known | z) + log p(z):

1. candidates: the encoder's code of the sketch (unknown cells filled with a neutral value) and
   its encode/decode iterates with the known cells clamped; draws from the prior conditioned on
   the latents of the sketch's fully known blocks (a grid bottleneck's latents belong to blocks
   of cells: `latent_blocks`); draws from the label's prior;
2. all are decoded in batches and scored; the best few are refined by a local search (prior-
   shaped perturbations of shrinking size, kept when they score higher).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from genforge.core import latent


@dataclass
class SearchSize:
    """How much the search decodes per window: `population` draws (half conditioned on the known
    blocks' latents where the model has a grid of latents), `iterations` encode/decode rounds,
    `rounds` local-search rounds around the `keep` best, `per_round` perturbations per round;
    `prior_weight` of log p(z) in the score (0: the known cells' likelihood alone); `bandwidth`:
    how far (in the prior's spread per latent) a mixture component's settled latents may lie from
    the sketch's and still be drawn; `ensemble`: how many of the best codes the decoded window
    averages (1: the best alone)."""

    population: int = 512
    iterations: int = 3
    rounds: int = 4
    keep: int = 16
    per_round: int = 256
    prior_weight: float = 1.0
    bandwidth: float = 1.0
    ensemble: int = 1


def latent_blocks(model_config: dict, latent_dim: int, shape: tuple[int, int]) -> tuple[np.ndarray, int] | None:
    """A grid bottleneck's latents per block of cells: (index array (blocks down, blocks across,
    latents per block), block size in cells), or None for a model without a grid of latents."""
    if model_config.get("bottleneck") != "grid":
        return None
    cell = 2 ** len(model_config.get("filters") or [])
    hb, wb = (math.ceil(s / cell) for s in shape)
    n_cells = latent_dim - int(model_config.get("global_dim") or 0)
    if n_cells <= 0 or n_cells % (hb * wb):
        return None
    return np.arange(n_cells).reshape(hb, wb, n_cells // (hb * wb)), cell


def known_latents(blocks: tuple[np.ndarray, int] | None, known_cells: np.ndarray, latent_dim: int,
                  margin: int = 1) -> np.ndarray:
    """Which latents the known cells settle: those of blocks whose cells, and `margin` cells
    around them (the encoder sees past a block's edge), are all known. `known_cells`: (H, W)."""
    out = np.zeros(latent_dim, bool)
    if blocks is None:
        return out
    index, cell = blocks
    h, w = known_cells.shape
    for i in range(index.shape[0]):
        for j in range(index.shape[1]):
            r0, r1 = max(0, i * cell - margin), min(h, (i + 1) * cell + margin)
            c0, c1 = max(0, j * cell - margin), min(w, (j + 1) * cell + margin)
            if known_cells[r0:r1, c0:c1].all():
                out[index[i, j]] = True
    return out


def log_prior(prior: dict | None, z: np.ndarray, label: int, chunk: int = 512) -> np.ndarray:
    """log p(z) under the bundle's prior (a mixture: the label's components), up to a constant."""
    z = np.asarray(z, np.float64)
    if not prior:
        return -0.5 * (z ** 2).sum(1)
    if prior.get("kind") != latent.MIXTURE:
        u = latent.to_u(z.astype(np.float32), prior).astype(np.float64)
        return -0.5 * (u ** 2).sum(1)
    owner = np.asarray(prior["labels"])
    mine = np.nonzero(owner == max(label, 0))[0]
    mine = mine if len(mine) else np.arange(len(owner))
    means = np.asarray(prior["means"], np.float64)[mine]
    inv = 1.0 / np.maximum(np.asarray(prior["spreads"], np.float64)[mine], 1e-4) ** 2   # (K, D)
    const = -0.5 * ((means ** 2) * inv).sum(1) + 0.5 * np.log(inv).sum(1)                # (K,)
    out = np.empty(len(z))
    for s in range(0, len(z), chunk):
        zc = z[s:s + chunk]
        # sum_d (z - m)^2 / s^2 = z^2 . inv - 2 z . (m inv) + m^2 . inv
        quad = -0.5 * (zc ** 2) @ inv.T + zc @ (means * inv).T + const
        top = quad.max(1, keepdims=True)
        out[s:s + chunk] = np.log(np.exp(quad - top).sum(1)) + top[:, 0] - math.log(len(mine))
    return out


def conditional_draws(prior: dict | None, rng: np.random.Generator, n: int, start: np.ndarray, settled: np.ndarray,
                      label: int, bandwidth: float) -> np.ndarray:
    """n codes with the `settled` latents of `start` and the others drawn given them: a mixture's
    components of the label weighted by how near their settled latents lie (a Gaussian kernel of
    `bandwidth` times the prior's spread per latent: the components' own spreads are so narrow
    that one component would take all the weight), the free latents drawn from the component;
    a Gaussian prior: its exact conditional."""
    out = np.repeat(start[None].astype(np.float64), n, 0)
    if not (prior and prior.get("kind") == latent.MIXTURE):
        out[:, ~settled] = latent.draw_conditional(prior, rng, n, settled, start[settled], label)
        return out.astype(np.float32)
    mine = np.nonzero(np.asarray(prior["labels"]) == max(label, 0))[0]
    mine = mine if len(mine) else np.arange(len(prior["labels"]))
    means = np.asarray(prior["means"], np.float64)[mine]
    spreads = np.asarray(prior["spreads"], np.float64)[mine]
    width = bandwidth * _spread_scale(prior, len(start)).astype(np.float64)
    log_w = -0.5 * (((means[:, settled] - start[settled]) / width[settled]) ** 2).sum(1)
    w = np.exp(log_w - log_w.max())
    comp = rng.choice(len(mine), n, p=w / w.sum())
    free = ~settled
    out[:, free] = means[comp][:, free] + spreads[comp][:, free] * rng.standard_normal((n, int(free.sum())))
    return out.astype(np.float32)


def search(decode, log_likelihood, encode_clamped, prior: dict | None, start: np.ndarray, label: int,
           settled: np.ndarray, rng: np.random.Generator, size: SearchSize = SearchSize()) -> tuple[np.ndarray, np.ndarray]:
    """The codes found and their scores, best first (at most size.keep). `decode(z)` -> decoder output for a batch
    of codes; `log_likelihood(output)` -> per code, how likely it makes the known cells;
    `encode_clamped(output)` -> the codes of the decoded windows with the known cells put back;
    `start`: the sketch's own code; `settled`: the latents the known blocks settle (`known_latents`)."""
    dim = len(start)
    parts = [start[None].astype(np.float32)]
    z = start[None].astype(np.float32)
    for _ in range(size.iterations):           # encode/decode with the known cells clamped
        z = encode_clamped(decode(z)).astype(np.float32)
        parts.append(z)
    n_cond = size.population // 2 if settled.any() else 0
    if n_cond:
        parts.append(conditional_draws(prior, rng, n_cond, start, settled, label, size.bandwidth))
    if size.population - n_cond > 0:
        parts.append(latent.draw(prior, rng, size.population - n_cond, dim, np.full(size.population - n_cond, label)))
    pool = np.concatenate(parts)
    scores = _score(pool, decode, log_likelihood, prior, label, size.prior_weight)
    order = np.argsort(-scores)[:size.keep]
    best, best_scores = pool[order], scores[order]
    scale = _spread_scale(prior, dim)
    for r in range(size.rounds):
        sigma = 0.5 * 0.5 ** r
        per = max(1, size.per_round // len(best))
        centre = np.repeat(best, per, 0)
        noise = rng.standard_normal(centre.shape).astype(np.float32) * scale * sigma
        trial = (centre + noise).astype(np.float32)
        trial_scores = _score(trial, decode, log_likelihood, prior, label, size.prior_weight)
        pool = np.concatenate([best, trial])
        pool_scores = np.concatenate([best_scores, trial_scores])
        order = np.argsort(-pool_scores)[:size.keep]
        best, best_scores = pool[order], pool_scores[order]
    return best, best_scores


def _spread_scale(prior: dict | None, dim: int) -> np.ndarray:
    """Per latent, the prior's spread (a mixture: between and within its components)."""
    if prior and prior.get("kind") == latent.MIXTURE:
        means, spreads = np.asarray(prior["means"], np.float64), np.asarray(prior["spreads"], np.float64)
        return np.sqrt(means.var(0) + (spreads ** 2).mean(0)).astype(np.float32)
    if prior:
        return np.sqrt((np.asarray(prior["scale_tril"], np.float64) ** 2).sum(1)).astype(np.float32)
    return np.ones(dim, np.float32)


def _score(z: np.ndarray, decode, log_likelihood, prior: dict | None, label: int, weight: float) -> np.ndarray:
    fit = log_likelihood(decode(z))
    return fit + weight * log_prior(prior, z, label) if weight else fit
