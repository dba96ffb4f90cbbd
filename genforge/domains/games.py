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


@dataclass(frozen=True)
class GamePreset:
    name: str
    tiles: dict[str, list[str]]
    layout: str
    window: tuple[int, int]          # rows, columns of one training window (one room for ROOMS)
    file_prefixes: tuple[str, ...] = field(default=())
    empty: str = "-"


PRESETS = {
    p.name: p
    for p in [
        GamePreset("Super Mario Bros", MARIO_TILES, HORIZONTAL, (14, 28), ("mario-",)),
        GamePreset("Super Mario Bros 2 (Japan)", MARIO_TILES, HORIZONTAL, (14, 28), ("supermariobros2",)),
        GamePreset("Kid Icarus", KID_ICARUS_TILES, VERTICAL, (16, 16), ("kidicarus",)),
        GamePreset("The Legend of Zelda", ZELDA_TILES, ROOMS, (16, 11), ("tloz",)),
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
