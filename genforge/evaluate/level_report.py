"""The level evaluation's figures and text: expressive range, statistics histograms, the latent map
and checked samples (PNG), report.md, and the lines `genforge evaluate levels` prints."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from genforge import runtime
from genforge.atomic import write_bytes
from genforge.domains.levels import check, grid
from genforge.errors import GenforgeError
from genforge.evaluate.common import SETS, fmt, percent
from genforge.evaluate.plots import (COLOURS, heat_panel, hist_panel, histogram_edges, scatter_panel, value_range,
                                     with_legend)
from genforge.images import png_bytes, sheet


SET_LEGEND = [("training corpus", (120, 120, 120)), ("samples", (214, 39, 40)), ("held-out", (31, 119, 180))]
SET_COLOURS = (("samples", (214, 39, 40)), ("held_out", (31, 119, 180)))


def figures(bundle, codec, names, corpus, samples, z, game_of, stats_by_game, checkers, out: Path,
            latent_map: str = "pca", seed: int = 0) -> list[str]:
    """Write every figure the report lists under `out`; returns their file names."""
    images = {"expressive_range.png": expressive_range(names, stats_by_game),
              "stats.png": statistics_histograms(names, stats_by_game),
              f"{latent_map}.png": latent_map_image(bundle, codec, names, corpus, z, game_of, latent_map, seed),
              "checks.png": checked_samples(names, corpus, samples, checkers)}
    return [write_bytes(out / name, png_bytes(image)).name for name, image in images.items() if image is not None]


def expressive_range(names, stats_by_game) -> np.ndarray | None:
    """Per game, density against leniency: samples over the corpus | held-out over the corpus."""
    rows = []
    for name in names:
        st = stats_by_game[name]
        if not st["training"]:
            continue
        all_d = [st[k]["density"] for k in SETS if st[k]]
        all_l = [st[k]["leniency"] for k in SETS if st[k]]
        xr, yr = value_range(*all_d), value_range(*all_l)
        bg = (st["training"]["density"], st["training"]["leniency"])
        panels = []
        for s, colour in SET_COLOURS:
            fg = (st[s]["density"], st[s]["leniency"]) if st[s] else (np.zeros(0), np.zeros(0))
            panels.append(heat_panel(f"{name[:30]}: {s.replace('_', '-')}", bg, fg, xr, yr, colour))
        rows.append(np.concatenate(panels, 1))
    return with_legend(sheet(rows, columns=1), SET_LEGEND) if rows else None


def statistics_histograms(names, stats_by_game) -> np.ndarray | None:
    """Per-window statistics: histograms of each, samples | held-out (training in grey in both)."""
    rows = []
    for name in names:
        st = stats_by_game[name]
        if not st["training"]:
            continue
        for stat in st["training"]:
            values = [st[k][stat] for k in SETS if st[k]]
            edges = histogram_edges(values)
            top = 1.05 * max(float((np.histogram(v, edges)[0] / max(1, len(v))).max()) for v in values)
            panels = []
            for s, colour in SET_COLOURS:
                series = [(st["training"][stat], (120, 120, 120))] + ([(st[s][stat], colour)] if st[s] else [])
                panels.append(hist_panel(f"{name[:22]}: {stat} ({s.replace('_', '-')})", series, edges, top))
            rows.append(np.concatenate(panels, 1))
    return with_legend(sheet(rows, columns=2), SET_LEGEND) if rows else None


def _codes(bundle, codec, names, corpus) -> tuple[np.ndarray, ...] | None:
    """Encoder means of the training and held-out windows with their game indices, or None
    without an encoder."""
    try:
        enc = runtime.encoder(bundle)
    except GenforgeError:
        return None
    from genforge.core import latent

    codes, labels, held_codes, held_labels = [], [], [], []
    for g, name in enumerate(names):
        for part, dest, lab in (("train", codes, labels), ("held_out", held_codes, held_labels)):
            wins = corpus[name][part]
            if not len(wins):
                continue
            grids = codec.to_onehot(grid.to_indices(grid.place_in(wins, codec.shape, codec.games[g]["empty"]),
                                                    codec.vocabulary))
            ids = np.full(len(wins), g if codec.labels else -1)
            dest.append(enc(grids, latent.one_hot(np.maximum(ids, 0), len(codec.labels)))[0])
            lab.append(np.full(len(wins), g))
    if not codes:
        return None
    codes = np.concatenate(codes)
    held = np.concatenate(held_codes) if held_codes else np.zeros((0, codes.shape[1]))
    return codes, np.concatenate(labels), held, np.concatenate(held_labels) if held_labels else np.zeros(0, int)


def latent_map_image(bundle, codec, names, corpus, z, game_of, latent_map: str, seed: int) -> np.ndarray | None:
    """The encoded corpus on two axes (PCA of the training codes, or a t-SNE of the three sets):
    samples' latents | held-out codes, over the training codes, coloured by game."""
    found = _codes(bundle, codec, names, corpus)
    if found is None:
        return None
    codes, labels, held, held_labels = found
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
    xr, yr = value_range(proj[:, 0], sample_proj[:, 0], held_proj[:, 0]), \
        value_range(proj[:, 1], sample_proj[:, 1], held_proj[:, 1])
    colour = [COLOURS[g % len(COLOURS)] for g in range(len(names))]
    dark = [tuple(int(c * 0.55) for c in rgb) for rgb in colour]
    bg = [(proj[labels == g], colour[g]) for g in range(len(names))]
    left = scatter_panel("samples (latents) over training codes", bg,
                         [(sample_proj[sample_games == g], dark[g]) for g in range(len(names))], xr, yr, axis)
    right = scatter_panel("held-out codes over training codes", bg,
                          [(held_proj[held_labels == g], dark[g]) for g in range(len(names))], xr, yr, axis)
    items = [(f"{nm[:28]}", colour[g]) for g, nm in enumerate(names)] + [("(dark: samples / held-out)", (60, 60, 60))]
    return with_legend(np.concatenate([left, right], 1), items)


