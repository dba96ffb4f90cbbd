"""A small melody model on the folk corpus (`genforge datasets build folk`), then `genforge evaluate
music` on it: its samples' figures beside the held-out and training melodies'.

    nice -n 10 python benchmarks/folk_model.py --data datasets/folk/oneills.npz --steps 100 --stride 4 -n 100

The corpus is large (11,364 melodies): a few minutes of training on a shared 2-core machine takes
one collection (`--data`), windows every `--stride` bars (non-overlapping by default), no
transposition, and `--steps` optimiser updates (at least one pass over the windows). Everything else is `genforge train music`'s
default (every metre, mode labels, the default model). Results: benchmarks/results/folk_model.json
and .md; the run folder in outputs/runs/folk.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path("datasets") / "folk"
RESULTS = ROOT / "benchmarks" / "results"


def train(out: Path, data: Path, steps: int, stride: int) -> dict:
    from genforge import config
    from genforge.bundle import relative_path
    from genforge.domains.music.codec import MusicCodec
    from genforge.domains.music.dataset import build_dataset
    from genforge.train import train_run

    model_cfg, train_cfg = config.for_training("music")
    train_cfg = replace(train_cfg, steps=steps)
    started = time.perf_counter()
    ds = build_dataset([str(data)], seed=train_cfg.seed, test=train_cfg.test_levels,
                       validation=train_cfg.validation_levels, transpose=0, stride_bars=stride)
    built = time.perf_counter() - started
    command = f"python benchmarks/folk_model.py --data {data} --steps {steps} --stride {stride}"
    record = {"data": [relative_path(data)], "split": {relative_path(f): p for f, p in ds.split.items()},
              "options": {"data": [relative_path(data)], "labels": "mode", "stride_bars": stride, "transpose": 0},
              **({"label_counts": ds.label_counts} if ds.labels else {})}
    train_run(MusicCodec.from_dataset(ds), ds.splits, out, model_cfg, train_cfg, command, ds.notes, quiet=True,
              record=record)
    meta = json.loads((out / "genforge.json").read_text())
    return {"command": command, "dataset_seconds": round(built, 1), "wall_seconds": round(time.perf_counter() - started, 1),
            "fit_seconds": round(meta["history"]["seconds"], 1), "epochs": meta["history"]["epochs_run"],
            "windows": {k: int(len(v[0])) for k, v in ds.splits.items()}, "labels": list(ds.labels),
            "shape": meta["shape"], "pieces": {k: len(v) for k, v in ds.pieces.items()},
            "metrics": {k: meta["metrics"][k] for k in ("train", "validation", "test", "baseline")},
            "notes": ds.notes}


def evaluate(run: Path, out: Path, n: int) -> dict:
    args = [sys.executable, "-m", "genforge", "evaluate", "music", "--model", str(run.relative_to(ROOT)),
            "-n", str(n), "--out", str(out.relative_to(ROOT))]
    started = time.perf_counter()
    subprocess.run(args, check=True, cwd=ROOT)
    return {"command": "genforge " + " ".join(args[3:]), "seconds": round(time.perf_counter() - started, 1),
            "report": json.loads((out / "report.json").read_text())}


def markdown(r: dict) -> str:
    t, m = r["training"], r["training"]["metrics"]
    lines = ["# A melody model on the folk corpus", "",
             f"Data: `{r['data']}` ({r['melodies_used']:,} melodies, of the {r['melodies']:,} that `genforge datasets "
             "build folk` writes into `datasets/folk`). Trained by "
             f"`{t['command']}` (the default music model and labels; windows every {r['stride']} bars, no "
             f"transposition, {r['steps']} updates at least one pass) in {t['wall_seconds']} s "
             f"({t['fit_seconds']} s fitting, {t['epochs']} epoch(s)); load {r['load_before']} before, "
             f"{r['load_after']} after (a shared 2-core machine).", "",
             f"Grid {' x '.join(map(str, t['shape']))}; windows: " +
             ", ".join(f"{k} {v:,}" for k, v in t["windows"].items()) + "; pieces: " +
             ", ".join(f"{k} {v:,}" for k, v in t["pieces"].items()) + f"; {len(t['labels'])} labels (mode x metre).", "",
             "| reconstruction (window's latent mean) | train | validation | test | baseline (test) |",
             "|---|---|---|---|---|"]
    for key, name in (("onset_f1", "onset F1"), ("onset_precision", "onset precision"),
                      ("onset_recall", "onset recall"), ("accuracy_non_empty", "accuracy, sounding cells")):
        lines.append(f"| {name} | " + " | ".join(f"{m[s][key]:.4f}" if key in m[s] else "-"
                                                for s in ("train", "validation", "test", "baseline")) + " |")
    e = r["evaluation"]
    lines += ["", f"## `{e['command']}` ({e['seconds']} s)", ""]
    md = (ROOT / r["evaluation_folder"] / "report.md")
    lines += [md.read_text()] if md.is_file() else []
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="the folk folder, or one collection's archive "
                        "(datasets/folk/oneills.npz)")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--stride", type=int, default=4)
    parser.add_argument("-n", type=int, default=200)
    a = parser.parse_args()
    os.chdir(ROOT)
    from genforge.domains.music.corpus import read_folder

    if not any(DATA.glob("*.npz")):
        raise SystemExit(f"{DATA}: no archives; build them first with `genforge datasets build folk`")
    load_before = os.getloadavg()[0]
    run, folder = ROOT / "outputs" / "runs" / "folk", ROOT / "outputs" / "eval" / "folk"
    shutil.rmtree(run, ignore_errors=True)                # a fresh run each time
    result = {"steps": a.steps, "stride": a.stride, "data": str(a.data), "melodies": len(read_folder(DATA).pieces),
              "melodies_used": len(read_folder(a.data).pieces), "load_before": round(load_before, 1)}
    result["training"] = train(run, a.data, a.steps, a.stride)
    result["evaluation"] = evaluate(run, folder, a.n)
    result["evaluation_folder"] = str(folder.relative_to(ROOT))
    result["load_after"] = round(os.getloadavg()[0], 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "folk_model.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "folk_model.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
