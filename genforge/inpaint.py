"""Inpainting: cells (levels) or steps of chosen voices (music) marked unknown are filled so the
known ones stay exactly as given and the whole is likely under the model.

onnxruntime + numpy only. The decoder gives no gradients, so the latent code is searched for
(genforge.core.inpaint_search): the sketch's own code and its encode/decode iterates with the
known cells clamped, draws from the prior conditioned on the latents of the fully known blocks,
and draws from the label's prior are scored by log p(known cells | z) + log p(z); the best are
refined by a local search; the best code is decoded with the known cells forced, levels'
broken structures mended without touching a known cell (the best-scoring candidate that stays
whole and, where one does, playable, wins).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from genforge import runtime
from genforge.bundle import Bundle, load
from genforge.core import inpaint_search, latent
from genforge.domains import codec_for
from genforge.errors import GenforgeError

_NETS: dict[str, tuple] = {}


def nets(bundle: Bundle) -> tuple[runtime.OnnxNet, runtime.OnnxNet]:
    """The bundle's decoder and encoder, loaded once per process (the explorer calls `fill` often)."""
    key = str(Path(bundle.path).resolve())
    if key not in _NETS:
        _NETS[key] = (runtime.decoder(bundle), runtime.encoder(bundle))
    return _NETS[key]


def domain_fill(codec):
    """The domain's side of inpainting: genforge.domains.<domain>.fill."""
    if codec.domain == "levels":
        from genforge.domains.levels import fill as side
    else:
        from genforge.domains.music import fill as side
    return side


def fill(bundle: Bundle, codec, asset: np.ndarray, known: np.ndarray, label_id: int, seed: int = 0,
         size: inpaint_search.SearchSize | None = None) -> np.ndarray:
    """One window. `asset`: one window as codec.from_logits returns it (levels: tile indices
    (H, W); music: the (steps, pitches, channels) bool grid); `known`: bool mask, the asset's
    shape. Returns the filled asset; known cells unchanged (a GenforgeError if that cannot be)."""
    side = domain_fill(codec)
    asset = np.asarray(asset)
    known = np.asarray(known, bool)
    want = tuple(codec.grid_shape[:2]) if codec.domain == "levels" else tuple(codec.grid_shape)
    if asset.shape != want or known.shape != want:
        raise GenforgeError(f"inpainting takes one window of {want}, got {asset.shape} with a mask of {known.shape}")
    if codec.labels and not 0 <= label_id < len(codec.labels):
        raise GenforgeError(f"label {label_id} is not one of this model's {len(codec.labels)}")
    if known.all():
        return asset.copy()
    size = size or default_size(codec)
    dec, enc = nets(bundle)
    n_labels = len(bundle.labels)
    rng = np.random.default_rng([seed, 30])

    def decode(z):
        return runtime.decode(bundle, z, np.full(len(z), label_id), dec, calibrated=False)

    def encode(grids):
        return enc(codec.to_onehot(grids), latent.one_hot(np.full(len(grids), max(label_id, 0)), n_labels))[0]

    def log_likelihood(logits):
        return side.log_likelihood(codec, logits, asset, known)

    def encode_clamped(logits):
        grids = codec.from_logits(logits)
        grids[:, known] = asset[known]
        return encode(grids)

    start = encode(side.neutral(codec, asset, known, label_id)[None])[0]
    cells = known if known.ndim == 2 else known.all(-1)
    blocks = inpaint_search.latent_blocks(bundle.meta.get("model_config", {}), bundle.latent_dim, cells.shape)
    settled = inpaint_search.known_latents(blocks, cells, bundle.latent_dim)
    best, _ = inpaint_search.search(decode, log_likelihood, encode_clamped, bundle.prior, start, label_id, settled,
                                    rng, size)
    logits = decode(best)
    if size.ensemble > 1:  # the cells' average over the best codes first: the most likely tile per cell
        logits = np.concatenate([side.mean_logits(codec, logits[:size.ensemble]), logits])
    candidates, rank = side.finish(codec, logits, asset, known, label_id)
    pick = int(np.argmax(rank))  # the best-scoring code among those of the highest rank
    if rank[pick] == 0 and not (candidates[pick][known] == asset[known]).all():
        raise GenforgeError("inpainting could not keep the known cells as given")
    return candidates[pick]


def default_size(codec) -> inpaint_search.SearchSize:
    """Levels decode in under a millisecond a window: a wide search; music's windows cost ~20 ms."""
    if codec.domain == "levels":
        return inpaint_search.SearchSize()
    return inpaint_search.SearchSize(population=48, iterations=3, rounds=3, keep=4, per_round=16)


# ---------------------------------------------------------------- files

