"""Fit the shared VAE on arrays from any codec and return the trained model and its history.

Knows nothing of levels or music: it gets one-hot/binary grids and label ids, and reports
reconstruction metrics per split. The domain commands (`train_levels`, ...) build the arrays
and write the run bundle.
"""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter is not for users

import keras  # noqa: E402
import numpy as np  # noqa: E402

from genforge.config import ModelConfig, TrainConfig  # noqa: E402
from genforge.core import calibrate  # noqa: E402
from genforge.core.fit import DENSE_BATCH, GridSpec, decode_logits, encode_mean, fit  # noqa: E402
from genforge.core.vae import VAE  # noqa: E402


def reconstruct(model: VAE, codec, windows: np.ndarray, label_ids: np.ndarray, spec: GridSpec,
                batch: int = DENSE_BATCH) -> np.ndarray:
    """Encode and decode compact windows to codec assets a batch at a time: the float logits of a
    whole (augmented) split would take many times the memory of the assets."""
    out = []
    for i in range(0, len(windows), batch):
        part, ids = windows[i:i + batch], label_ids[i:i + batch]
        z = encode_mean(model, part, ids, spec)
        out.append(codec.from_logits(decode_logits(model, z, spec.labels(ids))))
    return np.concatenate(out)


def sized_to_data(model_cfg: ModelConfig, windows: np.ndarray) -> tuple[ModelConfig, str | None]:
    """A grid bottleneck's channels per cell from the training windows' patch entropy, when the
    config asks for it (genforge.core.sizing); with the note that says what was chosen."""
    from genforge.config import replace
    from genforge.core.networks import grid_shape
    from genforge.core.sizing import latent_channels, patch_entropy, patch_size

    if not (model_cfg.latent_from_data and model_cfg.bottleneck == "grid"):
        return model_cfg, None
    patch = patch_size(len(model_cfg.filters))
    entropy = patch_entropy(windows, patch)
    channels = latent_channels(entropy)
    hb, wb, _ = grid_shape((*windows.shape[1:3], 1), model_cfg)
    sized = replace(model_cfg, latent_dim=hb * wb * channels)
    return sized, (f"latent: {channels} channels per cell of {patch} x {patch} (the training windows' patches "
                   f"carry {entropy:.2f} bits), {hb} x {wb} cells, {sized.latent_dim} in all")


def grid_spec(codec) -> GridSpec:
    """What the training pipeline needs of a codec: its grid, likelihood and labels, which cells
    carry no content and which channels form one-of groups (optional codec attributes `ignore_class`,
    `row_mask`, `one_of`)."""
    return GridSpec(tuple(codec.grid_shape), codec.likelihood, len(codec.labels),
                    getattr(codec, "ignore_class", None), getattr(codec, "row_mask", None),
                    tuple(getattr(codec, "one_of", ())))


# ---------------------------------------------------------------- the train job

def export_onnx(net: keras.Model, path: Path) -> Path:
    """Keras 3 ONNX export, atomically. A freshly built or reloaded model must have run once."""
    from genforge.atomic import atomic_path

    net([np.zeros((1, *i.shape[1:]), np.float32) for i in net.inputs])
    with atomic_path(path) as tmp:
        onnx_tmp = tmp.with_suffix(".onnx")
        net.export(str(onnx_tmp), format="onnx", verbose=False)
        onnx_tmp.replace(tmp)
    return path


def export_decoder_onnx(decoder: keras.Model, shape, n_labels: int, config: ModelConfig, path: Path) -> Path:
    """The decoder as generation runs it: genforge's Gemm graph where the architecture allows
    (genforge.core.onnx_decoder: 1.4-1.8x the windows per second of Keras' export on
    onnxruntime, benchmarks/results/sample_speed.md), else Keras' export."""
    from genforge.atomic import write_bytes
    from genforge.core import onnx_decoder

    if not onnx_decoder.qualifies(config):
        return export_onnx(decoder, path)
    return write_bytes(path, onnx_decoder.decoder_graph(decoder, shape, n_labels, config).SerializeToString())


def onnx_difference(path: Path, n_labels: int, z: np.ndarray, labels: np.ndarray, keras_logits: np.ndarray) -> float:
    """Largest logit difference between an exported decoder.onnx and the Keras decoder's output
    for the same (z, labels): what a bundle records before anyone relies on the file."""
    from genforge.runtime import OnnxNet

    return float(np.abs(OnnxNet(path, n_labels)(z, labels)[0] - keras_logits).max())


