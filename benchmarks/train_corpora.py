"""Train on each corpus alone with the plain default command, as a new user would; record wall time,
peak memory, held-out reconstruction beside the baseline that learned nothing, the warnings, and
(levels) the sample statistics table of `genforge evaluate levels`.

    python benchmarks/train_corpora.py                 # every VGLC game in ../shared/datasets/vglc, and Bach
    python benchmarks/train_corpora.py "Super Mario Land" bach

Results: benchmarks/results/train_corpora.json and .md. Runs go to outputs/runs/corpora/.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path("..") / "shared" / "datasets"  # relative to ROOT, where the commands run
RESULTS = ROOT / "benchmarks" / "results"
RUNS = Path("outputs") / "runs" / "corpora"
STATS = ("density", "enemies", "gap_columns", "pipes", "cannons")


def corpora() -> dict[str, list[str]]:
    """Name -> the `genforge train` arguments that train on it alone."""
    out = {}
    vglc = ROOT / DATA / "vglc"
    for folder in sorted(p for p in vglc.iterdir() if p.is_dir()) if vglc.is_dir() else []:
        out[folder.name] = ["train", "levels", "--data", str(DATA / "vglc" / folder.name)]
    if (ROOT / DATA / "midi" / "bach_chorales_music21").is_dir():
        out["bach"] = ["train", "music", "--data", str(DATA / "midi" / "bach_chorales_music21")]
    return out


def measured(args: list[str]) -> tuple[float, int]:
    """Run `genforge ARGS` in the project; (wall seconds, peak RSS in MB of that process alone)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "genforge", *args], cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit(f"genforge {' '.join(args)} failed ({status})")
    return time.perf_counter() - started, usage.ru_maxrss // 1024  # kB on Linux


def run(name: str, args: list[str]) -> dict:
    out = RUNS / re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    wall, peak = measured([*args, "--out", str(out), "--quiet"])
    meta = json.loads((ROOT / out / "genforge.json").read_text())
    m = meta["metrics"]
    result = {"corpus": name, "command": meta["command"], "wall_seconds": round(wall), "peak_memory_mb": peak,
              "epochs_run": meta["history"]["epochs_run"], "latent_dim": meta["latent_dim"],
              "windows": {k: m[k]["windows"] for k in ("train", "test")},
              "test": {k: m["test"].get(k) for k in ("accuracy", "accuracy_non_empty", "onset_f1")},
              "baseline": m.get("baseline"), "warnings": meta.get("warnings", []),
              "notes": [n for n in meta.get("notes", []) if n.startswith(("latent", "metre", "bars"))]}
    if meta["domain"] == "levels":
        wall_eval, peak_eval = measured(["evaluate", "levels", "--model", str(out), "-n", "1000", "--out",
                                         str(out / "eval")])
        report = json.loads((ROOT / out / "eval" / "report.json").read_text())
        game = next(iter(report["games"].values()))
        result["evaluate"] = {"seconds": round(wall_eval), "peak_memory_mb": peak_eval,
                              "playable": game["playable"], "broken_structures": game["broken_structures"],
                              "raw_broken": game.get("raw_decoder", {}).get("broken_structures"),
                              "stats": {s: {k: game["stats"][s][k]["mean"] for k in ("samples", "held_out", "training")}
                                        | {"samples_vs_corpus": game["stats"][s]["samples_vs_corpus"]}
                                        for s in STATS if s in game["stats"]}}
    return result


def markdown(results: list[dict]) -> str:
    lines = ["# Each corpus trained alone with the plain default command", "",
             "`python benchmarks/train_corpora.py`: `genforge train levels|music --data CORPUS` with no other "
             "option, then `genforge evaluate levels -n 1000` (levels). Held-out: windows of whole levels (pieces) "
             "never trained on. Baseline: a model that learned only each cell's most frequent tile (music: each "
             "cell on at its rate).", "",
             "| corpus | windows (train / test) | latent | epochs | wall | peak memory | held-out accuracy / non-empty "
             "(onset F1) | baseline | warnings |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        t, b = r["test"], r["baseline"] or {}
        f1 = f" (F1 {t['onset_f1']:.3f})" if t.get("onset_f1") is not None else ""
        bf1 = f" (F1 {b['onset_f1']:.3f})" if b.get("onset_f1") is not None else ""
        lines.append(f"| {r['corpus']} | {r['windows']['train']} / {r['windows']['test']} | {r['latent_dim']} | "
                     f"{r['epochs_run']} | {r['wall_seconds']} s | {r['peak_memory_mb']} MB | "
                     f"{t['accuracy']:.4f} / {t['accuracy_non_empty']:.4f}{f1} | "
                     f"{b.get('accuracy', 0):.4f} / {b.get('accuracy_non_empty', 0):.4f}{bf1} | "
                     f"{len(r['warnings'])} |")
    lines += ["", "## Sample statistics (evaluate levels, 1,000 unfiltered samples; per window)", "",
              "| corpus | statistic | samples | held-out | training | samples vs corpus |", "|---|---|---|---|---|---|"]
    for r in results:
        e = r.get("evaluate")
        if not e:
            continue
        lines.append(f"| {r['corpus']} | broken structures (as written / raw decoder) | {e['broken_structures']['samples']}"
                     f" / {e['raw_broken']} | {e['broken_structures']['held_out']} | "
                     f"{e['broken_structures']['training']} | |")
        lines.append(f"| {r['corpus']} | playable | {e['playable']['samples']} | {e['playable']['held_out']} | "
                     f"{e['playable']['training']} | |")
        for stat, row in e["stats"].items():
            gap = "-" if row["samples_vs_corpus"] is None else f"{row['samples_vs_corpus']:+.1%}"
            lines.append(f"| {r['corpus']} | {stat} | {row['samples']} | {row['held_out']} | {row['training']} | "
                         f"{gap} |")
    lines += ["", "## Warnings training printed", ""]
    lines += [f"- {r['corpus']}: {w}" for r in results for w in r["warnings"]] or ["- none"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="corpora to run (default: all)")
    a = parser.parse_args()
    available = corpora()
    names = a.names or list(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SystemExit(f"unknown corpora {unknown}; available: {list(available)}")
    path = RESULTS / "train_corpora.json"
    results = {r["corpus"]: r for r in (json.loads(path.read_text()) if path.exists() else [])}
    for name in names:
        results[name] = run(name, available[name])
        print(json.dumps({k: results[name][k] for k in ("corpus", "wall_seconds", "peak_memory_mb", "test")}),
              flush=True)
        ordered = [results[n] for n in available if n in results]
        RESULTS.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(ordered, indent=2) + "\n")
        (RESULTS / "train_corpora.md").write_text(markdown(ordered))


if __name__ == "__main__":
    main()
