"""genforge.core.distributed: every global batch is split among the replicas whole and once, a
replica's loss scaled by its share sums to the global batch's loss (so the summed gradients are the
single process's update), a lost peer is named in one line, a Slurm step on CPU nodes resolves to
its cluster, and two local workers under MultiWorkerMirroredStrategy train a model that is as good
as a single process's with the same settings and global batch."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest
from support import REPO, SMB, invoke, needs_vglc

tf = pytest.importorskip("tensorflow")

from genforge.config import ModelConfig  # noqa: E402
from genforge.core import distributed  # noqa: E402
from genforge.core.fit import GridSpec, dataset  # noqa: E402
from genforge.core.vae import CATEGORICAL, VAE  # noqa: E402


def test_split_steps_leaves_out_only_a_last_batch_smaller_than_the_replicas():
    assert distributed.split_steps(480, 64, 2) == (8, 480)     # 7 full batches and one of 32
    assert distributed.split_steps(449, 64, 2) == (7, 448)     # a last batch of 1 window cannot be split
    assert distributed.split_steps(449, 64, 1) == (8, 449)     # one replica takes it
    assert distributed.split_steps(3, 64, 4) == (0, 0)


@pytest.mark.parametrize("pipelines,replicas", [(1, 1), (2, 2), (2, 4), (3, 3)])
def test_every_window_of_a_global_batch_goes_to_exactly_one_replica(pipelines, replicas):
    """Worker p of `pipelines`, each with replicas/pipelines local replicas, reads its parts; all of
    them together are every global batch, each window once, in parts that differ by at most one."""
    n, batch = 203, 32
    windows = np.arange(n)[:, None, None] * np.ones((1, 2, 3), np.int64) % 5
    ids = np.arange(n) % 3
    spec = GridSpec((2, 3, 5), CATEGORICAL, n_labels=3)
    marked = (windows, ids)
    whole = list(dataset(*marked, spec, batch, shuffle=True, seed=4, epochs=range(2, 4)))
    steps, used = distributed.split_steps(n, batch, replicas)
    local = replicas // pipelines
    parts = {}
    for p in range(pipelines):
        context = tf.distribute.InputContext(pipelines, p, replicas)
        got = list(distributed.replica_parts(dataset(*marked, spec, batch, shuffle=True, seed=4,
                                                     epochs=range(2, 4)), context))
        assert len(got) == 2 * steps * local
        for k, (grid, label, weights, total) in enumerate(got):
            parts.setdefault(k // local, []).append((grid, label, weights, int(total)))
    kept = [b for b in whole if len(b[0]) >= replicas]
    assert len(parts) == len(kept) == 2 * steps
    for step, batch_parts in parts.items():
        grid, label, weights = (np.asarray(t) for t in kept[step])
        assert all(total == len(grid) for *_, total in batch_parts)
        sizes = [len(part[0]) for part in batch_parts]
        assert sum(sizes) == len(grid) and max(sizes) - min(sizes) <= 1
        for r, (g, lab, w, _) in enumerate(batch_parts):  # replica r's part: windows r, r + R, ...
            assert np.array_equal(np.asarray(g), grid[r::replicas])
            assert np.array_equal(np.asarray(lab), label[r::replicas])
            assert np.array_equal(np.asarray(w), weights[r::replicas])
    assert sum(len(b[0]) for b in kept) == 2 * used  # two epochs


def test_the_replicas_shares_of_the_loss_sum_to_the_global_batchs_loss_and_gradient():
    """What makes the distributed update the single process's: sum over parts of share x loss(part)
    is loss(batch), and so are the gradients (a deterministic encoder: no draws of z to differ)."""
    rng = np.random.default_rng(1)
    spec = GridSpec((8, 12, 4), CATEGORICAL, n_labels=2, ignore_class=3)
    windows, ids = rng.integers(0, 4, (37, 8, 12)), rng.integers(0, 2, 37)
    grid, label, weights = (tf.constant(t) for t in (spec.dense(windows), spec.labels(ids),
                                                       spec.weights(windows, ids)))
    config = ModelConfig(filters=(8, 16), latent_dim=8, variational=False, beta=0.0)
    model = VAE(spec.shape, 2, CATEGORICAL, config)
    model((grid[:1], label[:1]))

    def loss_and_grads(parts):
        with tf.GradientTape() as tape:
            loss = sum(share * model.terms(g, lab, training=False, weights=w)["loss"] for share, g, lab, w in parts)
        # the log-variance head of a deterministic encoder has no gradient
        return float(loss), [np.asarray(g) for g in tape.gradient(loss, model.trainable_weights) if g is not None]

    whole_loss, whole_grads = loss_and_grads([(1.0, grid, label, weights)])
    replicas = 3
    parts = [(len(range(r, 37, replicas)) / 37, grid[r::replicas], label[r::replicas], weights[r::replicas])
             for r in range(replicas)]
    split_loss, split_grads = loss_and_grads(parts)
    assert len(split_grads) == len(whole_grads) > 4
    assert split_loss == pytest.approx(whole_loss, rel=1e-5)
    for a, b in zip(whole_grads, split_grads):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5 * np.abs(a).max())


def test_a_lost_peer_is_named_in_a_few_words():
    heartbeat = tf.errors.UnavailableError(None, None, (
        "{{function_node __wrapped__CollectiveReduceV2_device_/job:worker/replica:0/task:0/device:CPU:0}} "
        "Collective ops is aborted by: Error reported from /job:worker/task:1: The following tasks are unhealthy "
        "(stopped sending heartbeats):\n/job:worker/replica:0/task:1\nThe tasks have crashed. Check the task logs"))
    assert distributed.what_broke(heartbeat) == "lost worker 1 (it stopped sending heartbeats)"
    closed = tf.errors.UnavailableError(None, None, (
        "Collective ops is aborted by: Socket closed\nAdditional GRPC error information from remote target "
        "/job:worker/replica:0/task:0 while calling /tensorflow.WorkerService/RecvBuf:\n:UNKNOWN:Error"))
    assert distributed.what_broke(closed) == "lost worker 0 (its connection closed)"
    late = tf.errors.DeadlineExceededError(None, None, "Collective has timed out waiting for other workers.")
    assert distributed.what_broke(late) == (f"the cluster broke off (a collective operation waited more than "
                                           f"{distributed.COLLECTIVE_TIMEOUT_S} s for its peers)")


def test_a_slurm_step_on_cpu_nodes_resolves_to_one_worker_per_task(monkeypatch):
    """TensorFlow's Slurm resolver needs nvidia-smi; on CPU nodes genforge gives tasks no GPU."""
    for name in [k for k in os.environ if k.startswith("SLURM_")] + ["CUDA_VISIBLE_DEVICES"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")  # no nvidia-smi
    monkeypatch.setenv("SLURM_PROCID", "2")
    monkeypatch.setenv("SLURM_STEP_NUM_TASKS", "4")
    monkeypatch.setenv("SLURM_STEP_NODELIST", "node[07-08]")
    monkeypatch.setenv("SLURM_STEP_TASKS_PER_NODE", "2(x2)")
    resolver = distributed.resolver_for(distributed.SLURM)
    spec = resolver.cluster_spec().as_dict()
    assert spec == {"worker": ["node07:8888", "node07:8889", "node08:8888", "node08:8889"]}
    assert (resolver.task_type, resolver.task_id) == ("worker", 2)
    assert not resolver.num_accelerators()


def history_and_test(run) -> tuple[dict, dict]:
    meta = json.loads((run / "genforge.json").read_text())
    return meta["history"], meta["metrics"]["test"]


@needs_vglc
@pytest.mark.slow
def test_two_workers_train_a_model_as_good_as_one_process(tmp_path):
    """Five SMB levels in 14 x 14 windows (one level held out for the test, one for validation, 518
    training windows), 16 epochs of global batch 64 (144 updates: enough to learn more than the sky):
    `--workers 2` (MultiWorkerMirroredStrategy, each worker half of every batch) beside the
    single-process run of the same command. Tolerances: the training loss of every epoch within 2%
    (the updates are the same but for float summation order and the replicas' noise draws),
    held-out accuracy within 0.01 and non-empty accuracy within 0.03. About 2 min on two quiet
    cores, 5 on two cores shared with other jobs."""
    data = tmp_path / SMB.name
    data.mkdir()
    for name in ["mario-1-1.txt", "mario-1-2.txt", "mario-2-1.txt", "mario-3-1.txt", "mario-4-1.txt", "smb.json"]:
        shutil.copy(SMB / name, data / name)
    command = ["train", "levels", "--data", data, "--window", "14x14", "--epochs", 16, "--seed", 3, "-q"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TMPDIR": str(tmp_path)}
    two = subprocess.Popen([sys.executable, "-m", "genforge", *map(str, command), "--out", str(tmp_path / "two"),
                            "--workers", "2"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    streams = {}
    reader = threading.Thread(target=lambda: streams.update(zip(("out", "err"), two.communicate(timeout=600))))
    reader.start()
    one = invoke(*command, "--out", tmp_path / "one")
    reader.join()
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, streams["err"][-3000:]
    assert "model" in streams["out"]  # the chief described the run it wrote

    (one_history, one_test), (two_history, two_test) = history_and_test(tmp_path / "one"), \
        history_and_test(tmp_path / "two")
    record = two_history["distributed"]
    assert (record["workers"], record["replicas"], record["global_batch"]) == (2, 2, 64)
    assert record["windows_per_epoch"] == record["of_windows"]
    print("loss per epoch, 1 process:", [round(v, 1) for v in one_history["loss"]])
    print("loss per epoch, 2 workers:", [round(v, 1) for v in two_history["loss"]])
    np.testing.assert_allclose(two_history["loss"], one_history["loss"], rtol=0.02)
    assert two_history["loss"][-1] < 0.5 * two_history["loss"][0]
    for name, tolerance in (("accuracy", 0.01), ("accuracy_non_empty", 0.03)):
        print(f"held-out {name}: 1 process {one_test[name]:.4f}, 2 workers {two_test[name]:.4f}")
        assert abs(two_test[name] - one_test[name]) <= tolerance, name
    assert min(one_test["accuracy_non_empty"], two_test["accuracy_non_empty"]) > 0.3  # more than sky was learned
    assert not list(tmp_path.glob("genforge-worker*")), "a worker left its temporary checkpoints"

    sampled = invoke("sample", "levels", "--model", tmp_path / "two", "-n", 4, "--seed", 1, "--out", tmp_path / "s")
    assert sampled.returncode == 0, sampled.stderr
    assert len(list((tmp_path / "s").glob("*.tmj"))) == 4
    info = invoke("info", tmp_path / "two")
    assert info.returncode == 0 and "intact" in info.stdout, info.stdout
