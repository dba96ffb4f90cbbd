"""Music statistics of a trained model's samples next to the data's: in-scale share for the asked
mode, estimated-mode agreement, polyphony, pitch classes per bar, empty-bar rate, qualified-note rate.

    python benchmarks/music_sample_stats.py RUN [--n 500] [--data FOLDER]

Samples are drawn as `genforge sample music` draws them (onnxruntime, temperature 0), per
condition. "In the asked mode's scale": the share of onsets inside the best-fitting scale of that
mode (tonic free; a mode-conditioned model is told major or minor, not the tonic). The data rows
use the held-out test windows of the same split (whole pieces never trained on). Results go to
benchmarks/results/music_sample_stats_<run name>.json and .md.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def mode_scale_share(grids: np.ndarray, mode: str, low: int) -> float:
    """Share of onsets inside the best-fitting scale of `mode`, per window, pooled over windows."""
    from genforge.domains import music as M

    inside = total = 0
    onsets = np.count_nonzero(grids[..., 0::2], axis=(1, 3))                          # (N, P)
    pcs = (low + np.arange(grids.shape[2])) % 12
    scales = np.array([[pc in M.scale_pitch_classes(t, mode) for pc in range(12)] for t in range(12)])
    for row in onsets:
        if not row.any():
            continue
        best = max(int(row[scales[t][pcs]].sum()) for t in range(12))
        inside, total = inside + best, total + int(row.sum())
    return inside / total if total else float("nan")


def describe(grids: np.ndarray, codec, mode: str | None) -> dict:
    from genforge.domains import music as M

    stats = M.music_stats(grids, codec.steps_per_bar, codec.low)
    out = {k: stats[k] for k in ("polyphony", "pitch_classes_per_bar", "empty_bar_rate", "qualified_note_rate",
                                 "in_scale_share")}
    out["windows"] = int(len(grids))
    out["notes_per_bar"] = float(np.mean([len(M.grid_notes(g)) for g in grids]) / codec.bars)
    out["silent_windows"] = float(np.mean([not g.any() for g in grids]))
    if mode:
        out["in_asked_mode_scale"] = mode_scale_share(grids, mode, codec.low)
        keys = M.window_keys(grids, codec.low)
        busy = grids.any(axis=(1, 2, 3))
        out["estimated_mode_agrees"] = float(np.mean((keys[busy] // 12) == M.MODES.index(mode))) if busy.any() \
            else float("nan")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "midi" /
                    "bach_chorales_music21")
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from genforge import runtime
    from genforge.bundle import open_bundle
    from genforge.config import TrainConfig, from_dict
    from genforge.domains import codec_for
    from genforge.domains.music import build_dataset

    bundle = open_bundle(a.run, "music")
    codec = codec_for(bundle.meta)
    tc = from_dict(TrainConfig, bundle.meta["train_config"])
    ds = build_dataset([a.data], bars=codec.bars, test=tc.test_levels, validation=tc.validation_levels,
                       seed=tc.seed, transpose=0, labels="mode" if bundle.labels == ["major", "minor"] else None)
    rows = {}
    test, ids = ds.splits["test"]
    for i, mode in enumerate(ds.labels or [None]):
        sel = test[ids == i] if ds.labels else test
        rows[f"data (held-out windows), {mode or 'all'}"] = describe(sel, codec, mode)
    for mode in bundle.labels or [None]:
        z, lab = runtime.sample_latents(bundle, a.n, 0, mode)
        grids = codec.from_logits(runtime.decode(bundle, z, lab))
        rows[f"samples, --condition {mode}" if mode else "samples"] = describe(grids, codec, mode)
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = a.run.name
    (RESULTS / f"music_sample_stats_{name}.json").write_text(json.dumps(rows, indent=2) + "\n")
    cols = ["windows", "in_asked_mode_scale", "estimated_mode_agrees", "in_scale_share", "polyphony",
            "pitch_classes_per_bar", "empty_bar_rate", "qualified_note_rate", "notes_per_bar", "silent_windows"]
    lines = [f"# Samples of `{a.run}` next to the data", "",
             f"{a.n} samples per condition (seed 0, temperature 0). in_asked_mode_scale: onsets inside the "
             "best-fitting scale of the asked mode; in_scale_share: inside each window's own estimated key.", "",
             "| rows | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for k, r in rows.items():
        lines.append(f"| {k} | " + " | ".join("-" if r.get(c) is None else f"{r[c]:.3f}" if isinstance(r[c], float)
                                               else str(r[c]) for c in cols) + " |")
    (RESULTS / f"music_sample_stats_{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
