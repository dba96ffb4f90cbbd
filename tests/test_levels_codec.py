"""The level foundation: reading VGLC text and Tiled maps, legends, windows, datasets, splits.

Counts and sizes are the ones the corpus's SOURCE.md states, so a regression in windowing or
reading shows up as a number that no longer matches the published description of the data.
"""
from __future__ import annotations

import base64
import gzip
import json
import re
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from support import (
    KID_ICARUS,
    SMB,
    SMB2J,
    TINY_LEGEND,
    TINY_LEVELS,
    ZELDA,
    needs_vglc,
    write_level_folder,
)

from genforge.domains.games import HORIZONTAL, MARIO_TILES, ROOMS, VERTICAL
from genforge.domains.levels import (
    LevelCodec,
    TileLegend,
    build_dataset,
    crop_from,
    cut_windows,
    read_level_folder,
    read_tmj,
    read_vglc_text,
    tiled_map,
    to_chars,
)
from genforge.errors import GenforgeError

# ---------------------------------------------------------------- SOURCE.md's numbers

SMB_WIDTHS = {"1-1": 202, "1-2": 158, "1-3": 150, "2-1": 197, "3-1": 197, "3-3": 149, "4-1": 222, "4-2": 187,
              "5-1": 198, "5-3": 150, "6-1": 184, "6-2": 215, "6-3": 165, "7-1": 176, "8-1": 373}
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


def _windows(level_set, window=None):
    window = window or level_set.window
    return {lv.name: cut_windows(lv, level_set.layout, window, level_set.legend.empty) for lv in level_set.levels}


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
    wins = _windows(s)
    assert sum(len(w) for w in wins.values()) == 2518
    assert sum(len(w) for w in _windows(s, (14, 16)).values()) == 2698
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
    wins = _windows(s)
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
    wins = _windows(s)
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
def test_smb2j_legend_gap_is_filled_and_noted():
    raw_legend = json.loads((SMB2J / "smb.json").read_text())["tiles"]
    assert "B" not in raw_legend and "b" not in raw_legend  # the corpus's gap this test is about
    s = read_level_folder(SMB2J)
    assert s.legend.has("B", "cannon") and s.legend.has("B", "solid") and s.legend.has("b", "cannon")
    notes = [n for n in s.notes if "Super Mario Bros 2 (Japan)" in n]
    assert notes, s.notes
    assert {"B", "b"} <= set(re.findall(r"\b\S\b", notes[0])), notes[0]
    counts = Counter(np.concatenate([lv.grid.reshape(-1) for lv in s.levels]).tolist())
    assert (counts["B"], counts["b"], counts["?"], counts["Q"], counts["-"]) == (23, 12, 69, 169, 56121)
    # The SMB folder's own legend has B/b: nothing to fill there, nothing to note.
    assert read_level_folder(SMB).notes == []


@needs_vglc
def test_smb2j_heights_are_fitted_to_14_rows():
    s = read_level_folder(SMB2J)
    by_name = {lv.name.split("World")[1]: lv for lv in s.levels}
    assert {k: lv.grid.shape for k, lv in by_name.items()} == SMB2J_SIZES
    wins = _windows(s)
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


@needs_vglc
@pytest.mark.parametrize("folder", [SMB, SMB2J], ids=["smb", "smb2j"])
def test_question_blocks_mean_what_the_data_means(folder):
    """The corpus's legend says ?=full, Q=empty; the data (and the Mario AI framework) mean
    ? = power-up block, Q = coin block."""
    raw = json.loads((folder / "smb.json").read_text())["tiles"]
    assert "full question block" in raw["?"] and "empty question block" in raw["Q"]  # what is being corrected
    legend = read_level_folder(folder).legend
    assert legend.has("?", "power-up block") and not legend.has("?", "full question block")
    assert legend.has("Q", "coin block") and not legend.has("Q", "empty question block")
    assert legend.has("?", "question block") and legend.has("Q", "question block") and legend.has("Q", "solid")
    assert legend.tiles == {k: list(v) for k, v in MARIO_TILES.items()}


