"""Is a level playable, and are its multi-tile objects whole? numpy only (no Keras, no ONNX).

Tile meanings come from the legend's tags; the movement rules from the game preset's `physics`
(genforge.domains.games), or from defaults for the layout when a game has no preset.

    tag                      for the checkers
    solid                    blocks the player; also supports him, unless it is `damaging` (Kid Icarus' H)
    solidtop / platform      one-way platform: passable from below and beside, supports from above
    passable, empty, coin    the player may be there
    hazard, not passable     may not be entered (Zelda's lava and water)
    enemy / monster          passable (stomped or dodged) unless physics["enemies"] == "blocking"
    door                     Zelda: the exits every room must connect
    void, wall, block        Zelda: not walkable

Three checkers (physics["checker"]):

platformer (Super Mario Bros, side-scrollers). The player is one tile tall. A state is a cell
    and a phase: standing (the tile below supports), rising (k rows into a jump, k <= jump_height),
    gliding (g columns across at the top of a jump, g <= glide) or falling. Per step: walk one
    column (walking off a ledge starts a fall); jump or keep rising one row up and at most one
    column sideways while the cell above is free (a solid ceiling ends the rise); stop rising at any
    time; fall one row down and at most one column sideways; land when the tile below supports.
    A diagonal fall needs one of its two orthogonal cells free (no squeezing between corners).
    A flat jump covers 2 * jump_height + glide columns: Mario's (5, 0) clears a gap of 9 columns
    and climbs onto a ledge 5 rows up, which is what a running jump does in the game.
    Start: the standable cells within `start_span` columns of the first column that has one, if
    that column lies within a jump of the left edge (a window cut from the middle of a level may
    begin over a gap). Finish: any cell of the last column, standing or in the air (the level, or
    the next window, goes on from there). Falling below the bottom row is death; with `open_top`,
    the rows above the top are open air (Mario walks on the ceiling of 1-2). Left of the first
    column is a wall. Breadth-first search over these states (A* with a zero heuristic, every step
    costing 1): the path found is a shortest one in steps. All windows of a batch are searched at
    once, as boolean arrays; one level's path is read back from the search's distances.
climber (Kid Icarus). The same moves; start: the same rule, counted in rows from the bottom;
    finish: any cell of the top row or, with `exit_rows`, beside a door in the top `exit_rows`
    rows (each Kid Icarus stage ends at a door under a ceiling). With `wrap`, leaving one side
    enters the other (Kid Icarus' screens wrap around). One-way platforms are jumped through from
    below. Falling further than a screen is not death here (the game's camera only climbs).
rooms (Zelda). Walkable: passable tiles that are not solid or impassable hazard (monsters are
    walkable: they can be fought); with `void_walkable`, void inside a room too (the VGLC leaves
    some room interiors untranscribed, all `-`). Doors are the 4-connected groups of `door` tiles.
    A room passes when every door is reachable from every other over walkable tiles (4 directions);
    with `cross_width` 1, a tile tagged with one of `cross` (never a wall) between two walkable
    cells in a straight line is walkable too: Zelda's push-blocks (pushed aside) and the ladder
    that spans one tile of water. A room with one door or none passes (nothing to connect).
    Stairs are not exits: Zelda hides them behind block puzzles the checker does not solve.
    A whole dungeon passes when each of its rooms does (moving between rooms is not checked).

Structure check (physics["structures"], Mario's pipes and cannons): a structure's tiles are named
by tags, `mouth` (e.g. `<` `>`) and `body` (`[` `]`), left to right. Each row of a structure must
hold all its parts side by side (a part cut off by the window's left or right edge is fine).
Each column run of the left part must be a mouth over bodies (or bodies over a mouth, with
`flip`: SMB2J's pipes hanging from the ceiling; several mouth-over-bodies stacked, with `stack`:
cannons on cannons), its mouth may be missing only where the run touches the window's edge,
and its far end must rest on something: a solid tile (or the window's edge) beyond it, or solid
ground beside its last row (a pipe through a floating platform).

Here: the physics, the verdict (CheckResult), the Checker (what each tile is to it, the rooms
checker, the messages); the platformer and climber search is in platformer.py, the structure
check and repair in structures.py, `genforge check` (files, pictures) in check.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from genforge.domains.games import AREA, HORIZONTAL, KNOWN_STRUCTURES, PRESETS, ROOMS, VERTICAL
from genforge.domains.levels.grid import TileLegend
from genforge.domains.levels.masks import components, shifted, tile_mask
from genforge.domains.levels.platformer import Moves
from genforge.domains.levels.structures import Structures
from genforge.errors import GenforgeError

DEFAULT_PHYSICS = {
    HORIZONTAL: {"checker": "platformer", "jump_height": 4, "start_span": 3, "open_top": True, "wrap": False,
                 "enemies": "passable", "structures": KNOWN_STRUCTURES, "entry": "edge"},
    VERTICAL: {"checker": "climber", "jump_height": 4, "start_span": 3, "open_top": False, "wrap": False,
               "enemies": "passable", "structures": KNOWN_STRUCTURES},
    AREA: {"checker": "none", "structures": KNOWN_STRUCTURES},  # mixed directions: no route to check
    ROOMS: {"checker": "rooms", "exits": ["door"], "void_walkable": False, "cross": (), "cross_width": 0,
            "structures": ()},
}
CHECKERS = ("platformer", "climber", "rooms", "none")


def physics_for(game: str | None, layout: str) -> dict:
    """The movement rules of a game: its preset's physics over the layout's defaults."""
    if layout not in DEFAULT_PHYSICS:
        raise GenforgeError(f"no playability checker for layout {layout!r}")
    preset = PRESETS.get(game or "")
    physics = {**DEFAULT_PHYSICS[layout], **(dict(preset.physics) if preset else {})}
    if physics["checker"] not in CHECKERS:
        raise GenforgeError(f"unknown checker {physics['checker']!r}; one of {', '.join(CHECKERS)}")
    return physics


@dataclass
class CheckResult:
    """One level's verdict. `path`: (row, column, phase) from start to finish, phase one of
    stand / jump / fall (rooms: walk); rows above the top (open air) are negative."""

    playable: bool
    message: str
    path: list[tuple[int, int, str]] = field(default_factory=list)
    reached: np.ndarray | None = None          # (H, W) cells the player can reach
    furthest: tuple[int, int] | None = None     # where the player gets stuck (failures)
    problems: list[str] = field(default_factory=list)  # per-room failures (rooms checker)


def _tile_rules(legend: TileLegend, physics: dict) -> dict[str, dict[str, bool]]:
    """What each tile of the legend is to the checkers, from its tags and the physics: `free` (the
    player may be there), `support` (he may stand on it), `walk` (rooms: walkable), `cross` (rooms:
    crossable between two walkable cells) and `door` (an exit)."""
    p = physics
    blocking_enemies = p.get("enemies", "passable") == "blocking"
    free, support, walk, door, cross = {}, {}, {}, {}, {}
    exits = set(p.get("exits", ["door"]))
    cross_tags = set(p.get("cross", ()))
    void_walkable = bool(p.get("void_walkable", False))
    for ch, tags in legend.tiles.items():
        t = set(tags)
        enemy = bool(t & {"enemy", "monster"})
        solid = "solid" in t
        one_way = bool(t & {"solidtop", "platform"}) and not solid
        blocked = solid or ("hazard" in t and "passable" not in t and not enemy) or (enemy and blocking_enemies)
        free[ch] = not blocked
        support[ch] = (solid and "damaging" not in t) or one_way
        walk[ch] = (not blocked and bool(t & {"passable", "floor", "door", "stair"} or enemy) and
                    not t & {"void", "empty"}) or (void_walkable and bool(t & {"void", "empty"}))
        cross[ch] = bool(t & cross_tags) and "wall" not in t
        door[ch] = bool(t & exits)
    return {"free": free, "support": support, "walk": walk, "door": door, "cross": cross}


# ---------------------------------------------------------------- the checker

class Checker:
    """Playability and structure checks of one game's levels (or windows of them)."""

    def __init__(self, legend: TileLegend, layout: str, physics: dict | None = None, game: str | None = None,
                 room: tuple[int, int] | None = None):
        self.legend, self.layout = legend, layout
        preset = PRESETS.get(game or "")
        self.room = tuple(room) if room else (preset.window if preset and layout == ROOMS else None)
        self.physics = {**physics_for(game, layout), **(physics or {})}
        p = self.physics
        self.kind = p["checker"]
        self.jump = int(p.get("jump_height", 4))
        if self.kind != "rooms" and not 1 <= self.jump <= 32:
            raise GenforgeError(f"physics jump_height must be between 1 and 32, got {self.jump}")
        self.glide = int(p.get("glide", 0))
        if self.kind != "rooms" and not 0 <= self.glide <= 32:
            raise GenforgeError(f"physics glide must be between 0 and 32, got {self.glide}")
        self.span = max(1, int(p.get("start_span", 3)))
        self.exit_rows = int(p.get("exit_rows", 0)) if self.kind == "climber" else 0
        self.wrap = bool(p.get("wrap", False))
        self.open_top = bool(p.get("open_top", False)) and self.kind == "platformer"
        self.cross_width = min(1, int(p.get("cross_width", 0))) if p.get("cross") else 0  # 0 or 1
        tiles = _tile_rules(legend, p)
        self._walk, self._door, self._cross = tiles["walk"], tiles["door"], tiles["cross"]
        self._moves = Moves(self.kind, self.jump, self.glide, self.span, self.exit_rows, self.wrap, self.open_top,
                            tiles["free"], tiles["support"], tiles["door"], p.get("entry", "footing"))
        self.reach = self._moves.reach  # columns a flat jump covers
        # the structures genforge knows by their tags (those this legend names), and the legend's own
        self._structures = Structures(legend, tuple(p.get("structures") or ()) + tuple(legend.structures))
        self.structures = self._structures.structures
        # every tile that is part of a multi-tile structure (pipe or cannon pieces)
        self.structure_chars = self._structures.chars

    @classmethod
    def for_game(cls, game: str | None, legend: TileLegend, layout: str,
                 room: tuple[int, int] | None = None) -> "Checker":
        return cls(legend, layout, game=game, room=room)

    # ---- public API
    @property
    def has_route(self) -> bool:
        """Whether the game has a route to check: not for levels of mixed directions (AREA)."""
        return self.kind != "none"

    def _needs_route(self) -> None:
        if not self.has_route:
            raise GenforgeError("no playability check for levels of mixed shapes and directions: they have no "
                                "start and finish edges to connect")

    def playable(self, windows: np.ndarray) -> np.ndarray:
        """Verdict per window (N, H, W) of tile characters; fast (all windows searched at once)."""
        self._needs_route()
        windows = np.asarray(windows)
        if windows.ndim == 2:
            windows = windows[None]
        if not len(windows):
            return np.zeros(0, bool)
        if self.kind == "rooms":
            return np.array([self._room(w)[0] for w in windows], dtype=bool)
        return self._moves.playable(windows)

    def check(self, grid: np.ndarray) -> CheckResult:
        """One level or window, with the path found or where the player gets stuck."""
        self._needs_route()
        grid = np.asarray(grid)
        if self.kind == "rooms":
            return self._check_rooms(grid)
        return self._trace(grid)

    def structure_problems(self, grid: np.ndarray) -> list[tuple[int, int, str]]:
        """(row, column, what) for every broken multi-tile object in one grid."""
        return self._structures.problems(grid)

    def broken(self, windows: np.ndarray) -> np.ndarray:
        """Per window: does it hold a broken structure (a cut pipe, a floating cannon...)?"""
        return self._structures.broken(windows)

    def repair(self, grid: np.ndarray, log_probs: np.ndarray, vocabulary: str) -> np.ndarray:
        """A decoded grid with every multi-tile structure made whole, the way the decoder finds
        most likely (see Structures.repair)."""
        return self._structures.repair(grid, log_probs, vocabulary)

    # ---- platformer and climber
    def _trace(self, grid: np.ndarray) -> CheckResult:
        """One level's verdict and its message: the path found, or where the player gets stuck."""
        h, w = grid.shape
        dist, m, start, goal, finished = self._moves.distances(grid)
        pad = m["pad"]
        reached_cells = (dist >= 0).any(0)[pad:]
        edge = "the right edge" if self.kind == "platformer" else "the top"
        if not start.any():
            where = "the first column" if self._moves.entry == "edge" else \
                f"the first {self.reach} columns" if self.kind == "platformer" else f"the bottom {self.reach} rows"
            return CheckResult(False, f"not playable: nowhere to stand in {where}", [], reached_cells, None)
        if not finished:
            standing = (dist[0] >= 0)[pad:]
            ys, xs = np.nonzero(standing if standing.any() else reached_cells)
            if self.kind == "platformer":
                i = np.argmax(xs)
                furthest = (int(ys[i]), int(xs[i]))
                msg = (f"not playable: the furthest the player can stand is column {furthest[1]} (row {furthest[0]}) "
                       f"of {w}; {edge} cannot be reached")
            else:
                i = np.argmin(ys)
                furthest = (int(ys[i]), int(xs[i]))
                msg = (f"not playable: the highest the player can stand is row {furthest[0]} (column {furthest[1]}) "
                       f"of {h} rows; {edge} cannot be reached")
            return CheckResult(False, msg, [], reached_cells, furthest)
        path = self._moves.backtrack(dist, goal, m)
        jumps = sum(1 for a, b in zip(path, path[1:]) if a[2] == "stand" and b[2] == "jump")
        s, e = path[0], path[-1]
        if self.kind == "climber" and e[0] != 0:
            edge = "the exit door"
        msg = (f"playable: a {len(path) - 1}-step path from row {s[0]}, column {s[1]} to {edge} "
               f"(row {e[0]}, column {e[1]}) with {jumps} jump{'s' if jumps != 1 else ''}")
        return CheckResult(True, msg, path, reached_cells, None)

    # ---- rooms
    def _room_search(self, room: np.ndarray, sources: list[tuple[int, int]]) -> dict:
        """Breadth-first search over walkable cells (4 directions); cell -> previous cell."""
        walk = self._room_walk(room)
        h, w = walk.shape
        prev = {s: None for s in sources}
        queue = list(sources)
        for y, x in queue:
            for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= yy < h and 0 <= xx < w and walk[yy, xx] and (yy, xx) not in prev:
                    prev[(yy, xx)] = (y, x)
                    queue.append((yy, xx))
        return prev

    def _room_walk(self, room: np.ndarray) -> np.ndarray:
        """Walkable cells, doors included; with `cross`, also a crossable tile (a push-block, one
        tile of water) between two walkable cells in a straight line: it is pushed aside or spanned."""
        walk = tile_mask(room, self._walk) | tile_mask(room, self._door)
        if self.cross_width:
            cross = tile_mask(room, self._cross)
            up, down = shifted(walk, 1, 0, False), shifted(walk, -1, 0, False)      # walk[y-1], walk[y+1]
            left, right = shifted(walk, 0, 1, False), shifted(walk, 0, -1, False)   # walk[x-1], walk[x+1]
            walk = walk | (cross & ((up & down) | (left & right)))
        return walk

    def _room(self, room: np.ndarray):
        """(passes, door cells per door, search from the first door)."""
        doors = components(tile_mask(room, self._door))
        cells = [list(zip(*np.nonzero(doors == i))) for i in range(1, int(doors.max()) + 1)]
        if len(cells) <= 1:
            return True, cells, {c: None for c in (cells[0] if cells else [])}
        prev = self._room_search(room, cells[0])
        return all(any(c in prev for c in door) for door in cells[1:]), cells, prev

    def _check_rooms(self, grid: np.ndarray) -> CheckResult:
        """A room, or a whole dungeon of rooms: every room passes on its own."""
        rh, rw = self.room or grid.shape
        if grid.shape[0] % rh or grid.shape[1] % rw:
            raise GenforgeError(f"a grid of {grid.shape[0]} x {grid.shape[1]} tiles is not made of {rh} x {rw} rooms")
        path, problems, cut, reached = [], [], [], np.zeros(grid.shape, bool)
        n_rooms = 0
        for r0 in range(0, grid.shape[0], rh):
            for c0 in range(0, grid.shape[1], rw):
                room = grid[r0:r0 + rh, c0:c0 + rw]
                if np.all(room == self.legend.empty):
                    continue
                n_rooms += 1
                self._walk_room(room, (r0, c0), path, problems, cut, reached)
        if problems:
            return CheckResult(False, f"not playable: {len(problems)} door(s) cut off in {n_rooms} room(s): "
                               + "; ".join(problems[:3]) + ("..." if len(problems) > 3 else ""),
                               [], reached, cut[0], problems)
        return CheckResult(True, f"playable: every door reachable from every other in {n_rooms} room(s)",
                           path, reached)

    def _walk_room(self, room: np.ndarray, corner: tuple[int, int], path: list, problems: list, cut: list,
                   reached: np.ndarray) -> None:
        """One room of a dungeon, its top-left cell at `corner`: marks in `reached` what the player
        reaches from its first door, adds the walk to each other door to `path`, or the door to `cut`
        (and why to `problems`) when none leads there."""
        r0, c0 = corner
        _, cells, prev = self._room(room)
        for y, x in prev:
            reached[r0 + y, c0 + x] = True
        for door in cells[1:]:
            end = next((c for c in door if c in prev), None)
            if end is None:
                cut.append((int(r0 + door[0][0]), int(c0 + door[0][1])))
                problems.append(f"room at row {r0}, column {c0}: the door at row {r0 + door[0][0]}, column "
                                f"{c0 + door[0][1]} is cut off from the door at row {r0 + cells[0][0][0]}, "
                                f"column {c0 + cells[0][0][1]}")
                continue
            leg = []
            while end is not None:
                leg.append((int(r0 + end[0]), int(c0 + end[1]), "walk"))
                end = prev[end]
            path += leg[::-1]
