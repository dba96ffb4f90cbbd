"""Same model, same command, same seed: the same bytes in every file, however often and in whichever
process it runs; same training command and seed: the same weights.

Each command runs twice in fresh interpreters with different PYTHONHASHSEEDs (set and dict order
of strings, the usual source of run-to-run drift) into folders of different names, and every file
each run wrote is compared by its sha256.

What is the same on every machine and what is not (measured on one x86-64 Linux machine; the
cross-machine part is reasoned, not measured):
- The latents come from numpy's seeded generators, identical on every platform for one numpy
  version (numpy may change a distribution's algorithm between versions).
- Decoding runs on onnxruntime's CPU kernels, which pick their instruction set (AVX2, AVX-512,
  NEON) at run time; another set can round a sum differently in its last bit, so a cell whose two
  most likely tiles or a note whose probability sits within that bit of a tie can come out
  otherwise on another CPU or another onnxruntime version. Nothing in the files depends on the
  time, the output folder's name, the host or the hash seed.
- Training: the same weights, bit for bit, on one machine (TensorFlow's CPU kernels with
  keras.utils.set_random_seed). On another CPU, the same caveat as decoding, compounded over every
  update; on a GPU, genforge.core.fit turns TensorFlow's op determinism on (cuDNN would otherwise
  pick kernels that sum in a varying order): the same bits on one GPU, expected, not measured here.
  The run folder's bytes differ run to run even with equal weights: the .keras files record the
  save time and Python object ids, tf2onnx numbers a few of encoder.onnx's constant names
  differently, and genforge.json records the training's seconds and the files' hashes.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from support import REPO, file_hashes, weight_hashes, write_level_folder

from genforge.generate import sample

MINOR, SMB2J = "minor", "Super Mario Bros 2 (Japan)"

COMMANDS = {
    "sample levels": ["sample", "levels", "-n", "3", "--seed", "4"],
    "sample levels --temperature --condition": ["sample", "levels", "-n", "3", "--seed", "4", "--temperature", "0.8",
                                                "--condition", SMB2J],
    "sample levels --raw": ["sample", "levels", "-n", "3", "--seed", "4", "--raw"],
    "sample levels --playable": ["sample", "levels", "-n", "3", "--seed", "4", "--playable"],
    "sample levels --length --playable": ["sample", "levels", "-n", "2", "--seed", "4", "--length", "60",
                                          "--playable"],
    "sample music": ["sample", "music", "-n", "2", "--seed", "4"],
    "sample music --condition --attribute --temperature": ["sample", "music", "-n", "2", "--seed", "4", "--bars", "4",
                                                           "--condition", MINOR, "--attribute", "density=+1.5",
                                                           "--attribute", "register=-1", "--temperature", "0.5"],
    "interpolate levels seeds": ["interpolate", "levels", "--from-seed", "1", "--to-seed", "2", "--steps", "3",
                                 "--condition", SMB2J],
    "interpolate levels files": ["interpolate", "levels", "--from", "{level_tmj}", "--to", "{level_txt}", "--steps",
                                 "3", "--linear"],
    "interpolate music seeds": ["interpolate", "music", "--from-seed", "1", "--to-seed", "2", "--steps", "3",
                                "--condition", MINOR],
    "interpolate music files": ["interpolate", "music", "--from", "{piece}", "--to-seed", "2", "--steps", "3"],
}


def differences(first: dict[str, str], second: dict[str, str]) -> list[str]:
    """Files only one run wrote, and files both wrote with other bytes."""
    found = []
    for name in sorted(first.keys() | second.keys()):
        if name not in second:
            found.append(f"{name}: only in run 1")
        elif name not in first:
            found.append(f"{name}: only in run 2")
        elif first[name] != second[name]:
            found.append(f"{name}: bytes differ")
    return found


def genforge(args: list[str], hash_seed: int, timeout: float) -> subprocess.CompletedProcess:
    """`python -m genforge ARGS` in a fresh interpreter with its own PYTHONHASHSEED."""
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed), "PYTHONWARNINGS": "ignore", "TF_CPP_MIN_LOG_LEVEL": "3"}
    res = subprocess.run([sys.executable, "-m", "genforge", *args], capture_output=True, text=True, cwd=REPO,
                         env=env, timeout=timeout)
    assert res.returncode == 0, (args, res.stderr[-2000:])
    return res


@pytest.fixture(scope="module")
def real_ends(tmp_path_factory) -> dict[str, str]:
    """A level (as .tmj and as .txt) and a piece (.mid), sampled once, for the commands that start
    or end at a real file."""
    root = tmp_path_factory.mktemp("ends")
    sample(None, "levels", 2, 1, root / "levels", quiet=True)
    sample(None, "music", 1, 1, root / "music", quiet=True)
    return {"level_tmj": str(root / "levels" / "level-1-000.tmj"), "level_txt": str(root / "levels" / "level-1-001.txt"),
            "piece": str(root / "music" / "music-1-000.mid")}


@pytest.mark.parametrize("name", COMMANDS)
def test_each_generation_command_writes_the_same_bytes_in_fresh_processes(name, real_ends, tmp_path):
    args = [a.format(**real_ends) for a in COMMANDS[name]]
    runs = []
    for hash_seed in (1, 2):
        out = tmp_path / f"out-{hash_seed}"
        genforge([*args, "--out", str(out)], hash_seed, timeout=120)
        runs.append(file_hashes(out))
    assert runs[0], f"{name} wrote nothing"
    assert not differences(*runs), f"{name}: {differences(*runs)}"


def test_the_same_training_command_and_seed_gives_the_same_weights(tmp_path):
    """Two 1-epoch trainings on three tiny levels (about 12 s each) in fresh processes."""
    folder = write_level_folder(tmp_path)
    runs = []
    for hash_seed in (1, 2):
        run = tmp_path / f"run-{hash_seed}"
        genforge(["train", "levels", "--data", str(folder), "--out", str(run), "--epochs", "1", "--latent", "4",
                  "--seed", "3", "-q"], hash_seed, timeout=60)
        runs.append(weight_hashes(run))
    assert not differences(*runs), differences(*runs)
