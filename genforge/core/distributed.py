"""Training across processes and machines: synchronous data parallelism with tf.distribute's
MultiWorkerMirroredStrategy and a training loop of its own (Keras 3's `fit` does not run under
that strategy: keras-team/keras#20585).

Every worker runs the same command. Where the others are comes from the standard cluster spec:
`TF_CONFIG` (Kubernetes operators, cloud trainers, `genforge train --workers N`) or a Slurm job
step of several tasks. Each worker builds the same model from the same seed (the strategy
broadcasts the chief's initial values besides), reads the same (seed, epoch) order of the training
windows (genforge.core.fit.dataset) and takes its replicas' parts of every global batch: global
batch b, replica r of R gets windows r, r + R, r + 2R, ... of it. A replica's gradient is scaled by
its part's share of the global batch and the strategy sums the replicas' gradients, so every
update is the one a single process makes on the whole batch, with the same loss (VAE.update, the
rule `fit` uses). Where it differs: the free-bits floor of the KL term applies to each replica's
batch mean rather than the global one, the replicas draw the same noise for the same place in their
parts (one random generator state, mirrored), and a batch of fewer windows than replicas (an
epoch's last, at most R - 1 windows) is left out, by every worker alike.

A machine's GPUs are replicas of their worker (the strategy mirrors across local devices as
MirroredStrategy does); without GPUs a worker is one CPU replica.

The chief (task 0) writes the checkpoints and the run bundle; the other workers write their
checkpoints to a temporary folder they delete (the strategy's documented pattern: every worker runs
the same code) and wait at a barrier until the chief's bundle is written. A worker that stops
answering breaks its peers' collective operations (the coordination service's heartbeats, or
`COLLECTIVE_TIMEOUT_S` for a peer that hangs): they end with one line, not a hang, and the run goes
on from the chief's last checkpoint with --resume (on any number of workers: the global batch is a
setting of the run, not of the cluster).
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from genforge.cluster import SLURM, TF_CONFIG
from genforge.core import checkpoint
from genforge.core.fit import (DENSE_BATCH, EpochCheckpoint, GridSpec, ProgressBar, SmoothedEarlyStopping,
                               build_model, dataset, restore, run_history, run_so_far, schedule)
from genforge.core.vae import VAE
from genforge.errors import GenforgeError, brief

COLLECTIVE_TIMEOUT_S = 600   # a collective op waiting longer on a peer fails: nobody hangs on a stuck worker
PACK_BYTES = 64 << 20     # gradients all-reduced together up to this size
BUNDLE_TIMEOUT_S = 6 * 3600  # how long the other workers wait for the chief's bundle
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")  # TensorFlow's own names
# What a peer that died or hangs does to a collective operation, as TensorFlow reports it.
BROKEN = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
          tf.errors.AbortedError, tf.errors.InternalError, tf.errors.FailedPreconditionError)


def split_steps(n_windows: int, batch: int, replicas: int) -> tuple[int, int]:
    """(updates, windows used) per epoch when each global batch is split among `replicas`: a batch
    of fewer windows than replicas (only an epoch's last can be) is left out."""
    full, rest = divmod(n_windows, batch)
    kept = rest if rest >= replicas else 0
    return full + bool(kept), full * batch + kept


def replica_parts(batches: tf.data.Dataset, context: tf.distribute.InputContext) -> tf.data.Dataset:
    """This worker's parts of each global batch, one element per local replica in replica order:
    (grid, label, weights) of windows r, r + R, ... and the global batch's size. Batches with fewer
    windows than replicas are dropped (`split_steps`)."""
    replicas = context.num_replicas_in_sync
    local = replicas // context.num_input_pipelines
    first = context.input_pipeline_id * local

    def parts(*batch):
        total = tf.shape(batch[0])[0]

        def part(r):
            r = tf.cast(r, tf.int32)
            return (*(t[r::replicas] for t in batch), total)

        return tf.data.Dataset.range(first, first + local).map(part)

    return batches.filter(lambda *b: tf.shape(b[0])[0] >= replicas).flat_map(parts).prefetch(tf.data.AUTOTUNE)


def slurm_resolver() -> tf.distribute.cluster_resolver.ClusterResolver:
    """The Slurm job step's cluster (one worker per task, ports from 8888). TensorFlow's resolver
    counts GPUs with nvidia-smi and gives each task its share; on CPU nodes (no nvidia-smi) it
    fails, so there each task is given no accelerator."""
    from tensorflow.python.distribute.cluster_resolver.slurm_cluster_resolver import SlurmClusterResolver

    if shutil.which("nvidia-smi") or "CUDA_VISIBLE_DEVICES" in os.environ:
        return SlurmClusterResolver()

    class CpuSlurmResolver(SlurmClusterResolver):
        def num_accelerators(self, task_type=None, task_id=None, config_proto=None):
            return {}

    # A port per task on a node: the resolver pairs them with GPU slots, so it is given one per task.
    tasks = int(os.environ.get("SLURM_STEP_NUM_TASKS", "1"))
    return CpuSlurmResolver(gpus_per_node=tasks, gpus_per_task=1, auto_set_gpu=False)


def resolver_for(source: str) -> tf.distribute.cluster_resolver.ClusterResolver:
    if source == TF_CONFIG:
        return tf.distribute.cluster_resolver.TFConfigClusterResolver()
    if source == SLURM:
        return slurm_resolver()
    raise ValueError(f"unknown cluster description {source!r}")


def set_threads() -> dict[str, int]:
    """TensorFlow's thread pools sized from TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS where
    set (`genforge train --workers N` sets them so that N workers share the cores, not each take
    them all); before the strategy starts TensorFlow's runtime. Returns what was set."""
    setters = (tf.config.threading.set_intra_op_parallelism_threads,
               tf.config.threading.set_inter_op_parallelism_threads)
    chosen = {}
    for name, setter in zip(THREAD_VARIABLES, setters):
        if os.environ.get(name, "").isdigit():
            chosen[name] = int(os.environ[name])
            setter(chosen[name])
    return chosen


class Worker:
    """This process as one worker of a cluster: the strategy, its place in the cluster and the
    training loop. Made before TensorFlow runs any operation (the strategy configures the runtime's
    collective ops), so before a model is loaded (--init-from)."""

    def __init__(self, source: str):
        self.source = source
        self.threads = set_threads()
        resolver = resolver_for(source)
        try:
            # Gradients packed into one all-reduce per update, not one per variable: each collective costs a
            # round trip between workers, whatever its size.
            options = tf.distribute.experimental.CommunicationOptions(bytes_per_pack=PACK_BYTES,
                                                                      timeout_seconds=COLLECTIVE_TIMEOUT_S)
            self.strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver,
                                                                      communication_options=options)
            cluster = resolver.cluster_spec()
        except (ValueError, KeyError, RuntimeError, tf.errors.OpError) as e:
            raise GenforgeError(f"cannot join the cluster {source} describes: {brief(e, 200)}") from None
        self.task_type, self.task_id = resolver.task_type, int(resolver.task_id or 0)
        self.workers = sum(cluster.num_tasks(job) for job in cluster.jobs)
        # The chief: a task of type "chief" where the cluster names one, else worker 0.
        self.chief = self.task_type == "chief" or (self.task_type == "worker" and self.task_id == 0
                                                   and "chief" not in cluster.jobs)
        self.replicas = self.strategy.num_replicas_in_sync
        self.name = f"{self.task_type} {self.task_id} of {self.workers}"

    def fit(self, train: tuple[np.ndarray, np.ndarray], validation: tuple[np.ndarray, np.ndarray], spec: GridSpec,
            model_cfg, train_cfg, checkpoint_dir: Path | None = None, quiet: bool = False, init=None,
            class_map=None, identity: dict | None = None,
            resume: checkpoint.Checkpoint | None = None) -> tuple[VAE, dict]:
        """genforge.core.fit.fit on every worker of the cluster at once, with the same arguments and
        the same result: a model (outside the strategy, for the measurements and exports that
        follow) with the weights of the best validation epoch, and the history, which adds
        `distributed` (workers, replicas, global batch, windows and seconds of training per epoch)."""
        strategy, replicas, batch = self.strategy, self.replicas, train_cfg.batch_size
        if batch < replicas:
            raise GenforgeError(f"a batch of {batch} windows cannot be split among {replicas} replicas")
        epochs, patience = schedule(len(train[0]), train_cfg)
        steps, used = split_steps(len(train[0]), batch, replicas)
        if not steps:
            raise GenforgeError(f"{len(train[0])} training windows are too few for {replicas} replicas")
        val_steps, _ = split_steps(len(validation[0]), DENSE_BATCH, replicas)
        with strategy.scope():
            model = build_model(train, spec, model_cfg, train_cfg, steps, init, class_map)
            model.optimizer.build(model.trainable_variables)  # in the strategy's scope, not inside a replica
            stopper = SmoothedEarlyStopping(patience, model_cfg.kl_warmup_epochs)
            done, past = 0, run_so_far(resume)
            if resume is not None:
                restore(model, stopper, resume)
                done = epochs if resume.state["stopped"] else min(resume.epoch, epochs)
        scratch = None if self.chief or checkpoint_dir is None else Path(tempfile.mkdtemp(prefix="genforge-worker-"))
        callbacks = [stopper]
        if checkpoint_dir is not None:
            callbacks.append(EpochCheckpoint(scratch or checkpoint_dir, stopper, epochs, identity or {}, past))
        callbacks.append(ProgressBar(epochs, quiet or not self.chief, done))
        for callback in callbacks:
            callback.set_model(model)

        def batches(split, size, shuffle, epoch_range=range(1)):
            return strategy.distribute_datasets_from_function(
                lambda context: replica_parts(dataset(*split, spec, size, shuffle, train_cfg.seed, epoch_range),
                                              context))

        train_data = batches(train, batch, True, range(done, epochs))
        val_data = batches(validation, DENSE_BATCH, False) if val_steps else None
        started = time.perf_counter()
        try:
            new, seconds = self._loop(model, callbacks, train_data, val_data, steps, val_steps, done, epochs)
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        history = run_history(past, new, time.perf_counter() - started, epochs, patience, stopper)
        history["distributed"] = {"strategy": "MultiWorkerMirroredStrategy", "cluster": self.source,
                                  "workers": self.workers, "replicas": replicas, "global_batch": batch,
                                  "windows_per_epoch": used, "of_windows": len(train[0]),
                                  "train_seconds": seconds, "threads": self.threads}
        copy = VAE(spec.shape, spec.n_labels, spec.likelihood, model_cfg, steps_per_epoch=steps, seed=train_cfg.seed,
                   one_of=spec.one_of)
        copy((spec.dense(train[0][:1]), spec.labels(train[1][:1])))
        copy.set_weights(model.get_weights())
        return copy, history

    def _loop(self, model: VAE, callbacks: list, train_data, val_data, steps: int, val_steps: int,
              done: int, epochs: int) -> tuple[dict[str, list], list[float]]:
        """The epochs left: `steps` updates each, then the validation, then the callbacks as Keras'
        fit calls them (early stopping, checkpoint, progress). Returns the history of these epochs
        (name -> a value per epoch, as Keras names them) and each epoch's training seconds."""
        strategy = self.strategy
        total = tf.distribute.ReduceOp.SUM

        def train_replica(grid, label, weights, size):
            share = tf.cast(tf.shape(grid)[0], tf.float32) / tf.cast(size, tf.float32)
            return {k: v * share for k, v in model.update((grid, label, weights), share).items()}

        def test_replica(grid, label, weights, size):
            share = tf.cast(tf.shape(grid)[0], tf.float32) / tf.cast(size, tf.float32)
            return {k: v * share for k, v in model.terms(grid, label, training=False, weights=weights).items()}

        @tf.function
        def train_step(parts):
            return {k: strategy.reduce(total, v, axis=None) for k, v in strategy.run(train_replica, parts).items()}

        @tf.function
        def test_step(parts):
            return {k: strategy.reduce(total, v, axis=None) for k, v in strategy.run(test_replica, parts).items()}

        def mean_over(step, iterator, n):
            sums = None
            for _ in range(n):
                out = step(next(iterator))
                sums = out if sums is None else {k: sums[k] + out[k] for k in sums}
            return {k: float(v) / n for k, v in sums.items()}

        history, seconds = {}, []
        model.stop_training = False
        epoch = done
        try:
            with strategy.scope():
                for callback in callbacks:
                    callback.on_train_begin()
                if done < epochs:
                    train_it = iter(train_data)
                    for epoch in range(done, epochs):
                        began = time.perf_counter()
                        logs = mean_over(train_step, train_it, steps)
                        seconds.append(time.perf_counter() - began)
                        if val_data is not None:
                            logs.update({f"val_{k}": v for k, v in mean_over(test_step, iter(val_data),
                                                                               val_steps).items()})
                        for callback in callbacks:
                            callback.on_epoch_end(epoch, logs)
                        for k, v in logs.items():
                            history.setdefault(k, []).append(v)
                        if model.stop_training:
                            break
                for callback in callbacks:
                    callback.on_train_end()
        except BROKEN as e:
            raise GenforgeError(f"{self.name}: {what_broke(e)} in epoch {epoch + 1}; restart every worker with "
                                f"--resume to go on from the last checkpoint") from None
        return history, seconds

    def finish(self) -> None:
        """Wait until every worker is here: the others right after training, the chief once it has
        written the bundle; none leaves while another may still need it. A chief that died on the
        way ends the wait with an error, not a hang."""
        from tensorflow.python.eager import context

        try:
            context.context().wait_at_barrier("genforge-run-written", BUNDLE_TIMEOUT_S * 1000)
        except tf.errors.OpError as e:
            if not self.chief:
                raise GenforgeError(f"{self.name}: the chief stopped before the run was written ({what_broke(e)}); "
                                    f"restart every worker with --resume") from None


