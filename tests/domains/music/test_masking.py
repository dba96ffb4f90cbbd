"""The shared core's padding mask on music: windows of three metres in one tensor length train
together, the padding after a metre's bars weighing nothing."""
from __future__ import annotations

import numpy as np
import pytest
from music_support import write_mixed_metre_folder

from genforge.domains.music.codec import MusicCodec
from genforge.domains.music.dataset import build_dataset


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    folder = write_mixed_metre_folder(tmp_path_factory.mktemp("masking"))
    return build_dataset([folder], labels=None, test=0, validation=0, transpose=0)


def test_a_fit_on_three_metres_learns_the_bars_and_ignores_the_padding(mixed):
    from genforge.config import ModelConfig, TrainConfig
    from genforge.core.fit import fit
    from genforge.train import grid_spec, reconstruct

    ds = mixed
    codec = MusicCodec.from_dataset(ds)
    spec = grid_spec(codec)
    grids, ids = ds.splits["train"]
    weights = spec.weights(grids, ids)
    for i, steps in enumerate(codec.content_steps(j) for j in range(len(ds.labels))):
        assert (weights[ids == i, :steps] == 1).all() and (weights[ids == i, steps:] == 0).all()
    cfg = ModelConfig(filters=(8, 16), latent_dim=256, bottleneck="grid", beta=0.05, pos_weight=4.0,
                      kl_warmup_epochs=1, data_bias=True)
    train_cfg = TrainConfig(epochs=30, batch_size=16, patience=100, learning_rate=3e-3)
    model, history = fit((grids, ids), (grids, ids), spec, cfg, train_cfg, quiet=True)   # ~25 s on 2 cores
    assert np.isfinite(history["loss"]).all() and history["loss"][-1] < history["loss"][0]
    recon = reconstruct(model, codec, grids, ids, spec)
    learned = codec.metrics(grids, recon, ids)
    silent = codec.metrics(grids, np.zeros_like(grids), ids)
    print(f"content accuracy {learned['accuracy']:.4f} (all silent {silent['accuracy']:.4f}), "
          f"onset F1 {learned['onset_f1']:.3f}")
    assert learned["accuracy"] > silent["accuracy"]
    assert learned["onset_f1"] is not None and learned["onset_f1"] > 0.3      # measured 0.65
    for name in ds.labels:
        assert learned["per_label"][name]["accuracy"] > silent["per_label"][name]["accuracy"], name