@needs_vglc
def test_multi_game_dataset_one_vocabulary_common_shape_native_windows():
    folders = [SMB, KID_ICARUS, ZELDA]
    ds = build_dataset(folders, seed=0)
    assert ds.labels == ["Super Mario Bros", "Kid Icarus", "The Legend of Zelda"]
    used = set()
    for f in folders:
        for p in f.glob("*.txt"):
            if p.name != "README.txt":
                used |= set(p.read_text()) - {"\n"}
    assert ds.vocabulary == "".join(sorted(used))
    assert len(set(ds.vocabulary)) == len(ds.vocabulary)
    assert ds.shape == (16, 28)
    assert [tuple(g["window"]) for g in ds.games] == [(14, 28), (16, 16), (16, 11)]
    assert [g["layout"] for g in ds.games] == [HORIZONTAL, VERTICAL, ROOMS]

    grids = np.concatenate([ds.splits[s][0] for s in ("train", "validation", "test")])
    ids = np.concatenate([ds.splits[s][1] for s in ("train", "validation", "test")])
    assert grids.shape[1:] == (16, 28) and grids.dtype.kind == "i"
    assert Counter(ids.tolist()) == {0: 2518, 1: 1165, 2: 459}
    empty = ds.vocabulary.index("-")
    assert np.all(grids[ids == 0][:, :2, :] == empty), "Mario's 14 rows sit at the bottom, sky above"
    assert np.all(grids[ids == 1][:, :, 16:] == empty), "Kid Icarus's 16 columns sit at the left"
    assert np.all(grids[ids == 2][:, :, 11:] == empty), "a Zelda room is 11 columns, the rest padding"

    codec = LevelCodec.from_dataset(ds)
    for label, folder in enumerate(folders):
        s = read_level_folder(folder)
        expect = {w.tobytes() for ws in _windows(s).values() for w in ws}
        native = to_chars(crop_from(grids[ids == label], tuple(ds.games[label]["window"])), ds.vocabulary)
        assert {w.tobytes() for w in native} == expect, folder.name
        # The codec's crop gives the same native window the game was cut at.
        assert codec.native(grids[ids == label][:1], label).shape[-2:] == tuple(ds.games[label]["window"])

    # One character, three meanings: each game's legend wins for its own label.
    assert codec.legend(0).has("B", "cannon") and not codec.legend(0).has("B", "block")
    assert codec.legend(2).has("B", "block") and not codec.legend(2).has("B", "cannon")
    assert codec.legend(1).has("M", "platform") and codec.legend(2).has("M", "monster")
    assert codec.legend(1).has("D", "solid") and codec.legend(2).has("D", "passable")
    # ... and tiles only another game knows are still described (a blend may use them).
    assert codec.legend(1).has("X", "solid") and codec.legend(2).has("T", "platform")
    for g in ds.games:
        split_names = [set(g[k]) for k in ("train_levels", "validation_levels", "test_levels")]
        assert all(a.isdisjoint(b) for i, a in enumerate(split_names) for b in split_names[i + 1:]), g["name"]


@needs_vglc
def test_the_same_game_twice_is_refused():
    with pytest.raises(GenforgeError, match="same game was given twice"):
        build_dataset([SMB, SMB])


@needs_vglc
def test_splits_are_by_whole_level_and_deterministic():
    ds = build_dataset([SMB], seed=0)
    g = ds.games[0]
    names = {k: g[f"{k}_levels"] for k in ("train", "validation", "test")}
    assert [len(names[k]) for k in ("train", "validation", "test")] == [10, 2, 3]
    sets = [set(v) for v in names.values()]
    assert sets[0].isdisjoint(sets[1]) and sets[0].isdisjoint(sets[2]) and sets[1].isdisjoint(sets[2])
    assert set().union(*sets) == {f"mario-{k}" for k in SMB_WIDTHS}
    assert ds.labels == [] and ds.vocabulary == "".join(sorted(MARIO_TILES))

    # Each split holds exactly the windows of its own levels.
    s = read_level_folder(SMB)
    wins = _windows(s)
    for split in ("train", "validation", "test"):
        grids, ids = ds.splits[split]
        assert len(grids) == sum(SMB_WIDTHS[n.removeprefix("mario-")] - 27 for n in names[split]), split
        assert np.all(ids == 0)
        expect = {w.tobytes() for n in names[split] for w in wins[n]}
        got = {w.tobytes() for w in to_chars(grids, ds.vocabulary)}
        assert got == expect, split
    # A test window is never a training window unless the two levels share that exact stretch.
    train_set = {w.tobytes() for w in ds.splits["train"][0]}
    shared = np.mean([w.tobytes() in train_set for w in ds.splits["test"][0]])
    assert shared < 0.5

    again = build_dataset([SMB], seed=0)
    assert again.games[0]["test_levels"] == g["test_levels"] and again.games[0]["train_levels"] == g["train_levels"]
    for split in ("train", "validation", "test"):
        assert np.array_equal(again.splits[split][0], ds.splits[split][0])
    others = [build_dataset([SMB], seed=s).games[0]["test_levels"] for s in (1, 2, 3)]
    assert any(set(o) != set(g["test_levels"]) for o in others), "the seed must choose the held-out levels"


