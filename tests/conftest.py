"""Fixtures shared by every test module: the VGLC corpus, a tiny level folder, one tiny trained model.
Constants and helpers that tests import live in support.py."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from support import NO_VGLC, SMB, VGLC, write_level_folder


@pytest.fixture(scope="session")
def vglc() -> Path:
    if not VGLC.is_dir():
        pytest.skip(NO_VGLC)
    return VGLC


@pytest.fixture
def tiny_folder(tmp_path) -> Path:
    return write_level_folder(tmp_path)


# ---------------------------------------------------------------- one tiny model per session

@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A 2-epoch, 8-latent VAE on the real Super Mario Bros levels (~20 s). Rough levels (one epoch decodes
    nothing but sky), real bundle."""
    if not SMB.is_dir():
        pytest.skip("the VGLC corpus (../shared/datasets/vglc) is absent: cannot train the tiny test model")
    from genforge.config import ModelConfig, TrainConfig
    from genforge.train import train_levels

    out = tmp_path_factory.mktemp("tiny-run")
    with warnings.catch_warnings():  # Keras's ONNX export trips a NumPy FutureWarning: not ours
        warnings.simplefilter("ignore", FutureWarning)
        return train_levels([str(SMB)], out, ModelConfig(filters=(8, 16), latent_dim=8), TrainConfig(epochs=2),
                            command="test", quiet=True)
