"""How fast the default music model reaches its quality: held-out onset F1 after every epoch, against
training seconds, for the default configuration or a variant of it, on the Bach data of
`benchmarks/train_default.py music` (same split, same transposition, same seed).

    nice -n 10 python benchmarks/train_music_speed.py --variant up2x2 --epochs 6

Each run appends its row to benchmarks/results/train_music_speed.json and rewrites the .md. The
probe (reconstructing the 769 held-out test windows) runs between epochs and is not counted in the
training seconds. The machine's load is recorded: it is shared, so seconds are only comparable
between runs of similar load; the step's arithmetic (benchmarks/train_profile.py) is not.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path("..") / "shared" / "datasets" / "midi" / "bach_chorales_music21"
RESULTS = ROOT / "benchmarks" / "results"
VARIANTS = {                      # changes to the default ModelConfig / TrainConfig
    "default": ({}, {}),
    "up2x2": ({"up_kernel": (2, 2)}, {}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="default")
    parser.add_argument("--epochs", type=int, default=6)
    a = parser.parse_args()
    os.chdir(ROOT)
    import keras

    from genforge import config
    from genforge.core.fit import fit
    from genforge.domains.music.codec import MusicCodec
    from genforge.domains.music.dataset import build_dataset
    from genforge.train import grid_spec, reconstruct, sized_to_data

    load_before = os.getloadavg()[0]
    model_changes, train_changes = VARIANTS[a.variant]
    model_cfg, train_cfg = config.for_training("music")
    model_cfg = replace(model_cfg, **model_changes)
    train_cfg = replace(train_cfg, epochs=a.epochs, **train_changes)
    ds = build_dataset([str(DATA)], seed=train_cfg.seed, test=train_cfg.test_levels,
                       validation=train_cfg.validation_levels, shifts_per_window=3)    # as train_music
    codec = MusicCodec.from_dataset(ds)
    spec = grid_spec(codec)
    model_cfg, _ = sized_to_data(model_cfg, ds.splits["train"][0])
    test, test_ids = ds.splits["test"]
    epochs: list[dict] = []
    step_times: list[float] = []

    class Probe(keras.callbacks.Callback):
        """Held-out onset F1 after each epoch; training seconds without the probes."""

        def on_train_begin(self, logs=None):
            self.trained, self.t = 0.0, time.perf_counter()

        def on_train_batch_begin(self, batch, logs=None):
            self.b = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            step_times.append(time.perf_counter() - self.b)

        def on_epoch_end(self, epoch, logs=None):
            self.trained += time.perf_counter() - self.t
            m = codec.metrics(test, reconstruct(self.model, codec, test, test_ids, spec), test_ids)
            epochs.append({"epoch": epoch + 1, "training_seconds": round(self.trained, 1),
                           "test_onset_f1": round(m["onset_f1"], 4), "load": round(os.getloadavg()[0], 1)})
            print(json.dumps(epochs[-1]), flush=True)
            self.t = time.perf_counter()

    started = time.perf_counter()
    _, history = fit(ds.splits["train"], ds.splits["validation"], spec, model_cfg, train_cfg, quiet=True,
                     callbacks=[Probe()])
    row = {"variant": a.variant, "changes": {k: list(v) if isinstance(v, tuple) else v for k, v in model_changes.items()},
           "epochs": a.epochs, "batch": train_cfg.batch_size, "training_windows": len(ds.splits["train"][0]),
           "median_step_seconds": round(statistics.median(step_times[5:]), 4),
           "windows_per_second": round(train_cfg.batch_size / statistics.median(step_times[5:]), 1),
           "wall_seconds": round(time.perf_counter() - started, 1), "load_before": round(load_before, 1),
           "load_after": round(os.getloadavg()[0], 1), "per_epoch": epochs}
    path = RESULTS / "train_music_speed.json"
    rows = json.loads(path.read_text()) if path.is_file() else []
    rows = [r for r in rows if r["variant"] != a.variant] + [row]
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=2) + "\n")
    (RESULTS / "train_music_speed.md").write_text(markdown(rows))
    print(markdown(rows))


def markdown(rows: list[dict]) -> str:
    lines = ["# Held-out onset F1 against training time: the default music model and variants", "",
             "`python benchmarks/train_music_speed.py --variant NAME --epochs N` on the Bach data of "
             "`benchmarks/train_default.py music` (seed 0 split; 769 held-out test windows). Training seconds "
             "leave out the probes; the load is the machine's 1-minute average (shared by other jobs: seconds "
             "are only comparable at a similar load).", ""]
    for r in rows:
        lines += [f"## {r['variant']} {json.dumps(r['changes'])}", "",
                  f"Batch {r['batch']}, {r['training_windows']:,} training windows a epoch; median step "
                  f"{r['median_step_seconds'] * 1e3:.0f} ms ({r['windows_per_second']} windows/s); load "
                  f"{r['load_before']} before, {r['load_after']} after.", "",
                  "| epoch | training s | test onset F1 | load |", "|---|---|---|---|"]
        lines += [f"| {e['epoch']} | {e['training_seconds']} | {e['test_onset_f1']} | {e['load']} |"
                  for e in r["per_epoch"]]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