@needs_vglc
def test_stride_thins_only_the_training_windows():
    ds1, ds2 = build_dataset([SMB], seed=0), build_dataset([SMB], stride=2, seed=0)
    names = ds1.games[0]["train_levels"]
    assert len(ds2.splits["train"][0]) == sum(-(-(SMB_WIDTHS[n[6:]] - 27) // 2) for n in names)
    assert np.array_equal(ds2.splits["test"][0], ds1.splits["test"][0])
    assert np.array_equal(ds2.splits["validation"][0], ds1.splits["validation"][0])


# ---------------------------------------------------------------- a tiny folder, no corpus needed

def test_tiny_folder_reads_with_its_legend_and_a_guessed_window(tiny_folder):
    s = read_level_folder(tiny_folder)
    assert s.game == "tinygame" and s.layout == HORIZONTAL and s.window == (6, 12)
    assert s.legend.tiles == TINY_LEGEND and s.legend.empty == "-"
    assert [lv.name for lv in s.levels] == ["alpha", "beta", "gamma"]
    assert ["".join(r) for r in s.levels[1].grid] == TINY_LEVELS["beta"]
    ds = build_dataset([tiny_folder], seed=0)
    assert ds.vocabulary == "#-Eo" and ds.shape == (6, 12)
    g = ds.games[0]
    assert len(g["train_levels"]) == 1 and len(g["validation_levels"]) == 1 and len(g["test_levels"]) == 1
    assert sum(len(ds.splits[k][0]) for k in ("train", "validation", "test")) == 9  # 3 levels x (14 - 12 + 1)


def test_two_levels_are_all_training_and_a_note_says_so(tmp_path):
    folder = write_level_folder(tmp_path, levels={k: TINY_LEVELS[k] for k in ("alpha", "beta")})
    ds = build_dataset([folder])
    assert any("none held out" in n for n in ds.notes), ds.notes
    assert len(ds.splits["train"][0]) == 6
    assert np.array_equal(ds.splits["test"][0], ds.splits["train"][0])


def test_crlf_and_missing_final_newline_read_the_same(tmp_path):
    lf = write_level_folder(tmp_path, "lf")
    crlf = write_level_folder(tmp_path, "crlf", {k: "\r\n".join(v) for k, v in TINY_LEVELS.items()})
    for a, b in zip(read_level_folder(lf).levels, read_level_folder(crlf).levels):
        assert np.array_equal(a.grid, b.grid)


def test_a_single_file_reads_with_the_legend_beside_it(tiny_folder):
    s = read_level_folder(tiny_folder / "gamma.txt")
    assert [lv.name for lv in s.levels] == ["gamma"]
    assert "".join(s.levels[0].grid[-1]) == TINY_LEVELS["gamma"][-1]


def test_zelda_prose_legend_reads(tmp_path):
    legend = TileLegend.load(ZELDA / "README.txt") if ZELDA.is_dir() else None
    (tmp_path / "README.txt").write_text("F = FLOOR\nP = ELEMENT (LAVA, WATER)\n- = VOID\n")
    prose = TileLegend.load(tmp_path / "README.txt")
    assert prose.tiles == {"F": ["floor"], "P": ["element", "lava", "water"], "-": ["void"]}
    if legend is not None:
        assert set(legend.tiles) == set("FBMPOIDSW-")


# ---------------------------------------------------------------- bad input: one GenforgeError naming the file

def test_missing_path(tmp_path):
    missing = tmp_path / "no-such-levels"
    with pytest.raises(GenforgeError, match=re.escape(f"{missing}: no such file or folder")):
        read_level_folder(missing)


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "legend.json").write_text(json.dumps({"tiles": TINY_LEGEND}))
    with pytest.raises(GenforgeError, match=re.escape(f"{tmp_path / 'empty'}: no level files")):
        read_level_folder(tmp_path / "empty")


def test_no_legend(tmp_path):
    folder = write_level_folder(tmp_path, legend=None)
    with pytest.raises(GenforgeError, match=re.escape(f"{folder}: no tile legend")):
        read_level_folder(folder)


def test_ragged_rows_name_the_line(tmp_path):
    rows = list(TINY_LEVELS["alpha"])
    rows[3] = rows[3][:-1]
    folder = write_level_folder(tmp_path, levels={"alpha": rows})
    with pytest.raises(GenforgeError, match=re.escape(f"{folder / 'alpha.txt'}:4: ragged rows: this row has 13 tiles,"
                                                      " the first has 14")):
        read_level_folder(folder)


def test_unknown_character_names_line_and_column(tmp_path):
    rows = list(TINY_LEVELS["beta"])
    rows[4] = rows[4][:6] + "Z" + rows[4][7:]
    folder = write_level_folder(tmp_path, levels={"beta": rows})
    with pytest.raises(GenforgeError, match=re.escape(f"{folder / 'beta.txt'}:5:7: tile 'Z' is not in the legend")):
        read_level_folder(folder)


def test_empty_level_file(tmp_path):
    folder = write_level_folder(tmp_path, levels={"alpha": "\n\n"})
    with pytest.raises(GenforgeError, match=re.escape(f"{folder / 'alpha.txt'}: empty level file")):
        read_level_folder(folder)


def test_malformed_legend_json_names_file_and_line(tmp_path):
    bad = '{\n  "tiles": {\n    "-": ["empty"],,\n    "#": ["solid"]\n  }\n}\n'
    folder = write_level_folder(tmp_path, legend=bad)
    with pytest.raises(GenforgeError, match=re.escape(f"{folder / 'legend.json'}:3: malformed legend JSON")):
        read_level_folder(folder)


@pytest.mark.parametrize("legend, what", [
    ('{"tiles": {}}', "non-empty"),
    ('{"tiles": {"--": ["empty"]}}', "one character"),
    ('{"tiles": {"-": "empty"}}', "list of tags"),
])
def test_legend_of_the_wrong_shape(tmp_path, legend, what):
    folder = write_level_folder(tmp_path, legend=legend)
    with pytest.raises(GenforgeError, match=re.escape(str(folder / "legend.json")) + ".*" + what):
        read_level_folder(folder)


def _write_tmj(path: Path, doc) -> Path:
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=1))
    return path


