"""Domain codecs: each turns one kind of asset into grids for the shared VAE core and back.

Codecs know nothing of Keras. A codec provides: domain, likelihood, labels, grid_shape, meta(),
from_meta(), to_onehot(), from_logits(), metrics(), read_window(), preview(), sheet_of(), export();
optionally attributes(grids) -> {name: per-window values}, from which training derives latent
attribute vectors (see genforge.core.latent.attribute_vectors); calibrated_classes(label) (which
classes calibrated decoding may shift); repair(assets, logits, labels) and acceptable(assets,
labels) (levels: mend broken structures; what `--playable` accepts).
"""
from __future__ import annotations

import importlib

CODECS = {"levels": "genforge.domains.levels.codec:LevelCodec", "music": "genforge.domains.music.codec:MusicCodec"}


def codec_for(meta: dict):
    """The codec that reads and writes a bundle's assets, rebuilt from its metadata."""
    module, _, name = CODECS[meta["domain"]].partition(":")
    return getattr(importlib.import_module(module), name).from_meta(meta)
