"""Tiles drawn and written out: a colour and glyph per tile from its tags, previews of levels as
pixels (RGB or palette indices), and Tiled output (a tileset image and a .tmj map with its tileset
embedded). Pillow only inside draw_tiles: generation uses tiles drawn at training time.
"""
from __future__ import annotations

import base64
import zlib

import numpy as np

from genforge.domains.levels.grid import TileLegend

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
    """Tiles a model's metadata stores; never inflated past the size their shape says (a stranger's
    genforge.json could hold a few KB that inflate to gigabytes)."""
    size = int(np.prod(data["shape"]))
    try:
        raw = zlib.decompressobj().decompress(base64.b64decode(data["zlib_base64"]), size + 1)
    except zlib.error as e:
        raise ValueError(f"tile images: {e}") from None
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
