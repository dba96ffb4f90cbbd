"""Tile-grid levels: VGLC text and Tiled maps <-> character grids <-> one-hot windows.

Knows nothing of Keras. A level is a 2-D numpy array of one-character strings; a model sees
one-hot windows cut from levels; a decoded window goes back to characters and out as VGLC text,
a Tiled map (.tmj, tileset embedded) and a PNG preview.
"""
from __future__ import annotations

import base64
import gzip
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genforge.domains.games import HORIZONTAL, ROOMS, VERTICAL, GamePreset, find_preset
from genforge.domains.splits import split_items
from genforge.errors import GenforgeError
from genforge.images import png_bytes, sheet

LEVEL_SUFFIXES = (".txt", ".tmj")


@dataclass
class TileLegend:
    """Tile character -> tags (solid, passable, hazard, pipe...), plus the tile that means 'nothing'."""

    tiles: dict[str, list[str]]
    empty: str = "-"

    @classmethod
    def load(cls, path: Path) -> "TileLegend":
        """Read a VGLC legend: JSON `{"tiles": {char: [tags]}}`, or prose lines `C = NAME` (Zelda)."""
        text = _read_text(path)
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as e:
                raise GenforgeError(f"{path}:{e.lineno}: malformed legend JSON: {e.msg}") from None
            tiles = data.get("tiles") if isinstance(data, dict) else None
            if not isinstance(tiles, dict) or not tiles:
                raise GenforgeError(f"{path}: a legend needs a non-empty \"tiles\" object: {{char: [tags]}}")
            for ch, tags in tiles.items():
                if len(ch) != 1 or not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                    raise GenforgeError(f"{path}: legend entry {ch!r} must map one character to a list of tags")
            return cls({ch: [t.lower() for t in tags] for ch, tags in tiles.items()})
        tiles = {}
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            ch, sep, name = line.partition("=")
            if not sep or len(ch.strip()) != 1:
                raise GenforgeError(f"{path}:{n}: expected a legend line `C = NAME`, got {line!r}")
            tiles[ch.strip()] = [t.strip().lower() for t in name.replace("(", ",").replace(")", "").split(",") if t.strip()]
        if not tiles:
            raise GenforgeError(f"{path}: legend file has no `C = NAME` lines")
        return cls(tiles)

    def filled_from(self, other: dict[str, list[str]]) -> tuple["TileLegend", list[str]]:
        """This legend plus the tiles only `other` knows; also returns which characters were added."""
        added = sorted(set(other) - set(self.tiles))
        return TileLegend({**self.tiles, **{c: list(other[c]) for c in added}}, self.empty), added

    def has(self, ch: str, tag: str) -> bool:
        return tag in self.tiles.get(ch, ())


@dataclass
class Level:
    grid: np.ndarray          # (rows, cols) of one-character strings
    name: str
    game: str
    path: Path | None = None


@dataclass
class LevelSet:
    """One game's levels as read from one folder, with its legend and windowing rules."""

    game: str
    legend: TileLegend
    layout: str
    window: tuple[int, int]
    levels: list[Level]
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- reading

def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # editors on Windows add a byte-order mark
    except UnicodeDecodeError:
        raise GenforgeError(f"{path}: not a UTF-8 text file") from None
    except OSError as e:
        raise GenforgeError(f"{path}: cannot read: {e.strerror}") from None


def read_vglc_text(path: Path, legend: TileLegend, game: str) -> Level:
    """One VGLC level text file: equal-length rows of legend characters."""
    rows = _read_text(path).replace("\r", "").split("\n")
    while rows and not rows[-1]:
        rows.pop()
    if not rows:
        raise GenforgeError(f"{path}: empty level file")
    width = len(rows[0])
    for n, row in enumerate(rows, 1):
        if len(row) != width:
            raise GenforgeError(f"{path}:{n}: ragged rows: this row has {len(row)} tiles, the first has {width}")
        for col, ch in enumerate(row, 1):
            if ch not in legend.tiles:
                raise GenforgeError(
                    f"{path}:{n}:{col}: tile {ch!r} is not in the legend (known: {''.join(sorted(legend.tiles))})")
    return Level(np.array([list(r) for r in rows], dtype="<U1"), path.stem, game, path)


