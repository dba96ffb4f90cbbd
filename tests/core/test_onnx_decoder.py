"""genforge's own ONNX decoder graph computes exactly what the Keras decoder computes, for every
shape it accepts (odd sizes cropped on either axis, with or without labels, two or three levels)."""
from __future__ import annotations

import numpy as np
import pytest
from support import REPO

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from genforge.config import LEVELS_MODEL, MUSIC_MODEL, ModelConfig, replace  # noqa: E402
from genforge.core import onnx_decoder  # noqa: E402
from genforge.core.networks import build_decoder, latent_size  # noqa: E402

MODELS = REPO / "genforge" / "models"
CASES = [  # (grid shape, labels, config)
    ((14, 28, 13), 2, LEVELS_MODEL),                                                     # the default
    ((11, 9, 5), 0, replace(LEVELS_MODEL, latent_dim=24)),                               # rows and columns cut
    ((16, 22, 4), 3, ModelConfig(filters=(8, 8, 8), decoder_filters=(4, 6, 8), bottleneck="grid",
                                 kernel=(3, 5), up_kernel=(2, 2))),                      # 3 levels, wide kernel
]


def _random_weights(net, rng):
    # non-zero biases too: a misplaced bias or constant channel must show in the output
    net.set_weights([rng.normal(0, 0.4, w.shape).astype(np.float32) for w in net.get_weights()])


@pytest.mark.parametrize("shape, n_labels, config", CASES)
def test_gemm_graph_matches_keras(shape, n_labels, config):
    assert onnx_decoder.qualifies(config)
    rng = np.random.default_rng(0)
    net = build_decoder(shape, n_labels, config)
    _random_weights(net, rng)
    z = rng.standard_normal((37, latent_size(shape, config))).astype(np.float32)
    feed = {"z": z}
    if n_labels:
        feed["label"] = np.eye(n_labels, dtype=np.float32)[rng.integers(0, n_labels, 37)]
    expected = keras.ops.convert_to_numpy(net(list(feed.values())))
    graph = onnx_decoder.decoder_graph(net, shape, n_labels, config)
    got = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)[0]
    assert got.shape == expected.shape == (37, *shape)
    assert np.abs(got - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())
    assert [i.name for i in graph.graph.input] == list(feed) and graph.graph.output[0].name == "logits"


def test_other_decoders_keep_keras_export():
    assert not onnx_decoder.qualifies(MUSIC_MODEL)  # 3 x 5 upsampling kernels overlap
    assert not onnx_decoder.qualifies(replace(LEVELS_MODEL, bottleneck="dense"))
    assert not onnx_decoder.qualifies(replace(LEVELS_MODEL, global_dim=8))


def test_bundled_level_decoder_is_the_gemm_graph():
    """The default model's decoder.onnx is the fast graph (re-exported by
    `benchmarks/train_default.py levels --reexport`), not Keras' ConvTranspose export."""
    ops = {n.op_type for n in onnx.load(MODELS / "levels" / "decoder.onnx").graph.node}
    assert "Gemm" in ops and not ops & {"ConvTranspose", "Conv", "Transpose"}


def test_training_writes_the_gemm_graph_and_checks_it_against_keras(tmp_path):
    """Through `train_levels`, as `genforge train levels` runs it: a qualifying config gets the
    Gemm graph, and the bundle's recorded ONNX-vs-Keras difference is small."""
    import json
    import warnings

    from support import SMB

    if not SMB.is_dir():
        pytest.skip("the VGLC corpus (../shared/datasets/vglc) is absent")
    from genforge.config import TrainConfig
    from genforge.train import train_levels

    config = replace(LEVELS_MODEL, filters=(8, 16), decoder_filters=(4, 8), latent_dim=28)
    with warnings.catch_warnings():  # Keras's ONNX export (the encoder's) trips a NumPy FutureWarning
        warnings.simplefilter("ignore", FutureWarning)
        run = train_levels([str(SMB)], tmp_path / "run", config, TrainConfig(epochs=1), command="test", quiet=True)
    ops = {n.op_type for n in onnx.load(run / "decoder.onnx").graph.node}
    assert "Gemm" in ops and "ConvTranspose" not in ops
    assert json.loads((run / "genforge.json").read_text())["metrics"]["onnx_max_abs_diff"] < 1e-4
