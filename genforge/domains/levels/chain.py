"""Full-length levels (`sample levels --length N`): a chain of decoded windows joined without seams.

A grid-bottleneck model's latent is a small map of cells, each cell one patch of tiles (4 x 4 for
the default model). To continue a level, the next window keeps the cells it shares with the
window before (shifted along the direction of play) and draws only the new cells from the prior
*conditioned on the kept ones* (a Gaussian conditional: the new cells agree with their
neighbours as training levels do). The two decoded windows then overlap by the kept cells; the
level switches from the old window to the new one at the overlap column where they agree best,
and a candidate is accepted only if no structure across the join is broken (and, with
`playable`, if the stretch around the join is playable). The whole level is checked at the end.

Models without a grid bottleneck continue by drawing whole windows and keeping the one whose
overlap agrees best: it works, with more rejected candidates.

Everything runs in "strip" coordinates, where play goes left to right; a climbing game's grid
(bottom to top) is turned into a strip and back.
"""
from __future__ import annotations

import math

import numpy as np

from genforge import runtime
from genforge.core import latent
from genforge.domains.levels.grid import to_chars
from genforge.errors import GenforgeError

CANDIDATES = 16       # new-cell draws decoded together at each step
MAX_STEP_ROUNDS = 12  # batches of candidates per step before the level restarts
MAX_RESTARTS = 20
MAX_LENGTH = 10_000


def to_strip(grid: np.ndarray, layout: str) -> np.ndarray:
    """(..., H, W) grid -> (..., across, along) strip with play running left to right."""
    return grid if layout == "horizontal" else np.swapaxes(grid[..., ::-1, :], -1, -2)


def from_strip(strip: np.ndarray, layout: str) -> np.ndarray:
    return strip if layout == "horizontal" else np.swapaxes(strip, -1, -2)[..., ::-1, :]


def join(level: np.ndarray, window: np.ndarray, offset: int) -> np.ndarray:
    """The level so far, then `window` (which begins `offset` tiles along it), switching at the
    overlap column where the two agree best (nearest the overlap's middle on ties)."""
    overlap = level.shape[-1] - offset
    if overlap <= 0:
        return np.concatenate([level, window], -1)
    old, new = level[:, offset:], window[:, :overlap]
    differ = (old != new).sum(0)                              # per overlap column
    # switching before column c keeps old[:, :c] and new[:, c:]: weigh the columns either side
    cost = np.array([differ[max(0, c - 1)] + differ[min(overlap - 1, c)] for c in range(1, overlap)],
                    np.float64)
    middle = overlap / 2
    cost += np.abs(np.arange(1, overlap) - middle) / (overlap * 10)  # a tie-break, never outweighs a tile
    cut = offset + 1 + int(np.argmin(cost))
    return np.concatenate([level[:, :cut], window[:, cut - offset:]], -1)


