"""Reading level files: VGLC text with its folder's legend (JSON, or Zelda's prose README), and Tiled
maps (.tmj) as input. A folder becomes a LevelSet: one game's levels, its legend (a preset's filled
from the file's) and its windowing rules.
"""
from __future__ import annotations

import base64
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genforge.domains.games import HORIZONTAL, GamePreset, find_preset, layout_for
from genforge.domains.levels.grid import Level, TileLegend, empty_tile, is_tile_char
from genforge.errors import GenforgeError, brief

LEVEL_SUFFIXES = (".txt", ".tmj")


@dataclass
class LevelSet:
    """One game's levels as read from one folder, with its legend and windowing rules."""

    game: str
    legend: TileLegend
    layout: str
    window: tuple[int, int]
    levels: list[Level]
    notes: list[str] = field(default_factory=list)


def read_text(path: Path) -> str:
    """A text file's contents, or one GenforgeError naming the file when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8-sig")  # editors on Windows add a byte-order mark
    except UnicodeDecodeError:
        raise GenforgeError(f"{path}: not a UTF-8 text file") from None
    except OSError as e:
        raise GenforgeError(f"{path}: cannot read: {e.strerror}") from None


def read_legend(path: Path) -> TileLegend:
    """Read a VGLC legend: JSON `{"tiles": {char: [tags]}}`, or prose lines `C = NAME` (Zelda)."""
    text = read_text(path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise GenforgeError(f"{path}:{e.lineno}: malformed legend JSON: {e.msg}") from None
        except (ValueError, RecursionError) as e:  # a number of thousands of digits, lists nested thousands deep
            raise GenforgeError(f"{path}: malformed legend JSON: {brief(e, 120)}") from None
        tiles = data.get("tiles") if isinstance(data, dict) else None
        if not isinstance(tiles, dict) or not tiles:
            raise GenforgeError(f"{path}: a legend needs a non-empty \"tiles\" object: {{char: [tags]}}")
        for ch, tags in tiles.items():
            if not is_tile_char(ch) or not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise GenforgeError(f"{path}: legend entry {brief(repr(ch), 60)} must map one character to a list of tags")
        tiles = {ch: [t.lower() for t in tags] for ch, tags in tiles.items()}
        return TileLegend(tiles, empty_tile(tiles) or "", _structures(path, data.get("structures", [])))
    tiles = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        ch, sep, name = line.partition("=")
        if not sep or not is_tile_char(ch.strip()):
            raise GenforgeError(f"{path}:{n}: expected a legend line `C = NAME`, got {brief(repr(line), 80)}")
        tiles[ch.strip()] = [t.strip().lower() for t in name.replace("(", ",").replace(")", "").split(",") if t.strip()]
    if not tiles:
        raise GenforgeError(f"{path}: legend file has no `C = NAME` lines")
    return TileLegend(tiles, empty_tile(tiles) or "")


def _structures(path: Path, specs) -> tuple:
    """A legend's own multi-tile structures: [{"name", "mouth": [tags], "body": [tags], "flip"?,
    "stack"?}], mouth and body named by tags left to right (see genforge.domains.games)."""
    if not isinstance(specs, list):
        raise GenforgeError(f"{path}: \"structures\" must be a list of {{name, mouth, body}} objects")
    out = []
    for spec in specs:
        ok = isinstance(spec, dict) and isinstance(spec.get("name"), str) and all(
            isinstance(spec.get(k), list) and spec[k] and all(isinstance(t, str) for t in spec[k])
            for k in ("mouth", "body")) and len(spec["mouth"]) == len(spec["body"])
        if not ok:
            raise GenforgeError(f"{path}: structure {brief(repr(spec), 80)} needs a name and equally long lists of mouth and "
                                "body tags")
        out.append({"name": spec["name"], "mouth": [t.lower() for t in spec["mouth"]],
                    "body": [t.lower() for t in spec["body"]], "flip": bool(spec.get("flip")),
                    "stack": bool(spec.get("stack"))})
    return tuple(out)


def read_vglc_text(path: Path, legend: TileLegend, game: str, pad: bool = False) -> Level:
    """One VGLC level text file: equal-length rows of legend characters. Ragged rows are an error,
    unless `pad`: then short rows are padded at their end with the empty tile and listed in the
    level's `padded_rows` (1-based line numbers)."""
    rows = read_text(path).replace("\r", "").split("\n")
    while rows and not rows[-1]:
        rows.pop()
    if not rows:
        raise GenforgeError(f"{path}: empty level file")
    width = max(map(len, rows)) if pad else len(rows[0])
    padded = [n for n, row in enumerate(rows, 1) if len(row) < width] if pad else []
    rows = [row + legend.empty * (width - len(row)) for row in rows] if pad else rows
    for n, row in enumerate(rows, 1):
        if len(row) != width:
            raise GenforgeError(f"{path}:{n}: ragged rows: this row has {len(row)} tiles, the first has {width} "
                                "(--pad pads short rows with the empty tile)")
        for col, ch in enumerate(row, 1):
            if ch not in legend.tiles:
                raise GenforgeError(
                    f"{path}:{n}:{col}: tile {ch!r} is not in the legend (known: {_printable(sorted(legend.tiles))})")
    return Level(np.array([list(r) for r in rows], dtype="<U1"), path.stem, game, path, padded)


