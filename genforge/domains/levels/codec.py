"""LevelCodec: the levels domain's side of the shared VAE core. Levels <-> model tensors (tile
indices, one-hot windows, logits), the playability checker and structure repair per game, and
the files a sampled level is written as (Tiled map, VGLC text, PNG preview and sheets).

On the sampling path: numpy only at import (Pillow draws tiles only for a model without them).
"""
from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np

from genforge.domains.levels.dataset import LevelDataset
from genforge.domains.levels.grid import (NULL_TAG, TileLegend, crop_from, cut_windows, filled_legend, level_text,
                                          one_hot, place_in, to_chars, to_indices)
from genforge.domains.levels.playability import Checker
from genforge.domains.levels.read import read_tmj, read_vglc_text
from genforge.domains.levels.stats import window_stats
from genforge.domains.levels.tiles import (draw_tiles, palettise, render, tiled_map, tiled_tileset, tiles_from_meta,
                                           tiles_to_meta, tileset_image)
from genforge.errors import GenforgeError
from genforge.images import png_bytes, sheet


def _sheet_columns(h: int, w: int) -> int:
    """Levels per row of a sheet of (h x w pixel) previews: long levels one a row."""
    return 1 if w > 6 * h else 4 if w > h else 8


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "game"


class LevelCodec:
    """Levels <-> model tensors, for training (from a LevelDataset) and generation (from a bundle)."""

    domain = "levels"
    likelihood = "categorical"

    def __init__(self, vocabulary: str, shape: tuple[int, int], games: list[dict], labels: list[str]):
        self.vocabulary, self.shape, self.games, self.labels = vocabulary, tuple(shape), games, labels
        self._tiles: dict[str, np.ndarray] = {}
        self._tileset_png: dict[str, bytes] = {}
        self._palette: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._checkers: dict[int, Checker] = {}
        self._legends: dict[int, TileLegend] = {}
        self._tilesets: dict[int, tuple[str, dict]] = {}  # label -> (tileset image name, Tiled tileset)

    @classmethod
    def from_dataset(cls, ds: LevelDataset) -> "LevelCodec":
        return cls(ds.vocabulary, ds.shape, ds.games, ds.labels)

    @classmethod
    def from_meta(cls, meta: dict) -> "LevelCodec":
        m = meta["codec"]
        codec = cls(m["vocabulary"], tuple(m["shape"]), m["games"], meta["labels"])
        codec._tiles = {name: tiles_from_meta(t) for name, t in m.get("tile_images", {}).items()}
        return codec

    def meta(self) -> dict:
        return {"vocabulary": self.vocabulary, "shape": list(self.shape), "games": self.games,
                "tile_images": {g["name"]: tiles_to_meta(self.tiles(i)) for i, g in enumerate(self.games)}}

    @property
    def grid_shape(self) -> tuple[int, int, int]:
        return (*self.shape, len(self.vocabulary))

    @property
    def ignore_class(self) -> int | None:
        """The vocabulary index of a tile some game's legend tags `null` (cells outside the map):
        the core leaves it out of the loss and the accuracy, and decoding never writes it."""
        nulls = [ch for g in self.games for ch, tags in g["legend"].items() if NULL_TAG in tags]
        return self.vocabulary.index(nulls[0]) if nulls and nulls[0] in self.vocabulary else None

    def describe(self, split: dict[str, dict[str, list[str]]]) -> list[str]:
        """`genforge info`'s lines for the codec: each game's layout, window and tiles, and the
        levels held out of training (`split`: the bundle's)."""
        lines = []
        for g in self.games:
            tiles = ", ".join(f"{c} {'/'.join(g['legend'].get(c, [])[:2])}" for c in self.vocabulary
                              if c in g["legend"])
            lines += [f"game       {g['name']}: {g['layout']} windows {g['window'][0]} x {g['window'][1]}",
                      f"  tiles    {tiles}"]
            held = split.get(g["name"], {}).get("test")
            if held:
                lines.append(f"  held out {', '.join(held)}")
        return lines

    # ---- tensors
    def to_onehot(self, indices: np.ndarray) -> np.ndarray:
        return one_hot(indices, len(self.vocabulary))

    def from_logits(self, logits: np.ndarray, rng: np.random.Generator | None = None,
                    temperature: float = 0.0) -> np.ndarray:
        """Tile indices: the most likely tile per cell, or drawn at a temperature; never the null
        tile (a generated level is all map)."""
        if self.ignore_class is not None:
            logits = np.array(logits, copy=True)
            logits[..., self.ignore_class] = -np.inf
        if not temperature:
            return logits.argmax(-1)
        from genforge.core.latent import softmax

        p = softmax(logits / temperature)
        u = rng.random(p.shape[:-1] + (1,))
        return np.minimum((p.cumsum(-1) < u).sum(-1), p.shape[-1] - 1)

    def game(self, label_id: int) -> dict:
        return self.games[max(label_id, 0)]

    def legend(self, label_id: int) -> TileLegend:
        """The game's legend, with tiles only the model's other games know filled in."""
        label_id = max(label_id, 0)
        if label_id not in self._legends:
            self._legends[label_id] = filled_legend(self.game(label_id), self.games)
        return self._legends[label_id]

    def native(self, indices: np.ndarray, label_id: int) -> np.ndarray:
        """The window in its own game's shape (multi-game models pad to a common one). An axis
        longer than the model's window (a full-length level, `--length`) is the level's own."""
        h, w = self.game(label_id)["window"]
        rows, cols = indices.shape[-2:]
        return crop_from(indices, (h if rows == self.shape[0] else rows, w if cols == self.shape[1] else cols))

    # ---- playability
    def checker(self, label_id: int) -> Checker:
        """The playability and structure checker of a label's game."""
        label_id = max(label_id, 0)
        if label_id not in self._checkers:
            g = self.game(label_id)
            self._checkers[label_id] = Checker.for_game(g["name"], self.legend(label_id), g["layout"],
                                                        room=tuple(g["window"]))
        return self._checkers[label_id]

    def repair(self, indices: np.ndarray, logits: np.ndarray, label_ids: np.ndarray) -> np.ndarray:
        """Levels (N, H, W) with every broken multi-tile structure mended (Checker.repair, guided
        by the decoder's `logits`); levels with nothing broken come back as they were."""
        from genforge.core.latent import softmax

        out = np.array(indices, copy=True)
        rows = self.shape[0]
        # sorted(set()), not np.unique: that imports numpy.ma, 40 ms of every sampling run's start-up
        for lab in sorted(set(label_ids.tolist())):
            checker = self.checker(int(lab))
            h, w = self.game(int(lab))["window"]
            sel = np.nonzero(label_ids == lab)[0]
            chars = to_chars(out[sel, rows - h:, :w], self.vocabulary)
            for j in np.nonzero(checker.broken(chars))[0]:
                log_probs = np.log(softmax(logits[sel[j], rows - h:, :w]) + 1e-12)
                fixed = checker.repair(chars[j], log_probs, self.vocabulary)
                out[sel[j], rows - h:, :w] = to_indices(fixed, self.vocabulary)
        return out

    def calibrated_classes(self, label_id: int) -> np.ndarray:
        """Tiles whose sampled frequency calibrated decoding matches to the corpus's: all but the
        tiles of multi-tile structures (pushed to appear more, pipe parts mostly come out broken)."""
        parts = self.checker(label_id).structure_chars
        null = self.ignore_class
        return np.array([ch not in parts and i != null for i, ch in enumerate(self.vocabulary)])

    def acceptable(self, indices: np.ndarray, label_ids: np.ndarray) -> np.ndarray:
        """Per level (N, H, W tile indices): playable and every multi-tile structure whole, the
        two things `--playable` guarantees."""
        ok = np.zeros(len(label_ids), bool)
        for lab in sorted(set(label_ids.tolist())):  # not np.unique: see repair
            sel = label_ids == lab
            chars = to_chars(np.stack([self.native(a, int(lab)) for a in indices[sel]]), self.vocabulary)
            checker = self.checker(int(lab))
            ok[sel] = checker.playable(chars) & ~checker.broken(chars)
        return ok

    # ---- metrics
    def summary_stats(self, indices: np.ndarray, label_ids: np.ndarray) -> dict[str, float]:
        """Per-window means of the level statistics (density, enemies, gap columns, structures per
        window: domains.levels.stats) and the share of windows with a broken structure, over windows
        of every label in their own game's shape; what training sets samples beside the data with."""
        sums: dict[str, float] = {}
        for lab in sorted(set(np.asarray(label_ids).tolist())):
            sel = np.asarray(label_ids) == lab
            chars = to_chars(np.stack([self.native(a, int(lab)) for a in indices[sel]]), self.vocabulary)
            checker = self.checker(int(lab))
            g = self.game(int(lab))
            stats = window_stats(chars, self.legend(int(lab)), g["layout"], checker)
            stats["broken_structures"] = checker.broken(chars).astype(float)
            for name, values in stats.items():
                if name != "leniency":
                    sums[name] = sums.get(name, 0.0) + float(values.sum())
        return {name: round(total / max(1, len(label_ids)), 4) for name, total in sums.items()}

    def metrics(self, true: np.ndarray, pred: np.ndarray, label_ids: np.ndarray) -> dict:
        """Per-tile reconstruction accuracy, overall and on non-empty tiles, overall and per game;
        cells outside the map (a `null` tile) count in neither."""
        null = self.ignore_class

        def acc(t, p, ids):
            empty = np.array([self.vocabulary.index(self.game(i)["empty"]) for i in ids])[:, None, None]
            content = t != null if null is not None else np.ones(t.shape, bool)
            hit, filled = t == p, (t != empty) & content
            return {"accuracy": float(hit[content].mean()), "accuracy_non_empty": float(hit[filled].mean()),
                    "windows": int(len(t))}

        out = acc(true, pred, label_ids)
        if self.labels:
            out["per_label"] = {name: acc(true[label_ids == i], pred[label_ids == i], label_ids[label_ids == i])
                                for i, name in enumerate(self.labels) if np.any(label_ids == i)}
        return out

    # ---- assets
    def read_window(self, path: str | Path, label_id: int) -> np.ndarray:
        """A real level file as one window of tile indices (its first window: leftmost, or bottom)."""
        path = Path(path)
        if not path.is_file():
            raise GenforgeError(f"{path}: no such level file")
        g = self.game(label_id)
        legend = self.legend(label_id)
        if path.suffix.lower() == ".tmj":
            level, _ = read_tmj(path, g["name"])
        else:
            level = read_vglc_text(path, TileLegend({c: [] for c in self.vocabulary}, legend.empty), g["name"])
        unknown = sorted(set(np.unique(level.grid).tolist()) - set(self.vocabulary))
        if unknown:
            raise GenforgeError(f"{path}: tiles {' '.join(unknown)} are not in this model's vocabulary "
                                f"({self.vocabulary})")
        window = cut_windows(level, g["layout"], tuple(g["window"]), g["empty"])[:1]
        if not len(window):
            raise GenforgeError(f"{path}: no {g['window'][0]} x {g['window'][1]} window in this level")
        return to_indices(place_in(window, self.shape, g["empty"]), self.vocabulary)[0]

    def tiles(self, label_id: int) -> np.ndarray:
        name = self.game(label_id)["name"]
        if name not in self._tiles:
            self._tiles[name] = draw_tiles(self.vocabulary, self.legend(label_id))
        return self._tiles[name]

    def _render_indexed(self, grid: np.ndarray, label_id: int) -> tuple[np.ndarray, np.ndarray]:
        name = self.game(label_id)["name"]
        if name not in self._palette:
            self._palette[name] = palettise(self.tiles(label_id))
        index_tiles, palette = self._palette[name]
        return render(grid, index_tiles), palette

    def tileset_png(self, label_id: int) -> bytes:
        name = self.game(label_id)["name"]
        if name not in self._tileset_png:
            self._tileset_png[name] = png_bytes(tileset_image(self.tiles(label_id)))
        return self._tileset_png[name]

    def preview(self, indices: np.ndarray, label_id: int) -> np.ndarray:
        return render(self.native(indices, label_id), self.tiles(label_id))

    def sheet(self, previews: list[np.ndarray]) -> bytes:
        return png_bytes(sheet(previews, columns=_sheet_columns(*previews[0].shape[:2])))

    def sheet_of(self, levels: list[np.ndarray], label_ids) -> bytes:
        """A PNG of many levels at a glance, in indexed colour (a third of the bytes of RGB to
        compress, which made the sheet the slowest file of `sample levels -n 100`)."""
        images, palettes, offsets = [], [], {}
        for grid, label in zip(levels, label_ids):
            image, palette = self._render_indexed(self.native(grid, int(label)), int(label))
            name = self.game(int(label))["name"]
            if name not in offsets:
                offsets[name] = sum(len(p) for p in palettes)
                palettes.append(palette)
            images.append(image + np.uint8(offsets[name]))
        palette = np.concatenate(palettes + [np.array([[255, 255, 255]], np.uint8)])  # the gaps' white
        if len(palette) > 256:
            return self.sheet([self.preview(g, int(i)) for g, i in zip(levels, label_ids)])
        return png_bytes(sheet(images, columns=_sheet_columns(*images[0].shape), background=len(palette) - 1),
                         palette)

    def export(self, indices: np.ndarray, label_id: int, out_dir: Path, stem: str, properties: dict) -> list[Path]:
        """Write a level as a Tiled map (.tmj), VGLC text (.txt) and a PNG preview."""
        from genforge.atomic import write_bytes, write_json, write_text

        out_dir = Path(out_dir)
        grid = self.native(indices, label_id)
        game = self.game(label_id)
        legend = self.legend(label_id)
        if label_id not in self._tilesets:
            # Named by content: another model sampling into the same folder never reuses a wrong image.
            name = f"tileset-{_slug(game['name'])}-{zlib.crc32(self.tileset_png(label_id)):08x}.png"
            self._tilesets[label_id] = name, tiled_tileset(self.vocabulary, legend, name)
        tileset_name, tileset = self._tilesets[label_id]
        if not (out_dir / tileset_name).exists():  # shared by the folder's maps: not one of this level's files
            write_bytes(out_dir / tileset_name, self.tileset_png(label_id))
        props = {"game": game["name"], **properties}
        return [
            write_json(out_dir / f"{stem}.tmj", tiled_map(grid, self.vocabulary, legend, tileset_name, props, tileset),
                       compact=True),
            write_text(out_dir / f"{stem}.txt", level_text(to_chars(grid, self.vocabulary))),
            write_bytes(out_dir / f"{stem}.png", png_bytes(*self._render_indexed(grid, label_id))),
        ]