class LevelChain:
    """Builds full-length levels of one label's game from a level bundle."""

    def __init__(self, bundle, codec, label_id: int, temperature: float = 0.0):
        self.bundle, self.codec, self.label = bundle, codec, label_id
        self.temperature = temperature
        game = codec.game(label_id)
        self.layout = game["layout"]
        if self.layout not in ("horizontal", "vertical"):
            what = "fixed-size rooms" if self.layout == "rooms" else "levels of mixed shapes and directions"
            raise GenforgeError(f"--length is for side-scrolling and climbing games; {game['name']} is made of "
                                f"{what}")
        h, w = codec.shape
        nh, nw = game["window"]
        # The model window along the direction of play must be the game's own (no padding to cut).
        if (self.layout == "horizontal" and nw != w) or (self.layout == "vertical" and nh != h):
            raise GenforgeError(f"--length: {game['name']}'s window ({nh} x {nw}) is narrower than this model's "
                                f"({h} x {w}) along the direction of play; train a model on this game alone")
        self.window = w if self.layout == "horizontal" else h  # tiles along the direction of play
        self.net = runtime.decoder(bundle)
        self.prior = bundle.prior
        self.checker = codec.checker(label_id)
        self._grid_cells(bundle.meta["model_config"], (h, w))

    def _grid_cells(self, config: dict, shape: tuple[int, int]) -> None:
        """Which latents belong to which column of cells (in strip order); None: no grid."""
        self.cells = None
        if config.get("bottleneck") != "grid":
            return
        blocks = len(config["filters"])
        cell = 2 ** blocks
        hb, wb = (math.ceil(s / cell) for s in shape)
        n_cells = self.bundle.latent_dim - int(config.get("global_dim") or 0)
        if n_cells % (hb * wb) or self.window % cell:
            return  # an odd grid: fall back to whole-window candidates
        k = n_cells // (hb * wb)
        index = np.arange(n_cells).reshape(hb, wb, k)
        # strip order: cell columns along the direction of play (climbing: bottom row of cells first)
        along = index.transpose(1, 0, 2) if self.layout == "horizontal" else index[::-1]
        self.cells = [col.ravel() for col in along]  # latents of each cell column, first to last
        self.cell = cell

    # ---- decoding
    def _decode(self, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Latents -> strips of tile indices in the game's native size across the direction of play."""
        ids = np.full(len(z), self.label)
        tiles = runtime.decode_assets(self.bundle, self.codec, z.astype(np.float32), ids, rng, self.temperature,
                                      self.net)
        return to_strip(np.stack([self.codec.native(t, self.label) for t in tiles]), self.layout)

    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return latent.draw(self.prior, rng, n, self.bundle.latent_dim, np.full(n, self.label))

    def _continue(self, z: np.ndarray, rng: np.random.Generator, n: int) -> tuple[np.ndarray, int]:
        """n latents of the next window and how many tiles it advances: the kept cell columns shift
        back by `shift` columns, the new ones come from the prior conditioned on the kept ones."""
        if self.cells is None:
            return self._draw(rng, n), self.window // 2
        columns = len(self.cells)
        shift = (columns + 1) // 2
        nxt = np.empty((n, len(z)), np.float64)
        known = np.zeros(len(z), bool)
        values = np.empty(len(z), np.float64)
        for c in range(columns - shift):
            known[self.cells[c]] = True
            values[self.cells[c]] = z[self.cells[c + shift]]
        extra = np.arange(sum(len(c) for c in self.cells), len(z))  # global latents: the level's own, kept
        known[extra], values[extra] = True, z[extra]
        nxt[:, known] = values[known]
        nxt[:, ~known] = latent.draw_conditional(self.prior, rng, n, known, values[known], self.label)
        return nxt.astype(np.float32), shift * self.cell

    # ---- checks
    def _broken_after(self, strip: np.ndarray, column: int) -> bool:
        """Does a structure at or after `column` (strip coordinates) break?"""
        grid = from_strip(strip, self.layout)
        chars = to_chars(grid, self.codec.vocabulary)
        for row, col, _ in self.checker.structure_problems(chars):
            along = col if self.layout == "horizontal" else grid.shape[0] - 1 - row
            if along >= column:
                return True
        return False

    def _playable(self, strips: list[np.ndarray]) -> np.ndarray:
        grids = np.stack([from_strip(s, self.layout) for s in strips])
        return self.checker.playable(to_chars(grids, self.codec.vocabulary))

    def _start(self, rng: np.random.Generator, playable: bool) -> tuple[np.ndarray, np.ndarray, int]:
        """The first window: latent, strip, and how many candidates were decoded to find it (its
        structures are whole already: decoding mends them)."""
        for round_ in range(1, MAX_STEP_ROUNDS + 1):
            z = self._draw(rng, CANDIDATES)
            strips = self._decode(z, rng)
            ok = self._playable(list(strips)) if playable else np.ones(len(strips), bool)
            if ok.any():
                i = int(np.argmax(ok))
                return z[i], strips[i], round_ * CANDIDATES
        raise GenforgeError("--length: no acceptable first window found; this model rarely makes whole levels")

    # ---- the chain
    def build(self, length: int, rng: np.random.Generator, playable: bool = False) -> tuple[np.ndarray, dict]:
        """One level `length` tiles along the direction of play, as a (H, W) grid of tile indices."""
        if not self.window <= length <= MAX_LENGTH:
            raise GenforgeError(f"--length must be between the model's window ({self.window}) and {MAX_LENGTH:,}, "
                                f"got {length}")
        decoded = 0
        for restart in range(MAX_RESTARTS + 1):
            z, level, tried = self._start(rng, playable)
            decoded += tried
            start = 0  # where the last window begins along the strip
            stuck = False
            while level.shape[-1] < length and not stuck:
                stuck = True
                for _ in range(MAX_STEP_ROUNDS):
                    cand_z, advance = self._continue(z, rng, CANDIDATES)
                    strips = self._decode(cand_z, rng)
                    decoded += len(strips)
                    joined = [join(level, s, start + advance)[:, :length] for s in strips]
                    seam = start + advance
                    ok = np.array([not self._broken_after(j, max(0, seam - self.window // 2)) for j in joined])
                    if playable and ok.any():
                        # the stretch around the join: one window before it to the end
                        lo = max(0, seam - self.window)
                        ok[ok] = self._playable([joined[i][:, lo:] for i in np.nonzero(ok)[0]])
                    if ok.any():
                        i = int(np.argmax(ok))
                        z, level, start = cand_z[i], joined[i], seam
                        stuck = False
                        break
            if stuck:
                continue
            grid = from_strip(level, self.layout)
            if not playable or self.codec.acceptable(grid[None], np.array([self.label]))[0]:
                return grid, {"restarts": restart, "windows_decoded": decoded}
        raise GenforgeError(f"--length {length}: no acceptable level after {MAX_RESTARTS + 1} tries; try a shorter "
                            "--length or leave out --playable")
