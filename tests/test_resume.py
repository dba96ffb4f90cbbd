"""genforge train --resume: a training process killed with SIGKILL in the middle of an epoch goes
on from its last whole epoch and ends with the weights and held-out metrics of a run never
interrupted, bit for bit (CPU kernels give the same bits for the same inputs, and everything that
varies from update to update - weights, Adam's moments and count, the random generators, the early
stopping - is in the checkpoint, while each epoch's data order is drawn from (seed, epoch) alone);
a kill while the checkpoint is written leaves the previous one readable; an unfinished run is
neither overwritten unasked nor continued by another command.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import REPO, SMB, assert_user_error, invoke, needs_vglc, weight_hashes

from genforge.core import checkpoint

# Five SMB levels: one held out for the test, one for validation, ~480 training windows, about a
# second an epoch on two busy cores. The KL warms up over 5 epochs and the early stopping keeps its
# best epoch from the 6th on: killed after 6, the resumed run must carry that choice on.
LEVELS = ("mario-1-1", "mario-1-2", "mario-2-1", "mario-3-1", "mario-4-1")
EPOCHS, KILL_AFTER = 8, 6


def genforge(*args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "genforge", *map(str, args)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 120) -> None:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-2000:]


def kill_mid_epoch(proc: subprocess.Popen, folder: Path, after: int, timeout: float = 120) -> tuple[int, float]:
    """Wait for the checkpoint of epoch `after`, then SIGKILL the process half an epoch later (an
    epoch's length measured from the checkpoints' arrival). Returns (that epoch, the epoch's length)."""
    seen: dict[int, float] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        saved = checkpoint.read(folder)
        if saved is not None:
            seen.setdefault(saved.epoch, time.monotonic())
            first = min(seen)
            if saved.epoch >= after and saved.epoch > first:
                epoch_length = (seen[saved.epoch] - seen[first]) / (saved.epoch - first)
                time.sleep(epoch_length / 2)
                os.kill(proc.pid, signal.SIGKILL)
                proc.communicate()
                assert proc.returncode == -signal.SIGKILL, proc.returncode
                return saved.epoch, epoch_length
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"no checkpoint of epoch {after} in {timeout:.0f} s (seen: {sorted(seen)}): {proc.communicate()[1]}")


@needs_vglc
def test_a_run_killed_mid_epoch_resumes_to_the_uninterrupted_result(tmp_path):
    """About a minute on two busy cores (the uninterrupted run trains beside the killed one)."""
    data = tmp_path / SMB.name  # the folder's name picks the game's preset (window, legend)
    data.mkdir()
    for name in [f"{level}.txt" for level in LEVELS] + ["smb.json"]:
        shutil.copy(SMB / name, data / name)
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    command = ["train", "levels", "--data", data, "--epochs", EPOCHS, "--latent", "4", "--seed", "3", "-q"]
    started = time.monotonic()
    uninterrupted = genforge(*command, "--out", whole)
    seen, epoch_length = kill_mid_epoch(genforge(*command, "--out", killed), killed / checkpoint.FOLDER, KILL_AFTER)

    saved = checkpoint.read(killed / checkpoint.FOLDER)
    assert not (killed / "genforge.json").exists(), "the kill came after training ended"
    # At most one epoch lost: the checkpoint holds the last epoch seen done, and the kill came half an epoch later.
    assert saved.epoch >= seen and saved.epoch < EPOCHS, (saved.epoch, seen)
    print(f"killed {epoch_length / 2:.2f} s into epoch {saved.epoch + 1} of {EPOCHS} (an epoch: {epoch_length:.2f} s)")

    # Neither overwritten unasked nor continued by another command; the checkpoint survives both.
    assert_user_error(invoke(*command, "--out", killed), "holds an unfinished training run", "--resume")
    line = assert_user_error(invoke(*command[:5], "9", *command[6:], "--out", killed, "--resume"),
                             "unfinished run of another command", "epochs 8 there, 9 here")
    assert "--epochs 8" in line, line
    assert checkpoint.read(killed / checkpoint.FOLDER).epoch == saved.epoch

    finish(genforge(*command, "--out", killed, "--resume"))
    finish(uninterrupted)
    print(f"kill, resume and the uninterrupted run: {time.monotonic() - started:.0f} s")

    resumed_meta, whole_meta = (json.loads((run / "genforge.json").read_text()) for run in (killed, whole))
    for split in ("test", "validation", "train"):
        assert resumed_meta["metrics"][split] == whole_meta["metrics"][split], split
    print("held-out metrics (resumed = uninterrupted):", {k: v for k, v in resumed_meta["metrics"]["test"].items()
                                                           if isinstance(v, float)})
    for name in ("loss", "val_accuracy", "best_epoch", "epochs_run"):
        assert resumed_meta["history"][name] == whole_meta["history"][name], name
    assert resumed_meta["history"]["resumed_at"] == [saved.epoch]
    assert weight_hashes(killed) == weight_hashes(whole)
    assert not (killed / checkpoint.FOLDER).exists() and not (whole / checkpoint.FOLDER).exists()
    assert_user_error(invoke(*command, "--out", killed, "--resume"), "holds a finished run")


WRITER = """
import os, signal, sys, numpy as np
from genforge.core import checkpoint
if sys.argv[2] == "stuck":  # after the first checkpoint, each write stops half-way and waits for the kill
    real_fsync, writes = os.fsync, []
    def half_then_wait(fd):
        writes.append(fd)
        if len(writes) == 1:
            return real_fsync(fd)
        os.ftruncate(fd, os.fstat(fd).st_size // 2)
        signal.pause()
    os.fsync = half_then_wait
epoch = 0
while True:
    epoch += 1
    # 16 MB of 'weights', every value the epoch's number: a mixed or cut file would show
    checkpoint.write(sys.argv[1], {"epoch": epoch}, {"model": [np.full(2_000_000, epoch, np.float64)]})
"""


def test_a_kill_while_the_checkpoint_is_written_leaves_a_whole_one(tmp_path):
    """Writers of 16 MB checkpoints killed at random moments, and one killed while a checkpoint it
    writes is half on the disk: the checkpoint read back is always one whole epoch's."""
    import numpy as np

    rng = np.random.default_rng(0)
    cut = 0
    for round, how in enumerate(["random"] * 4 + ["stuck"]):
        folder = tmp_path / f"checkpoints-{round}"
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(folder), how], cwd=REPO)
        deadline = time.monotonic() + 30
        while not (folder / checkpoint.FILE).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.random() * 0.3)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        saved = checkpoint.read(folder)
        assert saved is not None, "no checkpoint was written in 30 s"
        assert saved.arrays["model"][0].shape == (2_000_000,)
        assert (saved.arrays["model"][0] == saved.epoch).all(), "a checkpoint of two epochs"
        temporary = [p for p in folder.iterdir() if p.name != checkpoint.FILE]  # a write the kill cut short
        cut += bool(temporary)
        if how == "stuck":
            assert saved.epoch == 1 and len(temporary) == 1, (saved.epoch, temporary)
    print(f"{cut} of 5 kills cut a checkpoint's writing short; every checkpoint read back whole")
