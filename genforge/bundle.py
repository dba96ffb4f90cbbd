"""The run bundle: a self-describing folder that training writes and generation reads.

    genforge.json     what the model is: domain, shape, latent size, labels, codec metadata
                      (tile vocabulary and legends...), configs, the exact command, metrics
    decoder.onnx      what generation runs (onnxruntime + numpy, no TensorFlow)
    prior.npz         the Gaussian fitted to the training codes that sampling draws from
                      (binary: a 768-d prior is 2 MB of floats, 9 MB and slow to parse as JSON)
    encoder.onnx      loaded only to encode a real asset (interpolation from files)
    decoder.keras     for training further / inspecting with Keras
    encoder.keras
    checkpoints/      weights after the latest epoch
    samples.png       a look at what the model makes

No TensorFlow here: this module is on the sampling path.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genforge import __version__
from genforge.atomic import atomic_path, write_json
from genforge.errors import GenforgeError

META_FILE = "genforge.json"
PRIOR_FILE = "prior.npz"
FORMAT = "genforge-run"
FORMAT_VERSION = 1  # bump when a bundle written before can no longer be read as it is


@dataclass
class Bundle:
    path: Path
    meta: dict

    @property
    def domain(self) -> str:
        return self.meta["domain"]

    @property
    def labels(self) -> list[str]:
        return self.meta["labels"]

    @property
    def latent_dim(self) -> int:
        return self.meta["latent_dim"]

    @property
    def prior(self) -> dict | None:
        """The latent prior {kind, mean, scale_tril} sampling draws from; None: N(0, I)."""
        if "_prior" not in self.__dict__:
            if "prior" in self.meta["files"]:
                try:
                    with np.load(self.file("prior")) as f:
                        self._prior = {"kind": "gaussian", "mean": f["mean"], "scale_tril": f["scale_tril"]}
                except (OSError, ValueError, KeyError) as e:
                    raise GenforgeError(f"{self.path}: unreadable {PRIOR_FILE}: {e}") from None
            else:  # bundles written before the prior moved out of genforge.json kept it inline
                self._prior = self.meta.get("prior")
        return self._prior

    @property
    def logit_bias(self) -> np.ndarray | None:
        """Per-label class offsets of calibrated decoding (genforge.core.calibrate), or None."""
        bias = self.meta.get("logit_bias")
        return None if bias is None else np.asarray(bias, np.float32)

    def file(self, name: str) -> Path:
        path = self.path / self.meta["files"][name]
        if not path.is_file():
            raise GenforgeError(f"{self.path}: the run lacks {path.name}; it is incomplete or was moved")
        return path

    def label_id(self, condition: str | None) -> int | None:
        """Index of a --condition among the model's labels (case-insensitive), None for none given."""
        if condition is None:
            return None
        if not self.labels:
            raise GenforgeError(f"{self.path}: this model is unconditional; it takes no --condition")
        for i, name in enumerate(self.labels):
            if name.lower() == condition.lower():
                return i
        raise GenforgeError(f"unknown --condition {condition!r}; this model knows: " +
                            ", ".join(repr(n) for n in self.labels))


def default_model(domain: str) -> Path:
    """The model that ships inside the package, used when no --model is given."""
    return Path(__file__).parent / "models" / domain


def open_bundle(path: str | Path, domain: str | None = None) -> Bundle:
    path = Path(path)
    meta_path = path / META_FILE
    if not path.exists():
        raise GenforgeError(f"{path}: no such model folder")
    if not meta_path.is_file():
        raise GenforgeError(f"{path}: not a genforge run (no {META_FILE}); train one with `genforge train`")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GenforgeError(f"{meta_path}: unreadable run metadata: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise GenforgeError(f"{meta_path}: not a genforge run metadata file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise GenforgeError(
            f"{path}: run format {meta.get('format_version')} (written by genforge {meta.get('genforge_version')}); "
            f"this genforge {__version__} reads format {FORMAT_VERSION}. Retrain, or use a matching genforge.")
    if domain and meta.get("domain") != domain:
        raise GenforgeError(f"{path}: a {meta.get('domain')} model, not a {domain} one")
    return Bundle(path, meta)


def write_prior(path: Path, prior: dict) -> Path:
    with atomic_path(path / PRIOR_FILE) as tmp:
        with open(tmp, "wb") as f:  # a file object: np.savez would add ".npz" to a bare path
            np.savez_compressed(f, mean=np.asarray(prior["mean"], np.float32),
                                scale_tril=np.asarray(prior["scale_tril"], np.float32))
    return path / PRIOR_FILE


def write_meta(path: Path, meta: dict) -> Path:
    return write_json(path / META_FILE, {"format": FORMAT, "format_version": FORMAT_VERSION,
                                         "genforge_version": __version__, **meta})