def _printable(chars, most: int = 120) -> str:
    """Tile characters as one line of a message: unprintable ones escaped, a long list cut."""
    text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in chars)
    return text if len(text) <= most else text[:most - 3] + "..."


def _legend_files(folder: Path) -> list[Path]:
    readme = folder / "README.txt"  # Zelda's legend is prose in its README
    return sorted(p for p in folder.glob("*.json") if p.is_file()) + ([readme] if readme.is_file() else [])


def find_legend(folder: Path) -> TileLegend | None:
    """The folder's tile legend: its first JSON file with "tiles", else a README of `C = NAME`
    lines (Zelda); None when it has neither."""
    for lf in _legend_files(folder):
        if lf.suffix.lower() == ".json" and "tiles" not in read_text(lf):
            continue  # e.g. Zelda's graph-format zelda.json: not a tile legend
        if lf.name == "README.txt" and not all(
                re.fullmatch(r"\S\s*=.*", line.strip()) for line in read_text(lf).splitlines() if line.strip()):
            continue  # an ordinary README, not a `C = NAME` legend
        return read_legend(lf)
    return None


def preset_legend(preset: GamePreset, found: TileLegend | None = None, empty: str | None = None) -> TileLegend:
    """A preset's legend with the tiles only `found` (a file's own legend) knows filled in. The
    corpus's legends have gaps and a few wrong meanings: the preset is authoritative, the file's
    tags fill its gaps. `empty`: the file's tile for nothing (a Tiled map names its own); by
    default the preset's."""
    legend = TileLegend({k: list(v) for k, v in preset.tiles.items()}, preset.empty if empty is None else empty,
                        found.structures if found else ())
    return legend.filled_from(found.tiles)[0] if found else legend


