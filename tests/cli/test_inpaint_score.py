"""`genforge inpaint` and `genforge score` through the CLI: files written as `sample` writes them,
the known cells kept, and the user's mistakes as one error line with exit status 2."""
from __future__ import annotations

import json

from support import BACH, SMB, assert_user_error, invoke, needs_bach, needs_vglc

MUSIC_MODEL = "genforge/models/music"


def _level(tmp_path, cols: int = 40):
    rows = (SMB / "mario-1-3.txt").read_text().splitlines()
    path = tmp_path / "part.txt"
    path.write_text("\n".join(r[:cols] for r in rows) + "\n")
    return path, [r[:cols] for r in rows]


@needs_vglc
def test_inpaint_levels_fills_a_region_and_keeps_the_rest(tmp_path):
    path, rows = _level(tmp_path)
    res = invoke("inpaint", "levels", str(path), "--region", "16:24", "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out"
    filled = (out / "part-filled.txt").read_text().splitlines()
    assert [r[:16] + r[24:] for r in filled] == [r[:16] + r[24:] for r in rows]
    doc = json.loads((out / "part-filled.tmj").read_text())
    assert doc["width"] == 40 and (out / "part-filled.png").is_file()


@needs_vglc
def test_score_levels_reports_percentiles_and_frames_the_worst_windows(tmp_path):
    path, _ = _level(tmp_path, 60)
    res = invoke("score", "levels", str(path), "--out", str(tmp_path / "sc"))
    assert res.returncode == 0, res.stderr
    assert "percentile" in res.stdout and "worst windows at column" in res.stdout
    report = json.loads((tmp_path / "sc" / "scores.json").read_text())
    entry = report["files"][str(path)]
    assert entry["windows"] == 60 - 28 + 1 and 0 <= entry["percentile"] <= 100
    assert (tmp_path / "sc" / "part-score.png").is_file()


def test_bad_bars_is_one_line(tmp_path):
    res = invoke("inpaint", "music", str(tmp_path / "x.mid"), "--bars", "four", "--out", str(tmp_path / "o.mid"))
    assert_user_error(res, "--bars")


@needs_vglc
def test_a_sketch_without_unknown_cells_is_one_line(tmp_path):
    path, _ = _level(tmp_path)
    assert_user_error(invoke("inpaint", "levels", str(path), "--out", str(tmp_path / "o")), "nothing to fill",
                      out=tmp_path / "o")


@needs_vglc
def test_a_model_of_the_wrong_domain_is_one_line(tmp_path):
    path, _ = _level(tmp_path)
    res = invoke("inpaint", "levels", str(path), "--region", "1:3", "--model", MUSIC_MODEL, "--out", str(tmp_path / "o"))
    assert_user_error(res, "a music model, not a levels one")
    assert_user_error(invoke("score", "music", str(path), "--model", "genforge/models/levels"), "not a music one")


@needs_bach
def test_bars_beyond_the_window_is_one_line(tmp_path):
    tune = BACH / "midi" / "riem232_bwv297.mid"                  # a held-out chorale
    res = invoke("inpaint", "music", str(tune), "--bars", "5-6", "--out", str(tmp_path / "o.mid"))
    assert_user_error(res, "--bars 5,6", "holds 4 bars")


def test_sketch_region_out_of_range_is_one_line(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("\n".join(["-" * 28] * 13 + ["X" * 28]) + "\n")
    assert_user_error(invoke("inpaint", "levels", str(path), "--region", "20:40", "--out", str(tmp_path / "o")),
                      "--region")
