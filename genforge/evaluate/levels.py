"""`genforge evaluate levels`: how a level model's samples compare with its corpus.

onnxruntime + numpy (+ Pillow for the figures): never TensorFlow. Every figure is computed for
the unfiltered samples AND for the held-out real levels (whole levels the model never trained on,
cut into windows the same way), each against the training windows, so a number always has its
reference beside it:

  playable          share of windows the game's checker passes (genforge.domains.levels.playability)
  broken            share of windows holding a broken multi-tile structure (cut pipe, floating cannon);
                    samples are measured as `sample levels` writes them (structures mended, see
                    Checker.repair), and `raw_decoder` gives the share before mending
  novelty           Hamming distance (share of differing cells) of each window to its nearest training window
  diversity         mean pairwise Hamming distance between windows (held-out: a random subset as large as
                    the samples, at most `n`)
  kl_2x2, kl_3x3    tile-pattern KL divergence (Lucas & Volz 2019) over every 2x2 / 3x3 pattern, both
                    directions: `training_vs_set` = KL(P_train || P_set), `set_vs_training` = KL(P_set ||
                    P_train); probabilities over the union of both sets' patterns, each count + 0.5
                    (add-half smoothing), so a pattern one set lacks costs a finite amount
  stats             per window: non-empty density, enemy tiles, gap columns (bottom-row tiles that hold
                    no one up; side-scrollers), structures (pipes, cannons: mouths of the left part),
                    leniency = -(enemy tiles + solid hazard tiles + gap columns) / columns
  expressive range  density vs leniency, the set's 2-D histogram over the training corpus's (PNG)
  PCA map           training codes (encoder means) projected on their first two principal axes, coloured by
                    label, with the samples' latents and the held-out windows' codes over them (PNG);
                    `latent_map="tsne"`: a t-SNE map of the three sets instead (tsne.png)

Per label (game) and pooled. Writes report.json, report.md, expressive_range.png, pca.png,
stats.png and checks.png (samples with their path or where they fail), each atomically.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from genforge import __version__, runtime
from genforge.atomic import write_json, write_text
from genforge.bundle import load
from genforge.domains import codec_for
from genforge.domains.levels import grid, playability, read
from genforge.domains.levels.stats import window_stats
from genforge.errors import GenforgeError
from genforge.evaluate.common import (SETS, hamming_nearest, mean_pairwise, relative_gap, summary, training_data,
                                      two_sample_auc)
from genforge.evaluate.level_report import figures, markdown

MAPS = ("pca", "tsne")


def pattern_counts(windows: np.ndarray, k: int, depth: int) -> dict[int, int]:
    """Counts of every k x k tile pattern in windows of tile indices (N, H, W)."""
    n, h, w = windows.shape
    if h < k or w < k:
        return {}
    code = np.zeros((n, h - k + 1, w - k + 1), np.int64)
    for dy in range(k):
        for dx in range(k):
            code = code * depth + windows[:, dy:dy + h - k + 1, dx:dx + w - k + 1]
    values, counts = np.unique(code, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist()))


def window_features(windows: np.ndarray, depth: int, patterns: int = 256) -> np.ndarray:
    """What the two-sample classifier sees of tile windows (N, H, W): the one-hot tiles, and how
    often the 2 x 2 tile patterns occur, hashed into `patterns` columns (a fixed hash, so every set
    is described on the same columns)."""
    n, h, w = windows.shape
    onehot = np.eye(depth, dtype=np.float32)[windows].reshape(n, -1)
    code = np.zeros((n, h - 1, w - 1), np.int64)
    for dy in range(2):
        for dx in range(2):
            code = code * depth + windows[:, dy:dy + h - 1, dx:dx + w - 1]
    bucket = ((code * 2654435761) >> 16) % patterns  # Knuth's multiplicative hash, its middle bits
    counts = np.stack([np.bincount(b.ravel(), minlength=patterns) for b in bucket]).astype(np.float32)
    return np.concatenate([onehot, counts / ((h - 1) * (w - 1))], 1)


def kl_divergence(p_counts: dict[int, int], q_counts: dict[int, int], smoothing: float = 0.5) -> float:
    """KL(P || Q) over the union of both pattern sets, every count + `smoothing`."""
    keys = sorted(set(p_counts) | set(q_counts))
    if not keys:
        return float("nan")
    p = np.array([p_counts.get(k, 0) for k in keys], float) + smoothing
    q = np.array([q_counts.get(k, 0) for k in keys], float) + smoothing
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * np.log(p / q)))


def _corpus(codec, folders: list[Path], split: dict[str, dict[str, list[str]]]) -> dict[str, dict]:
    """Per game of the model: native training and held-out windows (tile characters), cut from
    the levels `split` (the bundle's) names."""
    games = {g["name"]: g for g in codec.games}
    out = {}
    for folder in folders:
        s = read.read_level_folder(folder)
        g = games.get(s.game)
        if g is None:
            raise GenforgeError(f"{folder}: {s.game!r} is not a game of this model ({', '.join(games)})")
        by_name = {lv.name: lv for lv in s.levels}
        parts = split.get(s.game, {})
        held = parts.get("test") or parts.get("validation") or []
        note = None if parts.get("test") else "no test levels: held-out figures use the validation levels"
        window = tuple(g["window"])

        def cut(names):
            wins = [grid.cut_windows(by_name[n], g["layout"], window, g["empty"]) for n in names if n in by_name]
            wins = [w for w in wins if len(w)]
            return np.concatenate(wins) if wins else np.zeros((0, *window), "<U1")

        out[s.game] = {"train": cut(parts.get("train", [])), "held_out": cut(held), "held_levels": held,
                       "note": note, "legend": codec.legend(list(games).index(s.game)), "layout": g["layout"]}
    missing = set(games) - set(out)
    if missing:
        raise GenforgeError(f"no --data folder for {', '.join(sorted(missing))}; pass one per game of the model")
    return out


def evaluate_levels(model: str | Path | None, n: int, out: str | Path, seed: int = 0,
                    data: list[str | Path] | None = None, condition: str | None = None,
                    temperature: float = 0.0, latent_map: str = "pca") -> dict:
    """Sample `n` windows, measure them and the held-out real windows against the training
    windows; write report.json, report.md and the figures under `out`; return the report.
    `latent_map`: "pca" (all codes on the training codes' first two principal axes) or "tsne"
    (a t-SNE map of up to 800 training codes, 200 samples and 200 held-out codes together)."""
    runtime.check_count(n, "-n", 20_000)
    if latent_map not in MAPS:
        raise GenforgeError(f"unknown --map {latent_map!r}; choose from {', '.join(MAPS)}")
    if not 0 <= temperature <= 10:
        raise GenforgeError(f"--temperature must be between 0 and 10, got {temperature}")
    bundle = load(model, "levels")
    codec = codec_for(bundle.meta)
    folders, _ = training_data(bundle, data, "them with --data FOLDER (once per game)")
    corpus = _corpus(codec, folders, bundle.split)
    names = [g["name"] for g in codec.games]

    z, ids = runtime.sample_latents(bundle, n, seed, condition)
    z, redrawn = runtime.redraw_copies(bundle, codec, z, ids, seed)  # as `sample levels` does
    logits = runtime.decode(bundle, z, ids)
    raw = codec.from_logits(logits, np.random.default_rng([seed, 1]), temperature)
    indices = codec.repair(raw, logits, ids)  # what `sample levels` writes
    game_of = np.maximum(ids, 0)
    def per_game(grids):
        return {name: grid.to_chars(np.stack([codec.native(grids[i], int(ids[i])) for i in np.nonzero(game_of == g)[0]])
                                    if np.any(game_of == g) else np.zeros((0, *codec.games[g]["window"]), int),
                                    codec.vocabulary)
                for g, name in enumerate(names)}

    samples, raw_samples = per_game(indices), per_game(raw)

    rng = np.random.default_rng([seed, 2])
    report = {"model": bundle.name, "genforge_version": __version__, "n": n, "seed": seed,
              "temperature": temperature, "condition": condition, "copies_redrawn": redrawn, "games": {}, "notes": []}
    stats_by_game, checkers = {}, {}
    for g, name in enumerate(names):
        c = corpus[name]
        checkers[name] = playability.Checker.for_game(name, c["legend"], c["layout"],
                                                      room=tuple(codec.games[g]["window"]))
        if c["note"]:
            report["notes"].append(f"{name}: {c['note']}")
        if not len(samples[name]):
            report["notes"].append(f"{name}: no samples drew this label")
        sets = {"samples": samples[name], "held_out": c["held_out"], "training": c["train"]}
        report["games"][name], stats_by_game[name] = _measure_game(sets, raw_samples[name], c, checkers[name],
                                                                   codec.vocabulary, rng, n)

    if len(names) > 1:
        report["pooled"] = _pooled(report["games"], stats_by_game)
    out = Path(out)
    report["figures"] = figures(bundle, codec, names, corpus, samples, z, game_of, stats_by_game, checkers, out,
                                latent_map, seed)
    write_json(out / "report.json", report)
    write_text(out / "report.md", markdown(report))
    return report


def _measure_game(sets: dict[str, np.ndarray], raw: np.ndarray, corpus: dict, checker, vocabulary: str,
                  rng: np.random.Generator, n: int) -> tuple[dict, dict]:
    """One game's report entry and per-window statistics: `sets` are its samples, held-out and
    training windows (tile characters), `raw` the samples before structure repair."""
    legend, layout = corpus["legend"], corpus["layout"]
    idx = {k: grid.to_indices(v, vocabulary) if len(v) else np.zeros((0, *v.shape[1:]), int) for k, v in sets.items()}
    entry = {"windows": {k: int(len(v)) for k, v in sets.items()}, "held_out_levels": corpus["held_levels"],
             "physics": {k: v for k, v in checker.physics.items() if k != "structures"}}
    playable = {k: checker.playable(v) if len(v) and checker.has_route else np.zeros(0, bool)
                for k, v in sets.items()}
    broken = {k: checker.broken(v) if len(v) else np.zeros(0, bool) for k, v in sets.items()}
    entry["playable"] = {k: round(float(v.mean()), 4) if len(v) else None for k, v in playable.items()}
    entry["broken_structures"] = {k: round(float(v.mean()), 4) if len(v) else None for k, v in broken.items()}
    if len(raw):  # the decoder's own output, before its broken structures were mended
        entry["raw_decoder"] = {"playable": round(float(checker.playable(raw).mean()), 4) if checker.has_route
                                else None,
                                "broken_structures": round(float(checker.broken(raw).mean()), 4)}
    diverse_held = idx["held_out"][rng.permutation(len(idx["held_out"]))[:max(2, min(n, 1000))]]
    novelty = {k: hamming_nearest(idx[k], idx["training"]) for k in ("samples", "held_out")}
    entry["novelty"] = {k: {**summary(v), "share_identical": round(float(np.mean(v == 0)), 4) if len(v) else None}
                        for k, v in novelty.items()}
    entry["diversity"] = {"samples": round(mean_pairwise(idx["samples"][:1000]), 4) if len(idx["samples"]) > 1
                          else None,
                          "held_out": round(mean_pairwise(diverse_held), 4) if len(diverse_held) > 1 else None}
    feats = {k: window_features(v, len(vocabulary)) for k, v in idx.items()}
    raw_feats = window_features(grid.to_indices(raw, vocabulary), len(vocabulary)) if len(raw) else None
    entry["two_sample_auc"] = {
        "samples_vs_training": two_sample_auc(feats["samples"], feats["training"]),
        "raw_decoder_vs_training": two_sample_auc(raw_feats, feats["training"]) if raw_feats is not None else None,
        "held_out_vs_training": two_sample_auc(feats["held_out"], feats["training"])}
    for k in (2, 3):
        train_counts = pattern_counts(idx["training"], k, len(vocabulary))
        entry[f"kl_{k}x{k}"] = {}
        for s in ("samples", "held_out"):
            counts = pattern_counts(idx[s], k, len(vocabulary))
            entry[f"kl_{k}x{k}"][s] = {
                "training_vs_set": round(kl_divergence(train_counts, counts), 4) if counts else None,
                "set_vs_training": round(kl_divergence(counts, train_counts), 4) if counts else None}
    stats = {k: window_stats(v, legend, layout, checker) if len(v) else {} for k, v in sets.items()}
    entry["stats"] = {}
    for stat in stats["training"]:
        row = {k: summary(stats[k][stat]) if stats[k] else summary([]) for k in SETS}
        row["corpus"] = summary(np.concatenate([stats[k][stat] for k in ("training", "held_out") if stats[k]]))
        row["samples_vs_training"] = relative_gap(row["samples"]["mean"], row["training"]["mean"])
        row["held_out_vs_training"] = relative_gap(row["held_out"]["mean"], row["training"]["mean"])
        row["samples_vs_corpus"] = relative_gap(row["samples"]["mean"], row["corpus"]["mean"])
        entry["stats"][stat] = row
    return entry, stats


def _pooled(games: dict, stats_by_game: dict) -> dict:
    """Every game's windows together: shares and per-window means weighted by window counts."""
    def weighted(key):
        row = {}
        for s in SETS:
            pairs = [(e[key][s], e["windows"][s]) for e in games.values() if e[key][s] is not None]
            total = sum(w for _, w in pairs)
            row[s] = round(sum(v * w for v, w in pairs) / total, 4) if total else None
        return row

    out = {"windows": {s: sum(e["windows"][s] for e in games.values()) for s in SETS},
           "playable": weighted("playable"), "broken_structures": weighted("broken_structures"), "stats": {}}
    common = set.intersection(*(set(st["training"]) for st in stats_by_game.values() if st["training"]))
    for stat in sorted(common):
        row = {}
        for s in SETS:
            values = [st[s][stat] for st in stats_by_game.values() if st[s]]
            row[s] = summary(np.concatenate(values)) if values else summary([])
        row["corpus"] = summary(np.concatenate([st[s][stat] for st in stats_by_game.values()
                                                 for s in ("training", "held_out") if st[s]]))
        row["samples_vs_training"] = relative_gap(row["samples"]["mean"], row["training"]["mean"])
        row["held_out_vs_training"] = relative_gap(row["held_out"]["mean"], row["training"]["mean"])
        row["samples_vs_corpus"] = relative_gap(row["samples"]["mean"], row["corpus"]["mean"])
        out["stats"][stat] = row
    return out
