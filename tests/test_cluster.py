"""genforge.cluster: a process is a worker when TF_CONFIG or a Slurm step of several tasks says so,
`--workers N` gives N local workers their cluster spec and a share of the cores, and a worker that
dies ends the run with one line (which worker, how, what the last checkpoint holds) after which
`--resume` finishes the run from that checkpoint."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import REPO, SMB, assert_user_error, invoke, needs_vglc

from genforge import cluster
from genforge.core import checkpoint
from genforge.errors import GenforgeError


@pytest.fixture
def clean_env(monkeypatch):
    for name in [k for k in os.environ if k.startswith("SLURM_")] + ["TF_CONFIG"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_environment_says_whether_a_process_is_a_worker(clean_env):
    assert cluster.source() is None
    clean_env.setenv("SLURM_PROCID", "0")
    clean_env.setenv("SLURM_STEP_NUM_TASKS", "1")
    assert cluster.source() is None  # a Slurm job of one task trains alone
    clean_env.setenv("SLURM_STEP_NUM_TASKS", "4")
    assert cluster.source() == cluster.SLURM
    clean_env.setenv("TF_CONFIG", json.dumps(cluster.tf_configs(2)[1]))
    assert cluster.source() == cluster.TF_CONFIG  # TF_CONFIG first, as TensorFlow reads it
    for bad, says in (("{worker: 1}", "not JSON"), ('{"cluster": {"worker": ["a:1"]}}', '"task"')):
        clean_env.setenv("TF_CONFIG", bad)
        with pytest.raises(GenforgeError, match=says):
            cluster.source()


def test_local_workers_get_one_cluster_with_distinct_free_ports():
    specs = cluster.tf_configs(3)
    assert [s["task"] for s in specs] == [{"type": "worker", "index": i} for i in range(3)]
    addresses = specs[0]["cluster"]["worker"]
    assert all(s["cluster"] == {"worker": addresses} for s in specs)
    assert len(set(addresses)) == 3 and all(a.startswith("127.0.0.1:") for a in addresses)


def test_the_workers_command_is_the_users_without_workers_and_shares_the_cores(clean_env):
    argv = ["train", "levels", "--data", "d", "--workers", "2", "--out", "o", "--workers=3", "-q"]
    assert cluster.without_option(argv, "--workers") == ["train", "levels", "--data", "d", "--out", "o", "-q"]
    clean_env.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    clean_env.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    cores = len(os.sched_getaffinity(0))
    assert cluster.threads_per_worker(cores)["TF_NUM_INTRAOP_THREADS"] == "1"
    assert cluster.threads_per_worker(1)["TF_NUM_INTRAOP_THREADS"] == str(cores)
    clean_env.setenv("TF_NUM_INTRAOP_THREADS", "3")  # the user's setting stands
    assert "TF_NUM_INTRAOP_THREADS" not in cluster.threads_per_worker(2)


def test_workers_is_refused_inside_a_cluster_and_out_of_range(clean_env, tmp_path):
    clean_env.setenv("TF_CONFIG", json.dumps(cluster.tf_configs(2)[0]))
    assert_user_error(invoke("train", "levels", "--data", tmp_path, "--out", tmp_path / "o", "--workers", "2"),
                      "already one worker of the cluster TF_CONFIG describes", "leave --workers out")
    clean_env.delenv("TF_CONFIG")
    assert_user_error(invoke("train", "music", "--data", tmp_path, "--out", tmp_path / "o", "--workers", "0"),
                      "--workers must be between 1 and")


def worker_pid(launcher: subprocess.Popen, index: int) -> int:
    """The process id of the launcher's worker `index`, found by the TF_CONFIG it was given."""
    for child in Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children").read_text().split():
        environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        spec = next(json.loads(e[len(b"TF_CONFIG="):]) for e in environ if e.startswith(b"TF_CONFIG="))
        if spec["task"]["index"] == index:
            return int(child)
    raise AssertionError(f"no worker {index} among the launcher's children")


@needs_vglc
@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the workers through Linux's /proc")
def test_a_dead_worker_ends_the_run_in_one_line_and_resume_finishes_it(tmp_path):
    """`--workers 2`, worker 1 killed (SIGKILL) once the chief has checkpointed epoch 2: exit 2 and
    one line naming it and the checkpoint, no bundle, nothing left in the temporary folder; the
    same command without --resume is refused (every worker says so; one line reaches the user);
    with --resume the two workers finish the run from that checkpoint. About 3 min on two busy cores."""
    data = tmp_path / SMB.name
    data.mkdir()
    for name in ["mario-1-1.txt", "mario-1-2.txt", "mario-2-1.txt", "mario-3-1.txt", "mario-4-1.txt", "smb.json"]:
        shutil.copy(SMB / name, data / name)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = tmp_path / "run"
    command = [sys.executable, "-m", "genforge", "train", "levels", "--data", str(data), "--window", "14x14",
               "--epochs", "8", "--seed", "3", "--out", str(out), "--workers", "2", "-q"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TMPDIR": str(scratch)}
    env.pop("TF_CONFIG", None)
    launcher = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline and launcher.poll() is None:
        saved = checkpoint.read(out / checkpoint.FOLDER)
        if saved is not None and saved.epoch >= 2:
            break
        time.sleep(0.1)
    else:
        launcher.kill()
        pytest.fail(f"no checkpoint of epoch 2: {launcher.communicate()[1][-2000:]}")
    os.kill(worker_pid(launcher, 1), signal.SIGKILL)
    killed_at = time.monotonic()
    stdout, stderr = launcher.communicate(timeout=300)
    print(f"the launcher ended {time.monotonic() - killed_at:.1f} s after the kill: {stderr.strip()}")
    line = assert_user_error(subprocess.CompletedProcess(command, launcher.returncode, stdout, stderr),
                             "worker 1 of 2 died (killed by SIGKILL)", "run the same command with --resume")
    epoch = int(re.search(r"the last checkpoint holds epoch (\d+) of 8", line).group(1))
    assert epoch >= 2 and checkpoint.read(out / checkpoint.FOLDER).epoch == epoch
    assert not (out / "genforge.json").exists()
    assert list(scratch.iterdir()) == [], "the workers' temporary files were left behind"

    refused = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert_user_error(refused, "worker 0 of 2: ", "holds an unfinished training run", "pass --resume")

    resumed = subprocess.run(command + ["--resume"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    meta = json.loads((out / "genforge.json").read_text())
    assert meta["history"]["resumed_at"] == [epoch] and meta["history"]["epochs_run"] == 8
    assert meta["history"]["distributed"]["workers"] == 2
    assert not (out / checkpoint.FOLDER).exists() and list(scratch.iterdir()) == []
    sampled = invoke("sample", "levels", "--model", out, "-n", 2, "--seed", 1, "--out", tmp_path / "s")
    assert sampled.returncode == 0, sampled.stderr
