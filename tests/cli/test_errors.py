"""The `genforge` command's contract for user errors: exit code 2, one `genforge: error:` line on
stderr that names the offending file or option, no traceback, and nothing half-written in --out."""
from __future__ import annotations

import json
import shutil

import pytest
from support import (
    KID_ICARUS,
    SMB,
    TINY_LEVELS,
    assert_user_error,
    invoke,
    needs_vglc,
    run_cli,
    write_level_folder,
)


# ---------------------------------------------------------------- needs no model

def test_model_folder_that_is_not_a_run(tmp_path):
    """In a fresh process (`python -m genforge`), as a user runs it; the other tests use CliRunner."""
    stray = tmp_path / "not-a-run"
    stray.mkdir()
    (stray / "notes.txt").write_text("hello")
    out = tmp_path / "out"
    res = run_cli("sample", "levels", "--model", stray, "-n", "2", "--out", out)
    assert_user_error(res, str(stray), "not a genforge run", out=out)


def test_model_folder_that_does_not_exist(tmp_path):
    out = tmp_path / "out"
    res = invoke("sample", "levels", "--model", tmp_path / "gone", "--out", out)
    assert_user_error(res, str(tmp_path / "gone"), "no such model folder", out=out)


def test_unreadable_run_metadata(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "genforge.json").write_text('{"format": "genforge-run",')
    res = invoke("info", run)
    assert_user_error(res, str(run / "genforge.json"), "unreadable run metadata")


def test_train_on_an_empty_folder(tmp_path):
    """In a fresh process: training's own start-up (TensorFlow's) must not turn the error into noise."""
    empty = tmp_path / "no-levels"
    empty.mkdir()
    out = tmp_path / "run"
    res = run_cli("train", "levels", "--data", empty, "--out", out, "--epochs", "1", "-q")
    assert_user_error(res, str(empty), "no level files", out=out)


def test_train_on_a_folder_with_a_ragged_level(tmp_path):
    rows = list(TINY_LEVELS["gamma"])
    rows[2] += "-"
    folder = write_level_folder(tmp_path, levels={"alpha": TINY_LEVELS["alpha"], "gamma": rows})
    out = tmp_path / "run"
    res = invoke("train", "levels", "--data", folder, "--out", out, "--epochs", "1", "-q")
    assert_user_error(res, f"{folder / 'gamma.txt'}:3:", "ragged rows", out=out)


# ---------------------------------------------------------------- with the tiny trained model

@needs_vglc
def test_zero_levels(tiny_model, tmp_path):
    out = tmp_path / "out"
    res = invoke("sample", "levels", "--model", tiny_model, "-n", "0", "--out", out)
    assert_user_error(res, "-n must be between 1 and", "got 0", out=out)


@needs_vglc
def test_condition_on_an_unconditional_model(tiny_model, tmp_path):
    out = tmp_path / "out"
    res = invoke("sample", "levels", "--model", tiny_model, "--condition", "Kid Icarus", "-n", "2", "--out", out)
    assert_user_error(res, str(tiny_model), "unconditional", "--condition", out=out)
    res = invoke("interpolate", "levels", "--model", tiny_model, "--condition", "Kid Icarus", "--from-seed", "1",
                  "--to-seed", "2", "--out", out)
    assert_user_error(res, str(tiny_model), "unconditional", out=out)


@needs_vglc
def test_run_of_another_format_version(tiny_model, tmp_path):
    run = tmp_path / "future-run"
    shutil.copytree(tiny_model, run, ignore=shutil.ignore_patterns("*.keras", "checkpoints"))
    meta = json.loads((run / "genforge.json").read_text())
    meta["format_version"] = 99
    (run / "genforge.json").write_text(json.dumps(meta))
    out = tmp_path / "out"
    line = assert_user_error(invoke("sample", "levels", "--model", run, "-n", "2", "--out", out),
                             str(run), "run format 99", out=out)
    assert "reads format 1" in line
    # The untouched copy works: it is the version, not the copy, that is refused.
    meta["format_version"] = 1
    (run / "genforge.json").write_text(json.dumps(meta))
    ok = invoke("sample", "levels", "--model", run, "-n", "1", "--out", out, "-q")
    assert ok.returncode == 0, ok.stderr
    assert (out / "level-0-000.tmj").is_file()


@needs_vglc
def test_truncated_decoder(tiny_model, tmp_path):
    run = tmp_path / "broken-run"
    shutil.copytree(tiny_model, run, ignore=shutil.ignore_patterns("*.keras", "checkpoints"))
    data = (run / "decoder.onnx").read_bytes()
    (run / "decoder.onnx").write_bytes(data[: len(data) // 3])
    out = tmp_path / "out"
    assert_user_error(invoke("sample", "levels", "--model", run, "-n", "2", "--out", out),
                      str(run / "decoder.onnx"), "cannot load the ONNX model", out=out)


@needs_vglc
def test_interpolate_from_a_level_of_another_game(tiny_model, tmp_path):
    out = tmp_path / "out"
    level = KID_ICARUS / "kidicarus_1.txt"
    res = invoke("interpolate", "levels", "--model", tiny_model, "--from", level, "--to-seed", "1", "--out", out)
    first_hash = next(c for c, ch in enumerate(level.read_text().splitlines()[0], 1) if ch == "#")
    assert_user_error(res, f"{level}:1:{first_hash}:", "'#'", out=out)


@needs_vglc
@pytest.mark.parametrize("args, says", [
    (["--steps", "1", "--from-seed", "1", "--to-seed", "2"], "--steps must be at least 2"),
    (["--from-seed", "1"], "give each end once"),
    (["--from-seed", "1", "--to-seed", "2", "--to", str(SMB / "mario-1-1.txt")], "give each end once"),
    (["--from", "missing-level.txt", "--to-seed", "2"], "missing-level.txt: no such level file"),
])
def test_interpolate_bad_ends(tiny_model, tmp_path, args, says):
    out = tmp_path / "out"
    assert_user_error(invoke("interpolate", "levels", "--model", tiny_model, *args, "--out", out), says, out=out)


@needs_vglc
def test_out_that_is_a_file(tiny_model, tmp_path):
    out = tmp_path / "taken"
    out.write_text("not a folder")
    res = invoke("sample", "levels", "--model", tiny_model, "-n", "2", "--out", out)
    assert_user_error(res, str(out))
    assert out.read_text() == "not a folder"
