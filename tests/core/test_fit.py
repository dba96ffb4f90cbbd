"""genforge.core.fit: the input pipeline gives the VAE what the numpy path gives, each epoch's order
follows from the seed and the epoch alone, cells without content weigh nothing, the schedule follows
the data, early stopping keeps the best smoothed epoch, and a trained model's weights start another."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from genforge.config import ModelConfig, TrainConfig  # noqa: E402
from genforge.core.fit import (GridSpec, SmoothedEarlyStopping, compact, dataset, encode_mean, fit,  # noqa: E402
                               schedule, transfer_weights)
from genforge.core.vae import BERNOULLI, CATEGORICAL, VAE  # noqa: E402

SMALL = ModelConfig(filters=(8, 16), latent_dim=16, bottleneck="grid", kl_warmup_epochs=0)


def test_the_pipeline_makes_the_dense_grids_labels_and_weights_numpy_makes():
    rng = np.random.default_rng(0)
    windows = rng.integers(0, 5, (37, 6, 10))
    ids = rng.integers(0, 3, 37)
    spec = GridSpec((6, 10, 5), CATEGORICAL, n_labels=3, ignore_class=4)
    batches = list(dataset(windows, ids, spec, batch_size=16, shuffle=False))
    assert [len(b[0]) for b in batches] == [16, 16, 5]
    grid, label, weights = (np.concatenate([np.asarray(b[k]) for b in batches]) for k in range(3))
    assert np.array_equal(grid, spec.dense(windows)) and np.array_equal(label, spec.labels(ids))
    assert np.array_equal(weights, spec.weights(windows, ids)) and np.array_equal(weights, windows != 4)
    assert compact(windows, spec).dtype == np.uint8
    # a Bernoulli grid with rows that only some labels fill (music: a shorter metre's padded steps)
    rolls = rng.random((9, 8, 4, 2)) < 0.3
    rows = np.array([[True] * 8, [True] * 6 + [False] * 2])
    spec = GridSpec((8, 4, 2), BERNOULLI, n_labels=2, row_mask=rows)
    ids = np.arange(9) % 2
    grid, label, weights = next(iter(dataset(rolls, ids, spec, batch_size=9, shuffle=False)))
    assert np.array_equal(np.asarray(grid), rolls.astype(np.float32))
    assert np.asarray(weights)[1, 6:].sum() == 0 and np.asarray(weights)[1, :6].all() and np.asarray(weights)[0].all()


def test_each_epochs_order_depends_on_the_seed_and_the_epoch_alone():
    """What lets a resumed run (genforge train --resume) see the batches an unbroken run saw."""
    windows = np.arange(37 * 2 * 3).reshape(37, 2, 3) % 5
    spec = GridSpec((2, 3, 5), CATEGORICAL)

    def orders(epochs, seed=0):
        batches = [np.asarray(grid).argmax(-1) for grid, _, _ in dataset(windows, np.zeros(37, int), spec, 16,
                                                                            shuffle=True, seed=seed, epochs=epochs)]
        assert [len(b) for b in batches] == [16, 16, 5] * len(epochs)  # no batch spans two epochs
        return [np.concatenate(batches[i:i + 3]) for i in range(0, len(batches), 3)]

    whole = orders(range(0, 4))
    assert all(sorted(map(bytes, o)) == sorted(map(bytes, windows)) for o in whole)  # each epoch: every window once
    assert not np.array_equal(whole[0], whole[1])                                     # reshuffled every epoch
    assert all(np.array_equal(a, b) for a, b in zip(orders(range(2, 4)), whole[2:]))  # resumed at epoch 2
    assert not np.array_equal(orders(range(0, 1), seed=1)[0], whole[0])


def test_cells_of_weight_zero_count_in_neither_loss_nor_accuracy():
    rng = np.random.default_rng(1)
    spec = GridSpec((8, 8, 4), CATEGORICAL, ignore_class=3)
    windows = rng.integers(0, 3, (4, 8, 8))
    windows[:, :, 5:] = 3                                   # outside the map
    ids = np.zeros(4, int)
    x, y, weights = spec.dense(windows), spec.labels(ids), spec.weights(windows, ids)
    model = VAE(spec.shape, 0, CATEGORICAL, ModelConfig(**{**SMALL.__dict__, "variational": False}))
    terms = model.terms(x, y, training=False, weights=weights)
    logits = keras.ops.convert_to_numpy(model((x, y)))     # deterministic: z is the encoder's mean
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    cell = -(log_p * x).sum(-1)
    assert float(terms["reconstruction"]) == pytest.approx((cell * weights).sum((1, 2)).mean(), rel=1e-5)
    hit = logits.argmax(-1) == windows
    assert float(terms["accuracy"]) == pytest.approx(hit[weights > 0].mean(), rel=1e-6)
    assert float(model.terms(x, y, training=False)["reconstruction"]) == pytest.approx(cell.sum((1, 2)).mean(),
                                                                                       rel=1e-5)


def test_the_schedule_gives_small_data_as_many_updates_in_more_passes():
    config = TrainConfig(steps=4000, batch_size=64)
    assert schedule(4595, config) == (56, 11)      # the default levels: 72 updates an epoch
    assert schedule(1608, config) == (154, 30)     # Super Mario Land: 26 an epoch
    assert schedule(10, config) == (1000, 200)     # a handful of windows: capped at max_epochs
    assert schedule(10, TrainConfig(epochs=7, patience=3)) == (7, 3)


class Recorder(keras.Model):
    """A stand-in with weights, to watch what the early stopping keeps."""

    def __init__(self):
        super().__init__()
        self.w = keras.Variable(0.0)
        self.stop_training = False


def test_early_stopping_waits_on_the_smoothed_accuracy_and_keeps_its_best_epoch():
    model = Recorder()
    stopper = SmoothedEarlyStopping(patience=3, smoothing=0.5)
    stopper.set_model(model)
    stopper.on_train_begin()
    accuracy = [0.5, 0.7, 0.9, 0.6, 0.8, 0.7, 0.6, 0.5, 0.4]  # one lucky epoch (0.9) amid noise
    stopped = None
    for epoch, value in enumerate(accuracy):
        model.w.assign(float(epoch))
        stopper.on_epoch_end(epoch, {"val_accuracy": value})
        if model.stop_training:
            stopped = epoch
            break
    stopper.on_train_end()
    ema = [0.5]
    for v in accuracy[1:]:
        ema.append(0.5 * v + 0.5 * ema[-1])
    best = int(np.argmax(ema[:stopped + 1]))
    assert stopper.best_epoch == best and float(model.w.numpy()) == best
    assert stopped == best + 3


def test_a_trained_model_starts_another_across_window_sizes_and_labels():
    rng = np.random.default_rng(2)
    spec = GridSpec((8, 16, 4), CATEGORICAL)
    windows = rng.integers(0, 4, (64, 8, 16))
    source, _ = fit((windows, np.zeros(64, int)), (windows[:8], np.zeros(8, int)), spec, SMALL,
                    TrainConfig(epochs=2, batch_size=16), quiet=True)
    # a conditioned model on a taller window: the grid-bottleneck convolutions do not depend on the size
    target = VAE((12, 16, 4), 2, CATEGORICAL, SMALL)
    target((np.zeros((1, 12, 16, 4), np.float32), np.zeros((1, 2), np.float32)))
    kept = transfer_weights(source, target)
    assert "down0" in kept and "logits" not in kept, kept   # the first kernel gained label channels
    src_down = source.encoder.get_layer("down0").get_weights()[0]
    dst_down = target.encoder.get_layer("down0").get_weights()[0]
    assert np.array_equal(dst_down[:, :, :4], src_down), "the grid channels of the first kernel are copied"
    assert np.array_equal(target.decoder.get_layer("logits").get_weights()[0],
                          source.decoder.get_layer("logits").get_weights()[0])
    tall = rng.integers(0, 4, (4, 12, 16))
    z = encode_mean(target, tall, np.zeros(4, int), GridSpec((12, 16, 4), CATEGORICAL, n_labels=2))
    assert np.isfinite(z).all()