def read_level_folder(path: str | Path, window: tuple[int, int] | None = None, pad: bool = False) -> LevelSet:
    """Every level in a folder (VGLC .txt with a legend beside them, or Tiled .tmj maps). `pad`:
    ragged rows are padded with the empty tile (and reported) instead of refused."""
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

    legend = find_legend(folder)
    if preset:
        if legend is None:
            notes.append(f"{game}: no tile legend file in {folder}; using genforge's built-in legend")
        else:
            missing = sorted(set(preset.tiles) - set(legend.tiles))
            if missing:
                notes.append(f"{game}: legend lacks {' '.join(missing)}; filled from genforge's preset")
        legend = preset_legend(preset, legend)
    elif legend is not None and legend.empty not in legend.tiles:
        legend.empty = empty_tile(legend.tiles, _text_counts(files)) or next(iter(legend.tiles))
        notes.append(f"{game}: the legend tags no tile empty or void; {legend.empty!r}, the most frequent "
                     "passable tile, is the empty tile")
    levels, legend = _read_levels(files, legend, game, folder, pad)
    notes += [f"{game}: {lv.path.name}: rows {', '.join(map(str, lv.padded_rows))} padded with {legend.empty!r} "
              "to the level's width (--pad)" for lv in levels if lv.padded_rows]
    layout, default_window = layout_for(preset, [lv.grid.shape for lv in levels])
    window = window or default_window
    heights = sorted({lv.grid.shape[0] for lv in levels})
    if layout == HORIZONTAL and len(heights) > 1:
        short = sum(lv.grid.shape[0] < window[0] for lv in levels)
        tall = sum(lv.grid.shape[0] > window[0] for lv in levels)
        notes.append(f"{game}: levels of {', '.join(map(str, heights))} rows in {window[0]}-row windows: {short} "
                     f"padded at the top with {legend.empty!r}, {tall} cut of empty top rows")
    return LevelSet(game, legend, layout, window, levels, notes)


def _text_counts(files: list[Path]) -> dict[str, int]:
    """How often each character occurs in the text level files (the empty tile's last resort)."""
    counts: dict[str, int] = {}
    for f in files:
        if f.suffix.lower() == ".txt":
            for ch in read_text(f).replace("\r", "").replace("\n", ""):
                counts[ch] = counts.get(ch, 0) + 1
    return counts


def _read_levels(files: list[Path], legend: TileLegend | None, game: str, folder: Path,
                 pad: bool = False) -> tuple[list[Level], TileLegend]:
    """The level files in order, and the legend they are read with: a Tiled map's own tiles fill
    the legend's gaps (or are the legend, in a folder without one)."""
    levels: list[Level] = []
    for f in files:
        if f.suffix.lower() == ".tmj":
            level, tmj_legend = read_tmj(f, game)
            legend = tmj_legend if legend is None else legend.filled_from(tmj_legend.tiles)[0]
            levels.append(level)
        else:
            if legend is None:
                raise GenforgeError(f"{folder}: no tile legend (a .json file with {{\"tiles\": {{char: [tags]}}}})")
            levels.append(read_vglc_text(f, legend, game, pad))
    return levels, legend


# ---------------------------------------------------------------- Tiled maps as input

_AUTO_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789#@$%&*+=<>[]{}()?!~^"
_GID_FLAGS = 0xF0000000  # Tiled stores flips and rotations in the top four bits of each gid
MAX_MAP_CELLS = 1 << 22  # 4 M tiles: far beyond any level, far below what would exhaust memory
MAX_TILESET_TILES = 1 << 16


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _tmj_layer_data(path: Path, layer: dict, w: int, h: int) -> np.ndarray:
    """The layer's gids (flip bits included), exactly w x h of them, as uint32."""
    data, cells = layer.get("data"), w * h
    if isinstance(data, list):
        if len(data) != cells:
            raise GenforgeError(f"{path}: tile layer has {len(data)} tiles, expected {w} x {h} = {cells}")
        for i, g in enumerate(data):
            if not (_is_int(g) and 0 <= g <= 0xFFFFFFFF):
                raise GenforgeError(f"{path}: tile {i} of the tile layer is {brief(g, 40)}, not a tile id (a whole "
                                    "number from 0 to 4294967295)")
        return np.asarray(data, np.uint32)
    if isinstance(data, str) and layer.get("encoding") == "base64":
        try:
            raw = base64.b64decode(data)
        except ValueError:  # binascii.Error, or a character outside ASCII
            raise GenforgeError(f"{path}: tile layer data is not valid base64") from None
        comp = layer.get("compression", "")
        if comp in ("zlib", "gzip"):
            raw = _decompress(path, raw, comp, 4 * cells)
        elif comp:
            raise GenforgeError(f"{path}: tile layer compression {brief(comp, 40)!r} is not supported; use CSV, zlib "
                                "or gzip")
        if len(raw) != 4 * cells:
            raise GenforgeError(f"{path}: tile layer has {len(raw)} bytes of tile data, expected {4 * cells} "
                                f"({w} x {h} tiles of 4 bytes)")
        return np.frombuffer(raw, dtype="<u4").astype(np.uint32)
    raise GenforgeError(f"{path}: tile layer {brief(layer.get('name'), 40)!r} has no readable data")


