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
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genforge.domains.games import HORIZONTAL, PRESETS, ROOMS, VERTICAL
from genforge.domains.levels import TileLegend
from genforge.errors import GenforgeError

DEFAULT_PHYSICS = {
    HORIZONTAL: {"checker": "platformer", "jump_height": 4, "start_span": 3, "open_top": True, "wrap": False,
                 "enemies": "passable", "structures": ()},
    VERTICAL: {"checker": "climber", "jump_height": 4, "start_span": 3, "open_top": False, "wrap": False,
               "enemies": "passable", "structures": ()},
    ROOMS: {"checker": "rooms", "exits": ["door"], "void_walkable": False, "cross": (), "cross_width": 0,
            "structures": ()},
}
CHECKERS = ("platformer", "climber", "rooms")


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


# ---------------------------------------------------------------- helpers

def _shift(a: np.ndarray, dy: int, dx: int, wrap: bool) -> np.ndarray:
    """out[..., y + dy, x + dx] = a[..., y, x]; what moves off the grid is lost (or wraps in x)."""
    if dy:
        out = np.zeros_like(a)
        if dy > 0:
            out[..., dy:, :] = a[..., :-dy, :]
        else:
            out[..., :dy, :] = a[..., -dy:, :]
        a = out
    if dx:
        if wrap:
            return np.roll(a, dx, axis=-1)
        out = np.zeros_like(a)
        if dx > 0:
            out[..., dx:] = a[..., :-dx]
        else:
            out[..., :dx] = a[..., -dx:]
        a = out
    return a


def char_mask(grids: np.ndarray, chars) -> np.ndarray:
    """Which cells of tile-character grids hold one of `chars`. A lookup of the characters' code
    points: np.isin sorts strings, ten times slower on window-sized grids, and the structure
    checks of every sampled level call this hundreds of times."""
    codes = np.ascontiguousarray(grids, dtype="<U1").view(np.uint32)
    table = np.zeros(max(map(ord, chars), default=0) + 2, bool)  # the last entry: any other character
    table[[ord(c) for c in chars]] = True
    return table[np.minimum(codes, len(table) - 1)]


def _lookup(grids: np.ndarray, table: dict[str, bool]) -> np.ndarray:
    uniq, inv = np.unique(grids, return_inverse=True)
    return np.array([table.get(str(c), False) for c in uniq], dtype=bool)[inv].reshape(grids.shape)


def _components(mask: np.ndarray) -> np.ndarray:
    """4-connected component labels of a 2-D boolean mask (0: background)."""
    labels = np.zeros(mask.shape, np.int32)
    h, w = mask.shape
    n = 0
    for y0, x0 in zip(*np.nonzero(mask)):
        if labels[y0, x0]:
            continue
        n += 1
        labels[y0, x0] = n
        stack = [(y0, x0)]
        while stack:
            y, x = stack.pop()
            for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not labels[yy, xx]:
                    labels[yy, xx] = n
                    stack.append((yy, xx))
    return labels


