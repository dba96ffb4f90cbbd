"""Tiled output (tiles.py): a map written by tiled_map reads back as the same level, with each
tile's tags; the empty tile is no tile at all."""
from __future__ import annotations

import json

import numpy as np
import pytest
from support import KID_ICARUS, SMB, TINY_LEGEND, ZELDA, needs_vglc

from genforge.domains.levels.grid import TileLegend
from genforge.domains.levels.read import read_level_folder, read_tmj
from genforge.domains.levels.tiles import tiled_map


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