def _legend_files(folder: Path) -> list[Path]:
    readme = folder / "README.txt"  # Zelda's legend is prose in its README
    return sorted(p for p in folder.glob("*.json") if p.is_file()) + ([readme] if readme.is_file() else [])


def read_level_folder(path: str | Path, window: tuple[int, int] | None = None) -> LevelSet:
    """Every level in a folder (VGLC .txt with a legend beside them, or Tiled .tmj maps)."""
    path = Path(path)
    if not path.exists():
        raise GenforgeError(f"{path}: no such file or folder")
    folder = path if path.is_dir() else path.parent
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in LEVEL_SUFFIXES and p.name != "README.txt") \
        if path.is_dir() else [path]
    if not files:
        raise GenforgeError(f"{path}: no level files (.txt or .tmj) in this folder")
    preset = find_preset(folder.name, [f.name for f in files])
    game = preset.name if preset else folder.name
    notes: list[str] = []

    legend = None
    for lf in _legend_files(folder):
        if lf.suffix.lower() == ".json" and "tiles" not in _read_text(lf):
            continue  # e.g. Zelda's graph-format zelda.json: not a tile legend
        if lf.name == "README.txt" and not all(
                re.fullmatch(r"\S\s*=.*", line.strip()) for line in _read_text(lf).splitlines() if line.strip()):
            continue  # an ordinary README, not a `C = NAME` legend
        legend = TileLegend.load(lf)
        break
    if preset:
        if legend is None:
            legend = TileLegend({k: list(v) for k, v in preset.tiles.items()}, preset.empty)
            notes.append(f"{game}: no tile legend file in {folder}; using genforge's built-in legend")
        else:
            # The corpus's legends have gaps and a few wrong meanings; the preset is authoritative.
            base = TileLegend({k: list(v) for k, v in preset.tiles.items()}, preset.empty)
            base, added = base.filled_from(legend.tiles)
            missing = sorted(set(preset.tiles) - set(legend.tiles))
            if missing:
                notes.append(f"{game}: legend lacks {' '.join(missing)}; filled from genforge's preset")
            legend = base

    levels: list[Level] = []
    for f in files:
        if f.suffix.lower() == ".tmj":
            level, tmj_legend = read_tmj(f, game)
            legend = tmj_legend if legend is None else legend.filled_from(tmj_legend.tiles)[0]
            levels.append(level)
        else:
            if legend is None:
                raise GenforgeError(f"{folder}: no tile legend (a .json file with {{\"tiles\": {{char: [tags]}}}})")
            levels.append(read_vglc_text(f, legend, game))
    if legend.empty not in legend.tiles:
        legend.empty = _guess_empty(legend)
    layout, default_window = _layout_for(preset, levels)
    return LevelSet(game, legend, layout, window or default_window, levels, notes)


def _guess_empty(legend: TileLegend) -> str:
    for tag in ("empty", "void", "passable"):
        for ch, tags in legend.tiles.items():
            if tag in tags:
                return ch
    return next(iter(legend.tiles))


def _layout_for(preset: GamePreset | None, levels: list[Level]) -> tuple[str, tuple[int, int]]:
    if preset:
        return preset.layout, preset.window
    # Unknown game: wide levels scroll sideways, tall ones climb; a window is square-ish at most.
    h = max(lv.grid.shape[0] for lv in levels)
    w = max(lv.grid.shape[1] for lv in levels)
    if w >= h:
        return HORIZONTAL, (h, min(w, 2 * h))
    return VERTICAL, (min(h, w), w)


# ---------------------------------------------------------------- windows

