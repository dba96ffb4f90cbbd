"""Reading level files (read.py): VGLC text and its legends (the corpus's gaps filled from the
presets), level folders, Tiled maps as input, and one GenforgeError naming the file for bad input."""
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
from support import SMB, SMB2J, TINY_LEGEND, TINY_LEVELS, ZELDA, needs_vglc, write_level_folder

from genforge.domains.games import HORIZONTAL, MARIO_TILES
from genforge.domains.levels.dataset import build_dataset
from genforge.domains.levels.grid import TileLegend
from genforge.domains.levels.read import read_legend, read_level_folder, read_tmj, read_vglc_text
from genforge.domains.levels.tiles import tiled_map
from genforge.errors import GenforgeError


# ---------------------------------------------------------------- the real corpus

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


# ---------------------------------------------------------------- a tiny folder, no corpus needed

def test_tiny_folder_reads_with_its_legend_and_a_guessed_window(tiny_folder):
    s = read_level_folder(tiny_folder)
    assert s.game == "tinygame" and s.layout == HORIZONTAL and s.window == (6, 12)
    assert s.legend.tiles == TINY_LEGEND and s.legend.empty == "-"
    assert [lv.name for lv in s.levels] == ["alpha", "beta", "gamma"]
    assert ["".join(r) for r in s.levels[1].grid] == TINY_LEVELS["beta"]
    ds = build_dataset([tiny_folder], seed=0)
    assert ds.vocabulary == "#-Eo" and ds.shape == (6, 12)
    split_levels = ds.split["tinygame"]
    assert len(split_levels["train"]) == 1 and len(split_levels["validation"]) == 1 and len(split_levels["test"]) == 1
    # 3 levels x (14 - 12 + 1), and the training level's 3 again mirrored (its legend names no side-bound tile)
    assert sum(len(ds.splits[k][0]) for k in ("train", "validation", "test")) == 9 + 3
    assert any("mirrored left-right" in n for n in ds.notes), ds.notes


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
    legend = read_legend(ZELDA / "README.txt") if ZELDA.is_dir() else None
    (tmp_path / "README.txt").write_text("F = FLOOR\nP = ELEMENT (LAVA, WATER)\n- = VOID\n")
    prose = read_legend(tmp_path / "README.txt")
    assert prose.tiles == {"F": ["floor"], "P": ["element", "lava", "water"], "-": ["void"]}
    if legend is not None:
        assert set(legend.tiles) == set("FBMPOIDSW-")


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


# ---------------------------------------------------------------- Tiled maps as input

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
    assert ds.vocabulary == "#-Eo" and sum(len(ds.splits[k][0]) for k in ("train", "validation", "test")) == 9 + 3


def test_auto_characters_never_collide_with_explicit_ones(tmp_path):
    # Tile 0 has no `char` (auto: 'A'), tile 1 says char 'A': two tiles, one character.
    path = _write_tmj(tmp_path / "mixed.tmj", _map([1, 2], 2, 1, [_tileset(1, [(None, ["solid"]),
                                                                               ("A", ["coin"])])]))
    level, legend = read_tmj(path, "g")
    assert level.grid[0, 1] == "A"
    assert level.grid[0, 0] != level.grid[0, 1], "a wall and a coin read as the same tile"


# ---------------------------------------------------------------- the legend decides

def test_the_legend_names_the_empty_tile_even_where_another_game_uses_dash(tmp_path):
    """A puzzle game whose `-` is a rope: the tile its legend tags `empty` is the empty tile."""
    legend = {".": ["empty", "passable"], "-": ["rope", "passable", "climbable"], "#": ["solid"],
              "$": ["gold", "passable"]}
    folder = write_level_folder(tmp_path, "ropes", {"a": ["..$...", "--.---", "######"],
                                                    "b": ["......", "..$.--", "######"]}, legend)
    s = read_level_folder(folder)
    assert s.legend.empty == "."
    # no tile tagged empty or void: the most frequent passable tile, and a note says so
    untagged = {k: [t for t in v if t != "empty"] for k, v in legend.items()}
    s = read_level_folder(write_level_folder(tmp_path, "untagged", {"a": ["..$...", "--.---", "######"]}, untagged))
    assert s.legend.empty == "." and any("most frequent passable tile" in n for n in s.notes), s.notes


def test_ragged_rows_are_padded_with_the_empty_tile_when_asked_and_reported(tmp_path):
    legend = {".": ["empty", "passable"], "#": ["solid"]}
    folder = write_level_folder(tmp_path, "ragged", {"a": ["....", "..", "####"], "b": ["....", "....", "####"]},
                                legend)
    with pytest.raises(GenforgeError, match=r"a.txt:2: ragged rows.*--pad"):
        read_level_folder(folder)
    s = read_level_folder(folder, pad=True)
    a = next(lv for lv in s.levels if lv.name == "a")
    assert a.grid.shape == (3, 4) and "".join(a.grid[1]) == "...." and a.padded_rows == [2]
    assert any("a.txt: rows 2 padded with '.'" in n for n in s.notes), s.notes


@needs_vglc
def test_super_mario_land_levels_of_two_heights_are_reported():
    from support import VGLC

    s = read_level_folder(VGLC / "Super Mario Land")
    assert s.layout == HORIZONTAL and s.window == (16, 32)
    assert any("levels of 15, 16 rows in 16-row windows: 2 padded at the top" in n for n in s.notes), s.notes


def test_a_legend_may_declare_its_own_structures(tmp_path):
    from genforge.domains.levels.playability import Checker

    legend = {"-": ["empty", "passable"], "X": ["solid"], "T": ["solid", "tower top"], "t": ["solid", "tower"]}
    path = tmp_path / "legend.json"
    path.write_text(json.dumps({"tiles": legend, "structures": [{"name": "tower", "mouth": ["tower top"],
                                                                  "body": ["tower"]}]}))
    found = read_legend(path)
    assert found.structures[0]["name"] == "tower"
    checker = Checker(found, HORIZONTAL)
    whole = np.array([list("-T-"), list("-t-"), list("XXX")])
    floating = np.array([list("-T-"), list("-t-"), list("---")])
    assert not checker.structure_problems(whole) and checker.structure_problems(floating)
    path.write_text(json.dumps({"tiles": legend, "structures": [{"name": "tower", "mouth": ["tower top"]}]}))
    with pytest.raises(GenforgeError, match="structure"):
        read_legend(path)


def test_a_level_removed_between_listing_and_reading_is_one_clear_error(tiny_folder, monkeypatch):
    from genforge.domains.levels import read

    real_read = read.read_text
    removed = tiny_folder / "beta.txt"

    def remove_then_read(path):
        if path == removed:
            path.unlink(missing_ok=True)
        return real_read(path)

    monkeypatch.setattr(read, "read_text", remove_then_read)
    with pytest.raises(GenforgeError, match=f"^{re.escape(str(removed))}: cannot read: No such file or directory$"):
        read_level_folder(tiny_folder)
