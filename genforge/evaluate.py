"""`genforge evaluate levels`: how a level model's samples compare with its corpus.

onnxruntime + numpy (+ Pillow for the figures): never TensorFlow. Every figure is computed for
the unfiltered samples AND for the held-out real levels (whole levels the model never trained on,
cut into windows the same way), each against the training windows, so a number always has its
reference beside it:

  playable          share of windows the game's checker passes (genforge.domains.playability)
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

import shlex
from pathlib import Path

import numpy as np

from genforge import __version__, runtime
from genforge.atomic import write_bytes, write_json, write_text
from genforge.domains import codec_for
from genforge.domains.levels import TileLegend, cut_windows, place_in, read_level_folder, to_chars, to_indices
from genforge.domains.playability import Checker, draw_check
from genforge.errors import GenforgeError
from genforge.images import png_bytes, sheet

SETS = ("samples", "held_out", "training")
MAPS = ("pca", "tsne")
COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]


# ---------------------------------------------------------------- measures (numpy)

def nearest_distance(a: np.ndarray, b: np.ndarray, chunk_bytes: int = 128 << 20) -> np.ndarray:
    """For each row of `a` (N, D) bool, the number of cells differing from its nearest row of `b`
    (M, D) bool; (N,) int, -1 where `b` is empty. |a| + |b| - 2 a.b by float32 matrix products over
    chunks of at most `chunk_bytes` each (exact: counts stay far below 2**24)."""
    a = a.reshape(len(a), int(np.prod(a.shape[1:])))
    b = b.reshape(len(b), int(np.prod(b.shape[1:])))
    best = np.full(len(a), np.iinfo(np.int64).max if len(b) else -1, np.int64)
    if not len(a) or not len(b):
        return best
    rows = max(1, chunk_bytes // (4 * a.shape[1]))
    a_count = np.count_nonzero(a, axis=1)
    for j in range(0, len(b), rows):
        bf = b[j:j + rows].astype(np.float32)
        b_count = np.count_nonzero(b[j:j + rows], axis=1)
        for i in range(0, len(a), rows):
            dot = np.rint(a[i:i + rows].astype(np.float32) @ bf.T).astype(np.int64)
            d = a_count[i:i + rows, None] + b_count[None] - 2 * dot
            best[i:i + rows] = np.minimum(best[i:i + rows], d.min(1))
    return best


def hamming_nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each window of `a` (N, H, W) of class indices, the share of cells differing from its
    nearest window in `b`: on one-hot cells every differing cell counts twice in `nearest_distance`."""
    if not len(b):
        return np.full(len(a), np.nan)
    depth = int(max(a.max(initial=0), b.max(initial=0))) + 1
    cells = int(np.prod(a.shape[1:]))
    return nearest_distance(np.eye(depth, dtype=bool)[a], np.eye(depth, dtype=bool)[b]) / (2 * cells)


def mean_pairwise(a: np.ndarray, chunk_cells: int = 40_000_000) -> float:
    """Mean Hamming distance (share of differing cells) over all pairs of windows."""
    a = a.reshape(len(a), -1)
    if len(a) < 2:
        return float("nan")
    step = max(1, chunk_cells // max(1, a.size))
    total = 0.0
    for i in range(0, len(a), step):
        total += float((a[i:i + step, None, :] != a[None]).sum())
    return total / (len(a) * (len(a) - 1) * a.shape[1])


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


def kl_divergence(p_counts: dict[int, int], q_counts: dict[int, int], smoothing: float = 0.5) -> float:
    """KL(P || Q) over the union of both pattern sets, every count + `smoothing`."""
    keys = sorted(set(p_counts) | set(q_counts))
    if not keys:
        return float("nan")
    p = np.array([p_counts.get(k, 0) for k in keys], float) + smoothing
    q = np.array([q_counts.get(k, 0) for k in keys], float) + smoothing
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * np.log(p / q)))


