"""Training throughput (windows per second) and time to the foundation's accuracy bars
(held-out Super Mario Bros: per-tile accuracy >= 0.98, non-empty >= 0.90), with the default
level configuration on the default corpus (SMB + SMB2 (Japan)).

    python benchmarks/train_speed.py [--epochs 40]

Held-out accuracy is measured after every epoch on the SMB test levels (whole levels the model
never sees). Results: benchmarks/results/train_speed.json and .md.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VGLC = ROOT.parent / "shared" / "datasets" / "vglc"
RESULTS = ROOT / "benchmarks" / "results"
BARS = (0.98, 0.90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=40)
    a = parser.parse_args()

    import keras

    from genforge import train as T
    from genforge.config import LEVELS_MODEL, LEVELS_TRAIN, replace
    from genforge.core.fit import fit
    from genforge.domains.levels.codec import LevelCodec
    from genforge.domains.levels.dataset import build_dataset

    cfg = replace(LEVELS_TRAIN, epochs=a.epochs, patience=a.epochs)  # no early stop: the whole curve
    ds = build_dataset([VGLC / "Super Mario Bros", VGLC / "Super Mario Bros 2 (Japan)"], seed=cfg.seed)
    codec = LevelCodec.from_dataset(ds)
    spec = T.grid_spec(codec)
    smb = ds.splits["test"][1] == codec.labels.index("Super Mario Bros")
    truth, truth_ids = ds.splits["test"][0][smb], ds.splits["test"][1][smb]

    curve = []

    class HeldOut(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.started, self.fit_seconds = time.perf_counter(), 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.fit_seconds += time.perf_counter() - self.epoch_started  # training time only
            pred = T.reconstruct(self.model, codec, truth, truth_ids, spec)
            s = codec.metrics(truth, pred, truth_ids)
            curve.append({"epoch": epoch + 1, "fit_seconds": round(self.fit_seconds, 1),
                          "accuracy": round(s["accuracy"], 4), "accuracy_non_empty": round(s["accuracy_non_empty"], 4)})
            print(curve[-1], flush=True)

    fit(ds.splits["train"], ds.splits["validation"], spec, LEVELS_MODEL, cfg, quiet=True, callbacks=[HeldOut()])
    n_train = len(ds.splits["train"][0])
    per_epoch = np.diff([0.0] + [c["fit_seconds"] for c in curve])
    reached = next((c for c in curve if c["accuracy"] >= BARS[0] and c["accuracy_non_empty"] >= BARS[1]), None)
    result = {"train_windows": n_train, "windows_per_second_median": round(float(np.median(n_train / per_epoch))),
              "bars": BARS, "first_epoch_at_bars": reached, "curve": curve}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "train_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# Training speed, default level configuration", "",
             f"{n_train} training windows; median {result['windows_per_second_median']} windows/s "
             "(training only, held-out probe excluded).", "",
             f"First epoch at held-out SMB accuracy >= {BARS[0]} and non-empty >= {BARS[1]}: " +
             (f"epoch {reached['epoch']}, after {reached['fit_seconds']} s of training." if reached else "not reached."),
             "", "| epoch | training s | held-out SMB accuracy | non-empty |", "|---|---|---|---|"]
    lines += [f"| {c['epoch']} | {c['fit_seconds']} | {c['accuracy']} | {c['accuracy_non_empty']} |" for c in curve]
    (RESULTS / "train_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:5]))


if __name__ == "__main__":
    main()
