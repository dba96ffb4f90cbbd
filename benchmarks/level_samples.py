"""What the bundled default level model's samples are like, beside the corpus: the figures #5 asks
for in the model card.

    python benchmarks/level_samples.py [--model RUN] [--n 1000] [--card]

Runs `genforge evaluate levels` (unfiltered samples vs held-out and training windows), then
`sample levels --playable` (attempts per accepted level) and `sample levels --length 200
--playable` (whole levels: checker verdict and broken structures of each). Results go to
benchmarks/results/level_samples.json and .md; --card also writes them into the model's
MODEL_CARD.md (section "Samples", replaced on each run).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from sample_report import SECTION, publish

ROOT = Path(__file__).resolve().parents[1]


def measure(model: Path, n: int) -> dict:
    from genforge.domains.levels.check import check_file
    from genforge.evaluate.levels import evaluate_levels
    from genforge.generate import sample

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        started = time.perf_counter()
        report = evaluate_levels(model, n, tmp / "eval", seed=0)
        evaluate_s = time.perf_counter() - started
        stats: dict = {}
        sample(model, "levels", 100, 0, tmp / "playable", playable=True, stats=stats, quiet=True)
        long_stats: dict = {}
        started = time.perf_counter()
        sample(model, "levels", 4, 0, tmp / "long", playable=True, stats=long_stats, length=200, quiet=True)
        long_s = time.perf_counter() - started
        verdicts = [check_file(f) for f in sorted((tmp / "long").glob("*.tmj"))]
    shown = model.resolve().relative_to(ROOT) if model.resolve().is_relative_to(ROOT) else model
    return {"model": str(shown), "n": n, "evaluate_seconds": round(evaluate_s, 1), "report": report,
            "playable_100": stats,
            "length_200": {"levels": len(verdicts), "seconds": round(long_s, 1),
                           "playable": sum(bool(v[0].playable) for v in verdicts),
                           "broken_structure_tiles": sum(len(v[1]) for v in verdicts), **long_stats}}


def fmt(v) -> str:
    return f"{v:+.0%}" if isinstance(v, float) else "-"


def markdown(r: dict) -> str:
    rep, p, long = r["report"], r["playable_100"], r["length_200"]
    lines = [SECTION, "",
             f"Measured by `python benchmarks/level_samples.py` ({r['n']} unfiltered samples from the fitted prior, "
             "seed 0, as `sample levels` writes them: calibrated decoding, broken structures mended; the held-out "
             "levels are whole levels never trained on, cut into windows the same way). "
             f"{rep.get('copies_redrawn', 0)} draws that decoded to a training window were redrawn, as `sample` "
             "redraws them.", ""]
    for game, e in rep["games"].items():
        lines += [f"### {game}", "", "| measure | samples | held-out real | training |", "|---|---|---|---|",
                  f"| playable share | {e['playable']['samples']} | {e['playable']['held_out']} | "
                  f"{e['playable']['training']} |",
                  f"| broken-structure share | {e['broken_structures']['samples']} | "
                  f"{e['broken_structures']['held_out']} | {e['broken_structures']['training']} |",
                  f"| broken-structure share of the raw decoder output, before mending | "
                  f"{e.get('raw_decoder', {}).get('broken_structures')} | | |",
                  f"| tile-pattern KL 2x2, training ‖ set / set ‖ training | "
                  f"{e['kl_2x2']['samples']['training_vs_set']} / {e['kl_2x2']['samples']['set_vs_training']} | "
                  f"{e['kl_2x2']['held_out']['training_vs_set']} / {e['kl_2x2']['held_out']['set_vs_training']} | 0 |",
                  f"| novelty (Hamming to nearest training window) | {e['novelty']['samples']['mean']} | "
                  f"{e['novelty']['held_out']['mean']} | 0 |"]
        auc = e.get("two_sample_auc")
        if auc:
            lines.append(f"| two-sample AUC against the training windows (0.5: indistinguishable; raw decoder "
                         f"{auc['raw_decoder_vs_training']}) | {auc['samples_vs_training']} | "
                         f"{auc['held_out_vs_training']} | |")
        for stat, row in e["stats"].items():
            lines.append(f"| {stat.replace('_', ' ')} per window (samples vs corpus: "
                         f"{fmt(row['samples_vs_corpus'])}) | {row['samples']['mean']} | {row['held_out']['mean']} | "
                         f"{row['training']['mean']} |")
        lines.append("")
    lines += [f"`--playable` (100 levels): {p['attempts_per_level']:.2f} candidates decoded per accepted level "
              f"(most {p['most_attempts']}); {p['first_draw_playable']:.0%} accepted at the first draw. "
              "Accepted means playable and every structure whole.", "",
              f"`--length 200 --playable` ({long['levels']} levels, {long['seconds']} s): {long['playable']} of "
              f"{long['levels']} pass `genforge check` from the left edge to the right one; "
              f"{long['broken_structure_tiles']} broken structure tiles in all; "
              f"{long['windows_decoded_per_level']:.0f} windows decoded per level.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "genforge" / "models" / "levels")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--card", action="store_true", help="write the figures into the model's MODEL_CARD.md")
    a = ap.parse_args()
    result = measure(a.model, a.n)
    publish("level_samples", result, markdown(result), a.model, a.card)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