def window_stats(windows: np.ndarray, legend: TileLegend, layout: str, checker: Checker) -> dict[str, np.ndarray]:
    """Per-window statistics of tile-character windows (N, H, W)."""
    n, h, w = windows.shape
    tags = legend.tiles

    def having(pred) -> np.ndarray:
        chars = [c for c, t in tags.items() if pred(set(t))]
        return np.isin(windows, chars) if chars else np.zeros(windows.shape, bool)

    empty = windows == legend.empty
    enemy = having(lambda t: bool(t & {"enemy", "monster"}))
    hazard_solid = having(lambda t: "hazard" in t and "solid" in t)
    support = having(lambda t: ("solid" in t and "damaging" not in t) or bool(t & {"solidtop", "platform"}))
    out = {"density": 1.0 - empty.mean((1, 2)), "enemies": enemy.sum((1, 2)).astype(float)}
    if layout == "horizontal":
        out["gap_columns"] = (~support[:, -1, :]).sum(1).astype(float)
    for s in checker.structures:
        out[s["name"] + "s"] = (windows == s["mouth"][0]).sum((1, 2)).astype(float)
    gaps = out.get("gap_columns", np.zeros(n))
    out["leniency"] = -(out["enemies"] + hazard_solid.sum((1, 2)) + gaps) / w
    return out


def _summary(values: np.ndarray) -> dict:
    values = np.asarray(values, float)
    if not len(values):
        return {"mean": None, "std": None, "median": None}
    return {"mean": round(float(values.mean()), 4), "std": round(float(values.std()), 4),
            "median": round(float(np.median(values)), 4)}