def reexport_decoder(run: Path) -> float:
    """Rewrite a run's decoder.onnx from its decoder.keras (after a change to the export, without
    retraining) and record the largest logit difference to Keras on 64 latent draws; returned."""
    from genforge import config as cfg_mod
    from genforge.atomic import write_json
    from genforge.bundle import META_FILE, open_bundle
    from genforge.core import latent

    from genforge.core.keras_file import load_keras
    from genforge.trust import HASHES, file_hashes

    bundle = open_bundle(run)
    decoder = load_keras(bundle.file("decoder_keras"))
    model_cfg = cfg_mod.from_dict(ModelConfig, bundle.meta["model_config"])
    n_labels = len(bundle.labels)
    export_decoder_onnx(decoder, tuple(bundle.meta["shape"]), n_labels, model_cfg, run / "decoder.onnx")
    rng = np.random.default_rng(0)
    z = rng.standard_normal((64, bundle.latent_dim)).astype(np.float32)
    labels = latent.one_hot(rng.integers(0, max(n_labels, 1), 64), n_labels)
    keras_logits = keras.ops.convert_to_numpy(decoder([z, labels] if n_labels else [z]))
    diff = onnx_difference(run / "decoder.onnx", n_labels, z, labels, keras_logits)
    bundle.meta["metrics"]["onnx_max_abs_diff"] = diff
    if HASHES in bundle.meta:  # the re-exported decoder.onnx is what the folder now holds
        bundle.meta[HASHES].update(file_hashes(run, ["decoder.onnx"]))
    write_json(bundle.path / META_FILE, bundle.meta)
    return diff


def encode_posterior(model: VAE, windows: np.ndarray, label_ids: np.ndarray, spec: GridSpec,
                     batch: int = DENSE_BATCH) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and log-variances of compact windows, made dense a batch at a time."""
    means, log_vars = [], []
    for i in range(0, len(windows), batch):
        mean, log_var = model.encode(spec.dense(windows[i:i + batch]), spec.labels(label_ids[i:i + batch]))
        means.append(keras.ops.convert_to_numpy(mean))
        log_vars.append(keras.ops.convert_to_numpy(log_var))
    return np.concatenate(means), np.concatenate(log_vars)


def sample_assets(model: VAE, codec, z: np.ndarray, label_ids: np.ndarray, logit_bias: np.ndarray | None,
                  batch: int = 256) -> np.ndarray:
    """Prior samples as `genforge sample` writes them (calibrated, structures mended where the codec
    mends them), decoded a batch at a time: the logits of a thousand large windows are gigabytes."""
    from genforge.core import latent

    out = []
    for i in range(0, len(z), batch):
        ids = label_ids[i:i + batch]
        logits = calibrate.apply_bias(decode_logits(model, z[i:i + batch], latent.one_hot(ids, len(codec.labels))),
                                      logit_bias, ids)
        assets = codec.from_logits(logits)
        out.append(codec.repair(assets, logits, ids) if hasattr(codec, "repair") else assets)
    return np.concatenate(out)


def check_result(codec, spec: GridSpec, splits: dict, metrics: dict, samples: np.ndarray, sample_ids: np.ndarray,
                 seed: int) -> list[str]:
    """Held-out reconstruction beside a baseline that learned nothing, sample statistics beside the
    training windows' (genforge.verdict), recorded in `metrics`; returns the warnings."""
    from genforge import verdict

    test, test_ids = splits["test"]
    baseline = verdict.baseline_prediction(splits["train"][0], len(test), spec.likelihood, seed)
    metrics["baseline"] = {k: v for k, v in codec.metrics(test, baseline, test_ids).items()
                           if k in ("accuracy", "accuracy_non_empty", "onset_f1", "windows")}
    warnings = verdict.reconstruction_warnings(metrics["test"], metrics["baseline"])
    if hasattr(codec, "summary_stats"):
        windows, ids = splits["train"]
        keep = np.linspace(0, len(windows) - 1, min(len(windows), 5000)).astype(int)  # bounded memory
        data = codec.summary_stats(windows[keep], ids[keep])
        sampled = codec.summary_stats(samples, sample_ids)
        metrics["sample_stats"] = {"samples": sampled, "training": data}
        warnings += verdict.sample_warnings(sampled, data)
    return warnings


