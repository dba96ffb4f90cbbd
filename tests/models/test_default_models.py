"""The bundled default level model: it samples right after install, its model card's figures hold
when recomputed from the shipped weights, and its engine export works with onnxruntime alone."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from support import SMB, needs_vglc, run_exported_readme

from genforge import runtime
from genforge.bundle import default_model, open_bundle
from genforge.domains.levels.codec import LevelCodec
from genforge.domains.levels.grid import cut_windows, place_in, to_indices
from genforge.domains.levels.read import read_vglc_text

MODEL = default_model("levels")


def test_bundled_model_samples_with_no_model_argument(tmp_path):
    out = tmp_path / "levels"
    done = subprocess.run([sys.executable, "-m", "genforge", "sample", "levels", "-n", "3", "--seed", "7",
                           "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    texts = sorted(out.glob("*.txt"))
    assert len(texts) == 3 and len(list(out.glob("*.tmj"))) == 3
    vocabulary = open_bundle(MODEL).meta["codec"]["vocabulary"]
    for t in texts:
        rows = t.read_text().splitlines()
        assert len(rows) == 14 and {len(r) for r in rows} == {28} and set("".join(rows)) <= set(vocabulary)
        assert sum(c != "-" for c in "".join(rows)) > 10, "a level, not an empty sky"
        assert "X" in rows[-1] or "X" in rows[-2], "Mario levels stand on ground"


def test_recorded_metrics_meet_the_bars():
    m = open_bundle(MODEL).meta["metrics"]
    smb = m["test"]["per_label"]["Super Mario Bros"]
    assert smb["accuracy"] >= 0.98 and smb["accuracy_non_empty"] >= 0.90
    assert m["onnx_max_abs_diff"] < 1e-4


@needs_vglc
def test_held_out_accuracy_recomputed_from_the_shipped_weights():
    """Encode and decode every window of the held-out SMB levels through the shipped ONNX files."""
    bundle = open_bundle(MODEL)
    codec = LevelCodec.from_meta(bundle.meta)
    label = bundle.labels.index("Super Mario Bros")
    game = codec.game(label)
    legend = codec.legend(label)
    windows = np.concatenate([
        cut_windows(read_vglc_text(SMB / f"{name}.txt", legend, game["name"]), game["layout"],
                    tuple(game["window"]), game["empty"])
        for name in bundle.split["Super Mario Bros"]["test"]])
    truth = to_indices(place_in(windows, codec.shape, game["empty"]), codec.vocabulary)
    ids = np.full(len(truth), label)
    z = runtime.encode(bundle, codec.to_onehot(truth), ids)
    pred = codec.from_logits(runtime.decode(bundle, z, ids, calibrated=False))
    scores = codec.metrics(truth, pred, ids)
    recorded = bundle.meta["metrics"]["test"]["per_label"]["Super Mario Bros"]
    assert scores["windows"] == recorded["windows"]
    assert scores["accuracy"] == pytest.approx(recorded["accuracy"], abs=1e-3)
    assert scores["accuracy_non_empty"] == pytest.approx(recorded["accuracy_non_empty"], abs=2e-3)
    assert scores["accuracy"] >= 0.98 and scores["accuracy_non_empty"] >= 0.90


@needs_vglc
def test_mixture_samples_are_harder_to_tell_from_the_data_than_a_single_gaussians():
    """The bundled prior against the single Gaussian genforge drew from before (fitted to the same
    codes): a classifier tells the mixture's SMB samples from SMB training windows less well.
    Measured here: AUC 0.62 against 0.94 (400 samples each)."""
    from genforge.core import latent
    from genforge.evaluate.common import two_sample_auc
    from genforge.evaluate.levels import window_features

    bundle = open_bundle(MODEL)
    codec = LevelCodec.from_meta(bundle.meta)
    label = bundle.labels.index("Super Mario Bros")
    game = codec.game(label)
    windows = np.concatenate([
        cut_windows(read_vglc_text(SMB / f"{name}.txt", codec.legend(label), game["name"]), game["layout"],
                    tuple(game["window"]), game["empty"])
        for name in bundle.split["Super Mario Bros"]["train"]])
    training = to_indices(place_in(windows, codec.shape, game["empty"]), codec.vocabulary)
    mixture = bundle.prior
    mine = mixture["labels"] == label
    gaussian = latent.fit_prior(mixture["means"][mine].astype(np.float64))
    n, rng = 400, np.random.default_rng(0)
    ids = np.full(n, label)
    depth = len(codec.vocabulary)
    auc = {}
    for name, z in (("mixture", latent.draw(mixture, rng, n, bundle.latent_dim, ids)),
                    ("gaussian", latent.draw(gaussian, rng, n, bundle.latent_dim, ids))):
        samples = codec.from_logits(runtime.decode(bundle, z, ids))
        auc[name] = two_sample_auc(window_features(samples, depth), window_features(training, depth))
    assert auc["mixture"] < auc["gaussian"] - 0.1, auc
    assert auc["mixture"] < 0.85, auc


def test_keras_decoder_reloads_and_agrees_with_onnx():
    keras = pytest.importorskip("keras")
    bundle = open_bundle(MODEL)
    net = keras.saving.load_model(MODEL / "decoder.keras", compile=False)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((16, bundle.latent_dim)).astype(np.float32)
    ids = rng.integers(0, len(bundle.labels), 16)
    y = np.eye(len(bundle.labels), dtype=np.float32)[ids]
    assert np.abs(net.predict_on_batch([z, y]) - runtime.decode(bundle, z, ids, calibrated=False)).max() < 1e-4


def test_engine_package_runs_with_onnxruntime_alone(tmp_path):
    """Follow only the exported README: its Python block, run where genforge cannot be imported."""
    pkg = tmp_path / "pkg"
    run = run_exported_readme(MODEL, pkg)
    assert run.returncode == 0, run.stderr
    sidecar = json.loads((pkg / "genforge-decoder.json").read_text())
    # what an engine's runtime must support: genforge's matrix-product graph (core/onnx_decoder.py)
    assert sidecar["onnx"] == {"opset": 15, "operators": ["Concat", "Gemm", "MatMul", "Relu", "Reshape", "Slice"]}
    rows = run.stdout.splitlines()
    h, w = sidecar["levels"]["games"][0]["window"]
    assert len(rows) == h and {len(r) for r in rows} == {w}
    assert set("".join(rows)) <= set(sidecar["levels"]["vocabulary"])
    assert "X" in "".join(rows[-2:]), "the decoded window is a level with ground, not noise"


def test_bundled_music_model_samples_and_meets_its_card():
    music = default_model("music")
    m = open_bundle(music).meta["metrics"]
    assert m["test"]["onset_f1"] >= 0.95 and m["onnx_max_abs_diff"] < 1e-4
    pm = pytest.importorskip("pretty_midi")
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run([sys.executable, "-m", "genforge", "sample", "music", "-n", "2", "--seed", "3",
                               "--out", out], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        mids = sorted(Path(out).glob("*.mid"))
        assert len(mids) == 2
        for mid in mids:
            parsed = pm.PrettyMIDI(str(mid))
            assert [i.name for i in parsed.instruments] == ["Soprano", "Alto", "Tenor", "Bass"]
            assert sum(len(i.notes) for i in parsed.instruments) >= 16, "four bars of four voices have notes"


def test_music_engine_package_runs_with_onnxruntime_alone(tmp_path):
    """The music package: its README turns the raw-float32 prior and the decoder into note
    probabilities of the sidecar's shape, without genforge and without a numeric warning."""
    pkg = tmp_path / "music"
    run = run_exported_readme(default_model("music"), pkg, "\nprint(probs.shape, float(probs.min()), "
                              "float(probs.max()), float((probs > 0.5).mean()))\n")
    assert run.returncode == 0, run.stderr
    sidecar = json.loads((pkg / "genforge-decoder.json").read_text())
    prior = sidecar["latent_prior"]  # the aggregate posterior: a component per training window, per label
    assert prior["kind"] == "mixture" and (pkg / prior["file"]).is_file()
    assert len(prior["components_per_label"]) == len(sidecar["labels"]) == len(open_bundle(default_model("music")).labels)
    assert sum(count for _, count in prior["components_per_label"]) == prior["components"]
    shape, low, high, on = run.stdout.split(")")[0] + ")", *map(float, run.stdout.split(")")[1].split())
    assert shape == str((4, *sidecar["output"]["shape"][1:])) and 0 <= low <= high <= 1
    assert 0.001 < on < 0.1, "a few percent of cells on: notes, not silence or noise"
