"""Windows cut from levels (grid.py): the counts and sizes the corpus's SOURCE.md states, so a
regression in windowing shows up as a number that no longer matches the published description
of the data."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from levels_support import SMB_WIDTHS, windows_of
from support import KID_ICARUS, SMB, SMB2J, ZELDA, needs_vglc, write_level_folder

from genforge.domains.games import HORIZONTAL, ROOMS, VERTICAL
from genforge.domains.levels.grid import cut_windows
from genforge.domains.levels.read import read_level_folder
from genforge.errors import GenforgeError


# ---------------------------------------------------------------- SOURCE.md's numbers

SMB2J_SIZES = {"1-1": (12, 183), "1-2": (14, 223), "1-3": (15, 165), "2-1": (15, 226), "2-2": (14, 257),
               "2-3": (14, 172), "3-1": (16, 180), "3-3": (15, 182), "4-1": (15, 193), "4-2": (14, 201),
               "4-3": (14, 180), "5-1": (14, 363), "5-2": (15, 172), "6-1": (15, 244), "6-3": (13, 213),
               "8-1": (15, 209), "A-1": (14, 219), "A-3": (15, 160), "B-1": (14, 191), "B-3": (15, 204),
               "C-2": (15, 189), "D-1": (15, 193)}


KID_ICARUS_HEIGHTS = {1: 173, 2: 203, 3: 281, 4: 159, 5: 206, 6: 233}


ZELDA_ROOMS = {  # level -> (rows, cols, non-void rooms)
    "1_1": (96, 66, 17), "1_2": (32, 88, 14), "2_1": (64, 88, 18), "2_2": (48, 88, 20), "3_1": (80, 66, 18),
    "3_2": (64, 77, 11), "4_1": (64, 88, 20), "4_2": (64, 88, 30), "5_1": (64, 88, 23), "5_2": (48, 88, 18),
    "6_1": (96, 88, 25), "6_2": (96, 88, 22), "7_1": (96, 88, 33), "7_2": (112, 77, 27), "8_1": (80, 88, 25),
    "8_2": (128, 88, 35), "9_1": (128, 88, 57), "9_2": (128, 88, 46)}


def _raw_grid(path: Path) -> np.ndarray:
    """A level file read independently of genforge."""
    return np.array([list(r) for r in path.read_text().splitlines()], dtype="<U1")


# ---------------------------------------------------------------- the real corpus

@needs_vglc
def test_smb_levels_and_windows_match_source_md():
    s = read_level_folder(SMB)
    assert s.game == "Super Mario Bros" and s.layout == HORIZONTAL and s.window == (14, 28)
    assert {lv.name.removeprefix("mario-"): lv.grid.shape for lv in s.levels} == \
        {k: (14, w) for k, w in SMB_WIDTHS.items()}
    wins = windows_of(s)
    assert sum(len(w) for w in wins.values()) == 2518
    assert sum(len(w) for w in windows_of(s, (14, 16)).values()) == 2698
    # Stride-1 windows slide one column at a time over the untouched level.
    one = next(lv for lv in s.levels if lv.name == "mario-1-1")
    assert np.array_equal(wins["mario-1-1"][0], one.grid[:, :28])
    assert np.array_equal(wins["mario-1-1"][5], one.grid[:, 5:33])
    assert np.array_equal(wins["mario-1-1"][-1], one.grid[:, -28:])
    # The tile counts SOURCE.md gives: the reader neither drops nor invents tiles.
    counts = Counter(np.concatenate([lv.grid.reshape(-1) for lv in s.levels]).tolist())
    assert sum(counts.values()) == 40922
    assert (counts["X"], counts["?"], counts["Q"], counts["E"], counts["B"], counts["b"]) == (3600, 31, 70, 275, 16, 13)


@needs_vglc
def test_kid_icarus_windows_climb_from_the_bottom():
    s = read_level_folder(KID_ICARUS)
    assert s.layout == VERTICAL and s.window == (16, 16)
    assert {int(lv.name.split("_")[1]): lv.grid.shape for lv in s.levels} == \
        {k: (h, 16) for k, h in KID_ICARUS_HEIGHTS.items()}
    wins = windows_of(s)
    assert sum(len(w) for w in wins.values()) == 1165
    lv = s.levels[0]
    w = wins[lv.name]
    assert np.array_equal(w[0], lv.grid[-16:]), "the first window is the bottom of the level: play climbs up"
    assert np.array_equal(w[1], lv.grid[-17:-1])
    assert np.array_equal(w[-1], lv.grid[:16])


@needs_vglc
def test_zelda_rooms_are_the_459_non_void_ones_and_aligned():
    s = read_level_folder(ZELDA)
    assert s.layout == ROOMS and s.window == (16, 11) and s.legend.empty == "-"
    assert "void" in s.legend.tiles["-"] and "wall" in s.legend.tiles["W"]
    wins = windows_of(s)
    assert {k.removeprefix("tloz"): len(v) for k, v in wins.items()} == \
        {k: n for k, (_, _, n) in ZELDA_ROOMS.items()}
    assert sum(len(w) for w in wins.values()) == 459
    assert {lv.name.removeprefix("tloz"): lv.grid.shape for lv in s.levels} == \
        {k: (r, c) for k, (r, c, _) in ZELDA_ROOMS.items()}
    rooms = np.concatenate(list(wins.values()))
    assert not np.any(np.all(rooms == "-", axis=(1, 2))), "an all-void room is not part of a dungeon"
    # Aligned on the 16 x 11 room grid: every room is walled at its four corners.
    corners = rooms[:, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert np.all(corners == "W")


@needs_vglc
def test_smb2j_heights_are_fitted_to_14_rows():
    s = read_level_folder(SMB2J)
    by_name = {lv.name.split("World")[1]: lv for lv in s.levels}
    assert {k: lv.grid.shape for k, lv in by_name.items()} == SMB2J_SIZES
    wins = windows_of(s)
    total = 0
    for key, lv in by_name.items():
        w = wins[lv.name]
        h, width = lv.grid.shape
        assert w.shape == (width - 27, 14, 28), key
        total += len(w)
        raw = _raw_grid(lv.path)
        if h > 14:  # taller: the extra rows on top are empty sky, and only they go
            assert np.all(raw[:h - 14] == "-"), key
            assert np.array_equal(w[0], raw[h - 14:, :28]), key
            assert np.array_equal(w[-1], raw[h - 14:, -28:]), key
        elif h < 14:  # shorter: sky is added on top, the ground stays at the bottom
            assert np.all(w[:, :14 - h] == "-"), key
            assert np.array_equal(w[0, 14 - h:], raw[:, :28]), key
        else:
            assert np.array_equal(w[0], raw[:, :28]), key
    assert total == 4519 - 22 * 27


@needs_vglc
def test_a_tall_level_with_something_in_its_sky_is_refused_not_cropped(tmp_path):
    raw = _raw_grid(SMB2J / "SuperMarioBros2(J)-World3-1.txt")  # 16 rows
    raw[0, 40] = "o"  # a coin in the top row: trimming it would lose content
    folder = write_level_folder(tmp_path, "Super Mario Bros 2 (Japan)", {"SuperMarioBros2(J)-World3-1":
                                [''.join(r) for r in raw]}, legend=None)
    s = read_level_folder(folder)
    with pytest.raises(GenforgeError, match=r"World3-1\.txt: level is 16 rows high, the window 14"):
        cut_windows(s.levels[0], s.layout, s.window, s.legend.empty)


# ---------------------------------------------------------------- levels of any shape

def test_levels_far_larger_than_a_screen_are_cut_into_square_windows_that_skip_the_outside(tmp_path):
    """A 300 x 300 level of a game without a preset, and an L-shaped one whose outside is `null`."""
    from genforge.domains.games import AREA
    from genforge.domains.levels.read import read_level_folder

    rng = np.random.default_rng(0)
    big = np.where(rng.random((300, 300)) < 0.2, "#", ".")
    shaped = np.full((60, 80), "@")
    shaped[:, :24] = "."
    shaped[-24:, :] = "."
    folder = tmp_path / "castle"
    folder.mkdir()
    for name, g in (("big", big), ("ell", shaped)):
        (folder / f"{name}.txt").write_text("\n".join("".join(r) for r in g) + "\n")
    (folder / "legend.json").write_text('{"tiles": {".": ["empty", "passable"], "#": ["solid"], "@": ["null"]}}')
    s = read_level_folder(folder)
    assert s.layout == AREA and s.window == (32, 32)
    windows = {lv.name: cut_windows(lv, s.layout, s.window, s.legend.empty, null=s.legend.null) for lv in s.levels}
    assert len(windows["big"]) == 35 * 35  # 8 apart (a quarter window) on both axes, plus the far edges
    assert all((w == "@").mean() <= 0.5 for w in windows["ell"]) and len(windows["ell"]) > 0
    every = cut_windows(s.levels[1], s.layout, s.window, s.legend.empty)
    assert len(every) > len(windows["ell"]), "windows mostly outside the map are left out"
