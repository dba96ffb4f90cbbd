"""`genforge check` (check.py): level files checked as whole levels, exit codes, and the check
drawn on the level's preview."""
from __future__ import annotations

import pytest
from levels_support import MARIO, flat_with_gap, mario
from PIL import Image
from support import SMB, SMB2J, invoke, needs_vglc

from genforge.domains.levels.check import draw_check
from genforge.domains.levels.tiles import TILE_PX


# ---------------------------------------------------------------- pictures

def test_the_path_is_drawn_on_the_preview():
    c = mario()
    g = flat_with_gap(4)
    r = c.check(g)
    image = draw_check(g, MARIO, r)
    assert image.shape == (14 * TILE_PX, 28 * TILE_PX, 3)
    plain = draw_check(g, MARIO, type(r)(r.playable, r.message))
    assert (image != plain).any()  # the line changed pixels
    failed = c.check(flat_with_gap(12))
    bare = draw_check(flat_with_gap(12), MARIO, type(r)(False, ""))
    assert (draw_check(flat_with_gap(12), MARIO, failed) != bare).any()  # reach tinted, stuck point crossed


# ---------------------------------------------------------------- `genforge check`

@pytest.fixture
def level_files(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("\n".join("".join(r) for r in flat_with_gap(4)) + "\n")
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join("".join(r) for r in flat_with_gap(14)) + "\n")
    return good, bad


def test_check_exit_codes(tmp_path, level_files):
    good, bad = level_files
    res = invoke("check", good, "--game", "Super Mario Bros")
    assert res.returncode == 0 and "playable: a" in res.stdout
    res = invoke("check", good, bad, "--game", "Super Mario Bros")
    assert res.returncode == 1 and "not playable" in res.stdout and str(bad) in res.stdout
    res = invoke("check", tmp_path / "missing.txt", "--game", "Super Mario Bros")
    assert res.returncode == 2 and "no such level file" in res.stderr
    res = invoke("check", good, "--game", "Tetris")
    assert res.returncode == 2 and "unknown --game" in res.stderr
    res = invoke("check", good)  # a bare .txt: no legend, no game
    assert res.returncode == 2 and "--game" in res.stderr
    ragged = tmp_path / "ragged.txt"
    ragged.write_text("---\n--\n")
    res = invoke("check", ragged, "--game", "Super Mario Bros")
    assert res.returncode == 2 and "ragged" in res.stderr


def test_check_draws_the_path(tmp_path, level_files):
    good, bad = level_files
    out = tmp_path / "pics"
    res = invoke("check", good, bad, "--game", "Super Mario Bros", "--png", out)
    assert res.returncode == 1
    for stem in ("good", "bad"):
        with Image.open(out / f"{stem}-check.png") as im:
            assert im.size == (28 * TILE_PX, 14 * TILE_PX)
    one = tmp_path / "one.png"
    assert invoke("check", good, "--game", "Super Mario Bros", "--png", one).returncode == 0
    assert one.is_file()


@needs_vglc
def test_check_reads_a_vglc_file_with_its_folder_legend():
    res = invoke("check", SMB / "mario-1-1.txt", SMB2J / "SuperMarioBros2(J)-World4-3.txt")
    assert res.returncode == 1
    lines = res.stdout.splitlines()
    assert "mario-1-1.txt: playable" in lines[0] and "World4-3.txt: not playable" in lines[1]
