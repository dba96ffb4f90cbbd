"""Generation on onnxruntime + numpy: the exported decoder (and, for real assets, the encoder).

Never imports TensorFlow or Keras: sampling must start instantly and run where a game runs.
"""
from __future__ import annotations

import numpy as np

from genforge.bundle import Bundle
from genforge.core import calibrate, latent
from genforge.errors import GenforgeError, brief
from genforge.onnx_check import check_onnx


class OnnxNet:
    """One exported network: feeds z or grid, and the label one-hot when the model has labels.

    Loading checks the file first (genforge.onnx_check: genforge's own operators only, nothing read
    from other files), then, when given, each input's and output's size after the batch axis
    against what the model's metadata says (`inputs`, `outputs`: one tuple of sizes each)."""

    def __init__(self, path, n_labels: int, inputs: list[tuple[int, ...]] | None = None,
                 outputs: list[tuple[int, ...]] | None = None, threads: int | None = None):
        import onnxruntime as ort

        check_onnx(path)
        self.path = path
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:  # one: no thread pool, whose workers spin ~10 ms of CPU after every run (one window at a
            options.intra_op_num_threads = threads  # time, as the explorer decodes, gains nothing from a pool)
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # a truncated or foreign file: say which, not a C++ trace
            raise GenforgeError(f"{path}: cannot load the ONNX model: {brief(e)}") from None
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.n_labels = n_labels
        expected = 2 if n_labels else 1
        if len(self.inputs) != expected:
            raise GenforgeError(f"{path}: expected {expected} input(s), the file has {brief(self.inputs, 120)}")
        self.outputs = outputs
        for what, found, wanted in (("input", self.session.get_inputs(), inputs),
                                    ("output", self.session.get_outputs(), outputs)):
            if wanted is None:
                continue
            if len(found) < len(wanted):
                raise GenforgeError(f"{path}: the graph has {len(found)} {what}(s), the model's metadata needs "
                                    f"{len(wanted)}")
            for arg, sizes in zip(found, wanted):
                if [d for d in arg.shape[1:]] != list(sizes):
                    raise GenforgeError(f"{path}: {what} {brief(arg.name, 40)!r} is {brief(arg.shape, 80)}, but "
                                        f"genforge.json says [batch, {', '.join(map(str, sizes))}]")

    def __call__(self, x: np.ndarray, labels: np.ndarray | None, batch: int = 1024) -> list[np.ndarray]:
        outs = []
        for i in range(0, len(x), batch):
            feed = {self.inputs[0]: np.asarray(x[i:i + batch], np.float32)}
            if self.n_labels:
                feed[self.inputs[1]] = np.asarray(labels[i:i + batch], np.float32)
            try:
                got = self.session.run(None, feed)
            except Exception as e:  # onnxruntime's own errors: a graph that cannot compute what it declares
                raise GenforgeError(f"{self.path}: the ONNX model failed to run: {brief(e)}") from None
            for out, sizes in zip(got, self.outputs or []):
                if out.shape[1:] != tuple(sizes):
                    raise GenforgeError(f"{self.path}: the graph computed {out.shape[1:]}, not the "
                                        f"{tuple(sizes)} it declares")
            outs.append(got)
        if len(outs) == 1:  # no copy: a batch of level logits is 20 MB
            return outs[0]
        return [np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))]


def decoder(bundle: Bundle, threads: int | None = None) -> OnnxNet:
    """The decoder: (z [latent_dim], label [labels]) -> logits [shape], as genforge.json says.
    `threads`: onnxruntime's intra-op threads (None: its default, one per core)."""
    n = len(bundle.labels)
    return OnnxNet(bundle.file("decoder"), n, [(bundle.latent_dim,), (n,)][:1 + bool(n)],
                   [tuple(bundle.meta["shape"])] if "shape" in bundle.meta else None, threads)


def encoder(bundle: Bundle) -> OnnxNet:
    """The encoder: (grid [shape], label [labels]) -> (mean, log-variance) [latent_dim] each."""
    n = len(bundle.labels)
    shape = tuple(bundle.meta["shape"]) if "shape" in bundle.meta else None
    return OnnxNet(bundle.file("encoder"), n, None if shape is None else [shape, (n,)][:1 + bool(n)],
                   [(bundle.latent_dim,)] * 2)


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
    prior = bundle.prior
    if prior and prior.get("kind") == latent.MIXTURE:  # a mixture's components belong to labels: labels first,
        ids = pick_labels(bundle, condition, n, np.random.default_rng([seed, 20]))  # from a stream of their own
        return latent.draw(prior, rng, n, bundle.latent_dim, ids), ids
    z = latent.to_z(latent.sample_u(rng, n, bundle.latent_dim), prior)
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


MAX_REDRAWS = 20


def fingerprints(bundle: Bundle, codec, assets: np.ndarray, label_ids: np.ndarray) -> np.ndarray:
    """Fingerprints of assets, made the way the bundle's training windows' were: by the codec
    (`genforge.json` names its kind: music's are blind to key and padding), or, for runs before
    codecs had their own, of the cells as they are."""
    kind = getattr(codec, "fingerprint_kind", None)
    if kind is not None and bundle.meta.get("fingerprints") == kind:
        return codec.fingerprints(assets, label_ids)
    return latent.window_hashes(assets)


def redraw_copies(bundle: Bundle, codec, z: np.ndarray, label_ids: np.ndarray, seed: int,
                  net: OnnxNet | None = None, adjust=None) -> tuple[np.ndarray, int]:
    """Latents whose decoded window (as `sample` writes it, most likely values) is a training
    window, redrawn from the prior until none is (at most MAX_REDRAWS rounds): a generator that
    hands back its training data is no generator. The training windows' fingerprints come with
    the prior (runs before them: nothing to check). `adjust`: what the caller does to fresh draws
    (attribute vectors). Returns the latents and how many were redrawn."""
    known = (bundle.prior or {}).get("training_hashes")
    if known is None or not len(known):
        return z, 0
    rng = np.random.default_rng([seed, 21])
    net = net or decoder(bundle)
    z, todo, redrawn = np.array(z, copy=True), np.arange(len(z)), 0
    for _ in range(MAX_REDRAWS):
        assets = decode_assets(bundle, codec, z[todo], label_ids[todo], net=net)
        todo = todo[np.isin(fingerprints(bundle, codec, assets, label_ids[todo]), known)]
        if not len(todo):
            break
        fresh = latent.draw(bundle.prior, rng, len(todo), bundle.latent_dim, label_ids[todo])
        z[todo] = adjust(fresh) if adjust else fresh
        redrawn += len(todo)
    return z, redrawn


def encode(bundle: Bundle, grids: np.ndarray, label_ids: np.ndarray) -> np.ndarray:
    """Latent means of real grids (N, H, W, C)."""
    mean, _ = encoder(bundle)(grids, latent.one_hot(np.maximum(label_ids, 0), len(bundle.labels)))
    return mean
