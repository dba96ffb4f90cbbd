"""Convolutional encoder and decoder for H x W x C grids (tiles, piano rolls: the core cannot tell).

The encoder maps a grid (plus, for a conditional model, the label one-hot tiled as extra
channels) to the mean and log-variance of z. The decoder maps z (plus the label one-hot) to
per-cell logits; softmax or sigmoid is applied by the loss and by the runtime, never in the net,
so the exported decoder is one plain function z -> logits.
"""
from __future__ import annotations

import math

import keras
from keras import layers

from genforge.config import ModelConfig


def _down_shape(size: int, blocks: int) -> int:
    for _ in range(blocks):
        size = math.ceil(size / 2)
    return size


def grid_shape(shape: tuple[int, int, int], config: ModelConfig) -> tuple[int, int, int]:
    """Shape of the code at the bottleneck: (h', w', channels)."""
    h, w, _ = shape
    blocks = len(config.filters)
    hb, wb = _down_shape(h, blocks), _down_shape(w, blocks)
    if config.bottleneck == "grid":
        return hb, wb, max(1, round(config.latent_dim / (hb * wb)))
    return hb, wb, config.filters[-1]


def latent_size(shape: tuple[int, int, int], config: ModelConfig) -> int:
    """Size of z. A grid bottleneck rounds latent_dim to a whole number of channels per cell."""
    if config.bottleneck == "grid":
        hb, wb, k = grid_shape(shape, config)
        return hb * wb * k + config.global_dim
    return config.latent_dim


def tile_labels(label, h: int, w: int):
    """Broadcast a label one-hot (N, L) over an h x w grid: (N, h, w, L). Built-in layers only,
    so saved .keras files reload without genforge's code and export to ONNX as they are."""
    return layers.UpSampling2D((h, w))(layers.Reshape((1, 1, label.shape[-1]))(label))


def build_encoder(shape: tuple[int, int, int], n_labels: int, config: ModelConfig) -> keras.Model:
    grid = keras.Input(shape, name="grid")
    inputs = [grid]
    x = grid
    if n_labels:
        label = keras.Input((n_labels,), name="label")
        inputs.append(label)
        x = layers.Concatenate()([x, tile_labels(label, shape[0], shape[1])])
    for i, f in enumerate(config.filters):
        x = layers.Conv2D(f, tuple(config.kernel), strides=2, padding="same", activation="relu", name=f"down{i}")(x)
    if config.dropout:
        x = layers.SpatialDropout2D(config.dropout)(x)
    if config.bottleneck == "grid" and config.global_dim:
        # z = [the grid's cells, flattened | global_dim latents of the whole grid]
        _, _, k = grid_shape(shape, config)
        flat = layers.Flatten()(x)
        mean = layers.Concatenate(name="z_mean")([layers.Flatten()(layers.Conv2D(k, 1)(x)),
                                                  layers.Dense(config.global_dim)(flat)])
        log_var = layers.Concatenate(name="z_log_var")([layers.Flatten()(layers.Conv2D(k, 1)(x)),
                                                        layers.Dense(config.global_dim)(flat)])
    elif config.bottleneck == "grid":
        _, _, k = grid_shape(shape, config)
        mean = layers.Flatten(name="z_mean")(layers.Conv2D(k, 1)(x))
        log_var = layers.Flatten(name="z_log_var")(layers.Conv2D(k, 1)(x))
    else:
        x = layers.Flatten()(x)
        mean = layers.Dense(config.latent_dim, name="z_mean")(x)
        log_var = layers.Dense(config.latent_dim, name="z_log_var")(x)
    return keras.Model(inputs, [mean, log_var], name="encoder")


def decoder_filters(config: ModelConfig) -> tuple[int, ...]:
    filters = tuple(config.decoder_filters) or tuple(config.filters)
    if len(filters) != len(config.filters):
        raise ValueError(f"decoder_filters {filters} needs one entry per encoder block {tuple(config.filters)}")
    return filters


def build_decoder(shape: tuple[int, int, int], n_labels: int, config: ModelConfig) -> keras.Model:
    h, w, c = shape
    hb, wb, kb = grid_shape(shape, config)
    filters = decoder_filters(config)
    z = keras.Input((latent_size(shape, config),), name="z")
    inputs = [z]
    if config.bottleneck == "grid":
        if config.global_dim:
            # Split z with built-in layers only (reloadable, exportable): the cells become the grid; the
            # global latents, through a dense layer, a feature map of every cell beside it.
            n_cells = hb * wb * kb
            column = layers.Reshape((n_cells + config.global_dim, 1))(z)
            x = layers.Reshape((hb, wb, kb))(layers.Cropping1D((0, config.global_dim))(column))
            g = layers.Flatten()(layers.Cropping1D((n_cells, 0))(column))
            g = layers.Dense(hb * wb * max(1, filters[-1] // 4), activation="relu")(g)
            x = layers.Concatenate()([x, layers.Reshape((hb, wb, max(1, filters[-1] // 4)))(g)])
        else:
            x = layers.Reshape((hb, wb, kb))(z)
        if n_labels:
            label = keras.Input((n_labels,), name="label")
            inputs.append(label)
            x = layers.Concatenate()([x, tile_labels(label, hb, wb)])
        x = layers.Conv2D(filters[-1], tuple(config.kernel), padding="same", activation="relu")(x)
    else:
        x = z
        if n_labels:
            label = keras.Input((n_labels,), name="label")
            inputs.append(label)
            x = layers.Concatenate()([z, label])
        x = layers.Dense(hb * wb * filters[-1], activation="relu")(x)
        x = layers.Reshape((hb, wb, filters[-1]))(x)
    for i, f in enumerate(reversed(filters)):
        x = layers.Conv2DTranspose(f, tuple(config.up_kernel or config.kernel), strides=2, padding="same",
                                   activation="relu", name=f"up{i}")(x)
    # Upsampling overshoots odd sizes (14 -> 7 -> 4 -> 8 -> 16): crop back to the grid.
    up_h, up_w = hb * 2 ** len(filters), wb * 2 ** len(filters)
    x = layers.Cropping2D(((0, up_h - h), (0, up_w - w)))(x)
    logits = layers.Conv2D(c, 1, name="logits")(x)
    return keras.Model(inputs, logits, name="decoder")
