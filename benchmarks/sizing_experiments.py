"""Own-data experiments: each game trained alone with the default schedule, the latent channels per
cell fixed or sized from the data (genforge.core.sizing), training windows mirrored or not.

    python benchmarks/sizing_experiments.py NAME [NAME ...]      # --list shows the names

Results are appended to benchmarks/results/sizing_experiments.jsonl and the table
benchmarks/results/sizing_experiments.md is rewritten from it. Runs land in outputs/experiments/sizing/.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "vglc"
RESULTS = ROOT / "benchmarks" / "results"

# name -> (game, changes to LEVELS_MODEL, mirror: None = the default rule)
CONFIGS: dict[str, tuple[str, dict, bool | None]] = {
    "sml-4": ("Super Mario Land", {"latent_from_data": False, "latent_dim": 128}, None),
    "sml-8": ("Super Mario Land", {"latent_from_data": False, "latent_dim": 256}, None),
    "sml-12": ("Super Mario Land", {"latent_from_data": False, "latent_dim": 384}, None),
    "sml-16": ("Super Mario Land", {"latent_from_data": False, "latent_dim": 512}, None),
    "sml-4-deterministic": ("Super Mario Land", {"latent_from_data": False, "latent_dim": 128,
                                                 "variational": False, "beta": 0.0}, None),
    "sml-4-beta0.05": ("Super Mario Land", {"latent_from_data": False, "latent_dim": 128, "beta": 0.05}, None),
    "ki-4": ("Kid Icarus", {"latent_from_data": False, "latent_dim": 64}, False),
    "ki-sized": ("Kid Icarus", {}, False),
    "ki-sized-mirrored": ("Kid Icarus", {}, None),
    "zelda-4": ("The Legend of Zelda", {"latent_from_data": False, "latent_dim": 48}, False),
    "zelda-sized": ("The Legend of Zelda", {}, False),
    "zelda-sized-mirrored": ("The Legend of Zelda", {}, None),
}


def run(name: str) -> dict:
    from genforge import config
    from genforge.domains.levels.codec import LevelCodec
    from genforge.domains.levels.dataset import build_dataset
    from genforge.train import train_run

    game, changes, mirror = CONFIGS[name]
    ds = build_dataset([DATA / game], seed=0, mirror=mirror)
    out = ROOT / "outputs" / "experiments" / "sizing" / name
    started = time.perf_counter()
    train_run(LevelCodec.from_dataset(ds), ds.splits, out, config.replace(config.LEVELS_MODEL, **changes),
              config.LEVELS_TRAIN, f"benchmarks/sizing_experiments.py {name}", ds.notes, quiet=True)
    meta = json.loads((out / "genforge.json").read_text())
    m, h = meta["metrics"], meta["history"]
    return {"name": name, "game": game, "changes": changes, "mirror": mirror, "latent_dim": meta["latent_dim"],
            "epochs": h["epochs_run"], "epochs_planned": h["epochs_planned"], "best_epoch": h["best_epoch"],
            "wall_seconds": round(time.perf_counter() - started),
            "train": [round(m["train"]["accuracy"], 4), round(m["train"]["accuracy_non_empty"], 4)],
            "test": [round(m["test"]["accuracy"], 4), round(m["test"]["accuracy_non_empty"], 4)],
            "baseline": [round(m["baseline"]["accuracy"], 4), round(m["baseline"]["accuracy_non_empty"], 4)]}


def table(rows: list[dict]) -> str:
    lines = ["# Own-data experiments: latent channels and mirroring, each game alone", "",
             "Written by `benchmarks/sizing_experiments.py`: the default level configuration and schedule (4,000 "
             "updates, early stopping on smoothed validation accuracy), seed-0 split of whole levels; "
             "accuracy / non-empty accuracy of reconstructions. Shared 2-core machine.", "",
             "| run | game | changes | mirrored | latent | epochs (planned, best) | wall s | train | held-out | "
             "baseline |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mirrored = {None: "by rule", True: "yes", False: "no"}[r["mirror"]]
        lines.append(f"| {r['name']} | {r['game']} | {json.dumps(r['changes'])} | {mirrored} | {r['latent_dim']} | "
                     f"{r['epochs']} ({r['epochs_planned']}, {r['best_epoch']}) | {r['wall_seconds']} | "
                     f"{r['train'][0]} / {r['train'][1]} | **{r['test'][0]} / {r['test'][1]}** | "
                     f"{r['baseline'][0]} / {r['baseline'][1]} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list or not a.names:
        print("\n".join(f"{k}: {v}" for k, v in CONFIGS.items()))
        return
    log = RESULTS / "sizing_experiments.jsonl"
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in a.names:
        row = run(name)
        print(json.dumps(row), flush=True)
        with log.open("a") as f:
            f.write(json.dumps(row) + "\n")
        rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        (RESULTS / "sizing_experiments.md").write_text(table(rows))


if __name__ == "__main__":
    main()
