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


def codec_for(meta: dict, where: str = "genforge.json"):
    """The codec that reads and writes a bundle's assets, rebuilt from its metadata. Metadata it
    cannot be rebuilt from (a stranger's or damaged genforge.json) is a GenforgeError naming `where`."""
    from genforge.errors import GenforgeError, brief

    if meta.get("domain") not in CODECS:
        raise GenforgeError(f"{where}: unknown domain {brief(meta.get('domain'), 40)!r}; genforge knows "
                            f"{', '.join(CODECS)}")
    from genforge.domains.codec_meta import check_codec_meta

    check_codec_meta(meta, where)
    module, _, name = CODECS[meta["domain"]].partition(":")
    try:
        codec = getattr(importlib.import_module(module), name).from_meta(meta)
    except GenforgeError as e:  # the codec's own checks, which know nothing of the file
        raise GenforgeError(f"{where}: the \"codec\" metadata: {e}") from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, ArithmeticError) as e:
        raise GenforgeError(f"{where}: the \"codec\" metadata is malformed ({type(e).__name__}: "
                            f"{brief(e, 120)})") from None
    if "shape" in meta and tuple(codec.grid_shape) != tuple(meta["shape"]):
        raise GenforgeError(f"{where}: the \"codec\" metadata describes {tuple(codec.grid_shape)} windows, "
                            f"\"shape\" says {tuple(meta['shape'])}")
    return codec
