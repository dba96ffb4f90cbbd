"""What the bundled default music model's samples are like, beside held-out chorales: the figures
of issue #12 for the model card.

    python benchmarks/music_samples.py [--model RUN] [--n 300] [--card]

Runs `genforge evaluate music` (n samples per condition, seed 0, temperature 0: what `sample music`
writes) against the test windows of the model's own split (whole pieces never trained on) and its
training windows. Results go to benchmarks/results/music_samples.json and .md; --card also writes
them into the model's MODEL_CARD.md (section "Samples", replaced on each run).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sample_report import SECTION, publish

ROOT = Path(__file__).resolve().parents[1]
MEASURES = ("in_scale_share", "estimated_mode_agrees", "qualified_note_rate", "polyphony", "pitch_classes_per_bar",
            "notes_per_bar", "empty_bar_rate")


def measure(model: Path, n: int) -> dict:
    from genforge.evaluate.music import evaluate_music

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        report = evaluate_music(model, n, Path(tmp) / "eval", seed=0)
        seconds = time.perf_counter() - started
    report.pop("figures", None)
    shown = model.resolve().relative_to(ROOT) if model.resolve().is_relative_to(ROOT) else model
    return {"model": str(shown), "n": n, "seconds": round(seconds, 1), "report": report}


def fmt(v, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def table(name: str, entry: dict) -> list[str]:
    w = entry["windows"]
    lines = [f"### {name}", "", f"{w['samples']} samples, {w['held_out']} held-out windows, {w['training']} "
             "training windows.", "", "| measure | samples | held-out | training |", "|---|---|---|---|"]
    for key in MEASURES:
        m = entry["measures"][key]
        lines.append(f"| {key.replace('_', ' ')} | {fmt(m['samples'])} | {fmt(m['held_out'])} | {fmt(m['training'])} |")
    for voice, v in entry["voices"].items():
        c, b = v["clusters"], v["notes_per_beat"]
        lines.append(f"| {voice}: clusters / notes per beat | {fmt(c['samples'])} / {fmt(b['samples'])} | "
                     f"{fmt(c['held_out'])} / {fmt(b['held_out'])} | {fmt(c['training'])} / {fmt(b['training'])} |")
    nov = entry.get("novelty", {})
    if nov:
        lines.append(f"| novelty (cells differing from the nearest training window; share identical) | "
                     f"{fmt(nov['samples']['mean'], 4)} ({fmt(nov['samples']['share_identical'])}) | "
                     f"{fmt(nov['held_out']['mean'], 4)} ({fmt(nov['held_out']['share_identical'])}) | |")
    auc = entry.get("two_sample_auc") or {}
    lines.append(f"| two-sample AUC against the held-out windows (0.5: indistinguishable) | "
                 f"{fmt(auc.get('samples_vs_held_out'))} | | {fmt(auc.get('training_vs_held_out'))} |")
    return lines + [""]


def markdown(r: dict) -> str:
    rep = r["report"]
    lines = [SECTION, "",
             f"Measured by `python benchmarks/music_samples.py` (`genforge evaluate music`: {r['n']} samples per "
             "condition, seed 0, temperature 0, as `sample music` writes them; held-out: the test windows of the "
             "model's own split, whole chorales never trained on; training: its untransposed training windows; "
             f"{r['seconds']} s). Clusters: share of a voice's onsets where it starts two or more notes at once. "
             "Estimated mode agrees: the key-finding estimate of each window reads the asked mode. The two-sample "
             "AUC is a 5-fold logistic regression on per-voice onset rolls and pitch-class shares; in the training "
             "column, training windows against held-out ones (real against real). The pooled figures weigh every "
             "condition alike (n samples each, the rare metres too) where the held-out windows are mostly 4/4: "
             "compare condition by condition.", ""]
    if "pooled" in rep:
        lines += table("All conditions", rep["pooled"])
    for name, entry in rep["conditions"].items():
        lines += table(name, entry)
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "genforge" / "models" / "music")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--card", action="store_true", help="write the figures into the model's MODEL_CARD.md")
    a = ap.parse_args()
    result = measure(a.model, a.n)
    publish("music_samples", result, markdown(result), a.model, a.card)


if __name__ == "__main__":
    main()
