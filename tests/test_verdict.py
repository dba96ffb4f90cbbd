"""genforge.verdict: the baseline that learned nothing, and the warnings training prints."""
from __future__ import annotations

import numpy as np

from genforge.verdict import baseline_prediction, reconstruction_warnings, sample_warnings


def test_the_categorical_baseline_is_each_cells_most_frequent_class():
    windows = np.array([[[0, 1], [2, 2]], [[0, 1], [1, 2]], [[3, 1], [1, 2]]], np.uint8)
    pred = baseline_prediction(windows, 4, "categorical")
    assert pred.shape == (4, 2, 2) and (pred == np.array([[0, 1], [1, 2]])).all()


def test_the_bernoulli_baseline_turns_cells_on_at_their_rate():
    windows = np.zeros((100, 4, 3, 2), bool)
    windows[:30, 0, 0, 0] = True                      # one cell on in 30% of the windows
    pred = baseline_prediction(windows, 5000, "bernoulli", seed=1)
    assert abs(pred[:, 0, 0, 0].mean() - 0.3) < 0.03 and not pred[:, 1:].any()


def test_warnings_say_when_reconstruction_is_no_better_than_the_baseline():
    base = {"accuracy": 0.83, "accuracy_non_empty": 0.04}
    assert reconstruction_warnings({"accuracy": 0.97, "accuracy_non_empty": 0.86}, base) == []
    [line] = reconstruction_warnings({"accuracy": 0.85, "accuracy_non_empty": 0.30}, base)
    assert "0.850" in line and "most-frequent-tile baseline" in line and "--epochs" in line
    music = reconstruction_warnings({"onset_f1": 0.10, "accuracy": 0.99, "accuracy_non_empty": 0.5},
                                    {"onset_f1": 0.02, "accuracy": 0.98, "accuracy_non_empty": 0.0})
    assert music and "note-density baseline" in music[0]


def test_warnings_name_sample_statistics_far_from_the_data():
    data = {"pipes": 0.67, "enemies": 2.9, "density": 0.14, "cannons": 0.02}
    fine = {"pipes": 0.5, "enemies": 3.0, "density": 0.13, "cannons": 0.2}   # cannons too rare to judge
    assert sample_warnings(fine, data) == []
    [line] = sample_warnings({**fine, "pipes": 2.7}, data)
    assert line.startswith("samples have 4.0x the training windows' pipes per window")
