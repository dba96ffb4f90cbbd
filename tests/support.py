"""What tests share besides fixtures: where the corpora are, tiny hand-made level folders, and
ways to run the command line (in a fresh process, or in this one through Typer's CliRunner) and
to check the user errors it reports.

The corpus lives outside the repository (read-only, never copied in): `<repo>/../shared/datasets`.
A fresh clone without that shared folder still runs every test that does not need it.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
VGLC = DATASETS / "vglc"
SMB = VGLC / "Super Mario Bros"
SMB2J = VGLC / "Super Mario Bros 2 (Japan)"
KID_ICARUS = VGLC / "Kid Icarus"
ZELDA = VGLC / "The Legend of Zelda"
MIDI = DATASETS / "midi"
BACH = MIDI / "bach_chorales_music21"          # 348 Bach chorales as MIDI, with metadata.csv
NO_VGLC = "the VGLC corpus (../shared/datasets/vglc) is absent: a fresh clone without the shared data"

needs_vglc = pytest.mark.skipif(not VGLC.is_dir(), reason=NO_VGLC)
NO_BACH = f"the Bach chorales of the shared MIDI data ({BACH}) are absent: a fresh clone without the shared data"
needs_bach = pytest.mark.skipif(not ((BACH / "metadata.csv").is_file() and (BACH / "midi").is_dir()), reason=NO_BACH)


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


# ---------------------------------------------------------------- the command line

def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m genforge ARGS` in a fresh interpreter, as a user would run it."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "genforge", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or REPO, env=env, timeout=timeout)


def assert_user_error(res, *says: str, out: Path | None = None) -> str:
    """The one error line, after checking the whole contract."""
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert line.startswith("genforge: error: "), line
    for text in says:
        assert text in line, (text, line)
    if out is not None:
        left = sorted(p.relative_to(out) for p in out.rglob("*")) if out.exists() else []
        assert left == [], f"--out holds partial files after an error: {left}"
    return line


def run_exported_readme(model, pkg, extra: str = "") -> subprocess.CompletedProcess:
    """Export `model`, then run only the Python block of the package's README (plus `extra`),
    where genforge cannot be imported and every warning is an error."""
    done = subprocess.run([sys.executable, "-m", "genforge", "export", str(model), "--out", str(pkg)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    readme = (pkg / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    guard = "import sys\nsys.modules['genforge'] = None  # the package must not need genforge\n"
    return subprocess.run([sys.executable, "-W", "error", "-c", guard + code + extra], cwd=pkg, capture_output=True,
                          text=True)


def invoke(*args: str) -> subprocess.CompletedProcess:
    """`genforge ARGS` in this process through Typer's CliRunner (the app itself turns an error the
    user caused into one stderr line and exit status 2); faster than a subprocess when TensorFlow
    is loaded already. A bug (any other exception) is raised, not hidden in the result."""
    from typer.testing import CliRunner

    from genforge.cli import app

    words = [str(a) for a in args]
    result = CliRunner().invoke(app, words)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(["genforge", *words], result.exit_code, result.stdout, result.stderr)


def file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` (hidden ones too), by its path relative to it: what two
    runs' outputs are compared by."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def weight_hashes(run: Path) -> dict[str, str]:
    """sha256 of what a run's weights are: the decoder genforge exports, the fitted prior, the
    weights inside each .keras file (not the file, which records its save time) and the samples."""
    hashes = {name: hashlib.sha256((run / name).read_bytes()).hexdigest()
              for name in ("decoder.onnx", "prior.npz", "samples.png")}
    for name in ("encoder.keras", "decoder.keras"):
        with zipfile.ZipFile(run / name) as keras_file:
            hashes[f"{name}/model.weights.h5"] = hashlib.sha256(keras_file.read("model.weights.h5")).hexdigest()
    return hashes
