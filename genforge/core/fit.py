"""Fitting the VAE: the input pipeline, the schedule, early stopping, and batched encode/decode.

Knows nothing of levels or music. Windows stay compact until a batch needs them (class indices as
uint8 for a categorical grid, bools for a Bernoulli one): a tf.data pipeline shuffles, batches and
turns them into one-hot / float grids on the fly, so memory follows the batch, not the corpus.

Two kinds of cell carry no content and are left out of the loss and the accuracy (`GridSpec`):
`ignore_class`, a class that marks cells outside the map (a legend's `null` tile), and `row_mask`,
per label the rows (music: steps) a window of that label fills (windows of a shorter metre are
padded to the common length). `one_of`: groups of a Bernoulli grid's channels whose cells along a
row form one categorical (genforge.core.one_of; music: the onset and hold planes of a voice that
never sounds two notes at once).
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from genforge.config import ModelConfig, TrainConfig
from genforge.core import checkpoint, one_of
from genforge.core.vae import BERNOULLI, VAE
from genforge.errors import GenforgeError

DENSE_BATCH = 512  # windows made dense at a time outside training (encoding, decoding, metrics)


@dataclass(frozen=True)
class GridSpec:
    """What the pipeline needs to know of a codec's windows."""

    shape: tuple[int, int, int]              # H, W, C of one dense window
    likelihood: str                          # "categorical" (compact: class indices) or "bernoulli" (bools)
    n_labels: int = 0
    ignore_class: int | None = None          # cells of this class are not content
    row_mask: np.ndarray | None = None       # (labels, H) bool: the rows a window of each label fills
    one_of: tuple[tuple[int, ...], ...] = ()  # Bernoulli: channel groups decoded as one class per row

    def dense(self, windows: np.ndarray) -> np.ndarray:
        """Compact windows -> the float32 grids the VAE sees (numpy, for a batch)."""
        if self.likelihood == BERNOULLI:
            return np.asarray(windows, np.float32)
        return np.eye(self.shape[-1], dtype=np.float32)[windows]

    def labels(self, label_ids: np.ndarray) -> np.ndarray:
        """Label ids -> one-hots (N, n_labels); width 0 for an unconditional model."""
        if not self.n_labels:
            return np.zeros((len(label_ids), 0), np.float32)
        return np.eye(self.n_labels, dtype=np.float32)[np.maximum(label_ids, 0)]

    def weights(self, windows: np.ndarray, label_ids: np.ndarray) -> np.ndarray:
        """Per cell (N, H, W) float32: 1 for content, 0 for cells outside the map or past a window's end."""
        h, w = self.shape[:2]
        out = np.ones((len(windows), h, w), np.float32)
        if self.ignore_class is not None and self.likelihood != BERNOULLI:
            out *= np.asarray(windows) != self.ignore_class
        if self.row_mask is not None:
            out *= self.row_mask[np.maximum(label_ids, 0)][:, :, None]
        return out


def compact(windows: np.ndarray, spec: GridSpec) -> np.ndarray:
    """The smallest exact form of a split's windows: uint8 class indices, or bools."""
    if spec.likelihood == BERNOULLI:
        return np.asarray(windows, bool)
    return np.asarray(windows, np.uint8 if spec.shape[-1] <= 256 else np.int32)