def fit_to_window(grid: np.ndarray, shape: tuple[int, int], empty: str, layout: str) -> np.ndarray:
    """Pad or trim the fixed axis of a level to the window's. Levels sit at the bottom-left:
    extra rows above are sky (trimmed only if empty), missing ones are padded with `empty`."""
    h, w = shape
    if layout == ROOMS:
        # Rooms tile the level exactly: trimming or padding would shift every room after it.
        if grid.shape[0] % h or grid.shape[1] % w:
            raise GenforgeError(f"level of {grid.shape[0]} x {grid.shape[1]} tiles is not a grid of "
                                f"{h} x {w} rooms")
        return grid
    if layout == HORIZONTAL:
        while grid.shape[0] > h and np.all(grid[0] == empty):
            grid = grid[1:]
        if grid.shape[0] < h:
            grid = np.concatenate([np.full((h - grid.shape[0], grid.shape[1]), empty), grid], axis=0)
        if grid.shape[1] < w:
            grid = np.concatenate([grid, np.full((grid.shape[0], w - grid.shape[1]), empty)], axis=1)
    else:
        while grid.shape[1] > w and np.all(grid[:, -1] == empty):
            grid = grid[:, :-1]
        if grid.shape[1] < w:
            grid = np.concatenate([grid, np.full((grid.shape[0], w - grid.shape[1]), empty)], axis=1)
        if grid.shape[0] < h:
            grid = np.concatenate([np.full((h - grid.shape[0], grid.shape[1]), empty), grid], axis=0)
    return grid


def cut_windows(level: Level, layout: str, shape: tuple[int, int], empty: str, stride: int = 1) -> np.ndarray:
    """All windows of `shape` in a level: (N, h, w) character arrays."""
    h, w = shape
    grid = fit_to_window(level.grid, shape, empty, layout)
    if layout == ROOMS:
        rows, cols = grid.shape[0] // h, grid.shape[1] // w
        rooms = [grid[r * h:(r + 1) * h, c * w:(c + 1) * w] for r in range(rows) for c in range(cols)]
        rooms = [room for room in rooms if not np.all(room == empty)]  # void rooms: not part of the dungeon
        return np.stack(rooms) if rooms else np.zeros((0, h, w), dtype="<U1")
    if layout == HORIZONTAL:
        if grid.shape[0] > h:
            raise GenforgeError(f"{level.path or level.name}: level is {grid.shape[0]} rows high, "
                                f"the window {h}; pass a taller --window")
        return np.stack([grid[:, x:x + w] for x in range(0, grid.shape[1] - w + 1, stride)])
    if grid.shape[1] > w:
        raise GenforgeError(f"{level.path or level.name}: level is {grid.shape[1]} columns wide, "
                            f"the window {w}; pass a wider --window")
    starts = range(grid.shape[0] - h, -1, -stride)  # bottom to top: the direction of play
    return np.stack([grid[y:y + h] for y in starts])


def place_in(windows: np.ndarray, shape: tuple[int, int], empty: str) -> np.ndarray:
    """Pad windows (N, h, w) at the top and right to a larger common `shape` (multi-game models)."""
    n, h, w = windows.shape
    out = np.full((n, *shape), empty, dtype="<U1")
    out[:, shape[0] - h:, :w] = windows
    return out


def crop_from(windows: np.ndarray, native: tuple[int, int]) -> np.ndarray:
    """Inverse of `place_in`: a game's own window shape from the bottom-left of a common one."""
    h, w = native
    return windows[..., windows.shape[-2] - h:, :w]


def to_indices(grids: np.ndarray, vocabulary: str) -> np.ndarray:
    lookup = {ch: i for i, ch in enumerate(vocabulary)}
    flat = [lookup[c] for c in grids.reshape(-1).tolist()]
    return np.asarray(flat, dtype=np.int32).reshape(grids.shape)


def to_chars(indices: np.ndarray, vocabulary: str) -> np.ndarray:
    return np.asarray(list(vocabulary), dtype="<U1")[indices]


def one_hot(indices: np.ndarray, depth: int) -> np.ndarray:
    return np.eye(depth, dtype=np.float32)[indices]


# ---------------------------------------------------------------- exports

def level_text(grid: np.ndarray) -> str:
    return "\n".join(["".join(row) for row in grid.tolist()]) + "\n"  # lists: 8x faster than numpy rows


