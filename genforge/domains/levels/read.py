"""Reading level files: VGLC text with its folder's legend (JSON, or Zelda's prose README), and Tiled
maps (.tmj) as input. A folder becomes a LevelSet: one game's levels, its legend (a preset's filled
from the file's) and its windowing rules.
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

from genforge.domains.games import HORIZONTAL, GamePreset, find_preset, layout_for
from genforge.domains.levels.grid import Level, TileLegend, empty_tile
from genforge.errors import GenforgeError

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
        tiles = data.get("tiles") if isinstance(data, dict) else None
        if not isinstance(tiles, dict) or not tiles:
            raise GenforgeError(f"{path}: a legend needs a non-empty \"tiles\" object: {{char: [tags]}}")
        for ch, tags in tiles.items():
            if len(ch) != 1 or not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise GenforgeError(f"{path}: legend entry {ch!r} must map one character to a list of tags")
        tiles = {ch: [t.lower() for t in tags] for ch, tags in tiles.items()}
        return TileLegend(tiles, empty_tile(tiles) or "", _structures(path, data.get("structures", [])))
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
            raise GenforgeError(f"{path}: structure {spec!r} needs a name and equally long lists of mouth and "
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
                    f"{path}:{n}:{col}: tile {ch!r} is not in the legend (known: {''.join(sorted(legend.tiles))})")
    return Level(np.array([list(r) for r in rows], dtype="<U1"), path.stem, game, path, padded)


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


def _tmj_tiles(path: Path, doc: dict, empty: str) -> tuple[dict[int, str], dict[str, list[str]]]:
    """Every tile a map's tilesets define: gid -> tile character, and character -> tags."""
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
    return char_of, tiles


def read_tmj(path: Path, game: str) -> tuple[Level, TileLegend]:
    """A Tiled JSON map's first tile layer as a level. Tile identity comes from each tile's
    `char` property (genforge writes it) or is assigned; tags come from its true bool properties."""
    try:
        doc = json.loads(read_text(path))
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
    char_of, tiles = _tmj_tiles(path, doc, empty)
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
