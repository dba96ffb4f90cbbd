"""Train a bundled default model with genforge's own command; record wall time, peak memory and
the held-out metrics; with --install, copy the generation files into genforge/models/<domain>/
and write its model card.

    python benchmarks/train_default.py levels --install
    python benchmarks/train_default.py levels --reexport   # decoder.onnx again, from decoder.keras

Results: benchmarks/results/train_<domain>.json and .md. The corpora come from ../shared/datasets.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path("..") / "shared" / "datasets"  # relative to ROOT, where the command runs: results record no machine paths
RESULTS = ROOT / "benchmarks" / "results"

COMMANDS = {
    "levels": ["train", "levels", "--data", str(DATA / "vglc" / "Super Mario Bros"),
               "--data", str(DATA / "vglc" / "Super Mario Bros 2 (Japan)"), "--seed", "0",
               # the default 4,000 updates are 56 passes over these 4,595 windows, where held-out accuracy is
               # still rising (0.898 non-empty on held-out SMB; 0.908 after 60 passes)
               "--epochs", "80"],
    # the plain default schedule (1,800 updates: about 10 epochs of the transposed windows of every metre)
    "music": ["train", "music", "--data", str(DATA / "midi" / "bach_chorales_music21"), "--seed", "0"],
}


def run(domain: str, out: Path) -> dict:
    out = out.resolve()
    shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    args = COMMANDS[domain] + ["--out", str(shown), "--quiet"]
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "genforge", *args], check=True, cwd=ROOT)
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: kB
    meta = json.loads((out / "genforge.json").read_text())
    return {"domain": domain, "command": "genforge " + " ".join(args), "wall_seconds": round(wall, 1),
            "peak_memory_mb": round(peak_mb), "epochs_run": meta["history"]["epochs_run"],
            "fit_seconds": round(meta["history"]["seconds"], 1), "metrics": meta["metrics"]}


def markdown(r: dict) -> str:
    m = r["metrics"]
    lines = [f"# Training the default {r['domain']} model", "",
             f"`{r['command']}`", "",
             "| measure | value |", "|---|---|",
             f"| wall time (whole command) | {r['wall_seconds']} s |",
             f"| of which fitting | {r['fit_seconds']} s over {r['epochs_run']} epochs |",
             f"| peak memory (RSS) | {r['peak_memory_mb']} MB |"]
    for split in ("train", "validation", "test"):
        s = m[split]
        lines.append(f"| {split}: per-cell accuracy / non-empty | {s['accuracy']:.4f} / {s['accuracy_non_empty']:.4f} "
                     f"({s['windows']} windows) |")
        if "onset_f1" in s:
            lines.append(f"| {split}: note-onset F1 (precision / recall) | {s['onset_f1']:.4f} "
                         f"({s['onset_precision']:.4f} / {s['onset_recall']:.4f}) |")
        for name, ps in s.get("per_label", {}).items():
            lines.append(f"| {split}, {name} | {ps['accuracy']:.4f} / {ps['accuracy_non_empty']:.4f} "
                         f"({ps['windows']} windows) |")
    lines.append(f"| samples identical to a training window | {m['samples']['share_identical_to_training']:.2%} "
                 f"of {m['samples']['n']} |")
    lines.append(f"| ONNX vs Keras decoder, max abs logit difference | {m['onnx_max_abs_diff']:.2e} |")
    return "\n".join(lines) + "\n"


def install(domain: str, out: Path, result: dict) -> Path:
    target = ROOT / "genforge" / "models" / domain
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in ("genforge.json", "prior.npz", "decoder.onnx", "encoder.onnx", "decoder.keras", "encoder.keras",
                 "samples.png"):
        shutil.copy2(out / name, target / name)
    meta = json.loads((out / "genforge.json").read_text())
    if domain == "levels":
        split = "\n".join(f"- {game}: trained on {len(parts['train'])} levels, validated on "
                          f"{', '.join(parts['validation'])}; held out for the metrics: {', '.join(parts['test'])}"
                          for game, parts in meta["split"].items())
        corpus = "the Video Game Level Corpus (MIT licence)"
    else:
        split = "\n".join(f"- {n}" for n in meta.get("notes", []))
        corpus = "the Bach chorales of the music21 corpus (public-domain music; music21 corpus licence)"
    card = [f"# Model card: genforge's default {domain} model", "",
            f"Trained by genforge's own command on {corpus}; see `datasets/README.md`. "
            "Only weights ship, never the corpus files.", "",
            "## Command", "", "```", result["command"], "```", "",
            "## Data split (whole levels or pieces)", "", split, "",
            "## Configuration", "", "```json", json.dumps(meta["model_config"], indent=2), "```", "",
            "## Measured", "", markdown(result).split("\n", 4)[4],
            "Reconstruction metrics use each held-out window's latent mean. Levels: accuracy per tile on every "
            "stride-1 window of the held-out levels; non-empty: tiles whose true value is not the empty tile. "
            "Music: note-onset precision, recall and F1 on 4-bar windows of held-out chorales.", ""]
    (target / "MODEL_CARD.md").write_text("\n".join(card))
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("domain", choices=sorted(COMMANDS))
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "runs" / "default")
    parser.add_argument("--install", action="store_true", help="copy the model into genforge/models/")
    parser.add_argument("--reexport", action="store_true",
                        help="no training: rewrite the installed model's decoder.onnx from its decoder.keras "
                             "(after a change to the ONNX export)")
    a = parser.parse_args()
    if a.reexport:
        from genforge.train import reexport_decoder

        target = ROOT / "genforge" / "models" / a.domain
        diff = reexport_decoder(target)
        card = target / "MODEL_CARD.md"
        line = "| ONNX vs Keras decoder, max abs logit difference |"
        card.write_text("\n".join(f"{line} {diff:.2e} (decoder.onnx re-exported from decoder.keras by "
                                  f"`python benchmarks/train_default.py {a.domain} --reexport`) |"
                                  if row.startswith(line) else row for row in card.read_text().split("\n")))
        print("max abs logit difference to Keras:", diff)
        return
    out = a.out / a.domain
    if out.exists():
        shutil.rmtree(out)
    result = run(a.domain, out)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"train_{a.domain}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"train_{a.domain}.md").write_text(markdown(result))
    print(markdown(result))
    if a.install:
        print("installed", install(a.domain, out, result))


if __name__ == "__main__":
    main()
