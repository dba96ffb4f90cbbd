"""Level decoder experiments: held-out reconstruction against decoder speed.

Generation runs only the decoder, so its arithmetic sets sampling speed (#4 asks >= 20,000 windows/s
at batch 1024 on 2 cores). Each run trains the default level setup (SMB + SMB2J, seed 0, the game as
condition) with some settings changed, then measures held-out SMB accuracy and the exported ONNX
decoder's throughput in the same process.

    python benchmarks/level_experiments.py NAME [NAME ...]      # --list shows the names

Results are appended to benchmarks/results/level_experiments.jsonl and the table
benchmarks/results/level_experiments.md is rewritten from it. Runs land in outputs/experiments/levels/.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "vglc"
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "benchmarks"))

# name -> changes to LEVELS_MODEL (the default level settings)
CONFIGS: dict[str, dict] = {
    "default": {},
    "dec16-32": {"decoder_filters": (16, 32)},
    "dec16-32-up2": {"decoder_filters": (16, 32), "up_kernel": (2, 2)},
    "dec24-48-up2": {"decoder_filters": (24, 48), "up_kernel": (2, 2)},
    "up2": {"up_kernel": (2, 2)},
}


def run(name: str) -> dict:
    import numpy as np

    from genforge import config
    from genforge.bundle import open_bundle
    from genforge.core import latent
    from genforge.runtime import decoder
    from genforge.train import train_levels
    from sample_speed import throughput

    model_cfg = config.replace(config.LEVELS_MODEL, **CONFIGS[name])
    out = ROOT / "outputs" / "experiments" / "levels" / name
    started = time.perf_counter()
    train_levels([str(DATA / "Super Mario Bros"), str(DATA / "Super Mario Bros 2 (Japan)")], out, model_cfg,
                 config.LEVELS_TRAIN, f"benchmarks/level_experiments.py {name}", quiet=True)
    wall = time.perf_counter() - started
    bundle = open_bundle(out)
    net = decoder(bundle)
    z = np.random.default_rng(0).standard_normal((1024, bundle.latent_dim)).astype(np.float32)
    labels = latent.one_hot(np.zeros(1024, int), len(bundle.labels))
    m = bundle.meta["metrics"]
    smb = m["test"]["per_label"]["Super Mario Bros"]
    return {"name": name, "changes": {k: list(v) if isinstance(v, tuple) else v for k, v in CONFIGS[name].items()},
            "epochs": bundle.meta["history"]["epochs_run"], "wall_seconds": round(wall, 1),
            "test_smb_accuracy": round(smb["accuracy"], 4), "test_smb_non_empty": round(smb["accuracy_non_empty"], 4),
            "test_accuracy": round(m["test"]["accuracy"], 4),
            "test_non_empty": round(m["test"]["accuracy_non_empty"], 4),
            "decoder_windows_per_second_b1024": round(throughput(net, z, labels, repeats=7, budget=3.0))}


def table(rows: list[dict]) -> str:
    lines = ["# Level decoder experiments: held-out accuracy against decoder speed", "",
             "Written by `benchmarks/level_experiments.py`. Held-out = the seed-0 test levels (SMB 1-3, 6-2, 2-1; "
             "bars 0.98 / 0.90). Throughput: exported ONNX decoder, batch 1024, median of 7, on the shared 2-core "
             "machine while nothing else trained (noisy: compare within a table, not across days).", "",
             "| run | changes to LEVELS_MODEL | epochs | wall s | SMB acc | SMB non-empty | all acc | all non-empty "
             "| windows/s b1024 |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {json.dumps(r['changes'])} | {r['epochs']} | {r['wall_seconds']} | "
                     f"{r['test_smb_accuracy']} | {r['test_smb_non_empty']} | {r['test_accuracy']} | "
                     f"{r['test_non_empty']} | {r['decoder_windows_per_second_b1024']:,} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list or not a.names:
        print("\n".join(f"{k}: {v}" for k, v in CONFIGS.items()))
        return
    log = RESULTS / "level_experiments.jsonl"
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in a.names:
        row = run(name)
        print(json.dumps(row), flush=True)
        with log.open("a") as f:
            f.write(json.dumps(row) + "\n")
        rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        (RESULTS / "level_experiments.md").write_text(table(rows))


if __name__ == "__main__":
    main()