def dataset(windows: np.ndarray, label_ids: np.ndarray, spec: GridSpec, batch_size: int, shuffle: bool,
            seed: int = 0, epochs: range = range(1)) -> tf.data.Dataset:
    """(grid, label one-hot, cell weights) batches, made dense inside the pipeline. Shuffled: one
    pass per epoch of `epochs`, each in an order drawn from (seed, epoch) alone, so a run resumed at
    epoch k sees the batches an unbroken run saw from epoch k on (a shuffle that reshuffles each
    pass would start again from its first order)."""
    data = (compact(windows, spec), np.maximum(np.asarray(label_ids, np.int32), 0))
    if shuffle:
        windows_t, ids_t = tf.constant(data[0]), tf.constant(data[1])
        seed_t = tf.constant(seed, tf.int64)

        def one_epoch(epoch):
            order = tf.random.experimental.stateless_shuffle(tf.range(len(windows)), seed=tf.stack([seed_t, epoch]))
            return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

        ds = tf.data.Dataset.range(epochs.start, epochs.stop).flat_map(one_epoch) \
            .map(lambda idx: (tf.gather(windows_t, idx), tf.gather(ids_t, idx)))
    else:
        ds = tf.data.Dataset.from_tensor_slices(data).batch(batch_size)
    row_mask = None if spec.row_mask is None else tf.constant(spec.row_mask, tf.float32)
    h, w, c = spec.shape

    def to_dense(win, label):
        if spec.likelihood == BERNOULLI:
            grid = tf.cast(win, tf.float32)
        else:
            grid = tf.one_hot(tf.cast(win, tf.int32), c, dtype=tf.float32)
        weights = tf.ones(tf.stack([tf.shape(win)[0], h, w]), tf.float32)
        if spec.ignore_class is not None and spec.likelihood != BERNOULLI:
            weights *= tf.cast(tf.not_equal(tf.cast(win, tf.int32), spec.ignore_class), tf.float32)
        if row_mask is not None:
            weights *= tf.gather(row_mask, label)[:, :, None]
        one_hot = tf.one_hot(label, spec.n_labels, dtype=tf.float32) if spec.n_labels else \
            tf.zeros(tf.stack([tf.shape(win)[0], 0]), tf.float32)
        return grid, one_hot, weights

    return ds.map(to_dense, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def schedule(n_windows: int, config: TrainConfig) -> tuple[int, int]:
    """(epochs, patience) for a training split: the config's epochs if given, else as many as reach
    `config.steps` optimiser updates (small data gets as many updates as large data, in more passes),
    at most `config.max_epochs`. Patience: the config's, or a fifth of the epochs (at least 10)."""
    steps_per_epoch = max(1, math.ceil(n_windows / config.batch_size))
    epochs = config.epochs or min(config.max_epochs, max(1, math.ceil(config.steps / steps_per_epoch)))
    patience = config.patience or max(10, epochs // 5)
    return epochs, patience


class ProgressBar(keras.callbacks.Callback):
    """One rich progress bar over epochs, with the latest losses in its description; a resumed run's
    starts at the epochs done before."""

    def __init__(self, epochs: int, quiet: bool = False, done: int = 0):
        super().__init__()
        self.epochs, self.quiet, self.done = epochs, quiet, done

    def on_train_begin(self, logs=None):
        if self.quiet:
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("training"), BarColumn(), TextColumn("{task.completed}/{task.total} epochs"),
                            TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.description}"))
        self.bar.start()
        self.task = self.bar.add_task("", total=self.epochs, completed=self.done)

    def on_epoch_end(self, epoch, logs=None):
        if self.quiet:
            return
        logs = logs or {}
        text = "  ".join(f"{k} {logs[k]:.3f}" for k in ("loss", "accuracy", "val_loss", "val_accuracy") if k in logs)
        self.bar.update(self.task, advance=1, description=text)

    def on_train_end(self, logs=None):
        if not self.quiet:
            self.bar.stop()


class SmoothedEarlyStopping(keras.callbacks.Callback):
    """Stop when the validation accuracy, smoothed over epochs, has not improved for `patience`
    epochs, and keep the weights of the best smoothed epoch. Accuracy rather than loss: on small
    held-out sets the cross-entropy turns up (confident mistakes on a few unseen tiles) long before
    reconstructions stop improving (Super Mario Land: loss lowest at epoch 22, accuracy at 83).
    Smoothing: one or two validation levels make the raw figure jump from epoch to epoch.
    The state starts with the object, not with training: a resumed run sets it (`restore`) first."""

    def __init__(self, patience: int, start_from_epoch: int = 0, smoothing: float = 0.3):
        super().__init__()
        self.patience, self.start, self.smoothing = patience, start_from_epoch, smoothing
        self.ema, self.best, self.best_epoch, self.best_weights = None, -np.inf, -1, None

    def state(self) -> dict:
        """What a checkpoint keeps of it besides the best weights."""
        return {"ema": self.ema, "best": self.best, "best_epoch": self.best_epoch}

    def restore(self, state: dict, best_weights: list[np.ndarray]) -> None:
        self.ema, self.best, self.best_epoch = state["ema"], state["best"], state["best_epoch"]
        self.best_weights = list(best_weights) or None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get("val_accuracy")
        if value is None:
            return
        value = float(value)  # as a checkpoint's JSON keeps it: resumed or not, the same arithmetic
        self.ema = value if self.ema is None else self.smoothing * value + (1 - self.smoothing) * self.ema
        if epoch < self.start:
            return
        if self.ema > self.best:
            self.best, self.best_epoch = self.ema, epoch
            self.best_weights = self.model.get_weights()
        elif epoch - self.best_epoch >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class EpochCheckpoint(keras.callbacks.Callback):
    """After every epoch, what a resumed run needs to go on as if it had never stopped, written to
    `folder` (genforge.core.checkpoint). Runs after the early stopping, whose verdict on the epoch
    it records. `past`: the run before this process (`run_so_far`), whose history it extends."""

    def __init__(self, folder: Path, stopper: SmoothedEarlyStopping, epochs: int, identity: dict, past: dict):
        super().__init__()
        self.folder, self.stopper, self.epochs, self.identity, self.past = Path(folder), stopper, epochs, identity, past
        self.history = {k: list(v) for k, v in past["history"].items()}

    def on_train_begin(self, logs=None):
        self.folder.mkdir(parents=True, exist_ok=True)
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(float(value))
        state = {"epoch": epoch + 1, "epochs": self.epochs, "stopped": bool(self.model.stop_training),
                 "early_stopping": self.stopper.state(), "history": self.history,
                 "seconds": self.past["seconds"] + time.perf_counter() - self.started,
                 "resumed_at": self.past["resumed_at"], "identity": self.identity}
        arrays = {"model": [keras.ops.convert_to_numpy(v) for v in self.model.variables],
                  "optimizer": [keras.ops.convert_to_numpy(v) for v in self.model.optimizer.variables],
                  "best": self.stopper.best_weights or []}
        checkpoint.write(self.folder, state, arrays)


def run_so_far(saved: checkpoint.Checkpoint | None) -> dict:
    """What a run did before this process: the history, the seconds trained and the epochs it was
    resumed after (none, for a fresh start)."""
    if saved is None:
        return {"history": {}, "seconds": 0.0, "resumed_at": []}
    state = saved.state
    return {"history": state["history"], "seconds": state["seconds"], "resumed_at": state["resumed_at"] + [saved.epoch]}


def restore(model: VAE, stopper: SmoothedEarlyStopping, saved: checkpoint.Checkpoint) -> None:
    """Set a freshly built and compiled model, its optimiser and the early stopping to a checkpoint's
    state. Variables are matched by their order, which the same settings always build the same."""
    model.optimizer.build(model.trainable_variables)  # Adam makes its moments on first use: made now to be set
    for group, variables in (("model", model.variables), ("optimizer", model.optimizer.variables)):
        values = saved.arrays[group]
        if [tuple(v.shape) for v in variables] != [a.shape for a in values]:
            raise GenforgeError(f"the training checkpoint's {group} variables do not fit this model (written by "
                                f"another genforge version?); delete the checkpoints folder to train from the start")
        for variable, value in zip(variables, values):
            variable.assign(value)
    stopper.restore(saved.state["early_stopping"], saved.arrays["best"])


def set_data_bias(model: VAE, windows: np.ndarray, spec: GridSpec, pos_weight: float = 1.0,
                  sample: int = 4096) -> np.ndarray:
    """Set the decoder's output bias to the best constant prediction for the training windows: per
    channel, log(w p / (1 - p)) for a Bernoulli likelihood (p: share of cells on, w: pos_weight)
    or log p for a categorical one; for a one-of group's channels, the logits that give its rows'
    class shares (genforge.core.one_of.constant_logits). Returns the bias."""
    idx = np.linspace(0, len(windows) - 1, min(len(windows), sample)).astype(int)
    dense = spec.dense(windows[idx])
    p = np.clip(dense.mean(axis=(0, 1, 2), dtype=np.float64), 1e-5, 1 - 1e-5)
    bias = np.log(pos_weight * p / (1 - p)) if spec.likelihood == BERNOULLI else np.log(p)
    for group in spec.one_of:
        bias[list(group)] = one_of.constant_logits(dense, group)
    model.decoder.get_layer("logits").bias.assign(bias.astype(np.float32))
    return bias


def fit(train: tuple[np.ndarray, np.ndarray], validation: tuple[np.ndarray, np.ndarray], spec: GridSpec,
        model_cfg: ModelConfig, train_cfg: TrainConfig, checkpoint_dir: Path | None = None, quiet: bool = False,
        init=None, class_map: list[int | None] | None = None, callbacks: list = (),
        identity: dict | None = None, resume: checkpoint.Checkpoint | None = None) -> tuple[VAE, dict]:
    """Train a VAE on (compact windows, label ids) splits; returns the model with the weights of its
    best validation epoch, and the history. `init`: a trained model (.encoder, .decoder) whose
    weights start this one, classes matched by `class_map` (see `transfer_weights`).
    `checkpoint_dir`: where a checkpoint is written after every epoch, recording `identity` (what
    the run is: genforge.core.checkpoint.identity); `resume`: a checkpoint of this run to go on from."""
    epochs, patience = schedule(len(train[0]), train_cfg)
    steps = math.ceil(len(train[0]) / train_cfg.batch_size)
    model = build_model(train, spec, model_cfg, train_cfg, steps, init, class_map)
    stopper = SmoothedEarlyStopping(patience, model_cfg.kl_warmup_epochs)
    done, past = 0, run_so_far(resume)
    if resume is not None:
        restore(model, stopper, resume)
        # a run the early stopping had ended goes on to its measurements, not to more epochs
        done = epochs if resume.state["stopped"] else min(resume.epoch, epochs)
    callbacks = list(callbacks) + [stopper]
    if checkpoint_dir is not None:
        callbacks.append(EpochCheckpoint(checkpoint_dir, stopper, epochs, identity or {}, past))
    callbacks.append(ProgressBar(epochs, quiet, done))
    # A deterministic autoencoder leaves the log-variance head unused: Keras' warning says nothing useful.
    warnings.filterwarnings("ignore", message="Gradients do not exist for variables")
    started = time.perf_counter()
    # One stream of batches for the epochs left, `steps` of them an epoch (the pipeline shuffles each).
    history = model.fit(dataset(*train, spec, train_cfg.batch_size, shuffle=True, seed=train_cfg.seed,
                                epochs=range(done, epochs)),
                        validation_data=dataset(*validation, spec, DENSE_BATCH, shuffle=False),
                        steps_per_epoch=steps, initial_epoch=done, epochs=epochs, callbacks=callbacks,
                        shuffle=False, verbose=0)
    return model, run_history(past, history.history, time.perf_counter() - started, epochs, patience, stopper)


def build_model(train: tuple[np.ndarray, np.ndarray], spec: GridSpec, model_cfg: ModelConfig, train_cfg: TrainConfig,
                steps: int, init=None, class_map: list[int | None] | None = None) -> VAE:
    """A freshly seeded VAE with its weights built (so checkpoints can be saved), started from `init`
    or from the data's constant prediction, compiled with Adam. `steps`: optimiser updates per epoch
    (the KL warm-up's unit). Under a tf.distribute strategy's scope its variables are the strategy's."""
    keras.utils.set_random_seed(train_cfg.seed)
    if tf.config.list_physical_devices("GPU"):
        # cuDNN and GPU reductions may sum in an order that varies from run to run; TensorFlow's CPU
        # kernels already give the same bits for the same seed, so the CPU is left at full speed.
        tf.config.experimental.enable_op_determinism()
    model = VAE(spec.shape, spec.n_labels, spec.likelihood, model_cfg, steps_per_epoch=steps, seed=train_cfg.seed,
                one_of=spec.one_of)
    model((spec.dense(train[0][:1]), spec.labels(train[1][:1])))
    if init is not None:
        transfer_weights(init, model, class_map)
    elif model_cfg.data_bias:
        set_data_bias(model, train[0], spec, model_cfg.pos_weight)
    model.compile(optimizer=keras.optimizers.Adam(train_cfg.learning_rate))
    return model


def run_history(past: dict, new: dict[str, list], seconds: float, epochs: int, patience: int,
                stopper: SmoothedEarlyStopping) -> dict:
    """The history a run bundle records: the run before this process (`run_so_far`) extended by this
    process's epochs (`new`: name -> a value per epoch), its seconds and the early stopping's verdict."""
    result = {k: list(v) for k, v in past["history"].items()}
    for k, vals in new.items():
        result.setdefault(k, []).extend(float(v) for v in vals)
    result["seconds"] = past["seconds"] + seconds
    result["epochs_run"] = len(result["loss"])
    result["epochs_planned"], result["patience"] = epochs, patience
    result["best_epoch"] = stopper.best_epoch + 1
    if past["resumed_at"]:
        result["resumed_at"] = past["resumed_at"]
    return result


def transfer_weights(source, target: VAE, class_map: list[int | None] | None = None) -> list[str]:
    """Copy a trained model's weights (`source`: anything with .encoder and .decoder) into a new
    VAE, layer by layer in order, wherever the shapes agree. `class_map`: for each of the target's
    classes (channels of the grid), the source's class it continues (None: none; it keeps its
    fresh weights): applied to the encoder's first kernel and the decoder's output layer. A kernel
    whose input channels differ only by label channels (one model conditioned, the other not)
    takes the channels both have. Returns the names of the layers left, wholly or partly, fresh."""
    kept = []
    for src_net, dst_net in ((source.encoder, target.encoder), (source.decoder, target.decoder)):
        src_layers = [layer for layer in src_net.layers if layer.weights]
        dst_layers = [layer for layer in dst_net.layers if layer.weights]
        for i, (src, dst) in enumerate(zip(src_layers, dst_layers)):
            first_in = dst_net is target.encoder and i == 0
            output = dst.name == "logits"
            new, whole = [], True
            for have, want in zip(src.get_weights(), dst.get_weights()):
                if class_map is not None and (first_in and have.ndim == 4 or output):
                    have, whole = _remap(have, want, class_map, axis=2 if first_in else have.ndim - 1), False
                if have.shape != want.shape and have.ndim == 4 and have.shape[:2] == want.shape[:2] \
                        and have.shape[3] == want.shape[3]:
                    shared = min(have.shape[2], want.shape[2])
                    have = np.concatenate([have[:, :, :shared], want[:, :, shared:]], axis=2)
                    whole = False
                if have.shape != want.shape:
                    have, whole = want, False
                new.append(have)
            dst.set_weights(new)
            if not whole or len(src.weights) != len(dst.weights):
                kept.append(dst.name)
        kept += [layer.name for layer in dst_layers[len(src_layers):]]
    return kept


def _remap(have: np.ndarray, want: np.ndarray, class_map: list[int | None], axis: int) -> np.ndarray:
    """`want` with each class's slice along `axis` taken from `have`'s mapped class, where the two
    agree on every other axis; channels beyond the classes (labels) keep `want`'s."""
    other = [s for a, s in enumerate(have.shape) if a != axis] == [s for a, s in enumerate(want.shape) if a != axis]
    out = np.array(want, copy=True)
    if not other:
        return out
    for dst, src in enumerate(class_map):
        if src is not None and src < have.shape[axis] and dst < out.shape[axis]:
            out_index, have_index = [slice(None)] * out.ndim, [slice(None)] * have.ndim
            out_index[axis], have_index[axis] = dst, src
            out[tuple(out_index)] = have[tuple(have_index)]
    return out


def encode_mean(model: VAE, windows: np.ndarray, label_ids: np.ndarray, spec: GridSpec,
                batch: int = DENSE_BATCH) -> np.ndarray:
    """Latent means of compact windows, made dense a batch at a time."""
    out = []
    for i in range(0, len(windows), batch):
        mean, _ = model.encode(spec.dense(windows[i:i + batch]), spec.labels(label_ids[i:i + batch]))
        out.append(keras.ops.convert_to_numpy(mean))
    return np.concatenate(out) if out else np.zeros((0, model.decoder.inputs[0].shape[1]), np.float32)


def decode_logits(model: VAE, z: np.ndarray, labels: np.ndarray, batch: int = DENSE_BATCH) -> np.ndarray:
    """Decoder logits for latents and label one-hots. Mind the size: logits are float32 per cell and
    class; callers with many latents decode a batch at a time (`reconstruct`)."""
    out = []
    for i in range(0, len(z), batch):
        out.append(keras.ops.convert_to_numpy(model.decode(z[i:i + batch], labels[i:i + batch])))
    return np.concatenate(out)
