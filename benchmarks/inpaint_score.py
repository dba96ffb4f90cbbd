"""Inpainting and the style score (#14), measured on the bundled models' held-out data.

Inpainting: held-out Super Mario Bros windows (the test levels of the bundle's split, cut as
training cuts them) with (a) the right half and (b) 30% of cells at random unknown: per-tile
accuracy of the filled cells beside two baselines (the most frequent tile of the training
windows; the training window that best matches the known cells, its tiles copied), the share
of filled windows without a broken structure (and playable), and an assertion that no known cell
changed; an ablation of the search's parts on fewer windows. Music: bars 3-4 of held-out
chorale windows (all voices), onset F1 of the filled bars against the truth beside all-rest (the
most frequent value of every cell), the best-matching training window, and bars 1-2 repeated.

Style score: AUROC of held-out real windows against (a) the same windows with 10% of cells
randomised, (b) windows of another game cut to 14 x 28 (Super Mario Land: bottom 14 of its 16
rows, its tiles the model's own characters; Kid Icarus: 14 x 16 windows of its climbing levels
padded to 28 columns with empty tiles, its tiles mapped # T M -> X (solid ground and platforms),
H -> E (hazard), D -> - (door: passable)); music: held-out chorale windows against the same
windows with 10% of notes a semitone off. Each score term reported apart.

    python benchmarks/inpaint_score.py [--n 60] [--ablation 20] [--music 30] [--score 300]

Writes benchmarks/results/inpaint_score.json and .md.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sample_report import RESULTS  # noqa: E402

from genforge import inpaint, score  # noqa: E402
from genforge.bundle import load  # noqa: E402
from genforge.core.inpaint_search import SearchSize  # noqa: E402
from genforge.domains import codec_for  # noqa: E402
from genforge.domains.levels import grid, read  # noqa: E402
from genforge.domains.levels.fill import randomise_cells  # noqa: E402
from genforge.domains.music.fill import bar_mask, shift_notes  # noqa: E402

VGLC = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "vglc"
KID_ICARUS_MAP = {"#": "X", "T": "X", "M": "X", "H": "E", "D": "-", "-": "-"}
ABLATION = {
    "encode/decode iterates only": SearchSize(population=0, rounds=0),
    "no local search": SearchSize(rounds=0),
    "full search (default)": SearchSize(),
    "full search, 8 best averaged": SearchSize(ensemble=8),
}


def nearest_fill(train: np.ndarray, asset: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The best-matching training window on the known cells (fewest differences), its cells copied
    into the unknown ones."""
    flat = train.reshape(len(train), -1)
    k = known.reshape(-1)
    d = (flat[:, k] != asset.reshape(-1)[k]).sum(1)
    out = asset.copy()
    out[~known] = train[int(d.argmin())][~known]
    return out


def level_masks(rng: np.random.Generator, shape) -> dict[str, np.ndarray]:
    half = np.ones(shape, bool)
    half[:, shape[1] // 2:] = False
    return {"right half": half, "30% at random": rng.random(shape) >= 0.3}


def inpaint_levels(bundle, codec, n: int, ablation_n: int, seed: int) -> dict:
    test, ids = score.real_windows(bundle, codec, "test")
    train, train_ids = score.real_windows(bundle, codec, "train")
    test, train = test[ids == 0], train[train_ids == 0]          # Super Mario Bros
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(test), min(n, len(test)), replace=False)
    frequent = np.bincount(train.ravel(), minlength=len(codec.vocabulary)).argmax()
    checker = codec.checker(0)
    out = {"windows": int(len(picks)), "held_out_windows": int(len(test)), "training_windows": int(len(train)),
           "most_frequent_tile": codec.vocabulary[frequent], "masks": {}, "ablation": {}}
    masks = {i: level_masks(np.random.default_rng([seed, int(i)]), codec.shape) for i in picks}
    for name in ("right half", "30% at random"):
        hits = {"model": [], "most frequent tile": [], "best-matching training window": []}
        whole, playable, seconds = [], [], []
        for i in picks:
            truth, known = test[i], masks[i][name]
            t = time.perf_counter()
            filled = inpaint.fill(bundle, codec, truth, known, 0, seed=int(i))
            seconds.append(time.perf_counter() - t)
            assert (filled[known] == truth[known]).all(), "a known cell changed"
            chars = grid.to_chars(filled[None], codec.vocabulary)
            whole.append(not checker.broken(chars)[0])
            playable.append(bool(checker.playable(chars)[0]))
            hits["model"].append(filled[~known] == truth[~known])
            hits["most frequent tile"].append(truth[~known] == frequent)
            near = nearest_fill(train, truth, known)
            hits["best-matching training window"].append(near[~known] == truth[~known])
        out["masks"][name] = {"accuracy": {k: float(np.concatenate(v).mean()) for k, v in hits.items()},
                              "known_cells_changed": 0, "structures_whole": float(np.mean(whole)),
                              "playable": float(np.mean(playable)), "seconds_per_window_median":
                              float(np.median(seconds))}
        print(name, out["masks"][name], flush=True)
    for variant, size in ABLATION.items():
        row = {}
        for name in ("right half", "30% at random"):
            acc = []
            for i in picks[:ablation_n]:
                truth, known = test[i], masks[i][name]
                filled = inpaint.fill(bundle, codec, truth, known, 0, seed=int(i), size=size)
                acc.append(filled[~known] == truth[~known])
            row[name] = float(np.concatenate(acc).mean())
        out["ablation"][variant] = row
        print(variant, row, flush=True)
    out["ablation_windows"] = int(min(ablation_n, len(picks)))
    return out