TILE_PX = 16
_TAG_COLOURS = [  # first matching tag gives the base colour: reads like the game at a glance
    ("pipe", (40, 170, 60)), ("cannon", (60, 60, 70)), ("enemy", (220, 40, 40)), ("monster", (220, 40, 40)),
    ("hazard", (200, 60, 30)), ("coin", (250, 210, 40)), ("question block", (240, 160, 30)),
    ("breakable", (180, 90, 40)), ("door", (150, 80, 200)), ("stair", (230, 230, 120)),
    ("platform", (120, 200, 230)), ("element", (40, 90, 220)), ("wall", (90, 80, 70)), ("block", (150, 110, 60)),
    ("solid", (130, 80, 40)), ("floor", (210, 200, 170)), ("void", (20, 20, 20)), ("empty", (148, 180, 255)),
    ("passable", (170, 200, 255)),
]


def tile_colour(ch: str, tags: list[str]) -> tuple[int, int, int]:
    for tag, rgb in _TAG_COLOURS:
        if tag in tags:
            base = rgb
            break
    else:
        base = (128, 128, 128)
    # Tiles that share a tag family still get distinct colours: shift by the character's code.
    k = (ord(ch) * 37) % 61 - 30
    return tuple(min(max(c + k, 0), 255) for c in base)


def draw_tiles(vocabulary: str, legend: TileLegend) -> np.ndarray:
    """One TILE_PX square image per vocabulary entry: a colour from its tags and its glyph."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    tiles = []
    for ch in vocabulary:
        tags = legend.tiles.get(ch, [])
        rgb = tile_colour(ch, tags)
        img = Image.new("RGB", (TILE_PX, TILE_PX), rgb)
        draw = ImageDraw.Draw(img)
        draw.fontmode = "1"  # crisp glyphs: few colours per tile, so previews save as small palette PNGs
        if ch != legend.empty:
            draw.rectangle([0, 0, TILE_PX - 1, TILE_PX - 1], outline=tuple(max(0, c - 60) for c in rgb))
            ink = (0, 0, 0) if sum(rgb) > 380 else (255, 255, 255)
            x0, y0, x1, y1 = draw.textbbox((0, 0), ch, font=font)
            draw.text(((TILE_PX - (x1 - x0)) / 2 - x0, (TILE_PX - (y1 - y0)) / 2 - y0), ch, fill=ink, font=font)
        tiles.append(np.asarray(img))
    return np.stack(tiles)


def tiles_to_meta(tiles: np.ndarray) -> dict:
    """Drawn tiles stored in a bundle's metadata: generation then needs no font or Pillow, and
    previews look the same whatever Pillow version draws the glyphs later."""
    return {"shape": list(tiles.shape), "zlib_base64": base64.b64encode(zlib.compress(tiles.tobytes(), 9)).decode()}


def tiles_from_meta(data: dict) -> np.ndarray:
    raw = zlib.decompress(base64.b64decode(data["zlib_base64"]))
    return np.frombuffer(raw, np.uint8).reshape(data["shape"]).copy()


def render(indices: np.ndarray, tiles: np.ndarray) -> np.ndarray:
    """A level of tile indices (H, W) as an image (H*px, W*px, ...) of the tiles' pixels
    (RGB tiles give an RGB image; palette-index tiles give an index image)."""
    h, w = indices.shape
    px = tiles.shape[1]
    return np.swapaxes(tiles[indices], 1, 2).reshape(h * px, w * px, *tiles.shape[3:])


def palettise(tiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RGB tiles -> (palette-index tiles, palette): a third of the bytes to compress per preview."""
    colours, inverse = np.unique(tiles.reshape(-1, 3), axis=0, return_inverse=True)
    if len(colours) > 256:
        raise ValueError("more than 256 colours in the tiles")
    return inverse.reshape(tiles.shape[:-1]).astype(np.uint8), colours.astype(np.uint8)


def tileset_columns(n: int) -> int:
    return min(n, 8)


