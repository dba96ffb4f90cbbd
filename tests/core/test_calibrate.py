"""genforge.core.calibrate: logit offsets that give samples the data's class frequencies. numpy only."""
from __future__ import annotations

import numpy as np

from genforge.core import calibrate


def test_calibration_reaches_the_target_frequencies_and_leaves_held_out_classes_alone():
    rng = np.random.default_rng(0)
    # a mode-seeking decoder: class 0 wins most cells though the data has it 70% of the time
    logits = rng.normal(size=(500, 10, 10, 4)) + np.array([2.0, 0.0, -0.5, 0.0])
    before = calibrate.class_frequencies(logits.argmax(-1), 4)
    target = np.array([0.70, 0.15, 0.10, 0.05])
    assert before[0] > 0.8
    free = np.array([True, True, True, False])
    bias = calibrate.fit_logit_bias(logits, target, free)
    after = calibrate.class_frequencies((logits + bias).argmax(-1), 4)
    assert bias[3] == 0
    assert np.allclose(after[:3] / after[:3].sum(), target[:3] / target[:3].sum(), atol=0.01)
    # per-label rows, broadcast over every cell of each sample
    rows = np.stack([np.zeros(4), bias])
    out = calibrate.apply_bias(logits[:2], rows, np.array([0, 1]))
    assert np.allclose(out[0], logits[0]) and np.allclose(out[1], logits[1] + bias)
    assert calibrate.apply_bias(logits, None, np.zeros(500)) is logits