def parse_region(text: str, rows: int, cols: int) -> tuple[slice, slice]:
    """"r0:r1,c0:c1" (rows, then columns; 0-based, end excluded, either end may be left out) or
    "c0:c1" (columns, all rows) -> the cells' slices."""
    parts = str(text).split(",")
    if len(parts) not in (1, 2) or any(":" not in p for p in parts):
        raise GenforgeError(f"--region must look like 10:20 (columns) or 0:14,10:20 (rows,columns), got {text!r}")
    spans = []
    for part, size in zip(parts if len(parts) == 2 else [":"] + parts, (rows, cols)):
        lo, _, hi = part.partition(":")
        try:
            a, b = int(lo) if lo.strip() else 0, int(hi) if hi.strip() else size
        except ValueError:
            raise GenforgeError(f"--region {text!r}: the ends must be whole numbers") from None
        if not 0 <= a < b <= size:
            raise GenforgeError(f"--region {text!r}: {a}:{b} is not inside 0:{size}")
        spans.append(slice(a, b))
    return spans[0], spans[1]


def _label(bundle: Bundle, condition: str | None, named: str | None) -> int:
    label = bundle.label_id(condition)
    if label is None and named in (bundle.labels or []):
        label = bundle.labels.index(named)
    return (0 if bundle.labels else -1) if label is None else label


def inpaint_levels(model, path: str | Path, out: str | Path, seed: int = 0, condition: str | None = None,
                   regions: list[str] | None = None) -> list[Path]:
    """Fill a level sketch's unknown cells (genforge.domains.levels.fill) and those in `regions`;
    a level wider than the model's window is filled window by window, left to right (each
    window's filled cells known to the next). Writes .tmj, .txt and .png as `sample` does."""
    from genforge.atomic import atomic_folder, published
    from genforge.domains.levels.fill import read_sketch
    from genforge.generate import asset_properties

    bundle = load(model, "levels")
    codec = codec_for(bundle.meta)
    label = bundle.label_id(condition)
    level, known, game = read_sketch(Path(path), codec, 0 if label is None else label)
    label = _label(bundle, condition, game)
    for region in regions or []:
        known[parse_region(region, *known.shape)] = False
    if known.all():
        raise GenforgeError(f"{path}: nothing to fill: mark cells with '*' (or a tile layer named 'unknown'), "
                            "or pass --region")
    g = codec.game(label)
    h, w = codec.shape
    if g["layout"] != "horizontal" or tuple(g["window"]) != (h, w):
        raise GenforgeError(f"inpainting fills side-scrolling levels in the model's {h} x {w} window; "
                            f"{g['name']} is {g['layout']}")
    if level.shape[0] != h or level.shape[1] < w:
        raise GenforgeError(f"{path}: the level is {level.shape[0]} x {level.shape[1]} tiles; this model fills "
                            f"levels {h} tiles high and at least {w} wide")
    filled, known, to_fill = level.copy(), known.copy(), int((~known).sum())
    width = level.shape[1]
    starts = list(range(0, width - w + 1, w // 2))
    if starts[-1] != width - w:
        starts.append(width - w)
    for i, c in enumerate(starts):
        part = slice(c, c + w)
        if known[:, part].all():
            continue
        filled[:, part] = fill(bundle, codec, filled[:, part], known[:, part], label, seed=seed + i)
        known[:, part] = True
    stem = Path(path).stem + "-filled"
    with atomic_folder(out) as folder:
        props = asset_properties(bundle, codec, label, None, seed=seed, sketch=Path(path).name, filled_cells=to_fill)
        written = codec.export(filled, label, folder, stem, props)
    return published(written, folder, out)


def inpaint_music(model, path: str | Path, out: str | Path, bars: str, voices: str | None = None, seed: int = 0,
                  condition: str | None = None) -> list[Path]:
    """Fill `bars` (e.g. "3-4") of the chosen `voices` (e.g. "1,2", 1-based; None: all) in the
    first window of a MIDI file; writes OUT (.mid) and beside it .png and .wav, as `sample` does."""
    from genforge.atomic import atomic_folder, published
    from genforge.domains.music.fill import bar_mask, parse_bars
    from genforge.domains.music.theory import estimate_mode
    from genforge.generate import asset_properties

    out = Path(out)
    if out.suffix.lower() != ".mid":
        raise GenforgeError(f"--out {out}: name the MIDI file to write (ending .mid)")
    bar_list = parse_bars(bars)
    voice_list = None
    if voices:
        try:
            voice_list = sorted({int(v) - 1 for v in voices.split(",")})
        except ValueError:
            raise GenforgeError(f"--voices must be voice numbers from 1, e.g. 1,2; got {voices!r}") from None
    bundle = load(model, "music")
    codec = codec_for(bundle.meta)
    label = bundle.label_id(condition)
    if label is None:
        first = codec.read_window(path, -1)
        try:
            label = bundle.label_id(estimate_mode(first, codec.low)) if bundle.labels else -1
        except GenforgeError:  # a model whose labels do not name the mode
            label = 0
    grid = codec.read_window(path, label)
    known = bar_mask(codec, label, bar_list, voice_list)
    filled = fill(bundle, codec, grid, known, label, seed=seed)
    with atomic_folder(out.parent if str(out.parent) else Path(".")) as folder:
        props = asset_properties(bundle, codec, label, None, seed=seed, sketch=Path(path).name, bars=bars,
                                 voices=voices or "all")
        written = codec.export(filled, label, folder, out.stem, props)
    return published(written, folder, out.parent)
