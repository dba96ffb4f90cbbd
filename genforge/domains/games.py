"""What genforge knows about the games of the Video Game Level Corpus (VGLC).

A preset names a game, fills the gaps of the corpus's own legend files and fixes the window
shape the literature uses, so results compare with published numbers. Any other game works
without a preset: give a folder of text levels and a legend JSON.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Layouts: how windows are cut from a level.
HORIZONTAL = "horizontal"  # side-scroller: windows slide along columns (Mario)
VERTICAL = "vertical"      # climber: windows slide along rows, bottom to top (Kid Icarus)
ROOMS = "rooms"            # grid of fixed-size rooms, all-void rooms skipped (Zelda)
AREA = "area"              # levels of mixed shapes and directions: square windows slide along both axes
SCREEN = 32                # the most rows (columns) a side-scroller (climber) window takes; larger levels
                           # of a game without a preset are cut into AREA windows of at most this size

# The Super Mario Bros legend, with the corrections the corpus's SOURCE.md documents:
# `?` is the power-up block and `Q` the coin block in the data (the VGLC legend says
# "full"/"empty"); Super Mario Bros 2 (Japan)'s legend lacks the cannons its levels contain.
MARIO_TILES = {
    "X": ["solid", "ground"],
    "S": ["solid", "breakable", "brick"],
    "-": ["passable", "empty"],
    "?": ["solid", "question block", "power-up block"],
    "Q": ["solid", "question block", "coin block"],
    "E": ["enemy", "damaging", "hazard", "moving", "passable"],
    "<": ["solid", "pipe", "top-left pipe"],
    ">": ["solid", "pipe", "top-right pipe"],
    "[": ["solid", "pipe", "left pipe"],
    "]": ["solid", "pipe", "right pipe"],
    "o": ["coin", "collectable", "passable"],
    "B": ["solid", "cannon", "hazard", "cannon top"],
    "b": ["solid", "cannon", "cannon bottom"],
}

KID_ICARUS_TILES = {
    "#": ["solid", "ground"],
    "-": ["passable", "empty"],
    "D": ["solid", "openable", "door"],
    "H": ["solid", "damaging", "hazard"],
    "M": ["solidtop", "passable", "moving", "platform"],
    "T": ["solidtop", "passable", "platform"],
}

# The corpus gives Zelda's tile legend only as prose (README.txt); these are its meanings.
ZELDA_TILES = {
    "F": ["passable", "floor"],
    "B": ["solid", "block"],
    "M": ["enemy", "monster", "passable", "hazard"],
    "P": ["element", "lava or water", "hazard"],
    "O": ["element", "floor", "passable"],
    "I": ["element", "block", "solid"],
    "D": ["door", "passable"],
    "S": ["stair", "passable"],
    "W": ["solid", "wall"],
    "-": ["void", "empty"],
}


# Playability physics (genforge.domains.levels.playability reads them; tile meanings come from the
# legend's tags). `checker`: platformer (start at the left, finish at the right edge), climber
# (start at the bottom, finish at the top) or rooms (every door reachable from every other).
# jump_height: rows a jump rises (one column across at most per row, going up and coming down);
# glide: columns across at the top of a jump without losing height; a flat jump covers
# 2 * jump_height + glide columns. Mario's running jump rises 5 tiles (5 px/frame up against about
# 0.16 px/frame² of gravity) and flies about 10 columns (2.5 px/frame for about 64 frames).
# start_span: the player starts on footings within this many columns (rows, climbing) of the
# first one; open_top: the space above the top row is open air (Mario walks on the ceiling in
# 1-2); wrap: leaving one side enters the other (Kid Icarus' vertical stages); exit_rows:
# climbers also finish beside a door in the top rows (each Kid Icarus stage ends at a door under
# a ceiling); enemies: "passable" (stomped or dodged) or "blocking"; structures: multi-tile
# objects the structure check verifies, named by tags: `mouth` tiles (left to right) cap a column
# of `body` tiles that must rest on something solid (`flip`: the mouth may point down, hanging
# from a ceiling; `stack`: several may stand on each other, like cannons). Rooms: exits (tags of
# the tiles every room must connect), void_walkable (void inside a room is floor the corpus left
# untranscribed), cross / cross_width (cross_width 1: a tile with one of these tags, never a wall,
# between two walkable cells in a line is passable: Zelda's push-blocks, the ladder over water).
# The multi-tile objects genforge knows, named by tags: every platformer or climber gets those its
# legend names (Super Mario Land, which has no preset, gets its pipes and cannons); a legend JSON
# may declare more under "structures", in the same form.
KNOWN_STRUCTURES = (
    {"name": "pipe", "mouth": ["top-left pipe", "top-right pipe"], "body": ["left pipe", "right pipe"],
     "flip": True, "stack": False},
    {"name": "cannon", "mouth": ["cannon top"], "body": ["cannon bottom"], "flip": False, "stack": True},
)
MARIO_PHYSICS = {"checker": "platformer", "jump_height": 5, "glide": 0, "start_span": 3, "open_top": True,
                 "wrap": False, "enemies": "passable", "structures": KNOWN_STRUCTURES, "entry": "edge"}
KID_ICARUS_PHYSICS = {"checker": "climber", "jump_height": 4, "glide": 0, "start_span": 3, "open_top": False,
                      "wrap": True, "exit_rows": 8, "enemies": "passable", "structures": ()}
ZELDA_PHYSICS = {"checker": "rooms", "exits": ["door"], "void_walkable": True, "cross": ["block", "element"],
                 "cross_width": 1, "structures": ()}


@dataclass(frozen=True)
class GamePreset:
    name: str
    tiles: dict[str, list[str]]
    layout: str
    window: tuple[int, int]          # rows, columns of one training window (one room for ROOMS)
    file_prefixes: tuple[str, ...] = field(default=())
    empty: str = "-"
    physics: dict = field(default_factory=dict)  # playability rules: see the comment above


PRESETS = {
    p.name: p
    for p in [
        GamePreset("Super Mario Bros", MARIO_TILES, HORIZONTAL, (14, 28), ("mario-",), physics=MARIO_PHYSICS),
        GamePreset("Super Mario Bros 2 (Japan)", MARIO_TILES, HORIZONTAL, (14, 28), ("supermariobros2",),
                   physics=MARIO_PHYSICS),
        GamePreset("Kid Icarus", KID_ICARUS_TILES, VERTICAL, (16, 16), ("kidicarus",), physics=KID_ICARUS_PHYSICS),
        GamePreset("The Legend of Zelda", ZELDA_TILES, ROOMS, (16, 11), ("tloz",), physics=ZELDA_PHYSICS),
    ]
}


def find_preset(folder_name: str, level_names: list[str]) -> GamePreset | None:
    """The preset whose name is the folder's name, else the one whose file prefix all levels share."""
    for preset in PRESETS.values():
        if preset.name.lower() == folder_name.lower():
            return preset
    lowered = [n.lower() for n in level_names]
    for preset in PRESETS.values():
        if lowered and all(n.startswith(preset.file_prefixes) for n in lowered):
            return preset
    return None


def layout_for(preset: GamePreset | None, shapes: list[tuple[int, int]]) -> tuple[str, tuple[int, int]]:
    """The layout and default window of a level set: its preset's, or for a game without one,
    read from the (rows, cols) shapes of its levels. Levels no taller than a screen that run
    sideways scroll (window: their height, at most twice as wide); levels no wider than a screen
    that run upward climb; anything else (levels far larger than a screen, or mixing directions)
    is cut into square AREA windows as large as the smallest level allows, at most a screen."""
    if preset:
        return preset.layout, preset.window
    h = max(rows for rows, _ in shapes)
    w = max(cols for _, cols in shapes)
    if h <= SCREEN and all(cols >= rows for rows, cols in shapes):
        return HORIZONTAL, (h, min(w, 2 * h))
    if w <= SCREEN and all(rows > cols for rows, cols in shapes):
        return VERTICAL, (min(h, w), w)
    side = max(4, min(SCREEN, min(min(rows, cols) for rows, cols in shapes)) // 4 * 4)
    return AREA, (side, side)
