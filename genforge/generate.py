"""The generation jobs: sample and interpolate, for any domain, through the exported decoder.

onnxruntime + numpy only; the codec named in the bundle turns decoder output into assets.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from genforge import __version__, runtime
from genforge.bundle import Bundle, load
from genforge.core import latent
from genforge.domains import codec_for
from genforge.atomic import atomic_folder, published, write_bytes
from genforge.errors import GenforgeError
from genforge.images import png_bytes, strip


def asset_properties(bundle: Bundle, codec, label_id: int, z: np.ndarray | None, **extra) -> dict:
    """What an exported asset records of its making; `z` None for a level chained from many latents."""
    props = {"model": bundle.name, "genforge_version": __version__, **extra}
    if codec.labels:
        props["label"] = codec.labels[label_id]
    if z is not None:
        props["latent"] = json.dumps(np.round(np.asarray(z, np.float64), 5).tolist())
    return props


def _iterate(items, total: int, what: str, quiet: bool, least: int = 500):
    if quiet or total < least:  # 500 levels write in about a second: shorter work needs no bar, and
        # importing rich alone costs a tenth of a second
        return items
    from rich.progress import track

    return track(items, total=total, description=what, transient=True)


def check_codec(bundle: Bundle, **wanted) -> None:
    """Options that must match the model's codec settings (e.g. bars=4): None means 'the model's'."""
    have = bundle.meta.get("codec", {})
    for key, value in wanted.items():
        if value is not None and have.get(key) != value:
            raise GenforgeError(f"--{key.replace('_', '-')} {value}: this model ({bundle.name}) makes "
                                f"{key.replace('_', ' ')} {have.get(key)} only; leave the option out, or train a "
                                f"model with --{key.replace('_', '-')} {value}")


MAX_ATTRIBUTE = 20.0


def push_attributes(bundle: Bundle, z: np.ndarray, amounts: dict[str, float] | None) -> np.ndarray:
    """z + amount * attribute vector for each asked attribute (vectors stored at training time)."""
    if not amounts:
        return z
    known = bundle.meta.get("attributes") or {}
    if not known:
        raise GenforgeError(f"{bundle.name}: this model has no attribute vectors; it takes no --attribute")
    for name, amount in amounts.items():
        if name not in known:
            raise GenforgeError(f"unknown --attribute {name!r}; this model knows: {', '.join(sorted(known))}")
        if not np.isfinite(amount) or abs(amount) > MAX_ATTRIBUTE:
            raise GenforgeError(f"--attribute {name}={amount}: the amount must be between -{MAX_ATTRIBUTE:g} "
                                f"and {MAX_ATTRIBUTE:g}")
    return latent.apply_attributes(z, known, amounts)


FRESH_TRIES = 6        # --playable: fresh draws (rejection sampling) for a rejected level, then ...
LOCAL_TRIES = 6        # ... perturbations of growing size around the last of them, then fresh draws again
MAX_PLAYABLE_ROUNDS = 200


def make_playable(bundle: Bundle, codec, z: np.ndarray, ids: np.ndarray, assets: np.ndarray, seed: int,
                  temperature: float = 0.0, attributes: dict[str, float] | None = None,
                  net: runtime.OnnxNet | None = None):
    """Replace every sample the codec does not accept (levels: unplayable, or a structure broken):
    rejection sampling first (FRESH_TRIES fresh draws from the prior), then, where rejection is too
    slow, a latent-space search around the last draw (LOCAL_TRIES prior-shaped perturbations of
    growing size), and round again. A sample that passes at once is kept as it is, so `--playable`
    keeps the unfiltered levels that were acceptable. Returns (z, assets, attempts per level: how
    many candidates were decoded for it, 1 if the first passed)."""
    if not hasattr(codec, "acceptable"):
        raise GenforgeError(f"--playable is for levels only, not {bundle.domain}")
    passes = codec.acceptable
    prior = bundle.prior
    n, dim = z.shape
    rng = np.random.default_rng([seed, 3])
    tile_rng = np.random.default_rng([seed, 4])
    z, assets = z.copy(), assets.copy()
    attempts = np.ones(n, int)
    centre = z.copy()
    tries = np.zeros(n, int)
    pending = np.nonzero(~passes(assets, ids))[0]
    net = net or runtime.decoder(bundle)
    for _ in range(MAX_PLAYABLE_ROUNDS):
        if not len(pending):
            break
        tries[pending] = tries[pending] % (FRESH_TRIES + LOCAL_TRIES) + 1
        fresh = pending[tries[pending] <= FRESH_TRIES]
        if len(fresh):
            centre[fresh] = push_attributes(bundle, latent.draw(prior, rng, len(fresh), dim, ids[fresh]), attributes)
        sigma = 0.15 * np.maximum(tries[pending] - FRESH_TRIES, 0)  # 0 for a fresh draw: the draw itself
        step = latent.spread(prior, rng, len(pending), dim)  # prior-shaped noise
        candidates = (centre[pending] + sigma[:, None] * step).astype(np.float32)
        decoded = runtime.decode_assets(bundle, codec, candidates, ids[pending], tile_rng, temperature, net)
        good = passes(decoded, ids[pending])
        attempts[pending] += 1
        z[pending[good]], assets[pending[good]] = candidates[good], decoded[good]
        pending = pending[~good]
    if len(pending):
        raise GenforgeError(f"--playable: no playable level found for {len(pending)} of {n} samples after "
                            f"{MAX_PLAYABLE_ROUNDS + 1} candidates each; this model rarely makes playable levels")
    return z, assets, attempts


def sample(model: str | Path | None, domain: str, n: int, seed: int, out: str | Path,
           condition: str | None = None, temperature: float = 0.0, quiet: bool = False,
           attributes: dict[str, float] | None = None, require: dict | None = None,
           playable: bool = False, stats: dict | None = None, length: int | None = None,
           repair: bool = True) -> list[Path]:
    """Draw `n` latents with `seed`, decode them, export each asset; returns the written files.

    `attributes`: name -> amount, pushes every latent along the model's attribute vectors.
    `require`: codec settings the model must have (e.g. {"bars": 4}); checked before anything is written.
    `playable`: levels only; every exported level passes the playability checker (see
    `make_playable`); `stats`, if given, receives the attempts per accepted level.
    `length`: levels only; whole levels this many tiles along the direction of play, chained from
    windows (genforge.domains.levels.chain), instead of single windows.
    `repair`: levels only; False exports the decoder's raw output, broken structures and all
    (see runtime.decode_assets); --playable and --length always mend them."""
    if temperature < 0 or temperature > 10:
        raise GenforgeError(f"--temperature must be between 0 and 10, got {temperature}")
    bundle = load(model, domain)
    check_codec(bundle, **(require or {}))
    codec = codec_for(bundle.meta)
    if length is not None:
        return _sample_long(bundle, codec, n, seed, out, condition, temperature, quiet, playable, stats, length)
    z, ids = runtime.sample_latents(bundle, n, seed, condition)
    z = push_attributes(bundle, z, attributes)
    net = runtime.decoder(bundle)  # one onnxruntime session for the draws and any redraws
    z, _ = runtime.redraw_copies(bundle, codec, z, ids, seed, net, lambda fresh: push_attributes(bundle, fresh,
                                                                                                  attributes))
    assets = runtime.decode_assets(bundle, codec, z, ids, np.random.default_rng([seed, 1]), temperature, net,
                                   repair=repair)
    attempts = None
    if playable:
        z, assets, attempts = make_playable(bundle, codec, z, ids, assets, seed, temperature, attributes, net)
        if stats is not None:
            stats.update({"attempts_per_level": float(attempts.mean()), "most_attempts": int(attempts.max()),
                          "first_draw_playable": float(np.mean(attempts == 1))})
    with atomic_folder(out) as folder:
        written = _write_all(bundle, codec, domain, n, seed, folder, z, ids, assets, attempts, attributes, quiet)
    return published(written, folder, out)


def _write_all(bundle: Bundle, codec, domain: str, n: int, seed: int, out: Path, z, ids, assets, attempts,
               attributes, quiet: bool) -> list[Path]:
    def export(i: int) -> list[Path]:
        extra = {"attributes": ", ".join(f"{k}={v:+g}" for k, v in attributes.items())} if attributes else {}
        if attempts is not None:
            extra.update(playable=True, attempts=int(attempts[i]))
        props = asset_properties(bundle, codec, ids[i], z[i], seed=seed, index=i, **extra)
        return codec.export(assets[i], int(ids[i]), out, f"{domain.rstrip('s')}-{seed}-{i:03d}", props)

    def write_sheet() -> Path:
        return write_bytes(out / f"sheet-{seed}.png", codec.sheet_of(list(assets[:32]), ids[:32]))

    written = []
    # Two threads: file creation and PNG compression release the GIL, so one thread's waits on the
    # disk overlap the other's work (in a RAM folder, where Python work dominates, it gains nothing).
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        sheet = pool.submit(write_sheet)
        for files in _iterate(pool.map(export, range(n)), n, f"writing {n} {domain}", quiet):
            written += files
        written.append(sheet.result())
    return written


def _sample_long(bundle: Bundle, codec, n: int, seed: int, out: str | Path, condition: str | None,
                 temperature: float, quiet: bool, playable: bool, stats: dict | None, length: int) -> list[Path]:
    if bundle.domain != "levels":
        raise GenforgeError(f"--length is for levels only, not {bundle.domain}")
    from genforge.domains.levels.chain import LevelChain

    runtime.check_count(n, most=1000)
    ids = runtime.pick_labels(bundle, condition, n, np.random.default_rng(seed))
    chains: dict[int, LevelChain] = {}
    levels, infos = [], []
    for i in _iterate(range(n), n, f"building {n} levels of {length}", quiet, least=4):
        label = int(ids[i])
        if label not in chains:
            chains[label] = LevelChain(bundle, codec, label, temperature)
        grid, info = chains[label].build(length, np.random.default_rng([seed, 5, i]), playable)
        levels.append(grid)
        infos.append(info)
    if stats is not None:
        stats.update({"windows_decoded_per_level": float(np.mean([i["windows_decoded"] for i in infos])),
                      "restarts_per_level": float(np.mean([i["restarts"] for i in infos]))})
    written = []
    with atomic_folder(out) as folder:
        for i, grid in enumerate(levels):
            props = asset_properties(bundle, codec, ids[i], None, seed=seed, index=i, length=length, playable=playable)
            written += codec.export(grid, int(ids[i]), folder, f"level-{seed}-{i:03d}-len{length}", props)
        written.append(write_bytes(folder / f"sheet-{seed}-len{length}.png", codec.sheet_of(levels[:32], ids[:32])))
    return published(written, folder, out)


def interpolate(model: str | Path | None, domain: str, steps: int, out: str | Path,
                from_seed: int | None = None, to_seed: int | None = None,
                from_file: str | None = None, to_file: str | None = None,
                condition: str | None = None, spherical: bool = True) -> list[Path]:
    """A latent path between two seeds or two real assets, decoded at `steps` points."""
    runtime.check_count(steps, "--steps", 1000)
    if steps < 2:
        raise GenforgeError("--steps must be at least 2 (the two ends)")
    if (from_seed is None) == (from_file is None) or (to_seed is None) == (to_file is None):
        raise GenforgeError("give each end once: --from-seed or --from FILE, and --to-seed or --to FILE")
    bundle = load(model, domain)
    codec = codec_for(bundle.meta)
    label = bundle.label_id(condition)
    label = (0 if bundle.labels else -1) if label is None else label
    prior = bundle.prior
    ends = []
    for seed, file in ((from_seed, from_file), (to_seed, to_file)):
        if file is not None:
            grid = codec.to_onehot(codec.read_window(file, label))[None]
            ends.append(runtime.encode(bundle, grid, np.array([label]))[0])
        else:  # the draw `sample --seed SEED --condition` makes first
            rng = np.random.default_rng(seed)
            ends.append(latent.draw(prior, rng, 1, bundle.latent_dim, np.array([label]))[0])
    zs = latent.path_between(ends[0], ends[1], steps, spherical, prior)
    ids = np.full(steps, label)
    # A real asset's end is reproduced as the decoder reconstructs it; calibration is for prior draws.
    assets = runtime.decode_assets(bundle, codec, zs, ids, calibrated=from_file is None and to_file is None)
    written = []
    with atomic_folder(out) as folder:
        for i in range(steps):
            props = asset_properties(bundle, codec, label, zs[i], step=i, steps=steps,
                                start=str(from_file or f"seed {from_seed}"), end=str(to_file or f"seed {to_seed}"))
            written += codec.export(assets[i], label, folder, f"step-{i:03d}", props)
        written.append(write_bytes(folder / "strip.png", png_bytes(strip([codec.preview(a, label) for a in assets]))))
    return published(written, folder, out)
