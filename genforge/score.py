"""The style score: how much a window looks like the data the model learned (anomaly detection),
per window and per file, as a percentile among the held-out real windows of the same label.

The score is an evidence lower bound per cell, in nats (higher = more like the data), taken at
the encoder's mean code z = mu(x) against the model's own prior p (the mixture over the training
windows' posteriors that sampling draws from):
    ( log p(x | z) + w * (log p(z) - log q(z | x)) ) / cells
one encode and one decode per window, deterministic. The prior term's weight w is by domain,
as measured (benchmarks/inpaint_score.py reports every term apart):
  levels (w = 1): held-out Super Mario Bros windows against Super Mario Land's (the same tiles,
    another game): reconstruction alone 0.89 AUROC, the classic ELBO (KL to N(0, I)) 0.89, this
    0.95; a 4-sample Monte Carlo ELBO against the mixture no better (0.94) at four decodes a
    window. Windows with 10% of cells randomised: 1.00 by any of them.
  music (w = 0): against chorale windows with 10% of notes a semitone off, reconstruction alone
    0.72, with the mixture term 0.54: in 768 dimensions the mixture's narrow components give
    held-out codes far lower density than training codes (about -3,000 against +200 nats), a
    memoriser rather than a density, so only the reconstruction is kept.

Percentiles are against the held-out real windows (the bundle's test split) of the same label:
from the score quantiles stored in genforge.json under "score_reference" (the bundled models
carry them; `store_reference` writes them), else computed from the training data where the
bundle's data folders are present, else NaN (said so by the caller).

onnxruntime + numpy only.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from genforge import runtime
from genforge.atomic import write_json
from genforge.bundle import META_FILE, Bundle
from genforge.core import latent
from genforge.errors import GenforgeError

METHOD = "elbo-per-cell-2"    # bump when the score changes: stored quantiles of another method are ignored
PRIOR_WEIGHT = {"levels": 1.0, "music": 0.0}   # see the module's docstring
QUANTILES = 101               # stored per label: the 0th, 1st, ..., 100th percentile
CHUNK = 256


def _side(codec):
    if codec.domain == "levels":
        from genforge.domains.levels import fill as side
    else:
        from genforge.domains.music import fill as side
    return side


def content_mask(codec, label_id: int) -> np.ndarray:
    """The cells of a window that hold content (music: the label's bars; levels: all)."""
    if codec.domain == "levels":
        return np.ones(codec.grid_shape[:2], bool)
    known = np.zeros(codec.grid_shape, bool)
    known[:codec.content_steps(label_id)] = True
    return known


def score_terms(bundle: Bundle, codec, assets: np.ndarray, label_ids: np.ndarray) -> dict[str, np.ndarray]:
    """Per window, in nats per cell: `reconstruction` log p(x | mu), `prior` log p(mu) - log q(mu | x)
    under the bundle's prior, `kl_standard` KL(q || N(0, I)) (the training loss's term); and `cells`."""
    from genforge.core.inpaint_search import log_prior
    from genforge.inpaint import nets

    dec, enc = nets(bundle)
    side = _side(codec)
    assets, label_ids = np.asarray(assets), np.asarray(label_ids, np.int64)
    n_labels = len(bundle.labels)
    out = {k: np.zeros(len(assets)) for k in ("reconstruction", "prior", "kl_standard", "cells")}
    for s in range(0, len(assets), CHUNK):
        a, ids = assets[s:s + CHUNK], label_ids[s:s + CHUNK]
        part = slice(s, s + len(a))
        mean, log_var = enc(codec.to_onehot(a), latent.one_hot(np.maximum(ids, 0), n_labels))
        mean, log_var = mean.astype(np.float64), log_var.astype(np.float64)
        logits = runtime.decode(bundle, mean.astype(np.float32), ids, dec, calibrated=False)
        masks = np.stack([content_mask(codec, int(i)) for i in ids])
        if codec.domain == "music":  # a window's cells: content steps x voices (one class per step and voice)
            out["cells"][part] = masks[..., 0].sum((1, 2)) / codec.grid_shape[1] * len(codec.voices)
        else:
            out["cells"][part] = masks.sum((1, 2))
        out["reconstruction"][part] = side.log_likelihood(codec, logits, a, masks)
        for label in sorted(set(ids.tolist())):
            sel = np.nonzero(ids == label)[0]
            out["prior"][s + sel] = log_prior(bundle.prior, mean[sel], int(label)) + 0.5 * log_var[sel].sum(1)
        out["kl_standard"][part] = 0.5 * (mean ** 2 + np.exp(log_var) - 1 - log_var).sum(1)
    cells = np.maximum(out["cells"], 1)
    return {"reconstruction": out["reconstruction"] / cells, "prior": out["prior"] / cells,
            "kl_standard": out["kl_standard"] / cells, "cells": out["cells"]}


def window_scores(bundle: Bundle, codec, assets: np.ndarray, label_ids: np.ndarray) -> np.ndarray:
    """Style score per window (N,): the ELBO per cell in nats at the posterior mean against the
    model's prior (music: the reconstruction term alone; see the module's docstring); higher =
    more like the data."""
    t = score_terms(bundle, codec, assets, label_ids)
    return t["reconstruction"] + PRIOR_WEIGHT.get(codec.domain, 1.0) * t["prior"]


# ---------------------------------------------------------------- the reference distribution

def real_windows(bundle: Bundle, codec, part: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """The real windows of one part of the bundle's split ("train", "validation", "test"), cut as
    training cut them, and their label ids; a GenforgeError when the data folders are absent."""
    folders = bundle.data_folders()
    missing = [str(f) for f in folders if not f.exists()]
    if not folders or missing:
        raise GenforgeError(f"the data this model was trained on is not here ({', '.join(missing) or 'none recorded'})")
    if codec.domain == "levels":
        return _level_windows(bundle, codec, folders, part)
    return _music_windows(bundle, codec, folders, part)


def _level_windows(bundle, codec, folders, part):
    from genforge.domains.levels import grid, read

    assets, ids = [], []
    names = [g["name"] for g in codec.games]
    for folder in folders:
        s = read.read_level_folder(folder)
        if s.game not in names:
            continue
        label = names.index(s.game)
        g = codec.games[label]
        by_name = {lv.name: lv for lv in s.levels}
        for name in bundle.split.get(s.game, {}).get(part, []):
            if name in by_name:
                w = grid.cut_windows(by_name[name], g["layout"], tuple(g["window"]), g["empty"])
                if len(w):
                    assets.append(grid.to_indices(grid.place_in(w, codec.shape, g["empty"]), codec.vocabulary))
                    ids.append(np.full(len(w), max(label, 0) if codec.labels else -1))
    if not assets:
        return np.zeros((0, *codec.shape), np.int64), np.zeros(0, np.int64)
    return np.concatenate(assets), np.concatenate(ids)


def _music_windows(bundle, codec, folders, part):
    from genforge.config import TrainConfig, from_dict
    from genforge.domains.music.dataset import build_dataset

    tc = from_dict(TrainConfig, bundle.meta["train_config"])
    labels = bundle.options.get("labels")
    ds = build_dataset([str(f) for f in folders], bars=codec.bars, steps_per_beat=codec.steps_per_beat,
                       test=tc.test_levels, validation=tc.validation_levels, seed=tc.seed, transpose=0,
                       labels=None if labels == "none" else labels,
                       time_signature=None if codec.short_sections else codec.time_signature,
                       pitch_range=(codec.low, codec.high), voices=len(codec.voices))
    if list(ds.labels) != list(bundle.labels):
        raise GenforgeError("the data's labels are not the model's: cannot tell the held-out windows")
    grids, ids = ds.splits[part]
    return grids, (ids if bundle.labels else np.full(len(ids), -1))


def reference(bundle: Bundle, codec) -> dict[int, np.ndarray]:
    """{label id: the held-out windows' score quantiles (QUANTILES values)}: stored in the bundle,
    else computed from the data (held-out windows of the test split), else {}."""
    stored = bundle.meta.get("score_reference")
    if isinstance(stored, dict) and stored.get("method") == METHOD and isinstance(stored.get("labels"), dict):
        out = {}
        names = bundle.labels or [""]
        for name, entry in stored["labels"].items():
            q = np.asarray(entry.get("quantiles", []) if isinstance(entry, dict) else [], np.float64)
            if name in names and q.shape == (QUANTILES,) and np.all(np.isfinite(q)):
                out[names.index(name) if bundle.labels else -1] = np.sort(q)
        if out:
            return out
    key = ("reference", str(Path(bundle.path).resolve()))
    if key not in _CACHE:
        try:
            assets, ids = real_windows(bundle, codec, "test")
        except GenforgeError:
            assets, ids = [], np.zeros(0, int)
        _CACHE[key] = _quantiles(window_scores(bundle, codec, assets, ids), ids) if len(ids) else {}
    return _CACHE[key]


_CACHE: dict = {}


def _quantiles(scores: np.ndarray, ids: np.ndarray) -> dict[int, np.ndarray]:
    return {int(i): np.quantile(scores[ids == i], np.linspace(0, 1, QUANTILES)) for i in sorted(set(ids.tolist()))}


def percentiles(bundle: Bundle, codec, scores: np.ndarray, label_ids: np.ndarray) -> np.ndarray:
    """Percentile (0-100) of each score among the held-out real windows of the same label (the
    share of them scoring lower); NaN where the model has no reference for the label."""
    ref = reference(bundle, codec)
    scores, label_ids = np.asarray(scores, np.float64), np.asarray(label_ids)
    out = np.full(len(scores), np.nan)
    grid = np.linspace(0, 100, QUANTILES)
    for i, s in enumerate(scores):
        q = ref.get(int(label_ids[i]) if bundle.labels else -1)
        if q is not None:  # the quantile function inverted, linearly between quantiles
            out[i] = float(np.interp(s, q, grid))
    return out


def store_reference(bundle: Bundle, codec) -> dict:
    """Score the held-out real windows (the data must be present) and store their quantiles per
    label in the bundle's genforge.json ("score_reference"); returns what was stored."""
    assets, ids = real_windows(bundle, codec, "test")
    if not len(ids):
        raise GenforgeError(f"{bundle.path}: no held-out windows to score")
    q = _quantiles(window_scores(bundle, codec, assets, ids), ids)
    names = bundle.labels or [""]
    entry = {"method": METHOD, "split": "test",
             "labels": {names[max(i, 0)]: {"windows": int((ids == i).sum()),
                                           "quantiles": [round(float(v), 5) for v in qs]} for i, qs in q.items()}}
    meta = dict(bundle.meta)
    meta["score_reference"] = entry
    write_json(Path(bundle.path) / META_FILE, meta)
    bundle.meta = meta
    return entry


def auroc(higher: np.ndarray, lower: np.ndarray) -> float:
    """The probability that a score of `higher` exceeds one of `lower` (ties count half): how well
    the score tells real windows (`higher`) from others; 0.5 = not at all."""
    a, b = np.asarray(higher, np.float64), np.asarray(lower, np.float64)
    both = np.concatenate([a, b])
    order = np.argsort(both, kind="mergesort")
    ranks = np.empty(len(both))
    sorted_vals = both[order]
    start = 0
    for end in range(1, len(both) + 1):          # average ranks over ties
        if end == len(both) or sorted_vals[end] != sorted_vals[start]:
            ranks[order[start:end]] = (start + end + 1) / 2
            start = end
    return float((ranks[:len(a)].sum() - len(a) * (len(a) + 1) / 2) / (len(a) * len(b)))


# ---------------------------------------------------------------- files

WORST = 3   # windows marked on a file's preview


def _frame(image: np.ndarray, r0: int, r1: int, c0: int, c1: int, width: int = 3) -> None:
    red = np.array([230, 20, 20], np.uint8)
    image[r0:r1, c0:c0 + width] = red
    image[r0:r1, c1 - width:c1] = red
    image[r0:r0 + width, c0:c1] = red
    image[r1 - width:r1, c0:c1] = red


def _worst(scores: np.ndarray, span: int) -> list[int]:
    """Up to WORST lowest-scoring windows that do not overlap (windows `span` positions long)."""
    picked: list[int] = []
    for i in np.argsort(scores, kind="stable"):
        if all(abs(int(i) - j) >= span for j in picked):
            picked.append(int(i))
        if len(picked) == WORST:
            break
    return picked


def _level_file(bundle, codec, path: Path, condition: str | None):
    from genforge.domains.levels.fill import read_sketch

    label = bundle.label_id(condition)
    level, _, game = read_sketch(path, codec, 0 if label is None else label)
    if label is None:
        label = bundle.labels.index(game) if game in (bundle.labels or []) else (0 if bundle.labels else -1)
    h, w = codec.shape
    empty = codec.vocabulary.index(codec.game(label)["empty"])
    if level.shape[0] > h:          # a taller level: its bottom rows, where side-scrollers are played
        level = level[-h:]
    if level.shape[0] < h or level.shape[1] < w:
        pad = np.full((max(h, level.shape[0]), max(w, level.shape[1])), empty)
        pad[pad.shape[0] - level.shape[0]:, :level.shape[1]] = level
        level = pad
    windows = np.stack([level[:, c:c + w] for c in range(level.shape[1] - w + 1)])
    return level, windows, label


def _music_file(bundle, codec, path: Path, condition: str | None):
    from collections import Counter

    from genforge.domains.music.midi import read_midi
    from genforge.domains.music.theory import estimate_mode
    from genforge.domains.music.windows import cut_windows

    piece = read_midi(path, codec.steps_per_beat)
    label = bundle.label_id(condition)
    if label is None:
        try:
            label = bundle.label_id(estimate_mode(piece, codec.low)) if bundle.labels else -1
        except GenforgeError:
            label = 0
    ts, bars, _ = codec.metre(label)
    w = cut_windows(piece, bars, ts, codec.low, codec.high, len(codec.voices), 1, Counter(),
                    length=codec.grid_shape[0], same_signature=codec.short_sections,
                    short_sections=codec.short_sections)
    if not len(w.grids):
        raise GenforgeError(f"{path}: no {bars}-bar window with {len(codec.voices)} voice(s) inside pitches "
                            f"{codec.low}-{codec.high}")
    return None, np.asarray(w.grids), label


def score_files(model, domain: str, paths: list[str | Path], out: str | Path,
                condition: str | None = None) -> tuple[dict, list[Path]]:
    """Score every window of each file (levels: every column offset; music: every bar offset),
    the file by its windows' mean, each as a percentile among the held-out real windows of its
    label; write a preview per file with the WORST lowest-scoring windows framed in red, and
    scores.json. Returns (the report, the files written)."""
    from genforge.atomic import atomic_folder, published, write_bytes
    from genforge.bundle import load
    from genforge.domains import codec_for
    from genforge.images import png_bytes, sheet

    if not paths:
        raise GenforgeError("name at least one file to score")
    bundle = load(model, domain)
    codec = codec_for(bundle.meta)
    report: dict = {"model": bundle.name, "method": METHOD, "score": "ELBO per cell at the posterior mean (music: "
                    "its reconstruction term), nats; higher = more like the data", "files": {}}
    previews = {}
    for path in map(Path, paths):
        if not path.is_file():
            raise GenforgeError(f"{path}: no such file")
        reader = _level_file if domain == "levels" else _music_file
        level, windows, label = reader(bundle, codec, path, condition)
        ids = np.full(len(windows), label)
        s = window_scores(bundle, codec, windows, ids)
        pct = percentiles(bundle, codec, s, ids)
        mean_pct = percentiles(bundle, codec, np.array([s.mean()]), ids[:1])[0]
        span = codec.shape[1] if domain == "levels" else codec.metre(label)[1]
        worst = _worst(s, span)
        unit = "column" if domain == "levels" else "bar"
        report["files"][str(path)] = {
            "label": bundle.labels[label] if bundle.labels else None, "windows": int(len(s)),
            "score": round(float(s.mean()), 4), "percentile": None if np.isnan(mean_pct) else round(float(mean_pct), 1),
            "worst": [{"window": i, f"first_{unit}": i + 1 if unit == "bar" else i, "score": round(float(s[i]), 4),
                       "percentile": None if np.isnan(pct[i]) else round(float(pct[i]), 1)} for i in worst],
            "window_scores": [round(float(v), 4) for v in s]}
        if domain == "levels":
            image = np.array(codec.preview(level, label)[..., :3], np.uint8)
            px = image.shape[0] // level.shape[0]
            for i in worst:
                _frame(image, 0, image.shape[0], i * px, (i + codec.shape[1]) * px)
            previews[path] = png_bytes(image)
        else:
            shown = sorted(set(range(0, len(windows), max(1, span))) | set(worst))
            images = []
            for i in shown:
                im = np.array(codec.preview(windows[i], label)[..., :3], np.uint8)
                if i in worst:
                    _frame(im, 0, im.shape[0], 0, im.shape[1])
                images.append(im)
            previews[path] = png_bytes(sheet(images, columns=2))
    report["reference"] = ("held-out windows' quantiles stored in the model" if isinstance(
        bundle.meta.get("score_reference"), dict) else "held-out windows of the training data" if reference(
        bundle, codec) else "none: the model stores no reference and its data is absent; percentiles are null")
    with atomic_folder(out) as folder:
        written = [write_bytes(folder / f"{p.stem}-score.png", data) for p, data in previews.items()]
        written.append(write_json(folder / "scores.json", report))
    return report, published(written, folder, out)