def onset_f1(pred: np.ndarray, truth: np.ndarray, known: np.ndarray) -> float:
    m = ~known[..., 0::2]
    p, t = pred[..., 0::2][:, m], truth[..., 0::2][:, m]
    tp = int((p & t).sum())
    return 2 * tp / max(1, int(p.sum() + t.sum()))


def inpaint_music(bundle, codec, n: int, seed: int) -> dict:
    test, ids = score.real_windows(bundle, codec, "test")
    train, train_ids = score.real_windows(bundle, codec, "train")
    four = [i for i in range(len(bundle.labels)) if codec.metre(i)[1] == 4]   # 4-bar windows
    sel = np.nonzero(np.isin(ids, four))[0]
    rng = np.random.default_rng(seed)
    picks = np.sort(rng.choice(sel, min(n, len(sel)), replace=False))
    filled, near, repeat, seconds = [], [], [], []
    for i in picks:
        truth, label = test[i], int(ids[i])
        known = bar_mask(codec, label, [3, 4])
        t = time.perf_counter()
        f = inpaint.fill(bundle, codec, truth, known, label, seed=int(i))
        seconds.append(time.perf_counter() - t)
        assert (f[known] == truth[known]).all(), "a known cell changed"
        filled.append(f)
        near.append(nearest_fill(train[train_ids == label], truth, known))
        r = truth.copy()
        per = codec.metre(label)[2]
        r[2 * per:4 * per] = truth[:2 * per]
        repeat.append(r)
    known = bar_mask(codec, int(ids[picks[0]]), [3, 4])
    truth = test[picks]
    out = {"windows": int(len(picks)), "labels": [bundle.labels[i] for i in four],
           "onset_f1": {"model": onset_f1(np.stack(filled), truth, known),
                        "all rest (most frequent value of every cell)": 0.0,
                        "best-matching training window": onset_f1(np.stack(near), truth, known),
                        "bars 1-2 repeated": onset_f1(np.stack(repeat), truth, known)},
           "known_cells_changed": 0, "seconds_per_window_median": float(np.median(seconds))}
    print("music", out, flush=True)
    return out


