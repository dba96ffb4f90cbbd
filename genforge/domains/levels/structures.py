"""Multi-tile structures (physics["structures"]: Mario's pipes and cannons; the rules are in
playability.py's docstring): which of a grid's are broken, and their repair under the decoder's
log-probabilities. numpy only.
"""
from __future__ import annotations

import numpy as np

from genforge.domains.levels.grid import TileLegend
from genforge.domains.levels.masks import char_mask, components


class Structures:
    """One game's multi-tile structures, resolved to its legend's characters: each a dict of name,
    mouth and body characters (left to right), flip and stack."""

    def __init__(self, legend: TileLegend, specs):
        self.legend = legend
        self.structures = self._resolve(specs)
        # every tile that is part of a multi-tile structure (pipe or cannon pieces)
        self.chars = {ch for s in self.structures for ch in s["mouth"] + s["body"]}
        self._solid_chars = [c for c, t in legend.tiles.items() if "solid" in t]

    def problems(self, grid: np.ndarray) -> list[tuple[int, int, str]]:
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
        has = char_mask(windows, self.chars).any((1, 2))
        for i in np.nonzero(has)[0]:
            out[i] = bool(self.problems(windows[i]))
        return out

    def _resolve(self, specs) -> list[dict]:
        """The physics' structure specs (tags) as this legend's characters; one it lacks is left out."""
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
        parts = sorted(self.chars & set(vocabulary))
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
            problems = self.problems(grid)
            if not problems:
                return grid
            labels = components(char_mask(grid, parts))
            for piece in sorted({int(labels[y, x]) for y, x, _ in problems} - {0}):
                cells = list(zip(*np.nonzero(labels == piece)))
                remove = {(y, x): best_other[y, x] for y, x in cells}
                options = [remove] + self._completions(grid, cells, ground, remove)
                for (y, x), ch in min(options, key=cost).items():
                    grid[y, x] = ch
        # what four rounds could not mend goes: structure tiles of every piece still broken
        labels = components(char_mask(grid, parts))
        for piece in {int(labels[y, x]) for y, x, _ in self.problems(grid)} - {0}:
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

