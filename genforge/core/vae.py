"""The one VAE of genforge: reconstruction + beta * KL, with KL warm-up, free bits, an optional
label condition and an optional contractive penalty. In the manner of keras-io's VAE example:
a Keras model with its own train_step/test_step and loss trackers, maths in `keras.ops`.

Inputs are (grid, label_one_hot) tuples; label_one_hot has width 0 for an unconditional model.
Training batches add per-cell weights (grid, label_one_hot, weights): cells of weight 0 carry no
content (outside the map, past a window's end) and count in neither the loss nor the accuracy.

A Bernoulli grid may name `one_of` groups of channels whose cells along the W axis form one
categorical per row (genforge.core.one_of: nothing, or channels c_j..c_last on at one position;
music: a monophonic voice's onset and hold planes). Their loss is that categorical's cross-entropy
per row (class "nothing" at the fixed logit 0, the row weighted by its cells' largest weight); the
other channels keep the per-cell Bernoulli. The accuracy stays per cell: a group's cells are
those of its most likely class.
"""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from genforge.config import ModelConfig
from genforge.core.networks import build_decoder, build_encoder

CATEGORICAL = "categorical"   # one class per cell (tiles): softmax over the channel axis
BERNOULLI = "bernoulli"       # independent on/off per cell and channel (piano-roll notes): sigmoid


