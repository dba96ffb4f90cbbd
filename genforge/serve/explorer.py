"""What the explorer page asks of one model, as calls on the library: draw samples, move a latent
along the main directions and the attribute vectors, interpolate, complete a sketch (inpainting),
score an asset's style, check a level's playability, and write an asset as the CLI writes it.

onnxruntime + numpy only (the decoder and, to re-encode a completed sketch, the encoder): the
explorer starts in a second and never loads TensorFlow.

The main directions are the principal components of the prior's component means, i.e. of the
training windows' encoded codes (a Gaussian prior: of its covariance). Those codes are where the
data lives; the mixture's per-window spreads are the encoder's noise around each code, nearly the
same in every direction, so they add little but blur. Moving along the directions in which real
windows differ most changes the picture most per step, and a slider in units of the codes' own
spread along each direction (-3 to 3) stays where the decoder has seen data.
"""
from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import numpy as np

from genforge import runtime
from genforge.bundle import Bundle
from genforge.core import latent
from genforge.domains import codec_for
from genforge.errors import GenforgeError
from genforge.generate import asset_properties, push_attributes
from genforge.serve.assets import from_json, known_mask, to_json

DIRECTIONS = 6          # sliders along principal components
MOST_SAMPLES = 64
MOST_STEPS = 32
SLIDER_RANGE = 3.0      # principal-component sliders: +-3 spreads of the codes along the direction


def principal_directions(prior: dict | None, dim: int, k: int = DIRECTIONS) -> tuple[np.ndarray, np.ndarray]:
    """(k, dim) unit directions and the codes' spread along each, largest first (see the module note)."""
    if prior and prior.get("kind") == latent.MIXTURE:
        means = np.asarray(prior["means"], np.float64)
        cov = np.cov(means - means.mean(0), rowvar=False)
    elif prior:
        tril = np.asarray(prior["scale_tril"], np.float64)
        cov = tril @ tril.T
    else:
        cov = np.eye(dim)
    values, vectors = np.linalg.eigh(np.atleast_2d(cov))
    order = np.argsort(values)[::-1][:k]
    directions = vectors[:, order].T
    directions *= np.where(directions.sum(1, keepdims=True) < 0, -1.0, 1.0)  # a fixed sign per direction
    return directions.astype(np.float32), np.sqrt(np.maximum(values[order], 0)).astype(np.float32)