def training_fingerprints(codec, windows: np.ndarray, label_ids: np.ndarray) -> np.ndarray:
    """The fingerprints sampling compares its draws with (genforge.runtime.redraw_copies): the
    codec's own where it has them (music: blind to key and padding), else the cells as they are."""
    from genforge.core import latent

    return codec.fingerprints(windows, label_ids) if hasattr(codec, "fingerprints") else latent.window_hashes(windows)


def share_copied(samples: np.ndarray, train: np.ndarray) -> float:
    """Share of samples identical to some training example (exact match of whole grids)."""
    seen = {row.tobytes() for row in train.reshape(len(train), -1).astype(np.int16)}
    return float(np.mean([row.tobytes() in seen for row in samples.reshape(len(samples), -1).astype(np.int16)]))


def fit_calibration(model: VAE, codec, train: tuple[np.ndarray, np.ndarray], prior: dict, seed: int,
                    n: int = 2000) -> np.ndarray:
    """Per-label logit offsets (labels or 1, classes) that give prior samples the training windows'
    class frequencies (genforge.core.calibrate); the codec may hold some classes out."""
    from genforge.core import latent

    grids, ids = train
    n_labels = len(codec.labels)
    n_classes = codec.grid_shape[-1]
    rng = np.random.default_rng([seed, 7])
    rows = []
    for label in range(max(n_labels, 1)):
        mine = grids[ids == label] if n_labels else grids
        z = latent.draw(prior, rng, n, model.decoder.inputs[0].shape[1], np.full(n, label))
        logits = decode_logits(model, z, latent.one_hot(np.full(n, label), n_labels))
        free = codec.calibrated_classes(label) if hasattr(codec, "calibrated_classes") else None
        rows.append(calibrate.fit_logit_bias(logits, calibrate.class_frequencies(mine, n_classes), free))
    return np.stack(rows)


