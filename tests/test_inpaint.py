"""Inpainting (genforge.inpaint, domains' fill modules) on the bundled models and real held-out
data: known cells never change, filled cells beat the most frequent tile, structures stay whole;
sketches read from files; masks and options parsed."""
from __future__ import annotations

import json

import numpy as np
import pytest
from support import needs_bach, needs_vglc

from genforge import inpaint, score
from genforge.bundle import load
from genforge.core.inpaint_search import SearchSize, known_latents, latent_blocks
from genforge.domains import codec_for
from genforge.domains.levels import grid
from genforge.domains.levels.fill import read_sketch
from genforge.domains.music.fill import bar_mask, parse_bars, shift_notes
from genforge.errors import GenforgeError

QUICK = SearchSize(population=128, iterations=2, rounds=2, keep=8, per_round=64)


@pytest.fixture(scope="module")
def levels():
    bundle = load(None, "levels")
    return bundle, codec_for(bundle.meta)


@pytest.fixture(scope="module")
def smb_windows(levels):
    bundle, codec = levels
    try:
        test, ids = score.real_windows(bundle, codec, "test")
    except GenforgeError as e:
        pytest.skip(f"the bundled model's data is absent: {e}")
    return test[ids == 0]


@needs_vglc
@pytest.mark.parametrize("mask", ["right half", "30% at random"])
def test_level_fill_keeps_known_cells_beats_most_frequent_and_stays_whole(levels, smb_windows, mask):
    bundle, codec = levels
    rng = np.random.default_rng(3)
    picks = rng.choice(len(smb_windows), 4, replace=False)
    checker = codec.checker(0)
    hits, frequent_hits = [], []
    for i in picks:
        truth = smb_windows[i]
        known = np.ones(truth.shape, bool)
        if mask == "right half":
            known[:, 14:] = False
        else:
            known = rng.random(truth.shape) >= 0.3
        filled = inpaint.fill(bundle, codec, truth, known, 0, seed=1, size=QUICK)
        assert (filled[known] == truth[known]).all()
        assert not checker.broken(grid.to_chars(filled[None], codec.vocabulary))[0]
        hits.append(filled[~known] == truth[~known])
        frequent_hits.append(truth[~known] == codec.vocabulary.index("-"))
    # measured on 60 windows (benchmarks/results/inpaint_score.md) the model leads by 3-10 points
    assert np.concatenate(hits).mean() > np.concatenate(frequent_hits).mean()


def test_fill_refuses_a_window_of_another_shape(levels):
    bundle, codec = levels
    with pytest.raises(GenforgeError, match="one window"):
        inpaint.fill(bundle, codec, np.zeros((14, 20), int), np.ones((14, 20), bool), 0)


def test_fill_with_nothing_unknown_is_the_asset(levels):
    bundle, codec = levels
    asset = np.zeros(codec.shape, int)
    assert (inpaint.fill(bundle, codec, asset, np.ones(codec.shape, bool), 0) == asset).all()


def test_latent_blocks_settle_only_fully_known_blocks():
    blocks = latent_blocks({"bottleneck": "grid", "filters": [32, 64]}, 112, (14, 28))
    index, cell = blocks
    assert index.shape == (4, 7, 4) and cell == 4
    known = np.ones((14, 28), bool)
    known[:, 14:] = False
    settled = known_latents(blocks, known, 112)
    assert settled[index[:, :3].ravel()].all() and not settled[index[:, 3:].ravel()].any()


def test_sketch_marks_unknown_cells_in_text_and_tiled_layer(levels, tmp_path):
    bundle, codec = levels
    rows = ["-" * 28] * 12 + ["-" * 10 + "*" * 4 + "-" * 14, "X" * 28]
    (tmp_path / "s.txt").write_text("\n".join(rows) + "\n")
    level, known, _ = read_sketch(tmp_path / "s.txt", codec, 0)
    assert level.shape == (14, 28) and (~known).sum() == 4 and not known[12, 10:14].any()
    # a Tiled map as genforge writes it, plus a layer named `unknown`
    codec.export(level, 0, tmp_path, "map", {})
    doc = json.loads((tmp_path / "map.tmj").read_text())
    marks = [0] * (14 * 28)
    marks[13 * 28 + 5] = 1
    doc["layers"].append({**doc["layers"][0], "name": "unknown", "data": marks, "id": 99})
    (tmp_path / "map.tmj").write_text(json.dumps(doc))
    _, known, game = read_sketch(tmp_path / "map.tmj", codec, 0)
    assert game == "Super Mario Bros" and (~known).sum() == 1 and not known[13, 5]


def test_regions_and_bars_parse_or_fail_in_one_line():
    assert inpaint.parse_region("10:20", 14, 28) == (slice(0, 14), slice(10, 20))
    assert inpaint.parse_region("0:7,:5", 14, 28) == (slice(0, 7), slice(0, 5))
    for bad in ("10-20", "5:40", "a:b", "1:2,3:4,5:6"):
        with pytest.raises(GenforgeError, match="--region"):
            inpaint.parse_region(bad, 14, 28)
    assert parse_bars("3-4") == [3, 4] and parse_bars("1,3-4") == [1, 3, 4]
    for bad in ("x", "4-3", "0"):
        with pytest.raises(GenforgeError, match="--bars"):
            parse_bars(bad)


@pytest.fixture(scope="module")
def music():
    bundle = load(None, "music")
    return bundle, codec_for(bundle.meta)


def test_bar_mask_covers_the_chosen_bars_and_voices(music):
    _, codec = music
    known = bar_mask(codec, 0, [3, 4], [0])
    per = codec.metre(0)[2]
    assert not known[2 * per:4 * per, :, 0:2].any() and known[2 * per:4 * per, :, 2:].all() and known[:2 * per].all()
    with pytest.raises(GenforgeError, match="holds 4 bars"):
        bar_mask(codec, 0, [5])


def test_shift_notes_moves_a_tenth_of_the_notes_a_semitone():
    grid_ = np.zeros((1, 16, 10, 2), bool)
    for s in range(0, 16, 2):                     # 8 notes of 2 steps
        grid_[0, s, 4, :] = True
        grid_[0, s + 1, 4, 1] = True
    out = shift_notes(grid_, 0.25, np.random.default_rng(0))
    assert out[..., 0].sum() == 8 and out[0, :, 4, 0].sum() == 6
    assert (out[0, :, 3:6:2, 0].sum()) == 2 and (out[..., 1] >= out[..., 0]).all()


@needs_bach
def test_music_fill_keeps_known_steps_and_plays_notes(music):
    bundle, codec = music
    test, ids = score.real_windows(bundle, codec, "test")
    i = int(np.nonzero(ids == 0)[0][0])
    truth = test[i]
    known = bar_mask(codec, 0, [3, 4])
    filled = inpaint.fill(bundle, codec, truth, known, 0, seed=0,
                          size=SearchSize(population=8, iterations=1, rounds=1, keep=2, per_round=4))
    assert (filled[known] == truth[known]).all()
    assert (filled[..., 1::2] >= filled[..., 0::2]).all()          # every onset sounds
    assert filled[~known].any()                                   # the filled bars are not silence