def _rel(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round((a - b) / abs(b), 4)


# ---------------------------------------------------------------- the corpus

def _data_folders(meta: dict, data: list[str | Path] | None) -> list[Path]:
    if data:
        return [Path(d) for d in data]
    words = shlex.split(meta.get("command", ""))
    folders = [Path(words[i + 1]) for i, wd in enumerate(words[:-1]) if wd == "--data"]
    missing = [f for f in folders if not f.is_dir()]
    if not folders or missing:
        raise GenforgeError(f"cannot find the levels this model was trained on"
                            f"{' (' + ', '.join(map(str, missing)) + ')' if missing else ''}; "
                            "pass them with --data FOLDER (once per game)")
    return folders


def _corpus(codec, folders: list[Path]) -> dict[str, dict]:
    """Per game of the model: native training and held-out windows (tile characters)."""
    games = {g["name"]: g for g in codec.games}
    out = {}
    for folder in folders:
        s = read_level_folder(folder)
        g = games.get(s.game)
        if g is None:
            raise GenforgeError(f"{folder}: {s.game!r} is not a game of this model ({', '.join(games)})")
        by_name = {lv.name: lv for lv in s.levels}
        held = g.get("test_levels") or g.get("validation_levels") or []
        note = None if g.get("test_levels") else "no test levels: held-out figures use the validation levels"
        window = tuple(g["window"])

        def cut(names):
            wins = [cut_windows(by_name[n], g["layout"], window, g["empty"]) for n in names if n in by_name]
            wins = [w for w in wins if len(w)]
            return np.concatenate(wins) if wins else np.zeros((0, *window), "<U1")

        out[s.game] = {"train": cut(g.get("train_levels", [])), "held_out": cut(held), "held_levels": held,
                       "note": note, "legend": codec.legend(list(games).index(s.game)), "layout": g["layout"]}
    missing = set(games) - set(out)
    if missing:
        raise GenforgeError(f"no --data folder for {', '.join(sorted(missing))}; pass one per game of the model")
    return out


# ---------------------------------------------------------------- figures (Pillow)

def _font():
    from PIL import ImageFont

    return ImageFont.load_default()


def _panel(title: str, xlabel: str, ylabel: str, xr: tuple[float, float], yr: tuple[float, float],
           size: int = 300, margin: int = 42):
    """A blank plot: (PIL image, draw, to_pixel(x, y))."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size + margin + 10, size + margin + 24), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    x0, y0 = margin, 20
    draw.rectangle([x0, y0, x0 + size, y0 + size], outline=(0, 0, 0))
    font = _font()
    draw.text((x0, 4), title, fill=(0, 0, 0), font=font)
    draw.text((x0 + size // 2 - 3 * len(xlabel), y0 + size + 12), xlabel, fill=(0, 0, 0), font=font)
    draw.text((x0, y0 + size + 2), f"{xr[0]:.2g}", fill=(80, 80, 80), font=font)
    draw.text((x0 + size - 24, y0 + size + 2), f"{xr[1]:.2g}", fill=(80, 80, 80), font=font)
    draw.text((2, y0 + size - 10), f"{yr[0]:.2g}", fill=(80, 80, 80), font=font)
    draw.text((2, y0), f"{yr[1]:.2g}", fill=(80, 80, 80), font=font)
    draw.text((2, y0 + size // 2), ylabel[:7], fill=(0, 0, 0), font=font)

    def to_pixel(x, y):
        fx = (np.asarray(x, float) - xr[0]) / ((xr[1] - xr[0]) or 1)
        fy = (np.asarray(y, float) - yr[0]) / ((yr[1] - yr[0]) or 1)
        return x0 + fx * size, y0 + (1 - fy) * size

    return img, draw, to_pixel, (x0, y0, size)


def _range(*arrays, pad: float = 0.05) -> tuple[float, float]:
    values = np.concatenate([np.asarray(a, float).ravel() for a in arrays if len(a)])
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    span = (hi - lo) or 1.0
    return lo - pad * span, hi + pad * span


def _heat_panel(title: str, bg: tuple[np.ndarray, np.ndarray], fg: tuple[np.ndarray, np.ndarray],
                xr, yr, colour=(214, 39, 40), bins: int = 30):
    """2-D histograms: the corpus in grey, the set over it in colour."""
    img, draw, to_pixel, (x0, y0, size) = _panel(title, "density", "leniency", xr, yr)
    cell = size / bins

    def hist(x, y):
        h, _, _ = np.histogram2d(np.asarray(x, float), np.asarray(y, float), bins=bins, range=[xr, yr])
        return np.log1p(h) / max(np.log1p(h).max(), 1e-9)

    for grid, rgb, shrink in ((hist(*bg), (120, 120, 120), 0), (hist(*fg), colour, 2)):
        for i, j in zip(*np.nonzero(grid)):
            a = 0.25 + 0.75 * grid[i, j]
            fill = tuple(int(255 - a * (255 - c)) for c in rgb)
            px, py = x0 + i * cell, y0 + size - (j + 1) * cell
            draw.rectangle([px + shrink, py + shrink, px + cell - shrink, py + cell - shrink], fill=fill)
    return np.asarray(img)


def _scatter_panel(title: str, bg: list[tuple[np.ndarray, tuple]], fg: list[tuple[np.ndarray, tuple]], xr, yr,
                   axis: str = "PC"):
    img, draw, to_pixel, _ = _panel(title, f"{axis} 1", f"{axis} 2", xr, yr)
    for points, rgb, r in [(p, tuple(int(255 - 0.35 * (255 - c)) for c in rgb), 1) for p, rgb in bg] + \
                          [(p, rgb, 2) for p, rgb in fg]:
        xs, ys = to_pixel(points[:, 0], points[:, 1])
        for x, y in zip(xs, ys):
            draw.ellipse([x - r, y - r, x + r, y + r], fill=rgb)
    return np.asarray(img)


def _edges(values: list[np.ndarray], bins: int = 20) -> np.ndarray:
    """Common histogram bins: whole numbers for counts (at most 40 bins), else `bins` equal ones."""
    v = np.concatenate([np.asarray(a, float) for a in values if len(a)]) if values else np.zeros(1)
    lo, hi = float(v.min()), float(v.max())
    if np.all(v == np.round(v)):
        step = max(1, int(np.ceil((hi - lo + 1) / 40)))
        return np.arange(lo - 0.5, hi + step + 0.5, step)
    return np.linspace(lo, hi + 1e-9, bins + 1)


def _hist_panel(title: str, series: list[tuple[np.ndarray, tuple]], edges: np.ndarray, top: float):
    freqs = [np.histogram(v, edges)[0] / max(1, len(v)) for v, _ in series]
    img, draw, to_pixel, _ = _panel(title, "value", "share", (float(edges[0]), float(edges[-1])), (0.0, top))
    centres = (edges[:-1] + edges[1:]) / 2
    for f, (_, rgb) in zip(freqs, series):
        xs, ys = to_pixel(centres, f)
        draw.line(list(zip(xs.tolist(), ys.tolist())), fill=rgb, width=2)
    return np.asarray(img)


def _legend_strip(items: list[tuple[str, tuple]], width: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (max(width, 10), 18), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    x = 6
    for text, rgb in items:
        draw.rectangle([x, 5, x + 10, 14], fill=rgb)
        draw.text((x + 14, 4), text, fill=(0, 0, 0), font=_font())
        x += 20 + 6 * len(text)
    return np.asarray(img)


def _with_legend(panels: np.ndarray, items) -> np.ndarray:
    strip = _legend_strip(items, panels.shape[1])
    strip = strip[:, :panels.shape[1]] if strip.shape[1] >= panels.shape[1] else \
        np.pad(strip, ((0, 0), (0, panels.shape[1] - strip.shape[1]), (0, 0)), constant_values=255)
    return np.concatenate([panels, strip], 0)


# ---------------------------------------------------------------- the job

def evaluate_levels(model: str | Path | None, n: int, out: str | Path, seed: int = 0,
                    data: list[str | Path] | None = None, condition: str | None = None,
                    temperature: float = 0.0, latent_map: str = "pca") -> dict:
    """Sample `n` windows, measure them and the held-out real windows against the training
    windows; write report.json, report.md and the figures under `out`; return the report.
    `latent_map`: "pca" (all codes on the training codes' first two principal axes) or "tsne"
    (a t-SNE map of up to 800 training codes, 200 samples and 200 held-out codes together)."""
    from genforge.generate import _model_name, load

    runtime.check_count(n, "-n", 20_000)
    if latent_map not in MAPS:
        raise GenforgeError(f"unknown --map {latent_map!r}; choose from {', '.join(MAPS)}")
    if not 0 <= temperature <= 10:
        raise GenforgeError(f"--temperature must be between 0 and 10, got {temperature}")
    bundle = load(model, "levels")
    codec = codec_for(bundle.meta)
    corpus = _corpus(codec, _data_folders(bundle.meta, data))
    names = [g["name"] for g in codec.games]

    z, ids = runtime.sample_latents(bundle, n, seed, condition)
    logits = runtime.decode(bundle, z, ids)
    raw = codec.from_logits(logits, np.random.default_rng([seed, 1]), temperature)
    indices = codec.repair(raw, logits, ids)  # what `sample levels` writes
    game_of = np.maximum(ids, 0)
    def per_game(grids):
        return {name: to_chars(np.stack([codec.native(grids[i], int(ids[i])) for i in np.nonzero(game_of == g)[0]])
                               if np.any(game_of == g) else np.zeros((0, *codec.games[g]["window"]), int),
                               codec.vocabulary)
                for g, name in enumerate(names)}

    samples, raw_samples = per_game(indices), per_game(raw)

    rng = np.random.default_rng([seed, 2])
    report = {"model": _model_name(bundle), "genforge_version": __version__, "n": n, "seed": seed,
              "temperature": temperature, "condition": condition, "games": {}, "notes": []}
    stats_by_game, checkers = {}, {}
    for g, name in enumerate(names):
        c = corpus[name]
        legend, layout = c["legend"], c["layout"]
        checker = Checker.for_game(name, legend, layout, room=tuple(codec.games[g]["window"]))
        checkers[name] = checker
        sets = {"samples": samples[name], "held_out": c["held_out"], "training": c["train"]}
        if c["note"]:
            report["notes"].append(f"{name}: {c['note']}")
        if not len(sets["samples"]):
            report["notes"].append(f"{name}: no samples drew this label")
        vocab = codec.vocabulary
        idx = {k: to_indices(v, vocab) if len(v) else np.zeros((0, *v.shape[1:]), int) for k, v in sets.items()}
        entry = {"windows": {k: int(len(v)) for k, v in sets.items()}, "held_out_levels": c["held_levels"],
                 "physics": {k: v for k, v in checker.physics.items() if k != "structures"}}
        playable = {k: checker.playable(v) if len(v) else np.zeros(0, bool) for k, v in sets.items()}
        broken = {k: checker.broken(v) if len(v) else np.zeros(0, bool) for k, v in sets.items()}
        entry["playable"] = {k: round(float(v.mean()), 4) if len(v) else None for k, v in playable.items()}
        entry["broken_structures"] = {k: round(float(v.mean()), 4) if len(v) else None for k, v in broken.items()}
        if len(raw_samples[name]):  # the decoder's own output, before its broken structures were mended
            entry["raw_decoder"] = {"playable": round(float(checker.playable(raw_samples[name]).mean()), 4),
                                    "broken_structures": round(float(checker.broken(raw_samples[name]).mean()), 4)}
        diverse_held = idx["held_out"][rng.permutation(len(idx["held_out"]))[:max(2, min(n, 1000))]]
        novelty = {k: hamming_nearest(idx[k], idx["training"]) for k in ("samples", "held_out")}
        entry["novelty"] = {k: {**_summary(v), "share_identical": round(float(np.mean(v == 0)), 4) if len(v) else None}
                            for k, v in novelty.items()}
        entry["diversity"] = {"samples": round(mean_pairwise(idx["samples"][:1000]), 4) if len(idx["samples"]) > 1
                              else None,
                              "held_out": round(mean_pairwise(diverse_held), 4) if len(diverse_held) > 1 else None}
        depth = len(vocab)
        for k in (2, 3):
            train_counts = pattern_counts(idx["training"], k, depth)
            entry[f"kl_{k}x{k}"] = {}
            for s in ("samples", "held_out"):
                counts = pattern_counts(idx[s], k, depth)
                entry[f"kl_{k}x{k}"][s] = {
                    "training_vs_set": round(kl_divergence(train_counts, counts), 4) if counts else None,
                    "set_vs_training": round(kl_divergence(counts, train_counts), 4) if counts else None}
        stats = {k: window_stats(v, legend, layout, checker) if len(v) else {} for k, v in sets.items()}
        stats_by_game[name] = stats
        entry["stats"] = {}
        for stat in stats["training"]:
            row = {k: _summary(stats[k][stat]) if stats[k] else _summary([]) for k in SETS}
            row["corpus"] = _summary(np.concatenate([stats[k][stat] for k in ("training", "held_out") if stats[k]]))
            row["samples_vs_training"] = _rel(row["samples"]["mean"], row["training"]["mean"])
            row["held_out_vs_training"] = _rel(row["held_out"]["mean"], row["training"]["mean"])
            row["samples_vs_corpus"] = _rel(row["samples"]["mean"], row["corpus"]["mean"])
            entry["stats"][stat] = row
        report["games"][name] = entry

    if len(names) > 1:
        report["pooled"] = _pooled(report["games"], stats_by_game)
    out = Path(out)
    figures = _figures(bundle, codec, names, corpus, samples, z, game_of, stats_by_game, checkers, out, latent_map,
                       seed)
    report["figures"] = figures
    write_json(out / "report.json", report)
    write_text(out / "report.md", _markdown(report))
    return report


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
            row[s] = _summary(np.concatenate(values)) if values else _summary([])
        row["corpus"] = _summary(np.concatenate([st[s][stat] for st in stats_by_game.values()
                                                 for s in ("training", "held_out") if st[s]]))
        row["samples_vs_training"] = _rel(row["samples"]["mean"], row["training"]["mean"])
        row["held_out_vs_training"] = _rel(row["held_out"]["mean"], row["training"]["mean"])
        row["samples_vs_corpus"] = _rel(row["samples"]["mean"], row["corpus"]["mean"])
        out["stats"][stat] = row
    return out


def _figures(bundle, codec, names, corpus, samples, z, game_of, stats_by_game, checkers, out: Path,
             latent_map: str = "pca", seed: int = 0) -> list[str]:
    written = []
    # Expressive range: per game, samples over the corpus | held-out over the corpus.
    rows = []
    for name in names:
        st = stats_by_game[name]
        if not st["training"]:
            continue
        all_d = [st[k]["density"] for k in SETS if st[k]]
        all_l = [st[k]["leniency"] for k in SETS if st[k]]
        xr, yr = _range(*all_d), _range(*all_l)
        bg = (st["training"]["density"], st["training"]["leniency"])
        panels = []
        for s, colour in (("samples", (214, 39, 40)), ("held_out", (31, 119, 180))):
            fg = (st[s]["density"], st[s]["leniency"]) if st[s] else (np.zeros(0), np.zeros(0))
            panels.append(_heat_panel(f"{name[:30]}: {s.replace('_', '-')}", bg, fg, xr, yr, colour))
        rows.append(np.concatenate(panels, 1))
    if rows:
        image = _with_legend(sheet(rows, columns=1), [("training corpus", (120, 120, 120)), ("samples", (214, 39, 40)),
                                                      ("held-out", (31, 119, 180))])
        written.append(write_bytes(out / "expressive_range.png", png_bytes(image)).name)

    # Per-window statistics: histograms of each, samples | held-out (training in grey in both).
    rows = []
    for name in names:
        st = stats_by_game[name]
        if not st["training"]:
            continue
        for stat in st["training"]:
            values = [st[k][stat] for k in SETS if st[k]]
            edges = _edges(values)
            top = 1.05 * max(float((np.histogram(v, edges)[0] / max(1, len(v))).max()) for v in values)
            panels = []
            for s, colour in (("samples", (214, 39, 40)), ("held_out", (31, 119, 180))):
                series = [(st["training"][stat], (120, 120, 120))] + ([(st[s][stat], colour)] if st[s] else [])
                panels.append(_hist_panel(f"{name[:22]}: {stat} ({s.replace('_', '-')})", series, edges, top))
            rows.append(np.concatenate(panels, 1))
    if rows:
        image = _with_legend(sheet(rows, columns=2), [("training corpus", (120, 120, 120)), ("samples", (214, 39, 40)),
                                                      ("held-out", (31, 119, 180))])
        written.append(write_bytes(out / "stats.png", png_bytes(image)).name)

    # PCA of the encoded corpus: samples' latents | held-out codes, over the training codes.
    try:
        enc = runtime.encoder(bundle)
    except GenforgeError:
        enc = None
    if enc is not None:
        from genforge.core import latent

        codes, labels, held_codes, held_labels = [], [], [], []
        for g, name in enumerate(names):
            for part, dest, lab in (("train", codes, labels), ("held_out", held_codes, held_labels)):
                wins = corpus[name][part]
                if not len(wins):
                    continue
                grids = codec.to_onehot(to_indices(place_in(wins, codec.shape, codec.games[g]["empty"]),
                                                   codec.vocabulary))
                ids = np.full(len(wins), g if codec.labels else -1)
                dest.append(enc(grids, latent.one_hot(np.maximum(ids, 0), len(codec.labels)))[0])
                lab.append(np.full(len(wins), g))
        if codes:
            codes, labels = np.concatenate(codes), np.concatenate(labels)
            held = np.concatenate(held_codes) if held_codes else np.zeros((0, codes.shape[1]))
            held_labels = np.concatenate(held_labels) if held_labels else np.zeros(0, int)
            sample_games, axis = game_of, "PC"
            if latent_map == "tsne":  # non-parametric: the three sets are embedded together, subsampled
                from genforge.core.tsne import tsne

                rng = np.random.default_rng([seed, 9])
                ti, si, hi = (rng.permutation(len(a))[:k] for a, k in ((codes, 800), (z, 200), (held, 200)))
                joint = tsne(np.concatenate([codes[ti], z[si], held[hi]]), seed=seed)
                proj, sample_proj, held_proj = np.split(joint, [len(ti), len(ti) + len(si)])
                labels, sample_games, held_labels = labels[ti], game_of[si], held_labels[hi]
                axis = "t-SNE"
            else:
                mean = codes.mean(0)
                _, _, vt = np.linalg.svd(codes - mean, full_matrices=False)
                axes = vt[:2].T
                proj, sample_proj, held_proj = (codes - mean) @ axes, (z - mean) @ axes, (held - mean) @ axes
            xr, yr = _range(proj[:, 0], sample_proj[:, 0], held_proj[:, 0]), \
                _range(proj[:, 1], sample_proj[:, 1], held_proj[:, 1])
            bg = [(proj[labels == g], COLOURS[g % len(COLOURS)]) for g in range(len(names))]
            dark = lambda rgb: tuple(int(c * 0.55) for c in rgb)  # noqa: E731
            left = _scatter_panel("samples (latents) over training codes", bg,
                                  [(sample_proj[sample_games == g], dark(COLOURS[g % len(COLOURS)]))
                                   for g in range(len(names))], xr, yr, axis)
            right = _scatter_panel("held-out codes over training codes", bg,
                                   [(held_proj[held_labels == g], dark(COLOURS[g % len(COLOURS)]))
                                    for g in range(len(names))], xr, yr, axis)
            items = [(f"{nm[:28]}", COLOURS[g % len(COLOURS)]) for g, nm in enumerate(names)] + \
                [("(dark: samples / held-out)", (60, 60, 60))]
            image = _with_legend(np.concatenate([left, right], 1), items)
            written.append(write_bytes(out / f"{latent_map}.png", png_bytes(image)).name)

    # A few samples with their check drawn: the path, or where they fail.
    previews = []
    for name in names:
        wins = samples[name][:8]
        legend, checker = corpus[name]["legend"], checkers[name]
        for w in wins:
            previews.append(draw_check(w, legend, checker.check(w), checker.structure_problems(w)))
    if previews:
        written.append(write_bytes(out / "checks.png", png_bytes(sheet(previews[:16], columns=4))).name)
    return written


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def _markdown(report: dict) -> str:
    lines = [f"# Level evaluation: {report['model']}", "",
             f"{report['n']} unfiltered samples (seed {report['seed']}, temperature {report['temperature']:g}"
             f"{', condition ' + report['condition'] if report['condition'] else ''}), genforge "
             f"{report['genforge_version']}. Held-out: windows of whole levels the model never trained on; "
             "every figure compares a set with the training windows.", ""]
    for name, e in report["games"].items():
        w = e["windows"]
        lines += [f"## {name}", "",
                  f"Windows: {w['samples']} samples, {w['held_out']} held-out "
                  f"({', '.join(e['held_out_levels']) or 'none'}), {w['training']} training.", "",
                  "| measure | samples | held-out | training |", "|---|---|---|---|",
                  f"| playable share | {_fmt(e['playable']['samples'])} | {_fmt(e['playable']['held_out'])} | "
                  f"{_fmt(e['playable']['training'])} |",
                  f"| broken-structure share | {_fmt(e['broken_structures']['samples'])} | "
                  f"{_fmt(e['broken_structures']['held_out'])} | {_fmt(e['broken_structures']['training'])} |",
                  f"| broken-structure share of the raw decoder output (before repair) | "
                  f"{_fmt(e.get('raw_decoder', {}).get('broken_structures'))} | - | - |",
                  f"| novelty: mean Hamming to nearest training window | {_fmt(e['novelty']['samples']['mean'])} | "
                  f"{_fmt(e['novelty']['held_out']['mean'])} | - |",
                  f"| share identical to a training window | {_fmt(e['novelty']['samples']['share_identical'])} | "
                  f"{_fmt(e['novelty']['held_out']['share_identical'])} | - |",
                  f"| diversity: mean pairwise Hamming | {_fmt(e['diversity']['samples'])} | "
                  f"{_fmt(e['diversity']['held_out'])} | - |"]
        for k in (2, 3):
            kl = e[f"kl_{k}x{k}"]
            lines.append(f"| KL {k}x{k}: training ‖ set | {_fmt(kl['samples']['training_vs_set'])} | "
                         f"{_fmt(kl['held_out']['training_vs_set'])} | - |")
            lines.append(f"| KL {k}x{k}: set ‖ training | {_fmt(kl['samples']['set_vs_training'])} | "
                         f"{_fmt(kl['held_out']['set_vs_training'])} | - |")
        lines += ["", "Per window (mean ± std; relative gaps of the means; corpus = training + held-out):", "",
                  "| statistic | samples | held-out | training | samples vs training | held-out vs training | "
                  "samples vs corpus |", "|---|---|---|---|---|---|---|"]
        for stat, row in e["stats"].items():
            def cell(s, row=row):
                return f"{_fmt(row[s]['mean'])} ± {_fmt(row[s]['std'])}" if row[s]["mean"] is not None else "-"
            pct = lambda v: "-" if v is None else f"{v:+.1%}"  # noqa: E731
            lines.append(f"| {stat} | {cell('samples')} | {cell('held_out')} | {cell('training')} | "
                         f"{pct(row['samples_vs_training'])} | {pct(row['held_out_vs_training'])} | "
                         f"{pct(row['samples_vs_corpus'])} |")
        lines.append("")
    pooled = report.get("pooled")
    if pooled:
        w = pooled["windows"]
        lines += ["## All games (pooled)", "",
                  f"Windows: {w['samples']} samples, {w['held_out']} held-out, {w['training']} training.", "",
                  "| measure | samples | held-out | training |", "|---|---|---|---|"]
        for key, label in (("playable", "playable share"), ("broken_structures", "broken-structure share")):
            lines.append(f"| {label} | {_fmt(pooled[key]['samples'])} | {_fmt(pooled[key]['held_out'])} | "
                         f"{_fmt(pooled[key]['training'])} |")
        pct = lambda v: "-" if v is None else f"{v:+.1%}"  # noqa: E731
        for stat, row in pooled["stats"].items():
            lines.append(f"| {stat} (mean per window) | {_fmt(row['samples']['mean'])} | "
                         f"{_fmt(row['held_out']['mean'])} | {_fmt(row['training']['mean'])} |")
        lines += ["", "Relative gap of the pooled per-window means to training: " + ", ".join(
            f"{stat} samples {pct(row['samples_vs_training'])} / held-out {pct(row['held_out_vs_training'])}"
            for stat, row in pooled["stats"].items()) + ". Samples to the whole corpus (training + held-out): " +
            ", ".join(f"{stat} {pct(row['samples_vs_corpus'])}" for stat, row in pooled["stats"].items()) + ".", ""]
    lines += ["## Figures", ""] + [f"- `{f}`" for f in report.get("figures", [])]
    lines += ["", "Definitions: see `genforge/evaluate.py` (novelty and diversity are shares of differing cells; "
              "KL over k x k tile patterns with add-half smoothing; leniency = -(enemies + solid hazards + gap "
              "columns) / columns). Playability rules: `genforge/domains/playability.py`."]
    if report["notes"]:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


def summary_lines(report: dict) -> list[str]:
    """A few lines per game for the terminal: the headline figures, samples beside held-out."""
    lines = []
    for name, e in report["games"].items():
        p, b = e["playable"], e["broken_structures"]
        lines.append(f"{name}: {e['windows']['samples']} samples, {e['windows']['held_out']} held-out windows")
        lines.append(f"  playable           samples {_fmt(p['samples'])}  held-out {_fmt(p['held_out'])}  "
                     f"training {_fmt(p['training'])}")
        lines.append(f"  broken structures  samples {_fmt(b['samples'])}  held-out {_fmt(b['held_out'])}  "
                     f"training {_fmt(b['training'])}  (raw decoder output: "
                     f"{_fmt(e.get('raw_decoder', {}).get('broken_structures'))})")
        lines.append(f"  novelty            samples {_fmt(e['novelty']['samples']['mean'])}  "
                     f"held-out {_fmt(e['novelty']['held_out']['mean'])}")
        lines.append(f"  diversity          samples {_fmt(e['diversity']['samples'])}  "
                     f"held-out {_fmt(e['diversity']['held_out'])}")
        for k in (2, 3):
            kl = e[f"kl_{k}x{k}"]
            lines.append(f"  KL {k}x{k} (train||set, set||train)  samples {_fmt(kl['samples']['training_vs_set'])}, "
                         f"{_fmt(kl['samples']['set_vs_training'])}  "
                         f"held-out {_fmt(kl['held_out']['training_vs_set'])}, "
                         f"{_fmt(kl['held_out']['set_vs_training'])}")
    pooled = report.get("pooled")
    if pooled:
        p, b = pooled["playable"], pooled["broken_structures"]
        lines.append(f"All games: playable samples {_fmt(p['samples'])} held-out {_fmt(p['held_out'])} training "
                     f"{_fmt(p['training'])}; broken structures samples {_fmt(b['samples'])} held-out "
                     f"{_fmt(b['held_out'])} training {_fmt(b['training'])}")
    return lines
