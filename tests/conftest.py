"""Shared fixtures: where the VGLC corpus is, tiny hand-made level folders, one tiny trained model.

The corpus lives outside the repository (read-only, never copied in): `<repo>/../shared/datasets/vglc`.
A fresh clone without that shared folder still runs every test that does not need it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VGLC = REPO.parent / "shared" / "datasets" / "vglc"
SMB = VGLC / "Super Mario Bros"
SMB2J = VGLC / "Super Mario Bros 2 (Japan)"
KID_ICARUS = VGLC / "Kid Icarus"
ZELDA = VGLC / "The Legend of Zelda"

needs_vglc = pytest.mark.skipif(
    not VGLC.is_dir(),
    reason="the VGLC corpus (../shared/datasets/vglc) is absent: a fresh clone without the shared data")


@pytest.fixture(scope="session")
def vglc() -> Path:
    if not VGLC.is_dir():
        pytest.skip("the VGLC corpus (../shared/datasets/vglc) is absent: a fresh clone without the shared data")
    return VGLC


# ---------------------------------------------------------------- tiny level folders

TINY_LEGEND = {
    "-": ["passable", "empty"],
    "#": ["solid", "ground"],
    "o": ["coin", "collectable", "passable"],
    "E": ["enemy", "hazard"],
}

# Three 6 x 14 side-scroller levels of an unknown game (no preset): window (6, 12), 3 windows each.
TINY_LEVELS = {
    "alpha": [
        "--------------",
        "-----ooo------",
        "--------------",
        "----###----E--",
        "--E-----------",
        "##############",
    ],
    "beta": [
        "--------------",
        "--------------",
        "--ooo---------",
        "--###------###",
        "--------E-----",
        "#####--#######",
    ],
    "gamma": [
        "--------------",
        "----------oo--",
        "--------------",
        "-------####---",
        "---E----------",
        "###---########",
    ],
}


def write_level_folder(root: Path, name: str = "tinygame", levels: dict[str, list[str] | str] | None = None,
                       legend: dict | str | None = TINY_LEGEND, legend_name: str = "legend.json") -> Path:
    """A folder of VGLC-style text levels and a legend under `root`; returns the folder.

    `levels`: stem -> rows (joined with LF, with a final newline) or the raw file text.
    `legend`: a dict (written as {"tiles": ...}), raw text, or None for no legend file."""
    folder = Path(root) / name
    folder.mkdir(parents=True, exist_ok=True)
    for stem, rows in (TINY_LEVELS if levels is None else levels).items():
        text = rows if isinstance(rows, str) else "\n".join(rows) + "\n"
        (folder / f"{stem}.txt").write_text(text, encoding="utf-8")
    if legend is not None:
        text = legend if isinstance(legend, str) else json.dumps({"tiles": legend}, indent=2)
        (folder / legend_name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def tiny_folder(tmp_path) -> Path:
    return write_level_folder(tmp_path)


# ---------------------------------------------------------------- one tiny model per session

@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A 1-epoch, 8-latent VAE on the real Super Mario Bros levels (~15 s). Garbage levels, real bundle."""
    if not SMB.is_dir():
        pytest.skip("the VGLC corpus (../shared/datasets/vglc) is absent: cannot train the tiny test model")
    from genforge.config import ModelConfig, TrainConfig
    from genforge.train import train_levels

    out = tmp_path_factory.mktemp("tiny-run")
    with warnings.catch_warnings():  # Keras's ONNX export trips a NumPy FutureWarning: not ours
        warnings.simplefilter("ignore", FutureWarning)
        return train_levels([str(SMB)], out, ModelConfig(filters=(8, 16), latent_dim=8), TrainConfig(epochs=1),
                            command="test", quiet=True)


# ---------------------------------------------------------------- the command line

def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m genforge ARGS` in a fresh interpreter, as a user would run it."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "genforge", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or REPO, env=env, timeout=timeout)


def run_main(monkeypatch, capsys, *args: str) -> subprocess.CompletedProcess:
    """`genforge ARGS` through genforge.cli.main() in this process (main turns GenforgeError into
    one stderr line and exit code 2); faster than a subprocess when TensorFlow is loaded already."""
    from genforge.cli import main

    monkeypatch.setattr(sys, "argv", ["genforge", *map(str, args)])
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(["genforge", *map(str, args)], code, captured.out, captured.err)
