"""The style score (genforge.score) on the bundled models and real held-out data: it tells real
windows from damaged ones and from another game's, its percentiles place held-out windows across
the range, and the stored reference agrees with one computed from the data."""
from __future__ import annotations

import numpy as np
import pytest
from support import VGLC, needs_bach, needs_vglc

from genforge import score
from genforge.bundle import load
from genforge.domains import codec_for
from genforge.domains.levels import grid, read
from genforge.domains.levels.fill import randomise_cells
from genforge.domains.music.fill import shift_notes
from genforge.errors import GenforgeError


@pytest.fixture(scope="module")
def levels():
    bundle = load(None, "levels")
    codec = codec_for(bundle.meta)
    try:
        test, ids = score.real_windows(bundle, codec, "test")
    except GenforgeError as e:
        pytest.skip(f"the bundled model's data is absent: {e}")
    real = test[ids == 0][np.random.default_rng(0).choice(int((ids == 0).sum()), 80, replace=False)]
    return bundle, codec, real


def test_auroc_counts_ties_half():
    assert score.auroc([2, 3], [0, 1]) == 1.0 and score.auroc([0, 1], [2, 3]) == 0.0
    assert score.auroc([1, 1], [1, 1]) == 0.5


@needs_vglc
def test_score_tells_real_level_windows_from_damaged_and_from_another_game(levels):
    bundle, codec, real = levels
    rng = np.random.default_rng(1)
    ids = np.zeros(len(real), int)
    s_real = score.window_scores(bundle, codec, real, ids)
    damaged = score.window_scores(bundle, codec, randomise_cells(real, 0.1, len(codec.vocabulary), rng), ids)
    assert score.auroc(s_real, damaged) > 0.98                      # 1.00 measured on 300
    sml = read.read_level_folder(VGLC / "Super Mario Land")
    other = np.concatenate([grid.cut_windows(lv, "horizontal", (16, 28), "-") for lv in sml.levels])[:, -14:]
    other = grid.to_indices(other[rng.choice(len(other), 80, replace=False)], codec.vocabulary)
    assert score.auroc(s_real, score.window_scores(bundle, codec, other, ids)) > 0.88   # 0.95 measured on 300


@needs_vglc
def test_percentiles_spread_held_out_windows_and_stored_reference_matches_data(levels):
    bundle, codec, real = levels
    ids = np.zeros(len(real), int)
    pct = score.percentiles(bundle, codec, score.window_scores(bundle, codec, real, ids), ids)
    assert np.all((pct >= 0) & (pct <= 100))
    assert 25 < np.median(pct) < 75 and pct.min() < 20 and pct.max() > 80
    stored = score.reference(bundle, codec)
    assert set(stored) == {0, 1}                                   # both games stored in genforge.json
    bare = load(None, "levels")
    bare.meta = {k: v for k, v in bare.meta.items() if k != "score_reference"}
    computed = score.reference(bare, codec)
    assert np.allclose(stored[0], computed[0], atol=1e-3)


def test_percentiles_are_nan_without_a_reference(levels, monkeypatch):
    bundle, codec, _ = levels
    monkeypatch.setattr(score, "reference", lambda b, c: {})
    assert np.isnan(score.percentiles(bundle, codec, np.array([0.0]), np.array([0]))).all()


@needs_bach
def test_score_tells_chorale_windows_from_ones_with_wrong_notes():
    bundle = load(None, "music")
    codec = codec_for(bundle.meta)
    test, ids = score.real_windows(bundle, codec, "test")
    pick = np.random.default_rng(2).choice(len(test), 40, replace=False)
    real, lab = test[pick], ids[pick]
    shifted = shift_notes(real, 0.1, np.random.default_rng(3))
    auc = score.auroc(score.window_scores(bundle, codec, real, lab), score.window_scores(bundle, codec, shifted, lab))
    assert auc > 0.6                                                # 0.68 measured on 300 windows
