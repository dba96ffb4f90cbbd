"""genforge.core.tsne: exact t-SNE in numpy, for the evaluation's latent map."""
from __future__ import annotations

import numpy as np
import pytest

from genforge.core.tsne import tsne


def test_tsne_keeps_clusters_apart_and_neighbours_near():
    rng = np.random.default_rng(0)
    centres = np.zeros((3, 12))
    centres[1, 0], centres[2, 1] = 6.0, 6.0
    points = np.concatenate([rng.normal(size=(120, 12)) + c for c in centres])
    label = np.repeat([0, 1, 2], 120)
    y = tsne(points, perplexity=20, iterations=300)
    assert y.shape == (360, 2) and np.isfinite(y).all()
    d = ((y[:, None] - y[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    neighbours = d.argsort(1)[:, :8]
    assert (label[neighbours] == label[:, None]).mean() > 0.95, "each point's map neighbours are its cluster's"
    # same seed, same map
    assert np.allclose(tsne(points[:60], iterations=50), tsne(points[:60], iterations=50))
    with pytest.raises(ValueError, match="at least 4 points"):
        tsne(points[:3])
