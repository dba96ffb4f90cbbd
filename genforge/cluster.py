"""Where a training process stands in a cluster, and `genforge train ... --workers N`: N local
worker processes on 127.0.0.1, to try training across machines on one box.

A process is a worker of a cluster when the standard cluster spec says so: `TF_CONFIG` (set by
Kubernetes' training operators, cloud trainers, or by hand) or a Slurm job step of several tasks
(`srun -n 4 genforge train ...`). `genforge train` then trains as that worker
(genforge.core.distributed); without either it trains alone.

The launcher gives each worker a TF_CONFIG with free ports on 127.0.0.1 and its share of the cores
(TensorFlow's TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS), shows the chief's output, and
watches them all: the first that exits with an error ends the run, the others are stopped at once,
and one line says which worker, how it ended, and what the last checkpoint holds (the same command
with --resume goes on from it). No TensorFlow here: the launcher only starts and watches processes.
"""
from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from genforge.errors import GenforgeError, brief

TF_CONFIG, SLURM = "TF_CONFIG", "Slurm"   # the cluster descriptions genforge.core.distributed reads
MOST_WORKERS = 64
POLL_S = 0.2          # how often the launcher looks at its workers
STOP_GRACE_S = 5.0    # SIGTERM, then SIGKILL after this long


def source() -> str | None:
    """TF_CONFIG when it describes a cluster, SLURM when this process is one of several tasks of a
    Slurm job step, else None (a single process)."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if text:
        try:
            spec = json.loads(text)
        except ValueError as e:
            raise GenforgeError(f"TF_CONFIG is not JSON ({brief(e, 80)}): {brief(text, 120)}") from None
        if not (isinstance(spec, dict) and isinstance(spec.get("cluster"), dict) and isinstance(spec.get("task"), dict)):
            raise GenforgeError('TF_CONFIG needs "cluster" (job -> addresses) and "task" ({"type", "index"}): '
                                f"{brief(text, 120)}")
        return TF_CONFIG
    tasks = os.environ.get("SLURM_STEP_NUM_TASKS", "")
    if tasks.isdigit() and int(tasks) > 1 and "SLURM_PROCID" in os.environ:
        return SLURM
    return None


def tf_configs(workers: int, host: str = "127.0.0.1") -> list[dict]:
    """One TF_CONFIG per worker of a cluster on `host`, each worker on a port free just now."""
    ports = []
    sockets = []
    for _ in range(workers):  # all held open together, so no two are the same port
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((host, 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    cluster = {"worker": [f"{host}:{port}" for port in ports]}
    return [{"cluster": cluster, "task": {"type": "worker", "index": i}} for i in range(workers)]


def without_option(argv: list[str], name: str) -> list[str]:
    """The words of a command line without an option that takes a value (`--name V`, `--name=V`)."""
    out, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word == name:
            skip = True
        elif not word.startswith(f"{name}="):
            out.append(word)
    return out


def threads_per_worker(workers: int) -> dict[str, str]:
    """TensorFlow's thread-pool sizes for one of `workers` processes sharing this machine's cores,
    unless the environment sets them already."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    share = max(1, cores // workers)
    wanted = {"TF_NUM_INTRAOP_THREADS": share, "TF_NUM_INTEROP_THREADS": min(share, 2)}
    return {k: str(v) for k, v in wanted.items() if k not in os.environ}


def die_with_parent() -> None:
    """In a worker, before it runs: SIGTERM when the launcher dies (Linux), so no worker outlives it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Tail:
    """The last lines a worker wrote on stderr, read as they come (a full pipe would stop it)."""

    def __init__(self, stream):
        self.lines = collections.deque(maxlen=40)
        self.thread = threading.Thread(target=self.read, args=(stream,), daemon=True)
        self.thread.start()

    def read(self, stream):
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def error_line(self) -> str | None:
        """The worker's own one-line account of why it stopped, if it gave one."""
        self.thread.join(timeout=2)
        found = [line for line in self.lines if line.startswith("genforge: error: ")]
        return found[-1][len("genforge: error: "):] if found else None


def how_it_ended(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def checkpoint_state(out: Path) -> str:
    from genforge.core import checkpoint

    try:
        saved = checkpoint.read(Path(out) / checkpoint.FOLDER)
    except GenforgeError:
        saved = None
    if saved is None:
        return "no epoch was checkpointed yet"
    return f"the last checkpoint holds epoch {saved.epoch} of {saved.state['epochs']}"


def stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM to every worker still running, SIGKILL to those still there after a grace period."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for p in procs:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def train_on_local_workers(argv: list[str], workers: int, out: Path) -> Path:
    """Run the training command `argv` (genforge's words, with or without --workers) as `workers`
    processes of one cluster on 127.0.0.1 and wait for them; the chief's output is shown. Returns
    the run folder; a worker that fails ends the run with a GenforgeError (see the module's notes)."""
    if source() is not None:
        raise GenforgeError(f"--workers: this process is already one worker of the cluster {source()} describes; "
                            f"leave --workers out, or unset TF_CONFIG to train on local workers")
    if not 1 <= workers <= MOST_WORKERS:
        raise GenforgeError(f"--workers must be between 1 and {MOST_WORKERS}, got {workers}")
    command = [sys.executable, "-m", "genforge", *without_option(argv, "--workers")]
    # The workers' temporary files (the other workers' checkpoints) in one folder, deleted here even
    # when a worker was killed before it could delete its own.
    scratch = tempfile.mkdtemp(prefix="genforge-workers-")
    shared = {**threads_per_worker(workers), "TMPDIR": scratch, "TF_CPP_MIN_LOG_LEVEL": "3"}
    procs = []
    try:
        for i, spec in enumerate(tf_configs(workers)):
            env = {**os.environ, **shared, "TF_CONFIG": json.dumps(spec)}
            procs.append(subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                          stdout=None if i == 0 else subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          text=True, preexec_fn=die_with_parent if sys.platform == "linux" else None))
        tails = [Tail(p.stderr) for p in procs]  # after every start: no thread runs while a worker forks
        failed = watch(procs)
    finally:  # also on Ctrl-C, and when a start fails
        stop(procs)
        shutil.rmtree(scratch, ignore_errors=True)
    if failed is None:
        return Path(out)
    code = procs[failed].returncode
    said = tails[failed].error_line()
    if said is not None:  # the worker's own account (a user error, or a peer it lost)
        who = f"worker {failed} of {workers}"
        raise GenforgeError(said if said.startswith(who) else f"{who}: {said}")
    raise GenforgeError(f"worker {failed} of {workers} died ({how_it_ended(code)}); the other workers were stopped; "
                        f"{checkpoint_state(out)}: run the same command with --resume to go on")


def watch(procs: list[subprocess.Popen]) -> int | None:
    """Wait until every worker has exited well (None) or one has not (its index: the first seen;
    of several seen at once, one that died before one that reported an error, since a worker's
    death makes its peers report theirs)."""
    while True:
        codes = [p.poll() for p in procs]
        failed = [i for i, code in enumerate(codes) if code not in (None, 0)]
        if failed:
            return min(failed, key=lambda i: (codes[i] == 2, i))
        if all(code == 0 for code in codes):
            return None
        time.sleep(POLL_S)