def checked_samples(names, corpus, samples, checkers) -> np.ndarray | None:
    """A few samples with their check drawn: the path, or where they fail."""
    previews = []
    for name in names:
        legend, checker = corpus[name]["legend"], checkers[name]
        if not checker.has_route:
            continue
        for w in samples[name][:8]:
            previews.append(check.draw_check(w, legend, checker.check(w), checker.structure_problems(w)))
    return sheet(previews[:16], columns=4) if previews else None


def markdown(report: dict) -> str:
    lines = [f"# Level evaluation: {report['model']}", "",
             f"{report['n']} unfiltered samples (seed {report['seed']}, temperature {report['temperature']:g}"
             f"{', condition ' + report['condition'] if report['condition'] else ''}), genforge "
             f"{report['genforge_version']}. Held-out: windows of whole levels the model never trained on; "
             "every figure compares a set with the training windows."
             + (f" {report['copies_redrawn']} draws that copied a training window were redrawn, as `sample` redraws "
                "them." if report.get("copies_redrawn") else ""), ""]
    for name, e in report["games"].items():
        w = e["windows"]
        lines += [f"## {name}", "",
                  f"Windows: {w['samples']} samples, {w['held_out']} held-out "
                  f"({', '.join(e['held_out_levels']) or 'none'}), {w['training']} training.", "",
                  "| measure | samples | held-out | training |", "|---|---|---|---|",
                  f"| playable share | {fmt(e['playable']['samples'])} | {fmt(e['playable']['held_out'])} | "
                  f"{fmt(e['playable']['training'])} |",
                  f"| broken-structure share | {fmt(e['broken_structures']['samples'])} | "
                  f"{fmt(e['broken_structures']['held_out'])} | {fmt(e['broken_structures']['training'])} |",
                  f"| broken-structure share of the raw decoder output (before repair) | "
                  f"{fmt(e.get('raw_decoder', {}).get('broken_structures'))} | - | - |",
                  f"| novelty: mean Hamming to nearest training window | {fmt(e['novelty']['samples']['mean'])} | "
                  f"{fmt(e['novelty']['held_out']['mean'])} | - |",
                  f"| share identical to a training window | {fmt(e['novelty']['samples']['share_identical'])} | "
                  f"{fmt(e['novelty']['held_out']['share_identical'])} | - |",
                  f"| diversity: mean pairwise Hamming | {fmt(e['diversity']['samples'])} | "
                  f"{fmt(e['diversity']['held_out'])} | - |"]
        auc = e.get("two_sample_auc")
        if auc:
            lines.append(f"| two-sample AUC against the training windows (0.5: indistinguishable; raw decoder "
                         f"{fmt(auc['raw_decoder_vs_training'])}) | {fmt(auc['samples_vs_training'])} | "
                         f"{fmt(auc['held_out_vs_training'])} | - |")
        for k in (2, 3):
            kl = e[f"kl_{k}x{k}"]
            lines.append(f"| KL {k}x{k}: training ‖ set | {fmt(kl['samples']['training_vs_set'])} | "
                         f"{fmt(kl['held_out']['training_vs_set'])} | - |")
            lines.append(f"| KL {k}x{k}: set ‖ training | {fmt(kl['samples']['set_vs_training'])} | "
                         f"{fmt(kl['held_out']['set_vs_training'])} | - |")
        lines += ["", "Per window (mean ± std; relative gaps of the means; corpus = training + held-out):", "",
                  "| statistic | samples | held-out | training | samples vs training | held-out vs training | "
                  "samples vs corpus |", "|---|---|---|---|---|---|---|"]
        for stat, row in e["stats"].items():
            def cell(s, row=row):
                return f"{fmt(row[s]['mean'])} ± {fmt(row[s]['std'])}" if row[s]["mean"] is not None else "-"
            lines.append(f"| {stat} | {cell('samples')} | {cell('held_out')} | {cell('training')} | "
                         f"{percent(row['samples_vs_training'])} | {percent(row['held_out_vs_training'])} | "
                         f"{percent(row['samples_vs_corpus'])} |")
        lines.append("")
    pooled = report.get("pooled")
    if pooled:
        w = pooled["windows"]
        lines += ["## All games (pooled)", "",
                  f"Windows: {w['samples']} samples, {w['held_out']} held-out, {w['training']} training.", "",
                  "| measure | samples | held-out | training |", "|---|---|---|---|"]
        for key, label in (("playable", "playable share"), ("broken_structures", "broken-structure share")):
            lines.append(f"| {label} | {fmt(pooled[key]['samples'])} | {fmt(pooled[key]['held_out'])} | "
                         f"{fmt(pooled[key]['training'])} |")
        for stat, row in pooled["stats"].items():
            lines.append(f"| {stat} (mean per window) | {fmt(row['samples']['mean'])} | "
                         f"{fmt(row['held_out']['mean'])} | {fmt(row['training']['mean'])} |")
        lines += ["", "Relative gap of the pooled per-window means to training: " + ", ".join(
            f"{stat} samples {percent(row['samples_vs_training'])} / held-out {percent(row['held_out_vs_training'])}"
            for stat, row in pooled["stats"].items()) + ". Samples to the whole corpus (training + held-out): " +
            ", ".join(f"{stat} {percent(row['samples_vs_corpus'])}" for stat, row in pooled["stats"].items()) + ".", ""]
    lines += ["## Figures", ""] + [f"- `{f}`" for f in report.get("figures", [])]
    lines += ["", "Definitions: see `genforge/evaluate/levels.py` (novelty and diversity are shares of differing cells; "
              "KL over k x k tile patterns with add-half smoothing; leniency = -(enemies + solid hazards + gap "
              "columns) / columns; two-sample AUC: 5-fold held-out AUC of a logistic regression on one-hot tiles "
              "and 2 x 2 pattern counts telling a set from the training windows, sets cut to one size). "
              "Playability rules: `genforge/domains/levels/playability.py`."]
    if report["notes"]:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