def _map(data, width, height, tilesets, **layer_extra) -> dict:
    return {"type": "map", "orientation": "orthogonal", "infinite": False, "width": width, "height": height,
            "tilewidth": 16, "tileheight": 16,
            "layers": [{"id": 1, "name": "ground", "type": "tilelayer", "width": width, "height": height,
                        "x": 0, "y": 0, "data": data, **layer_extra}],
            "tilesets": tilesets}


def _tileset(firstgid, chars_tags, **extra) -> dict:
    tiles = []
    for i, (ch, tags) in enumerate(chars_tags):
        props = ([{"name": "char", "type": "string", "value": ch}] if ch else []) + \
            [{"name": t, "type": "bool", "value": True} for t in tags]
        tiles.append({"id": i, "properties": props})
    return {"firstgid": firstgid, "name": "t", "tilewidth": 16, "tileheight": 16, "tilecount": len(chars_tags),
            "columns": len(chars_tags), "image": "t.png", "imagewidth": 16 * len(chars_tags), "imageheight": 16,
            "tiles": tiles, **extra}


def test_malformed_tmj_names_file_and_line(tmp_path):
    path = _write_tmj(tmp_path / "broken.tmj", '{\n "type": "map",\n "layers": [\n}\n')
    with pytest.raises(GenforgeError, match=re.escape(f"{path}:4: malformed Tiled map JSON")):
        read_tmj(path, "g")
    with pytest.raises(GenforgeError, match=re.escape(f"{path}:4:")):
        read_level_folder(tmp_path)


def test_tmj_that_is_not_a_map(tmp_path):
    path = _write_tmj(tmp_path / "list.tmj", [1, 2, 3])
    with pytest.raises(GenforgeError, match=re.escape(f"{path}: not a Tiled map")):
        read_tmj(path, "g")


