"""Generation on onnxruntime + numpy: the exported decoder (and, for real assets, the encoder).

Never imports TensorFlow or Keras: sampling must start instantly and run where a game runs.
"""
from __future__ import annotations

import numpy as np

from genforge.bundle import Bundle
from genforge.core import calibrate, latent
from genforge.errors import GenforgeError


class OnnxNet:
    """One exported network: feeds z or grid, and the label one-hot when the model has labels."""

    def __init__(self, path, n_labels: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # a truncated or foreign file: say which, not a C++ trace
            raise GenforgeError(f"{path}: cannot load the ONNX model: {e}") from None
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.n_labels = n_labels
        expected = 2 if n_labels else 1
        if len(self.inputs) != expected:
            raise GenforgeError(f"{path}: expected {expected} input(s), the file has {self.inputs}")

    def __call__(self, x: np.ndarray, labels: np.ndarray | None, batch: int = 1024) -> list[np.ndarray]:
        outs = []
        for i in range(0, len(x), batch):
            feed = {self.inputs[0]: np.asarray(x[i:i + batch], np.float32)}
            if self.n_labels:
                feed[self.inputs[1]] = np.asarray(labels[i:i + batch], np.float32)
            outs.append(self.session.run(None, feed))
        if len(outs) == 1:  # no copy: a batch of level logits is 20 MB
            return outs[0]
        return [np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))]


def decoder(bundle: Bundle) -> OnnxNet:
    return OnnxNet(bundle.file("decoder"), len(bundle.labels))


def encoder(bundle: Bundle) -> OnnxNet:
    return OnnxNet(bundle.file("encoder"), len(bundle.labels))


def check_count(n: int, name: str = "-n", most: int = 100_000) -> None:
    if n < 1 or n > most:
        raise GenforgeError(f"{name} must be between 1 and {most:,}, got {n}")


def pick_labels(bundle: Bundle, condition: str | None, n: int, rng: np.random.Generator) -> np.ndarray:
    """The label of each sample (-1: unconditional). A condition that names one label gives it to
    every sample; one that names several (Bundle.label_ids), or none, draws a label per sample among
    them, in proportion to the training windows per label when the run records them (runs before
    that: uniformly, the same draws as ever)."""
    found = bundle.label_ids(condition)
    if not bundle.labels:
        return np.full(n, -1, np.int64)
    if found is not None and len(found) == 1:
        return np.full(n, found[0], np.int64)
    counts = bundle.label_counts
    if found is None and counts is None:
        return rng.integers(0, len(bundle.labels), n)
    among = np.arange(len(bundle.labels)) if found is None else np.asarray(found, np.int64)
    weights = None if counts is None else np.asarray(counts, np.float64)[among]
    if weights is None or weights.sum() <= 0:
        return among[rng.integers(0, len(among), n)]
    return among[rng.choice(len(among), n, p=weights / weights.sum())]


def sample_latents(bundle: Bundle, n: int, seed: int, condition: str | None):
    """(z, label ids) for `n` samples; the same seed always gives the same draws."""
    check_count(n)
    rng = np.random.default_rng(seed)
    z = latent.to_z(latent.sample_u(rng, n, bundle.latent_dim), bundle.prior)
    return z, pick_labels(bundle, condition, n, rng)


def decode(bundle: Bundle, z: np.ndarray, label_ids: np.ndarray, net: OnnxNet | None = None,
           calibrated: bool = True) -> np.ndarray:
    """Decoder logits. `calibrated`: with the bundle's offsets that give samples from the prior
    the training data's class frequencies (genforge.core.calibrate); leave them out to decode the
    code of a real asset, which the decoder reconstructs best as it is."""
    net = net or decoder(bundle)
    logits = net(z, latent.one_hot(np.maximum(label_ids, 0), len(bundle.labels)))[0]
    return calibrate.apply_bias(logits, bundle.logit_bias, label_ids) if calibrated else logits


def decode_assets(bundle: Bundle, codec, z: np.ndarray, label_ids: np.ndarray, rng: np.random.Generator | None = None,
                  temperature: float = 0.0, net: OnnxNet | None = None, calibrated: bool = True,
                  repair: bool = True) -> np.ndarray:
    """Latents -> the codec's assets, as generation writes them: decoded (argmax, or drawn at a
    temperature), then, for codecs that can (levels), with broken multi-tile structures mended
    the way the decoder finds most likely (`repair`; False gives the decoder's raw output)."""
    logits = decode(bundle, z, label_ids, net, calibrated)
    assets = codec.from_logits(logits, rng, temperature)
    if repair and hasattr(codec, "repair"):
        assets = codec.repair(assets, logits, label_ids)
    return assets


def encode(bundle: Bundle, grids: np.ndarray, label_ids: np.ndarray) -> np.ndarray:
    """Latent means of real grids (N, H, W, C)."""
    mean, _ = encoder(bundle)(grids, latent.one_hot(np.maximum(label_ids, 0), len(bundle.labels)))
    return mean
