"""--condition by words: which labels a condition names (Bundle.label_ids / label_id), and how
sampling draws among them (runtime.pick_labels), with and without recorded label counts."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genforge.bundle import Bundle, default_model, open_bundle
from genforge.errors import GenforgeError
from genforge.runtime import pick_labels

LABELS = ["major 4/4", "minor 4/4", "major 3/4", "minor 3/4", "minor 3/2"]
COUNTS = {"major 4/4": 1266, "minor 4/4": 1123, "major 3/4": 360, "minor 3/4": 124, "minor 3/2": 15}


def bundle(labels=LABELS, counts=COUNTS) -> Bundle:
    meta = {"domain": "music", "labels": list(labels), "files": {}}
    if counts is not None:
        meta["label_counts"] = dict(counts)
    return Bundle(Path("run"), meta)


def test_a_condition_names_every_label_with_all_its_words():
    b = bundle()
    assert b.label_ids(None) is None
    assert b.label_ids("minor") == [1, 3, 4]
    assert b.label_ids("3/4") == [2, 3]
    assert b.label_ids("Minor 3/4") == [3] and b.label_ids("3/4  MINOR") == [3]   # words in any order, any case
    assert b.label_ids("major 4/4") == [0]
    # One label where one is needed (interpolation, evaluation): the match with most training windows.
    assert b.label_id("minor") == 1 and b.label_id("3/4") == 2 and b.label_id("minor 3/2") == 4
    assert bundle(counts=None).label_id("3/4") == 2        # no counts recorded: the first match


def test_an_exact_label_wins_over_word_matches():
    b = bundle(labels=["minor", "minor 3/4", "major 3/4"], counts=None)
    assert b.label_ids("minor") == [0] and b.label_ids("MINOR") == [0]
    assert b.label_ids("3/4") == [1, 2]


@pytest.mark.parametrize("condition", ["dorian", "minor 5/4", "", "min"])
def test_an_unknown_condition_is_one_error_naming_the_labels(condition):
    with pytest.raises(GenforgeError) as err:
        bundle().label_ids(condition)
    text = str(err.value)
    assert text.startswith(f"unknown --condition {condition!r}; this model knows: ")
    assert all(repr(name) in text for name in LABELS)


def test_sampling_with_a_word_condition_draws_matching_labels_in_proportion_to_their_windows():
    b = bundle()
    n = 600
    ids = pick_labels(b, "minor", n, np.random.default_rng(0))
    assert set(ids.tolist()) <= {1, 3, 4}
    minor = np.array([COUNTS[LABELS[i]] for i in (1, 3, 4)], float)
    expected = minor / minor.sum() * n
    got = np.array([np.count_nonzero(ids == i) for i in (1, 3, 4)])
    # Within 4 binomial standard deviations of the expected counts (about 532, 59, 9 of 600).
    sd = np.sqrt(expected * (1 - expected / n))
    assert np.all(np.abs(got - expected) <= 4 * sd + 1), (got, expected)
    # No condition: every label, in proportion to its training windows.
    every = pick_labels(b, None, 4000, np.random.default_rng(1))
    share = np.bincount(every, minlength=len(LABELS)) / 4000
    want = np.array([COUNTS[name] for name in LABELS]) / sum(COUNTS.values())
    assert np.allclose(share, want, atol=0.03), (share, want)
    # A condition that names one label: every sample gets it, no draw made.
    rng = np.random.default_rng(2)
    assert (pick_labels(b, "major 3/4", 5, rng) == 2).all()
    assert rng.integers(0, 10**9) == np.random.default_rng(2).integers(0, 10**9)


def test_runs_without_label_counts_draw_as_they_always_did():
    b = bundle(labels=["major", "minor"], counts=None)
    assert pick_labels(b, None, 50, np.random.default_rng(3)).tolist() == \
        np.random.default_rng(3).integers(0, 2, 50).tolist()
    assert pick_labels(b, "minor", 4, np.random.default_rng(3)).tolist() == [1] * 4
    # Several matches without counts: uniformly among them.
    words = bundle(counts=None)
    draws = pick_labels(words, "3/4", 400, np.random.default_rng(4))
    assert set(draws.tolist()) == {2, 3} and 150 < np.count_nonzero(draws == 2) < 250
    # The bundled music model (every metre) records its counts: labels are drawn as often as the data has them.
    if (default_model("music") / "genforge.json").is_file():
        bundled = open_bundle(default_model("music"))
        assert len(bundled.label_counts) == len(bundled.labels) and "minor 4/4" in bundled.labels