def test_tmj_with_an_external_tileset(tmp_path):
    path = _write_tmj(tmp_path / "ext.tmj", _map([1, 0, 1, 1], 2, 2, [{"firstgid": 1, "source": "tiles.tsj"}]))
    with pytest.raises(GenforgeError, match=re.escape(f"{path}: external tileset 'tiles.tsj'") + ".*[Ee]mbed"):
        read_tmj(path, "g")


def test_tmj_gid_that_no_tileset_defines(tmp_path):
    path = _write_tmj(tmp_path / "gap.tmj", _map([1, 2, 0, 9, 1, 1], 3, 2, [_tileset(1, [("#", ["solid"]),
                                                                                     ("o", ["coin"])])]))
    with pytest.raises(GenforgeError, match=re.escape(f"{path}: tile 0,1 has gid 9, which no tileset defines")):
        read_tmj(path, "g")


def test_tmj_layer_of_the_wrong_size(tmp_path):
    path = _write_tmj(tmp_path / "short.tmj", _map([1, 1, 1], 2, 2, [_tileset(1, [("#", ["solid"])])]))
    with pytest.raises(GenforgeError, match=re.escape(f"{path}: tile layer has 3 tiles, expected 2 x 2 = 4")):
        read_tmj(path, "g")


# ---------------------------------------------------------------- round trips

def _roundtrip(tmp_path, grid: np.ndarray, legend: TileLegend, vocabulary: str):
    indices = np.vectorize(vocabulary.index)(grid)
    doc = tiled_map(indices, vocabulary, legend, "tiles.png", {"game": "Round Trip", "seed": 3})
    path = tmp_path / "rt.tmj"
    path.write_text(json.dumps(doc))
    return doc, read_tmj(path, "ignored")


def test_tiled_map_roundtrip_tiny(tmp_path, tiny_folder):
    s = read_level_folder(tiny_folder)
    for lv in s.levels:
        doc, (level, legend) = _roundtrip(tmp_path, lv.grid, s.legend, "#-Eo")
        assert np.array_equal(level.grid, lv.grid), lv.name
        assert level.game == "Round Trip" and legend.empty == "-"
        for ch in "#Eo":
            assert sorted(legend.tiles[ch]) == sorted(TINY_LEGEND[ch])
        # The empty tile is no tile at all (gid 0): engines see no collider in the sky.
        data = np.array(doc["layers"][0]["data"]).reshape(lv.grid.shape)
        assert np.array_equal(data == 0, lv.grid == "-")


@needs_vglc
@pytest.mark.parametrize("folder, stem", [(SMB, "mario-8-1"), (KID_ICARUS, "kidicarus_3"), (ZELDA, "tloz9_1")])
def test_tiled_map_roundtrip_real_levels(tmp_path, folder, stem):
    s = read_level_folder(folder)
    lv = next(lv for lv in s.levels if lv.name == stem)
    vocabulary = "".join(sorted(s.legend.tiles))
    doc, (level, legend) = _roundtrip(tmp_path, lv.grid, s.legend, vocabulary)
    assert level.grid.shape == lv.grid.shape
    assert np.array_equal(level.grid, lv.grid)
    assert doc["width"] == lv.grid.shape[1] and doc["height"] == lv.grid.shape[0]
    for ch in set(lv.grid.reshape(-1).tolist()) - {s.legend.empty}:
        assert sorted(legend.tiles[ch]) == sorted(s.legend.tiles[ch]), ch