def summary_lines(report: dict) -> list[str]:
    """A few lines per game for the terminal: the headline figures, samples beside held-out."""
    lines = []
    for name, e in report["games"].items():
        p, b = e["playable"], e["broken_structures"]
        lines.append(f"{name}: {e['windows']['samples']} samples, {e['windows']['held_out']} held-out windows")
        lines.append(f"  playable           samples {fmt(p['samples'])}  held-out {fmt(p['held_out'])}  "
                     f"training {fmt(p['training'])}")
        lines.append(f"  broken structures  samples {fmt(b['samples'])}  held-out {fmt(b['held_out'])}  "
                     f"training {fmt(b['training'])}  (raw decoder output: "
                     f"{fmt(e.get('raw_decoder', {}).get('broken_structures'))})")
        lines.append(f"  novelty            samples {fmt(e['novelty']['samples']['mean'])}  "
                     f"held-out {fmt(e['novelty']['held_out']['mean'])}")
        lines.append(f"  diversity          samples {fmt(e['diversity']['samples'])}  "
                     f"held-out {fmt(e['diversity']['held_out'])}")
        auc = e.get("two_sample_auc")
        if auc:
            lines.append(f"  two-sample AUC     samples {fmt(auc['samples_vs_training'])} (raw decoder "
                         f"{fmt(auc['raw_decoder_vs_training'])})  held-out {fmt(auc['held_out_vs_training'])}  "
                         "(against the training windows)")
        for k in (2, 3):
            kl = e[f"kl_{k}x{k}"]
            lines.append(f"  KL {k}x{k} (train||set, set||train)  samples {fmt(kl['samples']['training_vs_set'])}, "
                         f"{fmt(kl['samples']['set_vs_training'])}  "
                         f"held-out {fmt(kl['held_out']['training_vs_set'])}, "
                         f"{fmt(kl['held_out']['set_vs_training'])}")
    pooled = report.get("pooled")
    if pooled:
        p, b = pooled["playable"], pooled["broken_structures"]
        lines.append(f"All games: playable samples {fmt(p['samples'])} held-out {fmt(p['held_out'])} training "
                     f"{fmt(p['training'])}; broken structures samples {fmt(b['samples'])} held-out "
                     f"{fmt(b['held_out'])} training {fmt(b['training'])}")
    return lines
