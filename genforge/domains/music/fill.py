"""Inpainting's music side: how likely decoder logits make the known steps of a piano-roll window
(each monophonic voice one class per step, as training scores it; other voices cell by cell),
logits that force the known cells, a filled window decoded (the known cells as given, the
unknown steps joined to them: a held note continues only a note at its pitch), and the mask of
chosen bars and voices.
"""
from __future__ import annotations

import numpy as np

from genforge.core import one_of
from genforge.errors import GenforgeError

FORCE = 30.0   # a known cell's logit: sigmoid(30) = 1 - 1e-13


def _log_softmax(x: np.ndarray) -> np.ndarray:
    top = x.max(-1, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(-1, keepdims=True))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def log_likelihood(codec, logits: np.ndarray, assets: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Per window (N), the log-probability the logits (N, S, P, C) give the known cells of
    `assets` ((S, P, C) or (N, S, P, C) bool; `known` alike): a monophonic voice's step counts
    when all its cells there are known (one class of rest, onset or hold at a pitch)."""
    logits = np.asarray(logits, np.float64)
    n = len(logits)
    assets = np.broadcast_to(np.asarray(assets, bool), logits.shape)
    known = np.broadcast_to(np.asarray(known, bool), logits.shape)
    total = np.zeros(n)
    grouped = set()
    for group in codec.one_of:
        grouped.update(group)
        lp = _log_softmax(one_of.class_logits(logits, group))                 # (N, S, K)
        target = one_of.targets(assets, group)                                 # (N, S)
        rows = known[..., list(group)].all((2, 3))                              # (N, S)
        total += (np.take_along_axis(lp, target[..., None], -1)[..., 0] * rows).sum(1)
    for c in range(logits.shape[-1]):
        if c in grouped:
            continue
        x, on, k = logits[..., c], assets[..., c], known[..., c]
        total += (np.where(on, -_softplus(-x), -_softplus(x)) * k).sum((1, 2))
    return total


def forced(codec, logits: np.ndarray, asset: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Logits with each known cell certain; a monophonic voice's onset outranks its hold at the
    same cell, so the step decodes as the onset it is."""
    out = np.array(logits, np.float64, copy=True)
    asset, known = np.asarray(asset, bool), np.asarray(known, bool)
    value = np.where(asset, FORCE, -FORCE)
    for onset, hold in codec.one_of:
        value[..., hold] = np.where(asset[..., hold], np.where(asset[..., onset], FORCE - 10, FORCE), -FORCE)
    out[:, known] = value[known]
    return out


def neutral(codec, asset: np.ndarray, known: np.ndarray, label_id: int) -> np.ndarray:
    """The sketch the encoder sees first: unknown cells silent."""
    return np.asarray(asset, bool) & np.asarray(known, bool)


def finish(codec, logits: np.ndarray, asset: np.ndarray, known: np.ndarray, label_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate windows (N, S, P, C) decoded from logits with the known cells forced, the known
    cells put back, and per window 1 where decoding kept them as given, else 0."""
    out = codec.from_logits(forced(codec, logits, asset, known))
    kept = (out[:, known] == np.asarray(asset, bool)[known]).all(1)
    out[:, known] = np.asarray(asset, bool)[known]
    return out, kept.astype(int)


def parse_bars(text: str) -> list[int]:
    """"3-4" -> [3, 4]; "2" -> [2]; "1,3-4" -> [1, 3, 4] (1-based bar numbers)."""
    bars: list[int] = []
    for part in str(text).split(","):
        lo, dash, hi = part.strip().partition("-")
        try:
            a = int(lo)
            b = int(hi) if dash else a
        except ValueError:
            raise GenforgeError(f"--bars must look like 3-4 or 2 or 1,3-4 (bar numbers from 1), got {text!r}") from None
        if a < 1 or b < a:
            raise GenforgeError(f"--bars {text!r}: bars count from 1 and a range goes upwards")
        bars += range(a, b + 1)
    return sorted(set(bars))


def bar_mask(codec, label_id: int, bars: list[int], voices: list[int] | None = None) -> np.ndarray:
    """The known mask of a window (S, P, C) with the steps of `bars` (1-based) unknown in the
    channels of `voices` (0-based; None: all)."""
    _, n_bars, per_bar = codec.metre(label_id)
    bad = [b for b in bars if b > n_bars]
    if bad:
        raise GenforgeError(f"--bars {','.join(map(str, bad))}: a window of this model holds {n_bars} bars")
    n_voices = len(codec.voices)
    voices = list(range(n_voices)) if voices is None else voices
    bad = [v for v in voices if not 0 <= v < n_voices]
    if bad:
        raise GenforgeError(f"--voices: this model has voices 1-{n_voices}")
    known = np.ones(codec.grid_shape, bool)
    for b in bars:
        for v in voices:
            known[(b - 1) * per_bar:b * per_bar, :, 2 * v:2 * v + 2] = False
    return known


def shift_notes(grids: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Copies of windows (N, S, P, C) with `share` of their notes (every voice's, drawn at random)
    moved a semitone up or down, whole (onset and hold): the style score's test of wrong notes."""
    out = np.array(grids, bool, copy=True)
    steps, pitches = out.shape[1:3]
    for w in range(len(out)):
        notes = []
        for v in range(out.shape[-1] // 2):
            for s, p in zip(*np.nonzero(out[w, :, :, 2 * v])):
                end = s + 1
                while end < steps and out[w, end, p, 2 * v + 1] and not out[w, end, p, 2 * v]:
                    end += 1
                notes.append((v, s, end, p))
        if not notes:
            continue
        for k in rng.choice(len(notes), max(1, round(share * len(notes))), replace=False):
            v, s, end, p = notes[k]
            to = p + (1 if (rng.random() < 0.5 or p == 0) and p + 1 < pitches else -1)
            out[w, s:end, p, 2 * v:2 * v + 2] = False
            out[w, s:end, to, 2 * v + 1] = True
            out[w, s, to, 2 * v] = True
    return out


def mean_logits(codec, logits: np.ndarray) -> np.ndarray:
    """(1, S, P, C) logits of the probabilities averaged over windows' logits (N, S, P, C): a
    monophonic voice's class probabilities per step, other cells' on-probabilities."""
    logits = np.asarray(logits, np.float64)
    out = np.empty((1, *logits.shape[1:]))
    width = logits.shape[2]
    grouped = set()
    for group in codec.one_of:
        grouped.update(group)
        p = np.exp(_log_softmax(one_of.class_logits(logits, group))).mean(0)      # (S, K)
        ratio = np.log(p[:, 1:] + 1e-12) - np.log(p[:, :1] + 1e-12)              # class j against rest
        for j, c in enumerate(group):
            out[0, :, :, c] = ratio[:, j * width:(j + 1) * width]
    for c in range(logits.shape[-1]):
        if c not in grouped:
            p = (1.0 / (1.0 + np.exp(-logits[..., c]))).mean(0)
            out[0, :, :, c] = np.log(p + 1e-12) - np.log(1 - p + 1e-12)
    return out
