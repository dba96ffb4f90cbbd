"""Model-selection experiments for the music VAE: held-out note-onset F1 of reconstructions on
4-bar Bach windows from pieces held out of training.

    python benchmarks/music_experiments.py NAME [NAME ...]      # names from CONFIGS below
    python benchmarks/music_experiments.py --list

Each run: build the dataset (as `genforge train music` does), fit, then encode/decode the test
split (whole held-out pieces) and up to 2000 training windows. Appends one row per run to
benchmarks/results/music_experiments.md and the full numbers to music_experiments.jsonl.
The machine is shared: seconds are noisy; compare F1, and times only roughly.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "midi" / "bach_chorales_music21"
RESULTS = ROOT / "benchmarks" / "results"
SAVE: Path | None = None       # --save DIR: keep each run's weights there for error analysis

# name -> (model changes, train changes, dataset changes), applied to ModelConfig()/TrainConfig() defaults.
CONFIGS: dict[str, tuple[dict, dict, dict]] = {
    "dense64": ({"filters": (32, 64), "latent_dim": 64}, {"epochs": 8}, {}),
    "dense256-16-32": ({"filters": (16, 32), "latent_dim": 256, "beta": 0.25}, {"epochs": 6}, {}),
    "g2-32-64-k2": ({"filters": (32, 64), "latent_dim": 384, "bottleneck": "grid", "beta": 0.25}, {"epochs": 6}, {}),
    "g2-16-32-k2": ({"filters": (16, 32), "latent_dim": 384, "bottleneck": "grid", "beta": 0.25}, {"epochs": 6}, {}),
    "g2-16-32-k2-pw4": ({"filters": (16, 32), "latent_dim": 384, "bottleneck": "grid", "beta": 0.25,
                         "pos_weight": 4.0}, {"epochs": 6}, {}),
    "g3-16-32-64-k8": ({"filters": (16, 32, 64), "latent_dim": 384, "bottleneck": "grid", "beta": 0.25},
                       {"epochs": 6}, {}),
    "g2-16-32-k2-b05": ({"filters": (16, 32), "latent_dim": 384, "bottleneck": "grid", "beta": 0.05},
                        {"epochs": 6}, {}),
    "g2-16-32-k2-b05-pw4": ({"filters": (16, 32), "latent_dim": 384, "bottleneck": "grid", "beta": 0.05,
                             "pos_weight": 4.0}, {"epochs": 6}, {}),
    "g2-16-32-k4-b05-pw4": ({"filters": (16, 32), "latent_dim": 768, "bottleneck": "grid", "beta": 0.05,
                             "pos_weight": 4.0}, {"epochs": 6}, {}),
    "g2-32-32-k4-b05-pw4": ({"filters": (32, 32), "latent_dim": 768, "bottleneck": "grid", "beta": 0.05,
                             "pos_weight": 4.0}, {"epochs": 6}, {}),
    "g3-16-32-64-k8-b05-pw4": ({"filters": (16, 32, 64), "latent_dim": 384, "bottleneck": "grid", "beta": 0.05,
                                "pos_weight": 4.0}, {"epochs": 6}, {}),
    "g2-32-64-k2-b05-pw4": ({"filters": (32, 64), "latent_dim": 384, "bottleneck": "grid", "beta": 0.05,
                             "pos_weight": 4.0}, {"epochs": 6}, {}),
    "g2-16-32-k2-b05-pw4-k35": ({"filters": (16, 32), "latent_dim": 384, "bottleneck": "grid", "beta": 0.05,
                                 "pos_weight": 4.0, "kernel": (3, 5)}, {"epochs": 6}, {}),
    "g2-32-64-k4-b05-pw4-k35": ({"filters": (32, 64), "latent_dim": 768, "bottleneck": "grid", "beta": 0.05,
                                 "pos_weight": 4.0, "kernel": (3, 5)}, {"epochs": 6}, {}),
    "g2-32-64-k8-b05-pw4-k35": ({"filters": (32, 64), "latent_dim": 1536, "bottleneck": "grid", "beta": 0.05,
                                 "pos_weight": 4.0, "kernel": (3, 5)}, {"epochs": 6}, {}),
    "g2-32-64-k4-b05-pw2-k35-db": ({"filters": (32, 64), "latent_dim": 768, "bottleneck": "grid", "beta": 0.05,
                                    "pos_weight": 2.0, "kernel": (3, 5), "data_bias": True}, {"epochs": 6}, {}),
    "g2-32-64-k4-b05-pw2-k35-db-e12": ({"filters": (32, 64), "latent_dim": 768, "bottleneck": "grid", "beta": 0.05,
                                        "pos_weight": 2.0, "kernel": (3, 5), "data_bias": True}, {"epochs": 12}, {}),
    "G32-k4-b025": ({"filters": (32, 64), "latent_dim": 768, "bottleneck": "grid", "global_dim": 32, "beta": 0.25,
                     "pos_weight": 2.0, "kernel": (3, 5), "data_bias": True}, {"epochs": 6}, {}),
    "G32-k4-b1": ({"filters": (32, 64), "latent_dim": 768, "bottleneck": "grid", "global_dim": 32, "beta": 1.0,
                   "pos_weight": 2.0, "kernel": (3, 5), "data_bias": True}, {"epochs": 6}, {}),
    "dense256-db": ({"filters": (32, 64), "latent_dim": 256, "beta": 0.05, "pos_weight": 2.0, "kernel": (3, 5),
                     "data_bias": True}, {"epochs": 6}, {}),
}


def run(name: str, quick: bool = False) -> dict:
    import numpy as np

    from genforge import config
    from genforge.domains.music.codec import MusicCodec
    from genforge.domains.music.dataset import build_dataset
    from genforge.core.fit import encode_mean, fit
    from genforge.train import grid_spec, reconstruct

    model_changes, train_changes, data_changes = CONFIGS[name]
    model_cfg = config.replace(getattr(config, "MUSIC_MODEL", config.ModelConfig()), **model_changes)
    train_cfg = config.replace(getattr(config, "MUSIC_TRAIN", config.TrainConfig()), **train_changes)
    ds_args = {"bars": 4, "transpose": 5, "shifts_per_window": 3, "labels": "mode", **data_changes}
    started = time.perf_counter()
    ds = build_dataset([DATA], test=train_cfg.test_levels, validation=train_cfg.validation_levels,
                       seed=train_cfg.seed, **ds_args)
    codec = MusicCodec.from_dataset(ds)
    spec = grid_spec(codec)
    model, history = fit(ds.splits["train"], ds.splits["validation"], spec, model_cfg, train_cfg, quiet=True)
    if SAVE:
        SAVE.mkdir(parents=True, exist_ok=True)
        model.save_weights(str(SAVE / f"{name}.weights.h5"))
    result = {"name": name, "model": config.to_dict(model_cfg), "train": config.to_dict(train_cfg),
              "data": ds_args, "fit_seconds": round(history["seconds"], 1), "epochs_run": history["epochs_run"],
              "val_loss": history["val_loss"][-1], "windows": {k: len(v[0]) for k, v in ds.splits.items()}}
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        windows, ids = ds.splits[split]
        idx = np.sort(rng.choice(len(windows), min(len(windows), 2000), replace=False))
        pred = reconstruct(model, codec, windows[idx], ids[idx], spec)
        m = codec.metrics(windows[idx], pred, ids[idx])
        result[split] = {k: m[k] for k in ("onset_f1", "onset_precision", "onset_recall", "accuracy_non_empty")}
    result["samples"] = sample_stats(model, codec, ds, encode_mean(model, *ds.splits["train"], spec))
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    return result


SAMPLE_STATS = ("in_asked_mode_scale", "estimated_mode_agrees", "pitch_classes_per_bar", "notes_per_bar",
                "qualified_note_rate", "polyphony", "empty_bar_rate")


def sample_stats(model, codec, ds, train_codes, n: int = 300) -> dict:
    """Samples per label, drawn as `genforge sample` draws them (the Gaussian fitted to the training
    codes, temperature 0), next to the held-out windows of that label."""
    import numpy as np

    from genforge.core import latent
    from genforge.core.fit import decode_logits
    from genforge.evaluate.music import describe

    out = {}
    rng = np.random.default_rng(0)
    test, ids = ds.splits["test"]
    prior = latent.fit_prior(train_codes)
    for i, mode in enumerate(ds.labels):
        z = latent.to_z(latent.sample_u(rng, n, train_codes.shape[1]), prior)
        grids = codec.from_logits(decode_logits(model, z, latent.one_hot(np.full(n, i), len(ds.labels))))
        s, d = describe(grids, codec, mode), describe(test[ids == i], codec, mode)
        out[mode] = {k: [round(s[k], 3), round(d[k], 3)] for k in SAMPLE_STATS}
    return out


def stats_of_saved(name: str, folder: Path) -> dict:
    from genforge import config
    from genforge.core.vae import VAE
    from genforge.domains.music.codec import MusicCodec
    from genforge.domains.music.dataset import build_dataset

    model_changes, train_changes, data_changes = CONFIGS[name]
    cfg = config.replace(config.ModelConfig(), **model_changes)
    import numpy as np

    from genforge.core.fit import encode_mean
    from genforge.train import grid_spec

    ds = build_dataset([DATA], test=0.2, validation=0.1, seed=0, transpose=5, shifts_per_window=3, labels="mode",
                       **data_changes)
    codec = MusicCodec.from_dataset(ds)
    model = VAE(codec.grid_shape, len(ds.labels), codec.likelihood, cfg)
    g, ids = ds.splits["test"]
    model((g[:1].astype(np.float32), np.eye(len(ds.labels), dtype=np.float32)[ids[:1]]))
    model.load_weights(str(folder / f"{name}.weights.h5"))
    codes = encode_mean(model, *ds.splits["train"], grid_spec(codec))
    return sample_stats(model, codec, ds, codes)


def record(r: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "music_experiments.jsonl", "a") as f:
        f.write(json.dumps(r) + "\n")
    md = RESULTS / "music_experiments.md"
    if not md.exists():
        md.write_text("# Music VAE experiments: onset F1 of reconstructions, Bach chorales, 4-bar 4/4 windows\n\n"
                      "Written by `benchmarks/music_experiments.py`; test = windows of whole pieces held out of "
                      "training (seed 0 split). Train F1 on up to 2000 (transposed) training windows.\n\n"
                      "| run | config (changes to the defaults) | epochs | fit s | train F1 | test F1 | test P / R |"
                      " samples (major) vs held-out data: in-scale, pitch classes/bar, notes/bar, qualified |\n"
                      "|---|---|---|---|---|---|---|---|\n")
    t, h = r["train"], r["test"]

    def fmt(x):
        return "-" if x is None else f"{x:.3f}"

    with open(md, "a") as f:
        f.write(f"| {r['name']} | {json.dumps(CONFIGS[r['name']][0]).replace('|', '/')} "
                f"{json.dumps(CONFIGS[r['name']][1])} {json.dumps(CONFIGS[r['name']][2])} | {r['epochs_run']} | "
                f"{r['fit_seconds']} | {fmt(t['onset_f1'])} | {fmt(h['onset_f1'])} | "
                f"{fmt(h['onset_precision'])} / {fmt(h['onset_recall'])} | {samples_cell(r)} |\n")


def samples_cell(r: dict) -> str:
    s = r.get("samples", {}).get("major")
    if not s:
        return "-"
    keys = ("in_asked_mode_scale", "pitch_classes_per_bar", "notes_per_bar", "qualified_note_rate")
    return ", ".join(f"{s[k][0]:.2f} ({s[k][1]:.2f})" for k in keys)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--epochs", type=int, help="override the configs' epochs")
    ap.add_argument("--save", type=Path, help="folder to keep each run's weights in")
    ap.add_argument("--stats", help="only the sample statistics of a run saved with --save")
    a = ap.parse_args()
    if a.stats:
        print(json.dumps(stats_of_saved(a.stats, a.save or Path("/tmp/music-exp")), indent=1))
        return
    if a.list or not a.names:
        print("\n".join(CONFIGS))
        return
    warnings.simplefilter("ignore")
    global SAVE
    SAVE = a.save
    for name in a.names:
        if a.epochs:
            CONFIGS[name][1]["epochs"] = a.epochs
        r = run(name)
        record(r)
        print(json.dumps({k: r[k] for k in ("name", "fit_seconds", "epochs_run", "train", "test")}), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    main()