def what_broke(error: tf.errors.OpError) -> str:
    """A collective operation's failure in a few words: which peer was lost and how, from
    TensorFlow's message (which quotes the graph and the gRPC call)."""
    text = error.message
    unhealthy = re.search(r"unhealthy[^:]*:\s*((?:/job:\S+\s*)+)", text)
    peers = re.findall(r"/job:(\w+)/replica:\d+/task:(\d+)", unhealthy.group(1)) if unhealthy else \
        re.findall(r"remote target /job:(\w+)/replica:\d+/task:(\d+)", text)
    if isinstance(error, tf.errors.DeadlineExceededError):
        how = f"a collective operation waited more than {COLLECTIVE_TIMEOUT_S} s for its peers"
    elif unhealthy:
        how = "it stopped sending heartbeats"
    elif "Socket closed" in text or "Connection reset" in text or "Failed to connect" in text:
        how = "its connection closed"
    else:
        aborted = re.search(r"aborted by: ([^\n]*)", text)
        how = brief(aborted.group(1) if aborted else f"{type(error).__name__}: {text.splitlines()[0] if text else ''}",
                    120)
    if not peers:
        return f"the cluster broke off ({how})"
    return f"lost {', '.join(f'{job} {task}' for job, task in dict.fromkeys(peers))} ({how})"


def join(source: str | None) -> Worker | None:
    """This process as a worker of the cluster `source` describes (TF_CONFIG or SLURM), or None
    (a single process, trained by genforge.core.fit.fit)."""
    return Worker(source) if source else None