def train_run(codec, splits: dict, out: Path, model_cfg: ModelConfig, train_cfg: TrainConfig, command: str,
              notes: list[str] = (), quiet: bool = False, n_novelty: int = 1000, record: dict | None = None,
              init: object | None = None, class_map: list[int | None] | None = None, resume: bool = False,
              worker=None) -> Path | None:
    """Fit on codec arrays, measure held-out reconstruction and novelty, write the run bundle.

    `splits`: {"train"|"validation"|"test": (grids (N,H,W) or (N,H,W,C) codec-native, label ids)}.
    `record`: what the bundle keeps of the run for later commands (`data`, `split`, `options`).
    A checkpoint after every epoch (`out`/checkpoints) lets a killed run go on (`resume`); it is
    deleted once the bundle is whole. `worker`: this process's place in a cluster that trains the
    model together (genforge.core.distributed.join); its chief writes the bundle, the others return None."""
    import shutil

    from genforge import config as cfg_mod
    from genforge.atomic import write_bytes
    from genforge.bundle import META_FILE, PRIOR_FILE, write_meta, write_prior
    from genforge.core import checkpoint, latent
    from genforge.trust import HASHES, file_hashes

    out = Path(out)
    n_labels = len(codec.labels)
    spec = grid_spec(codec)
    model_cfg, sizing_note = sized_to_data(model_cfg, splits["train"][0])
    notes = list(notes) + ([sizing_note] if sizing_note else [])
    identity = checkpoint.identity(cfg_mod.to_dict(model_cfg), cfg_mod.to_dict(train_cfg), splits,
                                   (record or {}).get("options", {}).get("init_from"), command)
    saved = checkpoint.resume_point(out, identity, resume, finished=(out / META_FILE).is_file())
    model, history = (worker.fit if worker else fit)(splits["train"], splits["validation"], spec, model_cfg, train_cfg,
                                                     checkpoint_dir=out / checkpoint.FOLDER, quiet=quiet, init=init,
                                                     class_map=class_map, identity=identity, resume=saved)
    if worker is not None and not worker.chief:
        return worker.finish()  # the chief writes the bundle
    if saved is not None:
        notes.append(f"training resumed after epoch {saved.epoch} of {history['epochs_planned']} (--resume)")

    metrics = {}
    for split, (windows, ids) in splits.items():
        metrics[split] = codec.metrics(windows, reconstruct(model, codec, windows, ids, spec), ids)
    train_z, train_log_var = encode_posterior(model, *splits["train"], spec)
    # Attribute vectors (MusicVAE's latent arithmetic), for codecs that measure attributes of a window.
    attributes = latent.attribute_vectors(train_z, codec.attributes(*splits["train"])) \
        if hasattr(codec, "attributes") else {}
    # A VAE's prior is the mixture of its training windows' posteriors (its own aggregate posterior);
    # a deterministic autoencoder has no posterior spread, so a Gaussian is fitted to its codes.
    prior = latent.fit_mixture(train_z, train_log_var, splits["train"][1]) if model_cfg.variational \
        else latent.fit_prior(train_z)
    if prior["kind"] == latent.MIXTURE:  # sampling near a window's code can give the window back: redrawn
        prior["training_hashes"] = training_fingerprints(codec, *splits["train"])

    logit_bias = fit_calibration(model, codec, splits["train"], prior, train_cfg.seed) \
        if codec.likelihood == "categorical" else None

    rng = np.random.default_rng(train_cfg.seed)
    ids = rng.integers(0, max(n_labels, 1), n_novelty)
    z = latent.draw(prior, rng, n_novelty, train_z.shape[1], ids)
    samples = sample_assets(model, codec, z, ids, logit_bias)
    metrics["samples"] = {"n": n_novelty, "share_identical_to_training": share_copied(samples, splits["train"][0])}
    warnings = check_result(codec, spec, splits, metrics, samples, ids, train_cfg.seed)

    model.encoder.save(out / "encoder.keras")
    model.decoder.save(out / "decoder.keras")
    export_onnx(model.encoder, out / "encoder.onnx")
    export_decoder_onnx(model.decoder, model.grid_shape, n_labels, model_cfg, out / "decoder.onnx")
    check_labels = latent.one_hot(ids[:64], n_labels)  # the exported decoder must agree with Keras
    metrics["onnx_max_abs_diff"] = onnx_difference(out / "decoder.onnx", n_labels, z[:64], check_labels,
                                                   decode_logits(model, z[:64], check_labels))

    write_bytes(out / "samples.png", codec.sheet_of(list(samples[:16]), ids[:16] if n_labels else [-1] * 16))
    write_prior(out, prior)
    files = {"decoder": "decoder.onnx", "encoder": "encoder.onnx", "prior": PRIOR_FILE,
             "decoder_keras": "decoder.keras", "encoder_keras": "encoder.keras"}
    write_meta(out, {
        "domain": codec.domain, "likelihood": codec.likelihood, "shape": list(codec.grid_shape),
        "latent_dim": int(train_z.shape[1]), "labels": list(codec.labels),
        **({"logit_bias": np.round(logit_bias.astype(float), 4).tolist()} if logit_bias is not None else {}),
        "codec": codec.meta(), "model_config": cfg_mod.to_dict(model_cfg), "train_config": cfg_mod.to_dict(train_cfg),
        "command": command, **(record or {}), "metrics": metrics, "warnings": warnings, "notes": list(notes),
        "attributes": attributes, "fingerprints": getattr(codec, "fingerprint_kind", "cells"),
        "history": history, "files": files,
        HASHES: file_hashes(out, [*files.values(), "samples.png"]),  # `genforge info` says if they change
    })
    shutil.rmtree(out / checkpoint.FOLDER, ignore_errors=True)  # the run is finished: nothing to resume
    if worker is not None:
        worker.finish()
    return out


def _record(data: list[str], split: dict, options: dict | None) -> dict:
    """The bundle's account of its data: folders and split keys relative (never this machine's
    absolute paths), and the command's options by name."""
    from genforge.bundle import relative_path

    return {"data": [relative_path(d) for d in data], "split": split, "options": options or {}}