def _bfs_path(walk: np.ndarray, sources: list[tuple[int, int]], targets: set[tuple[int, int]]):
    """Shortest 4-direction path over `walk` from any source to any target, or None."""
    h, w = walk.shape
    prev = {s: None for s in sources}
    queue = list(sources)
    for cell in queue:
        if cell in targets:
            path = []
            while cell is not None:
                path.append(cell)
                cell = prev[cell]
            return path[::-1]
        y, x = cell
        for nxt in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
            if 0 <= nxt[0] < h and 0 <= nxt[1] < w and walk[nxt] and nxt not in prev:
                prev[nxt] = cell
                queue.append(nxt)
    return None


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
        self.reach = 2 * self.jump + self.glide  # columns a flat jump covers
        self.exit_rows = int(p.get("exit_rows", 0)) if self.kind == "climber" else 0
        self.wrap = bool(p.get("wrap", False))
        self.open_top = bool(p.get("open_top", False)) and self.kind == "platformer"
        blocking_enemies = p.get("enemies", "passable") == "blocking"
        free, support, walk, door, cross = {}, {}, {}, {}, {}
        exits = set(p.get("exits", ["door"]))
        cross_tags = set(p.get("cross", ()))
        self.cross_width = min(1, int(p.get("cross_width", 0))) if cross_tags else 0  # 0 or 1
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
        self._free, self._support, self._walk, self._door, self._cross = free, support, walk, door, cross
        self.structures = self._resolve_structures(p.get("structures") or ())
        # every tile that is part of a multi-tile structure (pipe or cannon pieces)
        self.structure_chars = {ch for s in self.structures for ch in s["mouth"] + s["body"]}
        self._solid_chars = [c for c, t in legend.tiles.items() if "solid" in t]

    @classmethod
    def for_game(cls, game: str | None, legend: TileLegend, layout: str,
                 room: tuple[int, int] | None = None) -> "Checker":
        return cls(legend, layout, game=game, room=room)

    # ---- public API
    def playable(self, windows: np.ndarray) -> np.ndarray:
        """Verdict per window (N, H, W) of tile characters; fast (all windows searched at once)."""
        windows = np.asarray(windows)
        if windows.ndim == 2:
            windows = windows[None]
        if not len(windows):
            return np.zeros(0, bool)
        if self.kind == "rooms":
            return np.array([self._room(w)[0] for w in windows], dtype=bool)
        return self._search_batch(windows)

    def check(self, grid: np.ndarray) -> CheckResult:
        """One level or window, with the path found or where the player gets stuck."""
        grid = np.asarray(grid)
        if self.kind == "rooms":
            return self._check_rooms(grid)
        return self._trace(grid)

    def structure_problems(self, grid: np.ndarray) -> list[tuple[int, int, str]]:
        """(row, column, what) for every broken multi-tile object in one grid."""
        problems = []
        for s in self.structures:
            problems += self._structure(np.asarray(grid), s)
        return sorted(problems)

    def broken(self, windows: np.ndarray) -> np.ndarray:
        """Per window: does it hold a broken structure (a cut pipe, a floating cannon...)?"""
        windows = np.asarray(windows)
        if not self.structures:
            return np.zeros(len(windows), bool)
        out = np.zeros(len(windows), bool)
        has = char_mask(windows, self.structure_chars).any((1, 2))
        for i in np.nonzero(has)[0]:
            out[i] = bool(self.structure_problems(windows[i]))
        return out

    # ---- masks
    def _masks(self, grids: np.ndarray) -> dict[str, np.ndarray]:
        free = _lookup(grids, self._free)
        tile_support = _lookup(grids, self._support)
        n, h, w = grids.shape
        pad = self.jump if self.open_top else 0
        if pad:  # open air above the top row
            free = np.concatenate([np.ones((n, pad, w), bool), free], 1)
            tile_support = np.concatenate([np.zeros((n, pad, w), bool), tile_support], 1)
        below = np.concatenate([tile_support[:, 1:], np.zeros((n, 1, w), bool)], 1)  # nothing below the bottom
        sup = free & below
        top = np.ones((n, 1, w), bool) if self.open_top else np.zeros((n, 1, w), bool)
        free_up = np.concatenate([top, free[:, :-1]], 1)
        free_down = np.concatenate([free[:, 1:], np.zeros((n, 1, w), bool)], 1)
        side = {dx: _shift(free, 0, -dx, self.wrap) for dx in (-1, 1)}  # side[dx][y, x] = free[y, x + dx]
        door = _lookup(grids, self._door)
        return {"door": door, "free": free, "sup": sup, "free_up": free_up, "free_down": free_down,
                "side-": side[-1], "side+": side[1], "pad": pad}

    def _ends(self, m: dict, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        """Start states and goal cells (padded coordinates). Start: the standable cells within
        `start_span` columns (rows, climbing) of the first one that has any, if that one lies
        within a jump's reach of the start edge (a window may begin over a gap)."""
        pad = m["pad"]
        sup = m["sup"]
        n = len(sup)
        goal = np.zeros((h + pad, w), bool)
        if self.kind == "platformer":
            lines = sup[:, pad:, :].any(1)                 # (N, W): columns with a footing
            goal[:, w - 1] = True
        else:
            lines = sup[:, pad:, :].any(2)[:, ::-1]        # (N, H): rows with a footing, bottom first
            goal[pad, :] = True
        goal = np.broadcast_to(goal, (n, h + pad, w)).copy()
        if self.exit_rows:  # beside a door near the top: the stage's exit
            door = np.concatenate([np.zeros((n, pad, w), bool), m["door"]], 1)
            door[:, pad + self.exit_rows:] = False
            goal |= m["free"] & (_shift(door, 0, 1, self.wrap) | _shift(door, 0, -1, self.wrap))
        first = np.where(lines.any(1), lines.argmax(1), lines.shape[1])
        near = (np.arange(lines.shape[1])[None] < (first + self.span)[:, None]) & (first < self.reach)[:, None]
        if self.kind == "platformer":
            region = np.broadcast_to(near[:, None, :], (n, h, w))
        else:
            region = np.broadcast_to(near[:, ::-1][:, :, None], (n, h, w))
        region = np.concatenate([np.zeros((n, pad, w), bool), region], 1)
        return sup & region, goal

    def _step(self, a: np.ndarray, m: dict) -> np.ndarray:
        """States reachable in one step from states `a` (N, phases, H, W); phases: standing,
        rising 1..J, gliding 1..G at the top of a jump, falling."""
        j, g, wrap = self.jump, self.glide, self.wrap
        free, sup = m["free"], m["sup"]
        stand, rise, glide, fall = a[:, 0], a[:, 1:j + 1], a[:, j + 1:j + g + 1], a[:, j + g + 1]
        out = np.zeros_like(a)
        for dx in (-1, 1):  # walk; off a ledge, start falling
            t = _shift(stand, 0, dx, wrap) & free
            out[:, 0] |= t & sup
            out[:, -1] |= t & ~sup
        up = np.concatenate([stand[:, None], rise[:, :j - 1]], 1) & m["free_up"][:, None]
        for dx in (-1, 0, 1):  # jump, or keep rising: one row up, at most one column across
            out[:, 1:j + 1] |= _shift(up, -1, dx, wrap) & free[:, None]
        if g:  # glide: one column across without losing height, after rising
            across = np.concatenate([rise.any(1)[:, None], glide[:, :g - 1]], 1)
            for dx in (-1, 1):
                out[:, j + 1:j + g + 1] |= _shift(across, 0, dx, wrap) & free[:, None]
        air = rise.any(1) | glide.any(1) | fall
        out[:, 0] |= air & sup  # land
        drop = air & ~sup
        out[:, -1] |= _shift(drop & m["free_down"], 1, 0, wrap)
        for dx, side in ((-1, m["side-"]), (1, m["side+"])):
            out[:, -1] |= _shift(drop & (m["free_down"] | side), 1, dx, wrap) & free
        return out

    def _sub(self, m: dict, keep: np.ndarray) -> dict:
        return {k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in m.items()}

    def _search_batch(self, grids: np.ndarray) -> np.ndarray:
        n, h, w = grids.shape
        m = self._masks(grids)
        start, goal = self._ends(m, h, w)
        k = self.jump + self.glide + 2
        reached = np.zeros((n, k, *start.shape[1:]), bool)
        reached[:, 0] = start
        frontier = reached.copy()
        result = np.zeros(n, bool)
        ids = np.arange(n)
        while len(ids):
            hit = (frontier & goal[:, None]).any((1, 2, 3))
            result[ids[hit]] = True
            alive = ~hit & frontier.any((1, 2, 3))
            if not alive.all():
                ids, frontier, reached, m = ids[alive], frontier[alive], reached[alive], self._sub(m, alive)
                goal = goal[alive]
                if not len(ids):
                    break
            frontier = self._step(frontier, m) & ~reached
            reached |= frontier
        return result

    def _trace(self, grid: np.ndarray) -> CheckResult:
        h, w = grid.shape
        m = self._masks(grid[None])
        pad = m["pad"]
        start, goal = self._ends(m, h, w)
        k = self.jump + self.glide + 2
        dist = np.full((k, h + pad, w), -1, np.int32)
        frontier = np.zeros((1, k, h + pad, w), bool)
        frontier[0, 0] = start[0]
        dist[frontier[0]] = 0
        d = 0
        goal = goal[0]
        while frontier.any() and not (frontier[0] & goal).any():
            d += 1
            frontier = self._step(frontier, m) & (dist < 0)[None]
            dist[frontier[0]] = d
        reached_cells = (dist >= 0).any(0)[pad:]
        edge = "the right edge" if self.kind == "platformer" else "the top"
        if not start.any():
            where = f"the first {self.reach} columns" if self.kind == "platformer" else f"the bottom {self.reach} rows"
            return CheckResult(False, f"not playable: nowhere to stand in {where}", [], reached_cells, None)
        if not frontier.any():
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
        path = self._backtrack(dist, goal, m)
        jumps = sum(1 for a, b in zip(path, path[1:]) if a[2] == "stand" and b[2] == "jump")
        s, e = path[0], path[-1]
        if self.kind == "climber" and e[0] != 0:
            edge = "the exit door"
        msg = (f"playable: a {len(path) - 1}-step path from row {s[0]}, column {s[1]} to {edge} "
               f"(row {e[0]}, column {e[1]}) with {jumps} jump{'s' if jumps != 1 else ''}")
        return CheckResult(True, msg, path, reached_cells, None)

    def _backtrack(self, dist: np.ndarray, goal: np.ndarray, m: dict) -> list[tuple[int, int, str]]:
        k, hp, w = dist.shape
        at_goal = np.where((dist >= 0) & goal[None], dist, np.iinfo(np.int32).max)
        state = np.unravel_index(int(np.argmin(at_goal)), at_goal.shape)
        states = [state]
        while dist[state] > 0:
            d = dist[state]
            _, y, x = state
            found = None
            for kk in range(k):
                for yy in (y - 1, y, y + 1):
                    for xx in (x - 1, x, x + 1):
                        if self.wrap:
                            xx %= w
                        if not (0 <= yy < hp and 0 <= xx < w) or dist[kk, yy, xx] != d - 1:
                            continue
                        one = np.zeros((1, k, hp, w), bool)
                        one[0, kk, yy, xx] = True
                        if self._step(one, m)[0][state]:
                            found = (kk, yy, xx)
                            break
                    if found:
                        break
                if found:
                    break
            if found is None:  # cannot happen: every reached state has a predecessor one step nearer
                raise RuntimeError(f"playability path lost at {state}")
            state = found
            states.append(state)
        pad = m["pad"]
        phase = lambda kk: "stand" if kk == 0 else "fall" if kk == k - 1 else "jump"  # noqa: E731  (glide: jump)
        return [(int(y) - pad, int(x), phase(kk)) for kk, y, x in states[::-1]]

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
        walk = _lookup(room, self._walk) | _lookup(room, self._door)
        if self.cross_width:
            cross = _lookup(room, self._cross)
            up, down = _shift(walk, 1, 0, False), _shift(walk, -1, 0, False)      # walk[y-1], walk[y+1]
            left, right = _shift(walk, 0, 1, False), _shift(walk, 0, -1, False)   # walk[x-1], walk[x+1]
            walk = walk | (cross & ((up & down) | (left & right)))
        return walk

    def _room(self, room: np.ndarray):
        """(passes, door cells per door, search from the first door)."""
        doors = _components(_lookup(room, self._door))
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
                ok, cells, prev = self._room(room)
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
        if problems:
            return CheckResult(False, f"not playable: {len(problems)} door(s) cut off in {n_rooms} room(s): "
                               + "; ".join(problems[:3]) + ("..." if len(problems) > 3 else ""),
                               [], reached, cut[0], problems)
        return CheckResult(True, f"playable: every door reachable from every other in {n_rooms} room(s)",
                           path, reached)

    # ---- structures
    def _resolve_structures(self, specs) -> list[dict]:
        out = []
        for spec in specs:
            def char(tag):
                found = [c for c, tags in self.legend.tiles.items() if tag in tags]
                return found[0] if found else None
            mouth = [char(t) for t in spec["mouth"]]
            body = [char(t) for t in spec["body"]]
            if None in mouth or None in body or len(mouth) != len(body):
                continue  # this legend has no such object
            out.append({"name": spec["name"], "mouth": mouth, "body": body,
                        "flip": bool(spec.get("flip")), "stack": bool(spec.get("stack"))})
        return out

    def _structure(self, grid: np.ndarray, s: dict) -> list[tuple[int, int, str]]:
        h, w = grid.shape
        name, mouth, body = s["name"], s["mouth"], s["body"]
        solid = char_mask(grid, self._solid_chars)
        problems = []
        # Rows: every part beside its neighbours (unless the window's edge cuts them off).
        for parts in (mouth, body):
            for i, ch in enumerate(parts):
                for y, x in zip(*np.nonzero(grid == ch)):
                    for j, other in enumerate(parts):
                        xx = x + j - i
                        if j != i and 0 <= xx < w and grid[y, xx] != other:
                            problems.append((int(y), int(x), f"{name}: {ch!r} lacks its {other!r} "
                                             f"{'right' if j > i else 'left'} of it"))
                            break
        # Columns of the left part: mouth over bodies (or under them, or stacked), resting on something.
        left = char_mask(grid, [mouth[0], body[0]])
        for x in map(int, np.nonzero(left.any(0))[0]):  # only columns holding a part
            y = 0
            while y < h:
                if not left[y, x]:
                    y += 1
                    continue
                y0 = y
                while y < h and left[y, x]:
                    y += 1
                run = "".join("m" if grid[yy, x] == mouth[0] else "b" for yy in range(y0, y))
                problems += self._run(grid, solid, s, x, y0, y - 1, run)
        return problems

    def _run(self, grid, solid, s, x, top, bottom, run) -> list[tuple[int, int, str]]:
        h, w = grid.shape
        k = len(s["mouth"])
        name = s["name"]

        def rests(y_end: int, beyond: int) -> bool:  # solid (or the edge) beyond the end, or ground beside
            yb = y_end + beyond
            if not 0 <= yb < h or solid[yb, x]:
                return True
            return (x - 1 >= 0 and solid[y_end, x - 1]) or (x + k < w and solid[y_end, x + k])

        touches_top, touches_bottom = top == 0, bottom == h - 1
        upright = run[0] == "m" and "m" not in run[1:]
        hanging = s["flip"] and run[-1] == "m" and "m" not in run[:-1]
        stacked = s["stack"] and (run[0] == "m" or touches_top) and "m" in run
        if upright or stacked:
            return [] if rests(bottom, 1) else [(bottom, x, f"{name} floats: nothing under it")]
        if hanging:
            return [] if rests(top, -1) else [(top, x, f"{name} hangs from nothing")]
        if "m" not in run:  # bodies alone: the mouth must be beyond the window's edge
            if touches_top and rests(bottom, 1):
                return []
            if s["flip"] and touches_bottom and rests(top, -1):
                return []
            return [(top, x, f"{name} has no {s['mouth'][0]!r} end")]
        return [(top, x, f"{name}: {s['mouth'][0]!r} in the middle of a column")]

    # ---- repair
    def repair(self, grid: np.ndarray, log_probs: np.ndarray, vocabulary: str) -> np.ndarray:
        """Make every multi-tile structure of a decoded grid whole, the way the decoder finds most
        likely: each broken piece (a half pipe, a pipe body without its top, a floating cannon) is
        either removed (each of its cells becomes its most likely other tile) or completed into a
        whole upright object (mouth on top, body down to the ground beneath), whichever costs
        the least log-probability under `log_probs` (H, W, len(vocabulary)). Returns the repaired
        grid of tile characters; a grid with nothing broken comes back unchanged."""
        grid = np.array(grid, copy=True)
        if not self.structures:
            return grid
        parts = sorted(self.structure_chars & set(vocabulary))
        part_index = [vocabulary.index(ch) for ch in parts]
        others = np.array(log_probs, np.float64, copy=True)
        others[..., part_index] = -np.inf
        best_other = np.array(list(vocabulary))[others.argmax(-1)]  # most likely tile that is no part
        index = {ch: i for i, ch in enumerate(vocabulary)}
        ground = set(self._solid_chars) - set(parts)  # what objects stand on

        def cost(changes: dict) -> float:  # log-probability given up by making these changes
            return sum(log_probs[y, x, index[grid[y, x]]] - log_probs[y, x, index[ch]]
                       for (y, x), ch in changes.items() if grid[y, x] in index)

        for _ in range(4):
            problems = self.structure_problems(grid)
            if not problems:
                return grid
            labels = _components(char_mask(grid, parts))
            for piece in sorted({int(labels[y, x]) for y, x, _ in problems} - {0}):
                cells = list(zip(*np.nonzero(labels == piece)))
                remove = {(y, x): best_other[y, x] for y, x in cells}
                options = [remove] + self._completions(grid, cells, ground, remove)
                for (y, x), ch in min(options, key=cost).items():
                    grid[y, x] = ch
        # what four rounds could not mend goes: structure tiles of every piece still broken
        labels = _components(char_mask(grid, parts))
        for piece in {int(labels[y, x]) for y, x, _ in self.structure_problems(grid)} - {0}:
            for y, x in zip(*np.nonzero(labels == piece)):
                grid[y, x] = best_other[y, x]
        return grid

    def _completions(self, grid: np.ndarray, cells: list, ground: set, remove: dict) -> list[dict]:
        """Whole upright objects through a broken piece: for each structure and left column the
        piece implies, the mouth on the piece's top row and the body down to the ground."""
        h, w = grid.shape
        out = []
        top = min(y for y, _ in cells)
        for s in self.structures:
            k = len(s["mouth"])
            lefts = set()
            for y, x in cells:
                for row in (s["mouth"], s["body"]):
                    if grid[y, x] in row:
                        lefts.add(x - row.index(grid[y, x]))
            for x0 in sorted(lefts):
                if x0 < 0 or x0 + k > w:
                    continue
                bottom = top + 1
                while bottom < h and not any(grid[bottom, x0 + j] in ground for j in range(k)):
                    bottom += 1
                change = {cell: ch for cell, ch in remove.items() if not x0 <= cell[1] < x0 + k}
                for j in range(k):
                    change[(top, x0 + j)] = s["mouth"][j]
                    for y in range(top + 1, bottom):
                        change[(y, x0 + j)] = s["body"][j]
                out.append(change)
        return out


# ---------------------------------------------------------------- pictures

def draw_check(grid: np.ndarray, legend: TileLegend, result: CheckResult,
               problems: list[tuple[int, int, str]] = ()) -> np.ndarray:
    """The level's preview (levels.render) with the check drawn on it: the path found (white line,
    green start, red finish), or the cells the player can reach (tinted) and where he gets stuck
    (red cross); broken structures boxed in magenta. Rows of open air above the top are added
    when the path goes there. Returns an RGB array."""
    from PIL import Image, ImageDraw

    from genforge.domains.levels import TILE_PX, draw_tiles, render, to_indices

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
        points = [centre(r, c) for r, c, _ in result.path]
        # A wrap-around step (Kid Icarus) would draw a line across the level: break the line there.
        segment = [points[0]]
        for (a, b) in zip(points, points[1:]):
            if abs(a[0] - b[0]) > px * 1.5:
                if len(segment) > 1:
                    draw.line(segment, fill=(20, 20, 20), width=5)
                    draw.line(segment, fill=(255, 255, 255), width=3)
                segment = []
            segment.append(b)
        if len(segment) > 1:
            draw.line(segment, fill=(20, 20, 20), width=5)
            draw.line(segment, fill=(255, 255, 255), width=3)
        for (x, y), colour in ((points[0], (40, 200, 60)), (points[-1], (230, 40, 40))):
            draw.ellipse([x - 5, y - 5, x + 5, y + 5], fill=colour, outline=(0, 0, 0))
    if result.furthest is not None:
        x, y = centre(*result.furthest)
        draw.line([x - 6, y - 6, x + 6, y + 6], fill=(230, 0, 0), width=4)
        draw.line([x - 6, y + 6, x + 6, y - 6], fill=(230, 0, 0), width=4)
    for r, c, _ in problems:
        x, y = c * px, (r + above) * px
        draw.rectangle([x, y, x + px - 1, y + px - 1], outline=(255, 0, 255), width=3)
    return np.asarray(img)


# ---------------------------------------------------------------- files

def read_checkable(path: str | Path, game: str | None = None):
    """A level file (VGLC .txt with its folder's legend, or a Tiled .tmj) as (grid, legend, layout,
    game name). `game`: a preset to read it with when the file does not say (a bare .txt)."""
    from genforge.domains.games import find_preset
    from genforge.domains.levels import _layout_for, read_level_folder, read_tmj, read_vglc_text

    path = Path(path)
    if not path.is_file():
        raise GenforgeError(f"{path}: no such level file")
    if path.suffix.lower() not in (".txt", ".tmj"):
        raise GenforgeError(f"{path}: not a level file (.txt or .tmj)")
    preset = None
    if game is not None:
        preset = PRESETS.get(game) or next((p for p in PRESETS.values() if p.name.lower() == game.lower()), None)
        if preset is None:
            raise GenforgeError(f"unknown --game {game!r}; one of: {', '.join(repr(p) for p in PRESETS)}")
    if path.suffix.lower() == ".tmj":
        level, legend = read_tmj(path, preset.name if preset else "")
        preset = preset or PRESETS.get(level.game) or find_preset(path.parent.name, [path.name])
        if preset:  # the preset's legend is authoritative; the map's own tags fill its gaps
            legend = TileLegend({k: list(v) for k, v in preset.tiles.items()}, legend.empty).filled_from(
                legend.tiles)[0]
    elif preset:
        legend = TileLegend({k: list(v) for k, v in preset.tiles.items()}, preset.empty)
        level = read_vglc_text(path, legend, preset.name)
    else:
        try:
            s = read_level_folder(path)
        except GenforgeError as e:
            raise GenforgeError(f"{e}; or name the game with --game") from None
        level, legend = s.levels[0], s.legend
        preset = PRESETS.get(s.game)
    name = preset.name if preset else level.game
    layout = preset.layout if preset else _layout_for(None, [level])[0]
    return level.grid, legend, layout, name


def check_file(path: str | Path, game: str | None = None):
    """(CheckResult, structure problems, grid, legend) of one level file, checked as a whole level."""
    grid, legend, layout, name = read_checkable(path, game)
    preset = PRESETS.get(name)
    checker = Checker(legend, layout, game=name, room=preset.window if preset and layout == ROOMS else None)
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