def tileset_image(tiles: np.ndarray) -> np.ndarray:
    """Tiles laid out in rows of `tileset_columns`, as Tiled expects a tileset image."""
    n, px = tiles.shape[0], tiles.shape[1]
    cols = tileset_columns(n)
    rows = -(-n // cols)
    image = np.zeros((rows * px, cols * px, 3), dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        image[r * px:(r + 1) * px, c * px:(c + 1) * px] = tiles[i]
    return image


def _property(name: str, value) -> dict:
    kind = "bool" if isinstance(value, bool) else "int" if isinstance(value, int) else \
        "float" if isinstance(value, float) else "string"
    return {"name": name, "type": kind, "value": value}


def tiled_tileset(vocabulary: str, legend: TileLegend, tileset_png: str) -> dict:
    """The tileset a map embeds: one tile per vocabulary entry, its character and tags as properties."""
    n = len(vocabulary)
    cols = tileset_columns(n)
    tiles = []
    for i, ch in enumerate(vocabulary):
        tags = legend.tiles.get(ch, [])
        props = [_property("char", ch), _property("tags", ",".join(tags))]
        props += [_property(t, True) for t in tags]
        tiles.append({"id": i, "properties": props})
    return {
        "firstgid": 1, "name": "genforge-tiles", "tilewidth": TILE_PX, "tileheight": TILE_PX,
        "tilecount": n, "columns": cols, "margin": 0, "spacing": 0,
        "image": tileset_png, "imagewidth": cols * TILE_PX, "imageheight": -(-n // cols) * TILE_PX,
        "tiles": tiles,
    }


def tiled_map(indices: np.ndarray, vocabulary: str, legend: TileLegend, tileset_png: str,
              properties: dict, tileset: dict | None = None) -> dict:
    """A Tiled JSON map (.tmj) with its tileset embedded (Phaser rejects external tilesets).

    gid = vocabulary index + 1; the empty tile is written as 0 (no tile) so engines see no
    collider there, and the map's background colour shows the sky instead. `tileset`: the
    `tiled_tileset` of these arguments, when the caller writes many maps and keeps it."""
    h, w = indices.shape
    empty = vocabulary.index(legend.empty) if legend.empty in vocabulary else -1
    data = np.where(indices == empty, 0, indices + 1).reshape(-1).tolist()
    sky = "#%02x%02x%02x" % tile_colour(legend.empty, legend.tiles.get(legend.empty, []))
    return {
        "type": "map", "version": "1.10", "tiledversion": "1.10.2", "orientation": "orthogonal",
        "renderorder": "right-down", "infinite": False, "compressionlevel": -1,
        "width": w, "height": h, "tilewidth": TILE_PX, "tileheight": TILE_PX,
        "backgroundcolor": sky, "nextlayerid": 2, "nextobjectid": 1,
        "properties": [_property(k, v) for k, v in {**properties, "empty_char": legend.empty}.items()],
        "layers": [{
            "id": 1, "name": "level", "type": "tilelayer", "x": 0, "y": 0, "width": w, "height": h,
            "opacity": 1, "visible": True, "data": data,
        }],
        "tilesets": [tileset or tiled_tileset(vocabulary, legend, tileset_png)],
    }


# ---------------------------------------------------------------- Tiled maps as input

_AUTO_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789#@$%&*+=<>[]{}()?!~^"
_GID_FLAGS = 0xF0000000  # Tiled stores flips and rotations in the top four bits of each gid


def _tmj_layer_data(path: Path, layer: dict) -> list[int]:
    data = layer.get("data")
    if isinstance(data, list):
        return [int(g) for g in data]
    if isinstance(data, str) and layer.get("encoding") == "base64":
        raw = base64.b64decode(data)
        comp = layer.get("compression", "")
        if comp == "zlib":
            raw = zlib.decompress(raw)
        elif comp == "gzip":
            raw = gzip.decompress(raw)
        elif comp:
            raise GenforgeError(f"{path}: tile layer compression {comp!r} is not supported; use CSV, zlib or gzip")
        return np.frombuffer(raw, dtype="<u4").astype(np.int64).tolist()
    raise GenforgeError(f"{path}: tile layer {layer.get('name')!r} has no readable data")


def read_tmj(path: Path, game: str) -> tuple[Level, TileLegend]:
    """A Tiled JSON map's first tile layer as a level. Tile identity comes from each tile's
    `char` property (genforge writes it) or is assigned; tags come from its true bool properties."""
    try:
        doc = json.loads(_read_text(path))
    except json.JSONDecodeError as e:
        raise GenforgeError(f"{path}:{e.lineno}: malformed Tiled map JSON: {e.msg}") from None
    if not isinstance(doc, dict) or doc.get("type", "map") != "map" or "layers" not in doc:
        raise GenforgeError(f"{path}: not a Tiled map (expected a JSON object with \"layers\")")
    if doc.get("infinite"):
        raise GenforgeError(f"{path}: infinite maps are not supported; make the map fixed-size in Tiled")
    layers = [layer for layer in doc["layers"] if isinstance(layer, dict) and layer.get("type") == "tilelayer"]
    if not layers:
        raise GenforgeError(f"{path}: the map has no tile layer")
    layer = layers[0]
    try:
        w, h = int(layer["width"]), int(layer["height"])
    except (KeyError, TypeError, ValueError):
        raise GenforgeError(f"{path}: tile layer lacks width/height") from None
    gids = _tmj_layer_data(path, layer)
    if len(gids) != w * h:
        raise GenforgeError(f"{path}: tile layer has {len(gids)} tiles, expected {w} x {h} = {w * h}")

    props = {p.get("name"): p.get("value") for p in doc.get("properties", []) if isinstance(p, dict)}
    empty = props.get("empty_char", "-") if isinstance(props.get("empty_char"), str) else "-"
    char_of: dict[int, str] = {}
    tiles: dict[str, list[str]] = {empty: ["empty", "passable"]}
    described = []  # (gid, properties) of every tile the tilesets define
    for ts in doc.get("tilesets", []):
        if "source" in ts:
            raise GenforgeError(f"{path}: external tileset {ts['source']!r}; embed it (Map > Embed Tileset)")
        first = int(ts.get("firstgid", 1))
        by_id = {int(t["id"]): t for t in ts.get("tiles", []) if "id" in t}
        for local in range(int(ts.get("tilecount", 0))):
            props_of = by_id.get(local, {}).get("properties", [])
            described.append((first + local, {p.get("name"): p.get("value") for p in props_of}))
    # Explicit `char` properties first, so an automatic character never takes one of theirs.
    taken = {empty} | {tp["char"] for _, tp in described if isinstance(tp.get("char"), str)}
    for gid, tp in described:
        ch = tp.get("char")
        if not (isinstance(ch, str) and len(ch) == 1):
            ch = next(c for c in _AUTO_CHARS if c not in taken)
            taken.add(ch)
        tags = [t for t in str(tp.get("tags", "")).split(",") if t] or [k for k, v in tp.items() if v is True]
        char_of[gid] = ch
        tiles.setdefault(ch, tags)
    grid = np.full(w * h, empty, dtype="<U1")
    for i, g in enumerate(gids):
        g &= ~_GID_FLAGS & 0xFFFFFFFF
        if g == 0:
            continue
        if g not in char_of:
            raise GenforgeError(f"{path}: tile {i % w},{i // w} has gid {g}, which no tileset defines")
        grid[i] = char_of[g]
    name = props.get("game") if isinstance(props.get("game"), str) else game
    return Level(grid.reshape(h, w), path.stem, name, path), TileLegend(tiles, empty)


# ---------------------------------------------------------------- training data

@dataclass
class LevelDataset:
    """Windows of one or more games on one vocabulary and one window shape, split by whole levels."""

    vocabulary: str                       # index -> tile character
    shape: tuple[int, int]                # common window (rows, cols)
    games: list[dict]                     # per game: name, legend, empty tile, layout, window
    labels: list[str]                     # condition labels (game names); empty for one game
    splits: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (tile indices (N,H,W), label ids (N,))
    notes: list[str]
    split: dict[str, dict[str, list[str]]]  # game -> "train" | "validation" | "test" -> level names

    def legend_for(self, game: str | None) -> TileLegend:
        """The game's legend, with tiles only other games know filled in (blends use them)."""
        by_name = {g["name"]: g for g in self.games}
        first = by_name.get(game) or self.games[0]
        legend = TileLegend(dict(first["legend"]), first["empty"])
        for g in self.games:
            legend = legend.filled_from(g["legend"])[0]
        return legend


def build_dataset(folders: list[str | Path], window: tuple[int, int] | None = None, stride: int = 1,
                  test: float = 0.2, validation: float = 0.1, seed: int = 0) -> LevelDataset:
    sets = [read_level_folder(f, window) for f in folders]
    names = [s.game for s in sets]
    if len(set(names)) != len(names):
        raise GenforgeError(f"the same game was given twice: {', '.join(names)}")
    notes = [n for s in sets for n in s.notes]
    used = set()
    for s in sets:
        used.update(s.legend.empty)
        for lv in s.levels:
            used.update(np.unique(lv.grid).tolist())
    vocabulary = "".join(sorted(used))
    shape = (max(s.window[0] for s in sets), max(s.window[1] for s in sets))
    parts: dict[str, list] = {"train": [], "validation": [], "test": []}
    games, split_names = [], {}
    for label, s in enumerate(sets):
        train, val, held = split_items(s.levels, test, validation, seed)
        if not val:
            notes.append(f"{s.game}: {len(s.levels)} level(s) only, none held out; metrics are on training windows")
        for split, lvls in (("train", train), ("validation", val), ("test", held)):
            for lv in lvls:
                wins = cut_windows(lv, s.layout, s.window, s.legend.empty, stride if split == "train" else 1)
                if len(wins):
                    parts[split].append((place_in(wins, shape, s.legend.empty), label))
        games.append({"name": s.game, "legend": s.legend.tiles, "empty": s.legend.empty, "layout": s.layout,
                      "window": list(s.window)})
        split_names[s.game] = {"train": [lv.name for lv in train], "validation": [lv.name for lv in val],
                         "test": [lv.name for lv in held]}
    if not parts["train"]:
        raise GenforgeError(f"no training windows of {shape[0]} x {shape[1]} tiles in {', '.join(map(str, folders))}")
    splits = {}
    for split, items in parts.items():
        if not items:
            items = parts["train"]
        grids = np.concatenate([g for g, _ in items])
        ids = np.concatenate([np.full(len(g), lab, dtype=np.int32) for g, lab in items])
        splits[split] = (to_indices(grids, vocabulary), ids)
    return LevelDataset(vocabulary, shape, games, names if len(sets) > 1 else [], splits, notes, split_names)


# ---------------------------------------------------------------- the codec the VAE plugs into

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
        self._checkers: dict[int, object] = {}
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
        """Tile indices: the most likely tile per cell, or drawn at a temperature."""
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
            g = self.game(label_id)
            legend = TileLegend(dict(g["legend"]), g["empty"])
            for other in self.games:
                legend = legend.filled_from(other["legend"])[0]
            self._legends[label_id] = legend
        return self._legends[label_id]

    def native(self, indices: np.ndarray, label_id: int) -> np.ndarray:
        """The window in its own game's shape (multi-game models pad to a common one). An axis
        longer than the model's window (a full-length level, `--length`) is the level's own."""
        h, w = self.game(label_id)["window"]
        rows, cols = indices.shape[-2:]
        return crop_from(indices, (h if rows == self.shape[0] else rows, w if cols == self.shape[1] else cols))

    # ---- playability
    def checker(self, label_id: int):
        """The playability and structure checker of a label's game."""
        from genforge.domains.playability import Checker

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
        return np.array([ch not in parts for ch in self.vocabulary])

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
    def metrics(self, true: np.ndarray, pred: np.ndarray, label_ids: np.ndarray) -> dict:
        """Per-tile reconstruction accuracy, overall and on non-empty tiles, overall and per game."""
        def acc(t, p, ids):
            empty = np.array([self.vocabulary.index(self.game(i)["empty"]) for i in ids])[:, None, None]
            hit, filled = t == p, t != empty
            return {"accuracy": float(hit.mean()), "accuracy_non_empty": float(hit[filled].mean()),
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