class Explorer:
    """One model's explorer. Methods take and return what the page sends (JSON-ready); a request
    the page cannot have meant is a GenforgeError, which the app answers with status 400."""

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.codec = codec_for(bundle.meta)
        self.net = runtime.decoder(bundle, threads=1)  # one window a move: a thread pool would only spin
        self._encoder = None
        self._tilesets: dict[int, tuple[str, bytes]] = {}
        self.directions, self.spreads = principal_directions(bundle.prior, bundle.latent_dim)
        self.lock = threading.Lock()  # one onnxruntime session and the codec's caches: one request at a time

    # ---- what the page needs to draw and edit
    def info(self) -> dict:
        b, codec = self.bundle, self.codec
        out = {"domain": b.domain, "model": b.name, "labels": list(b.labels), "latent_dim": b.latent_dim,
               "shape": list(b.meta["shape"]),
               "directions": [{"name": f"PC{i + 1}", "spread": float(s), "range": SLIDER_RANGE}
                              for i, s in enumerate(self.spreads)],
               "attributes": [{"name": name, "range": 4.0} for name in sorted(b.meta.get("attributes") or {})]}
        if b.domain == "levels":
            from genforge.domains.levels.tiles import TILE_PX, tileset_columns

            out["vocabulary"] = codec.vocabulary
            out["tile_px"], out["tileset_columns"] = TILE_PX, tileset_columns(len(codec.vocabulary))
            out["games"] = [self._game(i) for i in range(max(1, len(b.labels)))]
        else:
            out.update(low=codec.low, high=codec.high, steps_per_beat=codec.steps_per_beat, tempo=codec.tempo,
                       voices=[v.name if hasattr(v, "name") else f"voice {i + 1}" for i, v in enumerate(codec.voices)],
                       monophonic=list(codec.monophonic or [False] * len(codec.voices)),
                       metres=[self._metre(i) for i in range(max(1, len(b.labels)))])
        return out

    def _game(self, label: int) -> dict:
        codec = self.codec
        game, legend = codec.game(label), codec.legend(label)
        tiles = [{"index": i, "char": ch, "name": ", ".join(legend.tiles.get(ch, [])[:2]) or ch}
                 for i, ch in enumerate(codec.vocabulary) if ch in legend.tiles and i != codec.ignore_class]
        return {"name": game["name"], "window": list(game["window"]), "empty": codec.vocabulary.index(game["empty"]),
                "tiles": tiles, "checkable": codec.checker(label).has_route}

    def _metre(self, label: int) -> dict:
        ts, bars, per_bar = self.codec.metre(label if self.bundle.labels else -1)
        return {"time_signature": list(ts), "bars": bars, "steps_per_bar": per_bar,
                "steps": self.codec.content_steps(label if self.bundle.labels else -1)}

    def tileset_png(self, label: int) -> tuple[str, bytes]:
        """The tileset image a downloaded map points at, under the name it points at (the codec's
        export names it by the game and the image's checksum, and writes it beside the map)."""
        self._need("levels", "tile images")
        label = self.label(label)
        if label not in self._tilesets:
            with self.lock, tempfile.TemporaryDirectory() as tmp:
                self.codec.export(np.full(self.codec.shape, 0), label, Path(tmp), "map", {})
                image = next(Path(tmp).glob("tileset-*.png"))
                self._tilesets[label] = image.name, image.read_bytes()
        return self._tilesets[label]

    # ---- latents and pictures
    def label(self, label) -> int:
        """A label id from the page: one of the model's, or -1 for an unconditional model."""
        n = len(self.bundle.labels)
        if not n:
            if label not in (-1, None):
                raise GenforgeError("this model is unconditional: its only label is -1")
            return -1
        if not isinstance(label, int) or not 0 <= label < n:
            raise GenforgeError(f"label must be a number from 0 to {n - 1}")
        return label

    def latent(self, z) -> np.ndarray:
        try:
            out = np.asarray(z, np.float32)
        except (TypeError, ValueError):
            raise GenforgeError("z must be a list of numbers") from None
        if out.shape != (self.bundle.latent_dim,) or not np.isfinite(out).all():
            raise GenforgeError(f"z must be {self.bundle.latent_dim} finite numbers")
        return out

    def item(self, z: np.ndarray, label: int, asset: np.ndarray) -> dict:
        return {"z": np.round(np.asarray(z, np.float64), 5).tolist(), "label": int(label),
                "asset": to_json(self.codec, asset)}

    def _decode(self, z: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return runtime.decode_assets(self.bundle, self.codec, z, labels, net=self.net)

    def sample(self, n: int, seed: int, label: int | None = None) -> list[dict]:
        """`n` draws from the prior, as `genforge sample` draws them (copies of training windows redrawn)."""
        if not isinstance(n, int) or not 1 <= n <= MOST_SAMPLES:
            raise GenforgeError(f"n must be between 1 and {MOST_SAMPLES}")
        if not isinstance(seed, int) or not 0 <= seed < 2 ** 32:
            raise GenforgeError("seed must be a whole number from 0 to 2^32 - 1")
        label = None if label is None else self.label(label)
        condition = None if label is None or label < 0 else self.bundle.labels[label]
        with self.lock:
            z, ids = runtime.sample_latents(self.bundle, n, seed, condition)
            z, _ = runtime.redraw_copies(self.bundle, self.codec, z, ids, seed, self.net)
            assets = self._decode(z, ids)
        return [self.item(z[i], ids[i], assets[i]) for i in range(n)]

    def moved(self, z, moves: dict | None) -> np.ndarray:
        """z moved along principal directions ("PC1": spreads) and attribute vectors (name: amount)."""
        z = self.latent(z)
        moves = dict(moves or {})
        if not all(isinstance(v, (int, float)) and np.isfinite(v) for v in moves.values()):
            raise GenforgeError("slider amounts must be numbers")
        for i, spread in enumerate(self.spreads):
            amount = float(moves.pop(f"PC{i + 1}", 0.0))
            if abs(amount) > SLIDER_RANGE:
                raise GenforgeError(f"PC{i + 1} must be between -{SLIDER_RANGE:g} and {SLIDER_RANGE:g}")
            z = z + np.float32(amount * spread) * self.directions[i]
        attributes = {name: float(v) for name, v in moves.items() if v}
        return push_attributes(self.bundle, z[None], attributes)[0] if attributes else z

    def decode(self, z, label, moves: dict | None = None) -> dict:
        """One latent (moved by the sliders) decoded: what every slider move asks for."""
        z, label = self.moved(z, moves), self.label(label)
        with self.lock:
            asset = self._decode(z[None], np.array([label]))[0]
        return self.item(z, label, asset)

    def interpolate(self, a, b, label, steps: int) -> list[dict]:
        """`steps` latents from a to b (ends included), as `genforge interpolate` walks them."""
        if not isinstance(steps, int) or not 2 <= steps <= MOST_STEPS:
            raise GenforgeError(f"steps must be between 2 and {MOST_STEPS}")
        a, b, label = self.latent(a), self.latent(b), self.label(label)
        zs = latent.path_between(a, b, steps, True, self.bundle.prior)
        with self.lock:
            assets = self._decode(zs, np.full(steps, label))
        return [self.item(zs[i], label, assets[i]) for i in range(steps)]

    # ---- sketches: complete, score, check
    def complete(self, asset, known, label, seed: int = 0) -> dict:
        """The sketch's unknown cells filled by the model (genforge.inpaint.fill), the known ones as
        given; the result's latent (its encoding) comes back so the sliders go on from it."""
        from genforge.inpaint import fill

        label = self.label(label)
        grid = from_json(self.codec, asset)
        mask = known_mask(self.codec, grid, known)
        if not isinstance(seed, int) or not 0 <= seed < 2 ** 32:
            raise GenforgeError("seed must be a whole number from 0 to 2^32 - 1")
        with self.lock:
            filled = np.asarray(fill(self.bundle, self.codec, grid, mask, label, seed=seed))
            z = self._encode(filled, label)
        return self.item(z, label, filled)

    def _encode(self, asset: np.ndarray, label: int) -> np.ndarray:
        if self._encoder is None:
            self._encoder = runtime.encoder(self.bundle)
        onehot = self.codec.to_onehot(asset[None])
        mean, _ = self._encoder(onehot, latent.one_hot(np.array([max(label, 0)]), len(self.bundle.labels)))
        return mean[0]

    def score(self, asset, label) -> dict:
        """The style score of one window and its percentile among held-out real windows."""
        from genforge.score import percentiles, window_scores

        label = self.label(label)
        grid = from_json(self.codec, asset)
        with self.lock:
            ids = np.array([label])
            scores = np.asarray(window_scores(self.bundle, self.codec, grid[None], ids), np.float64)
            pct = np.asarray(percentiles(self.bundle, self.codec, scores, ids), np.float64)
        percentile = float(pct.reshape(-1)[0])  # NaN: no held-out windows of the label to compare with
        return {"score": float(scores.reshape(-1)[0]), "percentile": percentile if np.isfinite(percentile) else None}

    def check(self, asset, label) -> dict:
        """A level's playability as `genforge check` finds it: the path (row, column, phase; rows
        above the top negative) or where the player gets stuck, and broken structures; in the
        game's own window (the page draws that part)."""
        self._need("levels", "a playability check")
        from genforge.domains.levels.grid import to_chars

        label = self.label(label)
        grid = self.codec.native(from_json(self.codec, asset), label)
        checker = self.codec.checker(label)
        if not checker.has_route:
            raise GenforgeError(f"{self.codec.game(label)['name']}: no playability checker for this game")
        with self.lock:
            chars = to_chars(grid, self.codec.vocabulary)
            result = checker.check(chars)
            problems = checker.structure_problems(chars)
        return {"playable": bool(result.playable), "message": result.message,
                "path": [[int(r), int(c), str(p)] for r, c, p in result.path],
                "furthest": None if result.furthest is None else [int(x) for x in result.furthest],
                "problems": [[int(r), int(c), str(m)] for r, c, m in problems]}

    def download(self, asset, label, z=None) -> tuple[str, bytes]:
        """(file name, bytes) of the asset's map (.tmj) or MIDI file (.mid), written by the codec's
        export, as `genforge sample` writes them, into a folder of its own and read back."""
        label = self.label(label)
        grid = from_json(self.codec, asset)
        props = asset_properties(self.bundle, self.codec, label, None if z is None else self.latent(z),
                                 source="genforge serve")
        stem = f"{self.bundle.domain.rstrip('s')}-explorer"
        suffix = ".tmj" if self.bundle.domain == "levels" else ".mid"
        with self.lock, tempfile.TemporaryDirectory() as tmp:
            written = self.codec.export(grid, label, Path(tmp), stem, props)
            path = next(p for p in written if p.suffix == suffix)
            return path.name, path.read_bytes()

    def _need(self, domain: str, what: str) -> None:
        if self.bundle.domain != domain:
            raise GenforgeError(f"{what} is for {domain} models; this one is a {self.bundle.domain} model")

