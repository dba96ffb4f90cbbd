"""Training throughput across worker processes (#15): windows per second of the default level
configuration on its default corpus (Super Mario Bros + Super Mario Bros 2 (Japan)), trained by one
process (Keras fit, TensorFlow's threads on every core), by one local worker restricted to one
thread, and by two local workers of one thread each under MultiWorkerMirroredStrategy
(`genforge train levels --workers N`, the same global batch of 64).

    nice -n 10 python benchmarks/distributed.py [--epochs 4]

Windows/s: the training windows of an epoch over its training seconds (validation excluded),
median over the epochs after the first (the first traces the step function). The gradient every
update exchanges is the model's trainable weights in float32. The machine's load average is
recorded beside each run: on a machine shared with other jobs, every figure is lower than on an
idle one. Results: benchmarks/results/distributed.json and .md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VGLC = ROOT.parent / "shared" / "datasets" / "vglc"
GAMES = ("Super Mario Bros", "Super Mario Bros 2 (Japan)")
RESULTS = ROOT / "benchmarks" / "results"
ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}


def on_workers(workers: int, epochs: int, folder: Path, env: dict) -> dict:
    """`genforge train levels --workers N` in a fresh process; its bundle's record of the epochs."""
    out = folder / f"workers-{workers}-{len(env)}"
    data = [w for game in GAMES for w in ("--data", str(VGLC / game))]
    load = os.getloadavg()[0]
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "genforge", "train", "levels", *data, "--epochs", str(epochs),
                           "--out", str(out), "--workers", str(workers), "-q"], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **env})
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    meta = json.loads((out / "genforge.json").read_text())
    record = meta["history"]["distributed"]
    return {"windows": record["windows_per_epoch"], "epoch_seconds": record["train_seconds"],
            "threads": record["threads"], "command_seconds": round(time.perf_counter() - began, 1),
            "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
            "test_accuracy": round(meta["metrics"]["test"]["accuracy"], 4)}


def alone(epochs: int) -> dict:
    """genforge.core.fit.fit in this process (all cores), timed per epoch without the validation."""
    import keras

    from genforge import train as T
    from genforge.config import for_training
    from genforge.core.fit import fit
    from genforge.domains.levels.codec import LevelCodec
    from genforge.domains.levels.dataset import build_dataset

    model_cfg, train_cfg = for_training("levels", epochs=epochs)
    ds = build_dataset([str(VGLC / game) for game in GAMES], seed=train_cfg.seed)
    codec = LevelCodec.from_dataset(ds)
    model_cfg, _ = T.sized_to_data(model_cfg, ds.splits["train"][0])
    seconds = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.perf_counter()

        def on_test_begin(self, logs=None):  # validation starts: the epoch's training is over
            seconds.append(time.perf_counter() - self.began)

    load = os.getloadavg()[0]
    model, _ = fit(ds.splits["train"], ds.splits["validation"], T.grid_spec(codec), model_cfg, train_cfg, quiet=True,
                   callbacks=[EpochTimer()])
    parameters = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    return {"windows": len(ds.splits["train"][0]), "epoch_seconds": seconds, "threads": "TensorFlow's default",
            "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2), "parameters": parameters}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4)
    a = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs["2 workers, 1 thread each"] = on_workers(2, a.epochs, Path(tmp), {})
        runs["1 worker, 1 thread"] = on_workers(1, a.epochs, Path(tmp), ONE_THREAD)
    runs["1 process (Keras fit), every core"] = alone(a.epochs)
    for run in runs.values():
        later = run["epoch_seconds"][1:] or run["epoch_seconds"]
        run["windows_per_second"] = round(run["windows"] / float(np.median(later)), 1)
        run["epoch_seconds"] = [round(s, 2) for s in run["epoch_seconds"]]
    two, one, whole = (runs[k]["windows_per_second"] for k in runs)
    parameters = runs["1 process (Keras fit), every core"]["parameters"]
    result = {"cores": cores, "epochs": a.epochs, "global_batch": 64, "corpus": list(GAMES),
              "gradient_megabytes_per_update": round(parameters * 4 / 1e6, 3), "runs": runs,
              "two_workers_over_ideal": round(two / (2 * one), 3), "two_workers_over_one_process": round(two / whole, 3),
              "machine": "shared with other jobs (see the load averages)"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "distributed.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# Training across worker processes on one machine", "",
             f"Default level configuration, {' + '.join(GAMES)}, global batch 64, {a.epochs} epochs per run, "
             f"{cores} cores. Run under `nice -n 10` on a machine **shared with other jobs** (load averages below: "
             f"above {cores} means other processes wanted the same cores), so the figures are lower bounds "
             "and vary from run to run.", "",
             "| run | training windows/s (median, epochs 2+) | seconds per epoch | load before / after |",
             "|---|---|---|---|"]
    for name, run in runs.items():
        lines.append(f"| {name} | {run['windows_per_second']} | {', '.join(map(str, run['epoch_seconds']))} | "
                     f"{run['load_before']} / {run['load_after']} |")
    lines += ["", f"Two workers reach {result['two_workers_over_ideal']:.2f} of twice one single-thread worker (the "
              f"ideal on {cores} cores) and {result['two_workers_over_one_process']:.2f} of one process using every "
              f"core. Why two workers cannot win here: one process already spreads each update over all {cores} cores "
              "(TensorFlow's intra-op threads), so two workers on the same cores have no compute to add; what they "
              f"add is per-update cost: every update all-reduces the gradient ({result['gradient_megabytes_per_update']}"
              " MB of float32) over gRPC on 127.0.0.1 and waits for the slower worker, and each worker runs its own "
              "input pipeline. The strategy pays off where each worker brings its own cores or GPUs (separate "
              "machines), which this machine cannot show."]
    (RESULTS / "distributed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