@pytest.mark.parametrize("encoding", ["zlib", "gzip", "base64", "csv"])
def test_hand_written_tiled_map_with_flips(tmp_path, encoding):
    """A map as Tiled writes it: two tilesets, compressed base64 data, flip/rotate bits on gids,
    tiles described by bool properties only (no genforge `char`)."""
    H, V, D = 0x80000000, 0x40000000, 0x20000000
    # tileset 1 (gids 1-2): a wall and a spike; tileset 2 (gids 10-11): a ladder with char, a gem without.
    gids = [0, 1 | H, 2, 0,
            1, 1 | H | V | D, 10, 11 | V,
            1, 1, 1, 2 | D]
    tilesets = [_tileset(1, [(None, ["solid"]), (None, ["hazard", "solid"])]),
                _tileset(10, [("L", ["climbable"]), (None, ["collectable"])])]
    if encoding == "csv":
        data, extra = gids, {}
    else:
        raw = np.asarray(gids, dtype="<u4").tobytes()
        packed = {"zlib": zlib.compress, "gzip": gzip.compress, "base64": lambda b: b}[encoding](raw)
        data = base64.b64encode(packed).decode()
        extra = {"encoding": "base64", **({"compression": encoding} if encoding != "base64" else {})}
    path = _write_tmj(tmp_path / "hand.tmj", _map(data, 4, 3, tilesets, **extra))
    level, legend = read_tmj(path, "Hand Made")
    g = level.grid
    assert g.shape == (3, 4) and level.game == "Hand Made" and level.name == "hand"
    wall, spike, gem = g[1, 0], g[0, 2], g[1, 3]
    assert len({wall, spike, "L", gem, "-"}) == 5, "five different tiles, five characters"
    expect = np.array([["-", wall, spike, "-"],
                       [wall, wall, "L", gem],
                       [wall, wall, wall, spike]])
    assert np.array_equal(g, expect), "flip bits must not change which tile it is"
    assert legend.tiles[wall] == ["solid"] and sorted(legend.tiles[spike]) == ["hazard", "solid"]
    assert legend.tiles["L"] == ["climbable"] and legend.tiles[gem] == ["collectable"]
    assert legend.empty == "-"


def test_unknown_compression_is_refused(tmp_path):
    data = base64.b64encode(np.zeros(4, "<u4").tobytes()).decode()
    path = _write_tmj(tmp_path / "z.tmj", _map(data, 2, 2, [_tileset(1, [("#", [])])], encoding="base64",
                                                  compression="zstd"))
    with pytest.raises(GenforgeError, match=re.escape(f"{path}: tile layer compression 'zstd'")):
        read_tmj(path, "g")


def test_a_folder_of_tmj_maps_is_a_level_set(tmp_path, tiny_folder):
    s = read_level_folder(tiny_folder)
    out = tmp_path / "maps"
    out.mkdir()
    for lv in s.levels:
        doc = tiled_map(np.vectorize("#-Eo".index)(lv.grid), "#-Eo", s.legend, "t.png", {})
        (out / f"{lv.name}.tmj").write_text(json.dumps(doc))
    maps = read_level_folder(out)
    assert [lv.name for lv in maps.levels] == ["alpha", "beta", "gamma"]
    for a, b in zip(maps.levels, s.levels):
        assert np.array_equal(a.grid, b.grid)
    assert maps.legend.has("#", "solid") and maps.legend.has("E", "enemy")
    ds = build_dataset([out], seed=0)
    assert ds.vocabulary == "#-Eo" and sum(len(ds.splits[k][0]) for k in ("train", "validation", "test")) == 9


def test_auto_characters_never_collide_with_explicit_ones(tmp_path):
    # Tile 0 has no `char` (auto: 'A'), tile 1 says char 'A': two tiles, one character.
    path = _write_tmj(tmp_path / "mixed.tmj", _map([1, 2], 2, 1, [_tileset(1, [(None, ["solid"]),
                                                                               ("A", ["coin"])])]))
    level, legend = read_tmj(path, "g")
    assert level.grid[0, 1] == "A"
    assert level.grid[0, 0] != level.grid[0, 1], "a wall and a coin read as the same tile"


def test_read_vglc_text_directly(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("-#\n#-\n")
    lv = read_vglc_text(p, TileLegend(dict(TINY_LEGEND)), "g")
    assert lv.grid.tolist() == [["-", "#"], ["#", "-"]] and lv.name == "x" and lv.game == "g" and lv.path == p
    p.write_bytes(b"\xff\xfe-#\n")
    with pytest.raises(GenforgeError, match=re.escape(f"{p}: not a UTF-8 text file")):
        read_vglc_text(p, TileLegend(dict(TINY_LEGEND)), "g")


def test_a_byte_order_mark_is_not_a_tile(tmp_path):
    folder = write_level_folder(tmp_path, levels={})
    (folder / "alpha.txt").write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(TINY_LEVELS["alpha"]) + "\r\n").encode())
    s = read_level_folder(folder)
    assert ["".join(r) for r in s.levels[0].grid] == TINY_LEVELS["alpha"]