def _decompress(path: Path, raw: bytes, comp: str, expected: int) -> bytes:
    """zlib or gzip data, never inflated past `expected` bytes (a small file can inflate to gigabytes)."""
    d = zlib.decompressobj(zlib.MAX_WBITS | (16 if comp == "gzip" else 0))
    try:
        out = d.decompress(raw, expected + 1)
        if len(out) <= expected:
            out += d.flush()
    except zlib.error as e:
        raise GenforgeError(f"{path}: tile layer data is not valid {comp} data ({e})") from None
    if len(out) > expected:
        raise GenforgeError(f"{path}: tile layer data inflates to more than the {expected} bytes its size needs")
    if not d.eof:
        raise GenforgeError(f"{path}: tile layer {comp} data is truncated")
    return out


def _properties(items) -> dict:
    """Tiled's [{"name", "type", "value"}] as {name: value}; entries that are not that are skipped."""
    if not isinstance(items, list):
        return {}
    return {p["name"]: p.get("value") for p in items if isinstance(p, dict) and isinstance(p.get("name"), str)}


def _tmj_tiles(path: Path, doc: dict, empty: str) -> tuple[dict[int, str], dict[str, list[str]]]:
    """Every tile a map's tilesets define: gid -> tile character, and character -> tags."""
    char_of: dict[int, str] = {}
    tiles: dict[str, list[str]] = {empty: ["empty", "passable"]}
    described = []  # (gid, properties) of every tile the tilesets define
    tilesets = doc.get("tilesets", [])
    if not isinstance(tilesets, list) or not all(isinstance(ts, dict) for ts in tilesets):
        raise GenforgeError(f"{path}: \"tilesets\" must be a list of tileset objects")
    for ts in tilesets:
        if "source" in ts:
            raise GenforgeError(f"{path}: external tileset {brief(ts['source'], 80)!r}; embed it (Map > Embed Tileset)")
        first, count = ts.get("firstgid", 1), ts.get("tilecount", 0)
        if not (_is_int(first) and 1 <= first <= 0x0FFFFFFF and _is_int(count) and 0 <= count <= MAX_TILESET_TILES):
            raise GenforgeError(f"{path}: a tileset's firstgid ({brief(first, 20)}) or tilecount ({brief(count, 20)}) "
                                f"is not a whole number in range (firstgid from 1, at most {MAX_TILESET_TILES} tiles)")
        listed = ts.get("tiles", [])
        by_id = {t["id"]: t for t in listed if isinstance(t, dict) and _is_int(t.get("id"))} \
            if isinstance(listed, list) else {}
        for local in range(count):
            described.append((first + local, _properties(by_id.get(local, {}).get("properties", []))))
    # Explicit `char` properties first, so an automatic character never takes one of theirs.
    taken = {empty} | {tp["char"] for _, tp in described if isinstance(tp.get("char"), str)}
    auto = iter(c for c in _AUTO_CHARS if c not in taken)
    for gid, tp in described:
        ch = tp.get("char")
        if not is_tile_char(ch):
            ch = next(auto, None)
            if ch is None:
                raise GenforgeError(f"{path}: more tiles without a one-character `char` property than genforge has "
                                    f"characters to name them ({len(_AUTO_CHARS)}); give the tiles `char` properties")
            taken.add(ch)
        tags = [t for t in tp["tags"].split(",") if t] if isinstance(tp.get("tags"), str) else []
        char_of.setdefault(gid, ch)  # overlapping tilesets: the first one's tile, as Tiled draws it
        tiles.setdefault(ch, tags or [k for k, v in tp.items() if v is True])
    return char_of, tiles


