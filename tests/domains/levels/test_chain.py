"""Full-length levels (`sample levels --length N`) chained from windows, on the bundled default
model: one map of the asked length, no broken structure anywhere (seams included), and with
--playable a level the checker passes from the left edge to the right one."""
from __future__ import annotations

import json

import numpy as np
import pytest
from support import KID_ICARUS, invoke, needs_vglc

from genforge.bundle import default_model, open_bundle
from genforge.domains import codec_for
from genforge.domains.levels.chain import LevelChain, from_strip, join, to_strip
from genforge.domains.levels.check import check_file
from genforge.domains.levels.read import read_tmj
from genforge.errors import GenforgeError


@pytest.fixture(scope="module")
def codec():
    return codec_for(open_bundle(default_model("levels")).meta)


def rows_of(path) -> list[str]:
    return path.read_text().splitlines()


def test_a_200_column_playable_level_is_one_whole_map(tmp_path, codec):
    res = invoke("sample", "levels", "-n", "2", "--seed", "3", "--length", "200",
                 "--playable", "--condition", "Super Mario Bros", "--out", tmp_path)
    assert res.returncode == 0, res.stderr
    assert "windows decoded per level" in res.stdout
    maps = sorted(tmp_path.glob("level-3-*-len200.tmj"))
    assert len(maps) == 2 and (tmp_path / "sheet-3-len200.png").is_file()
    checker = codec.checker(0)
    for tmj in maps:
        doc = json.loads(tmj.read_text())
        assert (doc["width"], doc["height"]) == (200, 14)
        props = {p["name"]: p["value"] for p in doc["properties"]}
        assert props["length"] == 200 and props["playable"] is True and props["game"] == "Super Mario Bros"
        level, _ = read_tmj(tmj, "Super Mario Bros")
        assert checker.structure_problems(level.grid) == [], "pipes and cannons whole, seams included"
        result, problems, _, _ = check_file(tmj)          # what `genforge check` says of the file
        assert result.playable and not problems, result.message
        text = rows_of(tmj.with_suffix(".txt"))
        assert len(text) == 14 and {len(r) for r in text} == {200}
        assert "".join(text) == "".join("".join(r) for r in level.grid), "the .txt and the map agree"
        # ground runs through the joins: the bottom row is at least half solid (SMB's levels: 0.29-0.98,
        # the sky levels lowest; 10 of 15 above 0.8)
        assert np.mean([c == "X" for c in text[-1]]) > 0.5


def test_without_playable_the_seams_are_still_whole_and_the_same_seed_repeats(tmp_path, codec):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert invoke("sample", "levels", "-n", "3", "--seed", "5", "--length", "90",
                      "--out", out).returncode == 0
    for txt in sorted(a.glob("*.txt")):
        assert txt.read_text() == (b / txt.name).read_text()
        grid = np.array([list(r) for r in rows_of(txt)])
        assert grid.shape == (14, 90)
        assert codec.checker(0).structure_problems(grid) == []


@pytest.mark.parametrize("args, says", [
    (["--length", "20"], "--length must be between the model's window (28)"),
    (["--length", "20000"], "--length must be between"),
])
def test_bad_lengths_are_one_clear_error(tmp_path, args, says):
    res = invoke("sample", "levels", "-n", "1", *args, "--out", tmp_path)
    assert res.returncode == 2 and says in res.stderr and "Traceback" not in res.stderr
    assert not list(tmp_path.glob("*.tmj"))


def test_length_is_for_levels_only(tmp_path):
    from genforge.generate import sample

    with pytest.raises(GenforgeError, match="--length is for levels only"):
        sample(None, "music", 1, 0, tmp_path, length=64)


def test_strips_turn_climbing_levels_so_play_runs_left_to_right():
    grid = np.arange(12).reshape(4, 3)          # row 0 is the top of a climbing level
    strip = to_strip(grid, "vertical")
    assert strip.shape == (3, 4) and list(strip[:, 0]) == list(grid[-1])   # first column = bottom row
    assert np.array_equal(from_strip(strip, "vertical"), grid)
    assert np.array_equal(from_strip(to_strip(grid, "horizontal"), "horizontal"), grid)


def test_the_join_switches_where_old_and_new_windows_agree():
    level = np.zeros((2, 10), int)
    level[0, 9] = 5                              # the old window's last column differs
    window = np.ones((2, 8), int)
    window[:, :3] = 0                            # the new one (from column 6) agrees on columns 6-8
    joined = join(level, window, 6)
    assert joined.shape == (2, 14)
    assert (joined[:, :6] == 0).all() and (joined[:, 9:] == 1).all()
    assert joined[0, 9] == 1, "switched before the column where the two disagree"


@pytest.fixture(scope="module")
def tiny_icarus(tmp_path_factory):
    """A 3-epoch grid model of Kid Icarus (a climbing game: levels grow upward), ~15 s."""
    import warnings

    from genforge.config import LEVELS_MODEL, TrainConfig, replace
    from genforge.train import train_levels

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return train_levels([str(KID_ICARUS)], tmp_path_factory.mktemp("icarus"),
                            replace(LEVELS_MODEL, latent_dim=64), TrainConfig(epochs=3), command="test", quiet=True)


@needs_vglc
def test_climbing_levels_grow_upward_and_can_be_climbed(tiny_icarus, tmp_path):
    from genforge.generate import sample

    stats: dict = {}
    files = sample(tiny_icarus, "levels", 1, 0, tmp_path, length=48, playable=True, stats=stats, quiet=True)
    text = [f for f in files if f.suffix == ".txt"][0].read_text().splitlines()
    assert len(text) == 48 and {len(r) for r in text} == {16}, "48 rows of the game's 16 columns"
    result, problems, _, _ = check_file([f for f in files if f.suffix == ".tmj"][0])
    assert result.playable and not problems, result.message
    assert stats["windows_decoded_per_level"] >= 3 * 16, "at least three chained steps of candidates"


def test_rooms_have_no_direction_to_chain_along():
    from types import SimpleNamespace

    zelda = SimpleNamespace(game=lambda label: {"name": "The Legend of Zelda", "layout": "rooms", "window": [11, 16]},
                            shape=(11, 16))
    with pytest.raises(GenforgeError, match="side-scrolling and climbing games"):
        LevelChain(None, zelda, 0)