def other_game_windows(codec, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    h, w = codec.shape
    sml = read.read_level_folder(VGLC / "Super Mario Land")
    sml_w = np.concatenate([grid.cut_windows(lv, "horizontal", (16, w), "-") for lv in sml.levels])[:, -h:]
    ki = read.read_level_folder(VGLC / "Kid Icarus")
    ki_w = np.concatenate([grid.cut_windows(lv, "vertical", (h, 16), "-") for lv in ki.levels])
    ki_w = np.vectorize(lambda ch: KID_ICARUS_MAP.get(ch, "-"))(ki_w)
    ki_w = np.concatenate([ki_w, np.full((len(ki_w), h, w - 16), "-")], 2)
    out = {}
    for name, wins in (("Super Mario Land", sml_w), ("Kid Icarus (mapped, padded)", ki_w)):
        wins = wins[rng.choice(len(wins), min(n, len(wins)), replace=False)]
        out[name] = grid.to_indices(wins, codec.vocabulary)
    return out


def terms_auroc(real: dict, other: dict, weight: float) -> dict:
    def combos(t):
        return {"score (as shipped)": t["reconstruction"] + weight * t["prior"],
                "reconstruction": t["reconstruction"],
                "reconstruction + prior term (mixture)": t["reconstruction"] + t["prior"],
                "classic ELBO (KL to N(0, I))": t["reconstruction"] - t["kl_standard"]}
    a, b = combos(real), combos(other)
    return {k: score.auroc(a[k], b[k]) for k in a}


def score_levels(bundle, codec, n: int, seed: int) -> dict:
    test, ids = score.real_windows(bundle, codec, "test")
    rng = np.random.default_rng([seed, 1])
    real = test[ids == 0][rng.choice(int((ids == 0).sum()), min(n, int((ids == 0).sum())), replace=False)]
    zeros = np.zeros(len(real), int)
    t_real = score.score_terms(bundle, codec, real, zeros)
    sets = {"10% of cells randomised": randomise_cells(real, 0.1, len(codec.vocabulary), rng),
            **other_game_windows(codec, rng, n)}
    w = score.PRIOR_WEIGHT["levels"]
    out = {"real_windows": int(len(real)), "auroc": {}}
    for name, wins in sets.items():
        out["auroc"][name] = terms_auroc(t_real, score.score_terms(bundle, codec, wins, np.zeros(len(wins), int)), w)
        out["auroc"][name]["windows"] = int(len(wins))
        print("score levels", name, out["auroc"][name], flush=True)
    return out


def score_music(bundle, codec, n: int, seed: int) -> dict:
    test, ids = score.real_windows(bundle, codec, "test")
    rng = np.random.default_rng([seed, 2])
    pick = np.sort(rng.choice(len(test), min(n, len(test)), replace=False))
    real, lab = test[pick], ids[pick]
    shifted = shift_notes(real, 0.1, rng)
    t_real, t_shift = score.score_terms(bundle, codec, real, lab), score.score_terms(bundle, codec, shifted, lab)
    out = {"real_windows": int(len(real)),
           "auroc": {"10% of notes a semitone off": terms_auroc(t_real, t_shift, score.PRIOR_WEIGHT["music"])}}
    print("score music", out, flush=True)
    return out


def markdown(r: dict) -> str:
    lv, mu, sl, sm = r["inpaint_levels"], r["inpaint_music"], r["score_levels"], r["score_music"]
    lines = ["# Inpainting and style score (#14)", "",
             f"Bundled models; held-out data of their splits. `python benchmarks/inpaint_score.py "
             f"--n {r['args']['n']} --ablation {r['args']['ablation']} --music {r['args']['music']} "
             f"--score {r['args']['score']}` ({r['seconds']:.0f} s on 2 shared cores).", "",
             f"## Levels: inpainting {lv['windows']} held-out Super Mario Bros windows", "",
             "| unknown cells | model | most frequent tile | best-matching training window | structures whole | "
             "playable | s / window (median) |", "|---|---|---|---|---|---|---|"]
    for name, m in lv["masks"].items():
        a = m["accuracy"]
        lines.append(f"| {name} | {a['model']:.3f} | {a['most frequent tile']:.3f} | "
                     f"{a['best-matching training window']:.3f} | {m['structures_whole']:.0%} | {m['playable']:.0%} | "
                     f"{m['seconds_per_window_median']:.1f} |")
    lines += ["", f"Per-tile accuracy of the filled cells; no known cell changed (asserted). Most frequent tile: "
              f"`{lv['most_frequent_tile']}`.", "",
              f"Ablation of the search ({lv['ablation_windows']} windows, accuracy of the filled cells):", "",
              "| search | right half | 30% at random |", "|---|---|---|"]
    lines += [f"| {k} | {v['right half']:.3f} | {v['30% at random']:.3f} |" for k, v in lv["ablation"].items()]
    f1 = mu["onset_f1"]
    lines += ["", f"## Music: bars 3-4 of {mu['windows']} held-out 4-bar chorale windows (all voices)", "",
              "| fill | onset F1 of bars 3-4 |", "|---|---|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in f1.items()]
    lines += ["", f"No known cell changed (asserted); {mu['seconds_per_window_median']:.1f} s a window (median).", "",
              f"## Style score: AUROC, held-out real windows against others ({sl['real_windows']} SMB windows, "
              f"{sm['real_windows']} chorale windows)", "",
              "| real against | score (as shipped) | reconstruction | rec. + mixture prior term | classic ELBO |",
              "|---|---|---|---|---|"]
    for name, a in {**sl["auroc"], **sm["auroc"]}.items():
        lines.append(f"| {name} | {a['score (as shipped)']:.3f} | {a['reconstruction']:.3f} | "
                     f"{a['reconstruction + prior term (mixture)']:.3f} | {a['classic ELBO (KL to N(0, I))']:.3f} |")
    lines += ["", "Score as shipped: levels reconstruction + mixture prior term, music reconstruction alone "
              "(genforge/score.py says why)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=60, help="held-out level windows inpainted per mask")
    ap.add_argument("--ablation", type=int, default=20, help="of them, windows in the ablation")
    ap.add_argument("--music", type=int, default=30, help="held-out chorale windows inpainted")
    ap.add_argument("--score", type=int, default=300, help="windows per set in the score's AUROC")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    start = time.perf_counter()
    levels, music = load(None, "levels"), load(None, "music")
    lc, mc = codec_for(levels.meta), codec_for(music.meta)
    result = {"args": vars(args),
              "score_levels": score_levels(levels, lc, args.score, args.seed),
              "score_music": score_music(music, mc, args.score, args.seed),
              "inpaint_music": inpaint_music(music, mc, args.music, args.seed),
              "inpaint_levels": inpaint_levels(levels, lc, args.n, args.ablation, args.seed)}
    result["seconds"] = time.perf_counter() - start
    RESULTS.mkdir(parents=True, exist_ok=True)
    import json

    (RESULTS / "inpaint_score.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    (RESULTS / "inpaint_score.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