def read_tmj(path: Path, game: str) -> tuple[Level, TileLegend]:
    """A Tiled JSON map's first tile layer as a level. Tile identity comes from each tile's
    `char` property (genforge writes it) or is assigned; tags come from its true bool properties."""
    try:
        doc = json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise GenforgeError(f"{path}:{e.lineno}: malformed Tiled map JSON: {e.msg}") from None
    except (ValueError, RecursionError) as e:  # a number of thousands of digits, arrays nested thousands deep
        raise GenforgeError(f"{path}: malformed Tiled map JSON: {brief(e, 120)}") from None
    if not isinstance(doc, dict) or doc.get("type", "map") != "map" or not isinstance(doc.get("layers"), list):
        raise GenforgeError(f"{path}: not a Tiled map (expected a JSON object with \"layers\")")
    if doc.get("infinite"):
        raise GenforgeError(f"{path}: infinite maps are not supported; make the map fixed-size in Tiled")
    layers = [layer for layer in doc["layers"] if isinstance(layer, dict) and layer.get("type") == "tilelayer"]
    if not layers:
        raise GenforgeError(f"{path}: the map has no tile layer")
    layer = layers[0]
    w, h = layer.get("width"), layer.get("height")
    if not (_is_int(w) and _is_int(h)):
        raise GenforgeError(f"{path}: tile layer lacks width/height (whole numbers)")
    if w < 1 or h < 1 or w * h > MAX_MAP_CELLS:
        raise GenforgeError(f"{path}: tile layer of {w} x {h} tiles; expected at least 1 x 1 and at most "
                            f"{MAX_MAP_CELLS:,} tiles")
    gids = _tmj_layer_data(path, layer, w, h) & np.uint32(~_GID_FLAGS & 0xFFFFFFFF)

    props = _properties(doc.get("properties", []))
    empty = props["empty_char"] if isinstance(props.get("empty_char"), str) and len(props["empty_char"]) == 1 else "-"
    char_of, tiles = _tmj_tiles(path, doc, empty)
    used, where = np.unique(gids, return_inverse=True)
    chars = []
    for g in used.tolist():
        if g and g not in char_of:
            i = int(np.argmax(gids == g))
            raise GenforgeError(f"{path}: tile {i % w},{i // w} has gid {g}, which no tileset defines")
        chars.append(char_of[g] if g else empty)
    grid = np.asarray(chars, dtype="<U1")[where.reshape(-1)]
    name = props.get("game") if isinstance(props.get("game"), str) else game
    return Level(grid.reshape(h, w), path.stem, name, path), TileLegend(tiles, empty)


def read_tmj_layer(path: Path, name: str) -> np.ndarray | None:
    """The gids (h, w; flip bits cleared) of the Tiled map's tile layer called `name`, or None when
    the map has none (inpainting's sketches mark unknown cells in a layer called `unknown`)."""
    doc = json.loads(read_text(path))
    for layer in doc.get("layers", []) if isinstance(doc, dict) else []:
        if isinstance(layer, dict) and layer.get("type") == "tilelayer" and layer.get("name") == name:
            w, h = layer.get("width"), layer.get("height")
            if not (_is_int(w) and _is_int(h)) or w < 1 or h < 1 or w * h > MAX_MAP_CELLS:
                raise GenforgeError(f"{path}: tile layer {name!r} lacks a sane width/height")
            gids = _tmj_layer_data(path, layer, w, h) & np.uint32(~_GID_FLAGS & 0xFFFFFFFF)
            return gids.reshape(h, w)
    return None