class VAE(keras.Model):
    def __init__(self, shape, n_labels: int, likelihood: str, config: ModelConfig, steps_per_epoch: int = 1,
                 seed: int = 0, one_of=(), **kwargs):
        super().__init__(**kwargs)
        self.grid_shape = tuple(shape)
        self.n_labels = n_labels
        self.likelihood = likelihood
        self.one_of = tuple(tuple(int(c) for c in g) for g in one_of)
        grouped = [c for g in self.one_of for c in g]
        if grouped and (likelihood != BERNOULLI or len(set(grouped)) < len(grouped)
                        or not all(0 <= c < self.grid_shape[-1] for c in grouped)):
            raise ValueError(f"one-of groups {self.one_of} need a Bernoulli grid and distinct channels "
                             f"of its {self.grid_shape[-1]}")
        self.config = config
        self.encoder = build_encoder(self.grid_shape, n_labels, config)
        self.decoder = build_decoder(self.grid_shape, n_labels, config)
        self.warmup_steps = max(1, config.kl_warmup_epochs * steps_per_epoch)
        self.seed = keras.random.SeedGenerator(seed)
        self.step = keras.Variable(0.0, trainable=False, name="step")
        names = ["loss", "reconstruction", "kl", "contractive", "accuracy"]
        self.trackers = {n: keras.metrics.Mean(name=n) for n in names}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def _inputs(self, grid, label):
        return [grid, label] if self.n_labels else [grid]

    def encode(self, grid, label, training=False):
        return self.encoder(self._inputs(grid, label), training=training)

    def decode(self, z, label, training=False):
        return self.decoder([z, label] if self.n_labels else [z], training=training)

    def call(self, inputs, training=False):
        grid, label = inputs
        mean, _ = self.encode(grid, label, training)
        return self.decode(mean, label, training)

    def _corrupt(self, grid):
        """Replace a share of input cells with random ones so the encoder learns structure, not copies."""
        rate = self.config.input_noise
        if not rate:
            return grid
        keep = ops.cast(keras.random.uniform(ops.shape(grid)[:-1], seed=self.seed) >= rate, grid.dtype)[..., None]
        if self.likelihood == CATEGORICAL:
            noise = ops.one_hot(keras.random.randint(ops.shape(grid)[:-1], 0, ops.shape(grid)[-1], seed=self.seed),
                                ops.shape(grid)[-1], dtype=grid.dtype)
        else:
            noise = ops.zeros_like(grid)
        return keep * grid + (1.0 - keep) * noise

    def terms(self, grid, label, training, weights=None):
        cfg = self.config
        mean, log_var = self.encode(self._corrupt(grid) if training else grid, label, training)
        if cfg.variational:
            eps = keras.random.normal(ops.shape(mean), seed=self.seed)
            z = mean + ops.exp(0.5 * log_var) * eps
        else:
            z = mean
        logits = self.decode(z, label, training)
        if self.likelihood == CATEGORICAL:
            cell = keras.losses.categorical_crossentropy(grid, logits, from_logits=True)
            hit = ops.cast(ops.equal(ops.argmax(logits, -1), ops.argmax(grid, -1)), "float32")
        else:
            # -log p(grid): softplus(-l) where on, softplus(l) where off; on-cells weighted by pos_weight.
            # Only the channels outside one-of groups (the groups have their own loss): none when every
            # music voice is monophonic, where the whole grid's Bernoulli terms cost a pass for nothing.
            free = [c for c in range(self.grid_shape[-1]) if all(c not in g for g in self.one_of)]
            if free:
                g, lg = (grid, logits) if len(free) == self.grid_shape[-1] else \
                    (ops.take(grid, free, axis=-1), ops.take(logits, free, axis=-1))
                cell = ops.sum(cfg.pos_weight * g * ops.softplus(-lg) + (1.0 - g) * ops.softplus(lg), -1)
            else:
                cell = ops.zeros_like(grid[..., 0])
            if not self.one_of:
                hit = ops.cast(ops.equal(ops.cast(logits > 0, "float32"), grid), "float32")
        if weights is None:
            weights = ops.ones_like(cell)
        reconstruction = ops.mean(ops.sum(cell * weights, axis=(1, 2)))
        if self.one_of:
            row_loss, predicted = self._one_of_terms(grid, logits)
            reconstruction = reconstruction + ops.mean(ops.sum(row_loss * ops.max(weights, axis=2), axis=1))
            hit = ops.cast(ops.equal(predicted, grid), "float32")
        if self.likelihood == CATEGORICAL:
            accuracy = ops.sum(hit * weights) / ops.maximum(ops.sum(weights), 1.0)
        else:  # a cell's weight counts once per channel (no (N, H, W, C) copy of the weights)
            channels = float(self.grid_shape[-1])
            accuracy = ops.sum(ops.sum(hit, -1) * weights) / ops.maximum(channels * ops.sum(weights), 1.0)
        losses = {"reconstruction": reconstruction, "accuracy": accuracy}
        total = reconstruction
        if cfg.variational:
            kl_dims = ops.mean(-0.5 * (1 + log_var - ops.square(mean) - ops.exp(log_var)), axis=0)
            kl = ops.sum(kl_dims)
            # Free bits: dimensions under the floor cost nothing, so the model keeps using them.
            kl_paid = ops.sum(ops.maximum(kl_dims, cfg.free_bits))
            warm = ops.minimum(1.0, self.step / self.warmup_steps) if training else 1.0
            total = total + cfg.beta * warm * kl_paid
            losses["kl"] = kl
        if cfg.contractive:
            # ||J||_F^2 of the encoder mean, estimated without second derivatives:
            # E ||mu(x + e) - mu(x)||^2 / s^2 = ||J||_F^2 for e ~ N(0, s^2 I).
            s = 0.05
            shaken, _ = self.encode(grid + s * keras.random.normal(ops.shape(grid), seed=self.seed), label, training)
            penalty = ops.mean(ops.sum(ops.square(shaken - mean), -1)) / s ** 2
            total = total + cfg.contractive * penalty
            losses["contractive"] = penalty
        losses["loss"] = total
        return losses

    def _one_of_terms(self, grid, logits):
        """Cross-entropy per row summed over the one-of groups (N, H), and the predicted cells of every
        channel (N, H, W, C): a group's from its most likely class, the others' where the logit > 0."""
        h, w, c = self.grid_shape
        row_loss = 0.0
        predicted = {}
        for group in self.one_of:
            k = len(group)
            flat = ops.reshape(ops.stack([logits[..., ch] for ch in group], axis=2), (-1, h, k * w))
            on = ops.reshape(ops.stack([grid[..., ch] for ch in group], axis=2), (-1, h, k * w))
            full = ops.concatenate([ops.zeros_like(flat[..., :1]), flat], axis=-1)     # class 0: nothing, logit 0
            first = on * ops.cast(ops.cumsum(on, axis=-1) - on < 0.5, "float32")     # the row's class: first cell on
            target = ops.concatenate([1.0 - ops.max(on, axis=-1, keepdims=True), first], axis=-1)
            row_loss = row_loss + ops.logsumexp(full, axis=-1) - ops.sum(target * full, axis=-1)
            pick = ops.one_hot(ops.argmax(full, axis=-1), k * w + 1, dtype="float32")[..., 1:]
            nested = ops.cumsum(ops.reshape(pick, (-1, h, k, w)), axis=2)            # c_j implies c_j+1..
            for j, ch in enumerate(group):
                predicted[ch] = nested[:, :, j, :]
        cells = [predicted[ch] if ch in predicted else ops.cast(logits[..., ch] > 0, "float32") for ch in range(c)]
        return row_loss, ops.stack(cells, axis=-1)

    def _track(self, losses):
        for name, value in losses.items():
            self.trackers[name].update_state(value)
        return {n: t.result() for n, t in self.trackers.items() if n in losses}

    def update(self, data, share=None) -> dict:
        """One optimiser update on a batch (grid, label, weights); returns its loss terms. `share`: the
        batch's part of a global batch split among replicas (genforge.core.distributed), which scales
        its gradient; tf.distribute sums the replicas' gradients, so the update is the global batch's."""
        grid, label, weights = data
        with tf.GradientTape() as tape:
            losses = self.terms(grid, label, training=True, weights=weights)
            loss = losses["loss"] if share is None else losses["loss"] * share
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.step.assign_add(1.0)
        return losses

    def train_step(self, data):
        return self._track(self.update(data))

    def test_step(self, data):
        grid, label, weights = data
        return self._track(self.terms(grid, label, training=False, weights=weights))
