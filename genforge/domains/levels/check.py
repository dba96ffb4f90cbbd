"""`genforge check`: level files read as whole levels (VGLC text with its folder's legend, or a
Tiled map; a preset's legend when the game is named), checked, and the check drawn on the level's
preview.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from genforge.domains.games import PRESETS, find_preset, layout_for
from genforge.domains.levels.grid import TileLegend, to_indices
from genforge.domains.levels.playability import Checker, CheckResult
from genforge.domains.levels.read import LEVEL_SUFFIXES, preset_legend, read_level_folder, read_tmj, read_vglc_text
from genforge.domains.levels.tiles import TILE_PX, draw_tiles, render
from genforge.errors import GenforgeError


# ---------------------------------------------------------------- pictures

def draw_check(grid: np.ndarray, legend: TileLegend, result: CheckResult,
               problems: list[tuple[int, int, str]] = ()) -> np.ndarray:
    """The level's preview (tiles.render) with the check drawn on it: the path found (white line,
    green start, red finish), or the cells the player can reach (tinted) and where he gets stuck
    (red cross); broken structures boxed in magenta. Rows of open air above the top are added
    when the path goes there. Returns an RGB array."""
    from PIL import Image, ImageDraw

    grid = np.asarray(grid)
    vocabulary = "".join(sorted(set(np.unique(grid).tolist()) | {legend.empty}))
    tiles = draw_tiles(vocabulary, legend)
    above = max([0] + [-r for r, _, _ in result.path])
    indices = to_indices(grid, vocabulary)
    if above:
        indices = np.concatenate([np.full((above, grid.shape[1]), vocabulary.index(legend.empty)), indices])
    image = render(indices, tiles).astype(np.float32)
    px = TILE_PX
    if not result.playable and result.reached is not None:  # tint what the player can reach
        mask = np.kron(result.reached, np.ones((px, px)))[..., None]
        top = above * px
        image[top:top + mask.shape[0]] = image[top:top + mask.shape[0]] * (1 - 0.45 * mask) + \
            np.array([255, 230, 90]) * 0.45 * mask
    img = Image.fromarray(image.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)

    def centre(r, c):
        return (c * px + px // 2, (r + above) * px + px // 2)

    if result.path:
        _draw_path(draw, [centre(r, c) for r, c, _ in result.path])
    if result.furthest is not None:
        x, y = centre(*result.furthest)
        draw.line([x - 6, y - 6, x + 6, y + 6], fill=(230, 0, 0), width=4)
        draw.line([x - 6, y + 6, x + 6, y - 6], fill=(230, 0, 0), width=4)
    for r, c, _ in problems:
        x, y = c * px, (r + above) * px
        draw.rectangle([x, y, x + px - 1, y + px - 1], outline=(255, 0, 255), width=3)
    return np.asarray(img)


def _draw_path(draw, points: list[tuple[int, int]]) -> None:
    """A path through tile centres (pixels): a white line edged in black, a green start, a red finish."""
    def line(segment):
        if len(segment) > 1:
            draw.line(segment, fill=(20, 20, 20), width=5)
            draw.line(segment, fill=(255, 255, 255), width=3)

    # A wrap-around step (Kid Icarus) would draw a line across the level: break the line there.
    segment = [points[0]]
    for (a, b) in zip(points, points[1:]):
        if abs(a[0] - b[0]) > TILE_PX * 1.5:
            line(segment)
            segment = []
        segment.append(b)
    line(segment)
    for (x, y), colour in ((points[0], (40, 200, 60)), (points[-1], (230, 40, 40))):
        draw.ellipse([x - 5, y - 5, x + 5, y + 5], fill=colour, outline=(0, 0, 0))


# ---------------------------------------------------------------- files

def read_checkable(path: str | Path, game: str | None = None):
    """A level file (VGLC .txt with its folder's legend, or a Tiled .tmj) as (grid, legend, layout,
    game name). `game`: a preset to read it with when the file does not say (a bare .txt)."""
    path = Path(path)
    if not path.is_file():
        raise GenforgeError(f"{path}: no such level file")
    if path.suffix.lower() not in LEVEL_SUFFIXES:
        raise GenforgeError(f"{path}: not a level file (.txt or .tmj)")
    preset = None
    if game is not None:
        preset = find_preset(game, [])  # by name, in any case
        if preset is None:
            raise GenforgeError(f"unknown --game {game!r}; one of: {', '.join(repr(p) for p in PRESETS)}")
    if path.suffix.lower() == ".tmj":
        level, legend = read_tmj(path, preset.name if preset else "")
        preset = preset or PRESETS.get(level.game) or find_preset(path.parent.name, [path.name])
        if preset:  # the preset's legend is authoritative; the map's own tags fill its gaps
            legend = preset_legend(preset, legend, empty=legend.empty)
    elif preset:
        legend = preset_legend(preset)
        level = read_vglc_text(path, legend, preset.name)
    else:
        try:
            s = read_level_folder(path)
        except GenforgeError as e:
            raise GenforgeError(f"{e}; or name the game with --game") from None
        level, legend = s.levels[0], s.legend
        preset = PRESETS.get(s.game)
    name = preset.name if preset else level.game
    layout = layout_for(preset, [level.grid.shape])[0]
    return level.grid, legend, layout, name


def check_file(path: str | Path, game: str | None = None):
    """(CheckResult, structure problems, grid, legend) of one level file, checked as a whole level."""
    grid, legend, layout, name = read_checkable(path, game)
    checker = Checker.for_game(name, legend, layout)  # a preset's rooms are its window (Checker)
    return checker.check(grid), checker.structure_problems(grid), grid, legend


def check_files(files: list[str | Path], game: str | None = None, png: str | Path | None = None,
                echo=print) -> bool:
    """`genforge check`: every file checked as a whole level; prints one verdict per file (and its
    broken structures), draws the check when `png` is given; True if every level is playable.
    Every file is read before anything is printed or written, so bad input fails alone."""
    from genforge.atomic import write_bytes
    from genforge.images import png_bytes

    files = [Path(f) for f in files]
    if png is not None and Path(png).suffix.lower() == ".png" and len(files) > 1:
        raise GenforgeError(f"--png {png}: with several files, --png names a folder")
    checked = [(f, *check_file(f, game)) for f in files]
    ok = True
    for f, result, problems, grid, legend in checked:
        ok &= result.playable
        echo(f"{f}: {result.message}")
        if problems:
            shown = "; ".join(f"{msg} (row {r}, column {c})" for r, c, msg in problems[:5])
            echo(f"{f}: {len(problems)} broken structure tile(s): {shown}{'...' if len(problems) > 5 else ''}")
        if png is not None:
            target = Path(png) if Path(png).suffix.lower() == ".png" else Path(png) / f"{f.stem}-check.png"
            write_bytes(target, png_bytes(draw_check(grid, legend, result, problems)))
            echo(f"{f}: drew the check to {target}")
    return ok
