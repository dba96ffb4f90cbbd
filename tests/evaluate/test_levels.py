"""`genforge evaluate levels` and its measures: novelty, diversity, tile-pattern KL, and a report
with every figure for the samples and the held-out levels."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from support import KID_ICARUS, REPO, SMB, invoke, needs_vglc

from genforge.evaluate.common import hamming_nearest, mean_pairwise
from genforge.evaluate.levels import kl_divergence, pattern_counts


def test_measures():
    a = np.zeros((3, 2, 2), int)
    b = a.copy()
    b[1, 0, 0] = 1
    assert hamming_nearest(b, a).tolist() == [0.0, 0.25, 0.0]
    assert mean_pairwise(b) == pytest.approx((0.25 + 0 + 0.25) / 3)
    p = pattern_counts(np.array([[[0, 1], [1, 0]]]), 2, 2)
    assert sum(p.values()) == 1
    assert kl_divergence({1: 5, 2: 5}, {1: 5, 2: 5}) == 0.0
    assert kl_divergence({1: 9, 2: 1}, {1: 1, 2: 9}) > 0.5
    assert kl_divergence({1: 9}, {2: 9}) == pytest.approx(kl_divergence({2: 9}, {1: 9}))


def test_evaluate_does_not_import_tensorflow():
    code = ("import sys, genforge.evaluate.levels, genforge.domains.levels.playability; "
            "print('tensorflow' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert res.stdout.strip() == "False", res.stderr


@needs_vglc
def test_evaluate_needs_the_corpus(tiny_model, tmp_path):
    """A model whose recorded training data is not where it says (the bundle records it, so a
    model next to its data needs no --data): one message naming --data."""
    model = tmp_path / "moved"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns("*.keras", "checkpoints"))
    meta = json.loads((model / "genforge.json").read_text())
    meta["data"] = ["/nowhere/smb"]
    (model / "genforge.json").write_text(json.dumps(meta))
    out = tmp_path / "eval"
    res = invoke("evaluate", "levels", "--model", model, "-n", "8", "--out", out)
    assert res.returncode == 2 and "--data" in res.stderr and not out.exists()
    res = invoke("evaluate", "levels", "--model", model, "-n", "8", "--out", out,
                 "--data", KID_ICARUS)
    assert res.returncode == 2 and "not a game of this model" in res.stderr and not out.exists()


@needs_vglc
def test_evaluate_writes_every_figure_for_samples_and_held_out(tiny_model, tmp_path):
    out = tmp_path / "eval"
    res = invoke("evaluate", "levels", "--model", tiny_model, "-n", "24", "--out", out,
                 "--data", SMB)
    assert res.returncode == 0, res.stderr
    assert "playable" in res.stdout
    report = json.loads((out / "report.json").read_text())
    e = report["games"]["Super Mario Bros"]
    assert e["windows"]["samples"] == 24 and e["windows"]["held_out"] > 0
    for key in ("playable", "broken_structures"):
        assert all(isinstance(e[key][s], float) for s in ("samples", "held_out", "training"))
    for s in ("samples", "held_out"):
        assert isinstance(e["novelty"][s]["mean"], float) and isinstance(e["diversity"][s], float)
        for k in ("kl_2x2", "kl_3x3"):
            assert e[k][s]["training_vs_set"] >= 0 and e[k][s]["set_vs_training"] >= 0
    assert {"density", "enemies", "gap_columns", "pipes", "leniency"} <= set(e["stats"])
    for row in e["stats"].values():
        assert all(row[s]["mean"] is not None for s in ("samples", "held_out", "training"))
    # Held-out windows are real: the checker passes them all, and none is a training window's twin more
    # often than a real level repeats another's.
    assert e["playable"]["held_out"] >= 0.95
    for name in ("expressive_range.png", "pca.png", "stats.png", "checks.png"):
        with Image.open(out / name) as im:
            assert im.size[0] > 300
    md = (out / "report.md").read_text()
    assert "| playable share |" in md and "held-out" in md
    assert not list(out.glob(".*.tmp"))
    # the raw decoder output is measured too, beside what `sample levels` writes (structures mended)
    assert e["broken_structures"]["samples"] == 0 and 0 <= e["raw_decoder"]["broken_structures"] <= 1
    assert "raw decoder output" in md


@needs_vglc
def test_evaluate_draws_a_tsne_map_on_request(tiny_model, tmp_path):
    out = tmp_path / "eval"
    res = invoke("evaluate", "levels", "--model", tiny_model, "-n", "16", "--out", out,
                 "--data", SMB, "--map", "tsne")
    assert res.returncode == 0, res.stderr
    assert "tsne.png" in json.loads((out / "report.json").read_text())["figures"]
    assert not (out / "pca.png").exists()
    with Image.open(out / "tsne.png") as im:
        assert im.size[0] > 300
    res = invoke("evaluate", "levels", "--model", tiny_model, "-n", "4", "--out",
                 tmp_path / "other", "--data", SMB, "--map", "umap")
    assert res.returncode == 2 and "unknown --map 'umap'" in res.stderr
