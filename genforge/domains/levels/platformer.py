"""The platformer and climber search (the rules are in playability.py's docstring). A state is a
cell and a phase: standing, rising, gliding or falling. All windows of a batch are searched at
once as boolean arrays; one level's path is read back from the search's distances. numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genforge.domains.levels.masks import shifted, tile_mask


@dataclass(frozen=True)
class Moves:
    """A game's movement rules, as the search reads them from its physics (see Checker), and per
    tile character: may the player be there (`free`), stand on it (`support`), is it a `door`."""

    kind: str                  # "platformer" (left to right) or "climber" (bottom to top)
    jump: int                  # rows a jump rises
    glide: int                 # columns across at the top of a jump
    span: int                  # start on the footings within this many columns (rows) of the first
    exit_rows: int             # climbers also finish beside a door in this many top rows
    wrap: bool                 # leaving one side enters the other
    open_top: bool             # the rows above the top are open air (to jump through, never to stand on)
    free: dict[str, bool]
    support: dict[str, bool]
    door: dict[str, bool]
    entry: str = "footing"     # "edge": enter at the left edge, standing in the first column or falling in
                               # from it; "footing": on the first footings within `span` of the start edge

    @property
    def reach(self) -> int:
        return 2 * self.jump + self.glide  # columns a flat jump covers

    def masks(self, grids: np.ndarray) -> dict[str, np.ndarray]:
        """What the search reads of grids (N, H, W): where the player may be, stand, move up, down
        and beside, the doors; with `open_top`, `pad` rows of open air on top."""
        free = tile_mask(grids, self.free)
        tile_support = tile_mask(grids, self.support)
        n, h, w = grids.shape
        pad = self.jump if self.open_top else 0
        if pad:  # open air above the top row
            free = np.concatenate([np.ones((n, pad, w), bool), free], 1)
            tile_support = np.concatenate([np.zeros((n, pad, w), bool), tile_support], 1)
        below = np.concatenate([tile_support[:, 1:], np.zeros((n, 1, w), bool)], 1)  # nothing below the bottom
        sup = free & below
        if pad and self.entry == "edge":
            sup[:, :pad] = False  # the row above the screen is no floor: the window's next neighbour has none
        top = np.ones((n, 1, w), bool) if self.open_top else np.zeros((n, 1, w), bool)
        free_up = np.concatenate([top, free[:, :-1]], 1)
        free_down = np.concatenate([free[:, 1:], np.zeros((n, 1, w), bool)], 1)
        side = {dx: shifted(free, 0, -dx, self.wrap) for dx in (-1, 1)}  # side[dx][y, x] = free[y, x + dx]
        door = tile_mask(grids, self.door)
        return {"door": door, "free": free, "sup": sup, "free_up": free_up, "free_down": free_down,
                "side-": side[-1], "side+": side[1], "pad": pad}

    def ends(self, m: dict, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        """Start states (N, phases, H + pad, W) and goal cells (padded coordinates). Entering at the
        edge: standing on a footing of the first column, or falling through a free cell of it (the
        player comes in from the window before). Else: standing on the footings within
        `start_span` columns (rows, climbing) of the first one that has any, if that one lies
        within a jump's reach of the start edge (a window may begin over a gap)."""
        pad = m["pad"]
        sup = m["sup"]
        n = len(sup)
        states = np.zeros((n, self.jump + self.glide + 2, h + pad, w), bool)
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
            goal |= m["free"] & (shifted(door, 0, 1, self.wrap) | shifted(door, 0, -1, self.wrap))
        first = np.where(lines.any(1), lines.argmax(1), lines.shape[1])
        near = (np.arange(lines.shape[1])[None] < (first + self.span)[:, None]) & (first < self.reach)[:, None]
        if self.kind == "platformer":
            region = np.broadcast_to(near[:, None, :], (n, h, w))
        else:
            region = np.broadcast_to(near[:, ::-1][:, :, None], (n, h, w))
        region = np.concatenate([np.zeros((n, pad, w), bool), region], 1)
        if self.entry == "edge" and self.kind == "platformer":
            states[:, 0, pad:, 0] = sup[:, pad:, 0]
            states[:, -1, pad:, 0] = m["free"][:, pad:, 0] & ~sup[:, pad:, 0]
        else:
            states[:, 0] = sup & region
        return states, goal

    def step(self, a: np.ndarray, m: dict) -> np.ndarray:
        """States reachable in one step from states `a` (N, phases, H, W); phases: standing,
        rising 1..J, gliding 1..G at the top of a jump, falling."""
        j, g, wrap = self.jump, self.glide, self.wrap
        free, sup = m["free"], m["sup"]
        stand, rise, glide, fall = a[:, 0], a[:, 1:j + 1], a[:, j + 1:j + g + 1], a[:, j + g + 1]
        out = np.zeros_like(a)
        for dx in (-1, 1):  # walk; off a ledge, start falling
            t = shifted(stand, 0, dx, wrap) & free
            out[:, 0] |= t & sup
            out[:, -1] |= t & ~sup
        up = np.concatenate([stand[:, None], rise[:, :j - 1]], 1) & m["free_up"][:, None]
        for dx in (-1, 0, 1):  # jump, or keep rising: one row up, at most one column across
            out[:, 1:j + 1] |= shifted(up, -1, dx, wrap) & free[:, None]
        if g:  # glide: one column across without losing height, after rising
            across = np.concatenate([rise.any(1)[:, None], glide[:, :g - 1]], 1)
            for dx in (-1, 1):
                out[:, j + 1:j + g + 1] |= shifted(across, 0, dx, wrap) & free[:, None]
        air = rise.any(1) | glide.any(1) | fall
        out[:, 0] |= air & sup  # land
        drop = air & ~sup
        out[:, -1] |= shifted(drop & m["free_down"], 1, 0, wrap)
        for dx, side in ((-1, m["side-"]), (1, m["side+"])):
            out[:, -1] |= shifted(drop & (m["free_down"] | side), 1, dx, wrap) & free
        return out

    def _sub(self, m: dict, keep: np.ndarray) -> dict:
        return {k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in m.items()}

    def playable(self, grids: np.ndarray) -> np.ndarray:
        """Verdict per grid (N, H, W): does a path lead from a start to a goal?"""
        n, h, w = grids.shape
        m = self.masks(grids)
        start, goal = self.ends(m, h, w)
        reached = start.copy()
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
            frontier = self.step(frontier, m) & ~reached
            reached |= frontier
        return result

    def distances(self, grid: np.ndarray) -> tuple[np.ndarray, dict, np.ndarray, np.ndarray, bool]:
        """One grid searched breadth-first until a goal is reached: (steps to every state (phases,
        H + pad, W), -1 where unreached; the masks; the start states; the goal cells; whether a goal
        was reached)."""
        h, w = grid.shape
        m = self.masks(grid[None])
        pad = m["pad"]
        start, goal = self.ends(m, h, w)
        k = self.jump + self.glide + 2
        dist = np.full((k, h + pad, w), -1, np.int32)
        frontier = start[:1].copy()
        dist[frontier[0]] = 0
        d = 0
        goal = goal[0]
        while frontier.any() and not (frontier[0] & goal).any():
            d += 1
            frontier = self.step(frontier, m) & (dist < 0)[None]
            dist[frontier[0]] = d
        return dist, m, start, goal, bool(frontier.any())

    def backtrack(self, dist: np.ndarray, goal: np.ndarray, m: dict) -> list[tuple[int, int, str]]:
        """The path (row, column, phase) to the nearest goal state, read back from `distances`."""
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
                        if self.step(one, m)[0][state]:
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