def start_from(run: str | Path, codec) -> tuple[object, list[int | None] | None, str]:
    """A trained run to start training from (`--init-from`): its Keras networks, the map from this
    codec's classes to the run's (levels: tiles by character), and a note saying what was taken."""
    from types import SimpleNamespace

    from genforge.bundle import load
    from genforge.domains import codec_for
    from genforge.errors import GenforgeError

    bundle = load(None if str(run) == "bundled" else run, codec.domain)
    source = codec_for(bundle.meta)
    if hasattr(codec, "vocabulary"):
        class_map = [source.vocabulary.index(ch) if ch in source.vocabulary else None for ch in codec.vocabulary]
        known = sum(i is not None for i in class_map)
        if known < len(class_map) / 2:
            raise GenforgeError(f"--init-from {run}: that model knows {known} of this data's {len(class_map)} tiles "
                                f"({codec.vocabulary}); start from a model of a similar game, or from scratch")
        what = f"{known} of {len(class_map)} tiles shared"
    else:
        if source.grid_shape[-1] != codec.grid_shape[-1]:
            raise GenforgeError(f"--init-from {run}: that model has {source.grid_shape[-1] // 2} voices, this data "
                                f"{codec.grid_shape[-1] // 2}")
        class_map, what = None, "the same voices"
    from genforge.core.keras_file import load_keras

    networks = SimpleNamespace(**{name: load_keras(bundle.file(f"{name}_keras")) for name in ("encoder", "decoder")})
    return networks, class_map, f"started from the weights of {bundle.name} ({what})"


def train_levels(data: list[str], out: Path, model_cfg: ModelConfig, train_cfg: TrainConfig, command: str,
                 window: tuple[int, int] | None = None, quiet: bool = False, options: dict | None = None,
                 pad: bool = False, init_from: str | Path | None = None, resume: bool = False,
                 cluster: str | None = None) -> Path | None:
    """Level windows of every game folder in `data` (several: the game is the condition), split by
    whole levels. `pad`: ragged level files padded, not refused; `init_from`: a run (or "bundled")
    whose weights start this one; `resume`: go on from the checkpoint of a killed run in `out`;
    `cluster`: train as a worker of the cluster it describes (genforge.cluster.source; None: alone)."""
    from genforge.core.distributed import join

    worker = join(cluster)  # before TensorFlow runs anything (--init-from loads a model)
    from genforge.domains.levels.codec import LevelCodec
    from genforge.domains.levels.dataset import build_dataset

    ds = build_dataset(data, window, train_cfg.stride, train_cfg.test_levels, train_cfg.validation_levels,
                       train_cfg.seed, pad=pad)
    codec = LevelCodec.from_dataset(ds)
    init, class_map, note = start_from(init_from, codec) if init_from else (None, None, None)
    return train_run(codec, ds.splits, out, model_cfg, train_cfg, command, ds.notes + ([note] if note else []),
                     quiet, record=_record(data, ds.split, options), init=init, class_map=class_map, resume=resume,
                     worker=worker)


def train_music(data: list[str], out: Path, model_cfg: ModelConfig, train_cfg: TrainConfig, command: str,
                bars: int = 4, labels: str | None = "mode", transpose: int = 5, shifts_per_window: int | None = 3,
                quiet: bool = False, options: dict | None = None, init_from: str | Path | None = None,
                resume: bool = False, cluster: str | None = None) -> Path | None:
    """Piano-roll windows of `bars` bars from MIDI folders (or a notes archive), split by whole
    pieces. Transposition augments the training split only: the original window plus
    `shifts_per_window` random shifts within +-`transpose` semitones (all shifts multiply the data
    about 10x, ~2 GB of float32 for the Bach chorales). `resume`, `cluster`: as for `train_levels`."""
    from genforge.core.distributed import join

    worker = join(cluster)
    from genforge.domains.music.codec import MusicCodec
    from genforge.domains.music.dataset import build_dataset

    ds = build_dataset(data, bars=bars, test=train_cfg.test_levels, validation=train_cfg.validation_levels,
                       seed=train_cfg.seed, transpose=transpose, labels=labels, shifts_per_window=shifts_per_window)
    notes = list(ds.notes)
    if ds.pieces.get("test"):
        notes.append(f"held-out test pieces ({len(ds.pieces['test'])}): {', '.join(ds.pieces['test'])}")
    from genforge.bundle import relative_path

    split = {relative_path(folder): parts for folder, parts in ds.split.items()}
    # Training windows per label (untransposed): sampling draws labels in these proportions.
    record = {**_record(data, split, options), **({"label_counts": ds.label_counts} if ds.labels else {})}
    codec = MusicCodec.from_dataset(ds)
    init, class_map, note = start_from(init_from, codec) if init_from else (None, None, None)
    return train_run(codec, ds.splits, out, model_cfg, train_cfg, command, notes + ([note] if note else []), quiet,
                     record=record, init=init, class_map=class_map, resume=resume, worker=worker)
