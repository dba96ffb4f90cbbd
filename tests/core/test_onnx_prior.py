"""genforge.core.onnx_prior: the mixture prior as an ONNX graph draws exactly what numpy draws."""
from __future__ import annotations

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")

from genforge.core import latent  # noqa: E402
from genforge.core.onnx_prior import label_ranges, mixture_graph  # noqa: E402


def test_the_graph_draws_what_numpy_draws():
    rng = np.random.default_rng(0)
    prior = latent.fit_mixture(rng.normal(size=(50, 7)), rng.normal(-1, 0.3, (50, 7)), np.repeat([0, 1, 2], [20, 20, 10]))
    session = ort.InferenceSession(mixture_graph(prior["means"], prior["spreads"]).SerializeToString())
    component = rng.integers(0, 50, 16)
    noise = rng.standard_normal((16, 7)).astype(np.float32)
    z = session.run(None, {"component": component, "noise": noise})[0]
    assert np.allclose(z, prior["means"][component] + prior["spreads"][component] * noise, atol=1e-6)
    assert label_ranges(prior["labels"]) == [[0, 20], [20, 20], [40, 10]]
