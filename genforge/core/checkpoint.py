"""A training run's checkpoint: what `genforge train --resume` continues from after the process
died (a laptop that slept and never woke, kill -9, an out-of-memory kill).

One file, `checkpoints/last.npz` in the run folder, rewritten after every epoch:
  model.*      the model's variables: weights, the KL warm-up's update counter and the states of
               the random generators (input noise, sampling of z, dropout)
  optimizer.*  the optimiser's variables: Adam's update count, moments and learning rate
  best.*       the weights of the early stopping's best epoch so far (none before it has one)
  state        JSON: epochs done and planned, whether the early stopping has stopped the run, its
               smoothed accuracy and best epoch, the history so far, the seconds trained, and what
               the run is (`identity`: its settings and a hash of its data split)
The training data's order needs nothing saved: each epoch's is drawn from (seed, epoch) alone
(genforge.core.fit.dataset).

The file is written whole to a temporary name, flushed to the disk and renamed over the last one,
so a kill at any moment leaves the previous checkpoint or the new one, never a part of either.
A finished run deletes the folder: a run folder that holds one is unfinished.

No TensorFlow here: the checkpoint callback (genforge.core.fit) hands over numpy arrays.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genforge.atomic import atomic_path
from genforge.errors import GenforgeError, brief

FOLDER = "checkpoints"   # inside the run folder
FILE = "last.npz"
GROUPS = ("model", "optimizer", "best")


@dataclass
class Checkpoint:
    state: dict
    arrays: dict[str, list[np.ndarray]]   # GROUPS -> arrays in the order of their variables

    @property
    def epoch(self) -> int:
        """Epochs completed."""
        return int(self.state["epoch"])


def write(folder: str | Path, state: dict, arrays: dict[str, list[np.ndarray]]) -> Path:
    """Replace the folder's checkpoint with this one, atomically (see the module's notes)."""
    buffer = io.BytesIO()
    named = {f"{group}.{i}": np.asarray(a) for group in GROUPS for i, a in enumerate(arrays.get(group, []))}
    counts = {group: len(arrays.get(group, [])) for group in GROUPS}
    np.savez(buffer, state=np.array(json.dumps({**state, "counts": counts})), **named)
    path = Path(folder) / FILE
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(buffer.getbuffer())
        f.flush()
        os.fsync(f.fileno())  # on the disk before the rename: a power cut cannot leave an empty file behind
    return path


def read(folder: str | Path) -> Checkpoint | None:
    """The folder's checkpoint, or None when it has none. Temporary files a kill left beside it are
    ignored: they were never renamed into place."""
    path = Path(folder) / FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            state = json.loads(str(f["state"]))
            arrays = {group: [f[f"{group}.{i}"] for i in range(state["counts"][group])] for group in GROUPS}
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as e:
        raise GenforgeError(f"{path}: unreadable training checkpoint ({brief(e, 120)}); delete {Path(folder)} "
                            f"to train from the start") from None
    return Checkpoint(state, arrays)


def identity(model_config: dict, train_config: dict, splits: dict, init_from: str | None, command: str) -> dict:
    """What a run is, as a checkpoint records it: its settings, a hash of its data split (every
    split's windows and labels, so other data, another window or another split differ) and where
    its weights started. `command` is recorded to be shown, not compared: paths in it depend on
    the folder it was typed in."""
    digest = hashlib.sha256()
    for name in sorted(splits):
        for array in splits[name]:
            array = np.ascontiguousarray(array)
            digest.update(f"{name} {array.dtype} {array.shape}".encode())
            digest.update(array.tobytes())
    # Through JSON, as the checkpoint keeps it: tuples become lists on both sides of a comparison.
    return json.loads(json.dumps({"model_config": model_config, "train_config": train_config,
                                  "data": digest.hexdigest(), "init_from": init_from, "command": command}))


def differences(saved: dict, current: dict) -> list[str]:
    """How `current` (an identity) differs from a checkpoint's, in words: settings by name, the
    data as a whole."""
    found = []
    for group in ("model_config", "train_config"):
        before, now = saved.get(group, {}), current[group]
        found += [f"{name} {before.get(name)} there, {now.get(name)} here"
                  for name in sorted(before.keys() | now.keys()) if before.get(name) != now.get(name)]
    if saved.get("data") != current["data"]:
        found.append("other data or another split")
    if saved.get("init_from") != current["init_from"]:
        found.append(f"--init-from {saved.get('init_from')} there, {current['init_from']} here")
    return found


def resume_point(out: str | Path, current: dict, resume: bool, finished: bool) -> Checkpoint | None:
    """The checkpoint a run in `out` continues from: None for a fresh start (no checkpoint, with or
    without --resume). An unfinished run is never overwritten unasked, nor a finished one trained
    again by --resume: without --resume, when the checkpoint is another command's, or when `out`
    holds a `finished` run, one line says what to do."""
    folder = Path(out) / FOLDER
    saved = read(folder)
    if saved is None:
        if resume and finished:
            raise GenforgeError(f"--resume: {out} holds a finished run, nothing to resume; choose another --out to "
                                f"train again")
        return None
    done = f"{saved.epoch} of {saved.state['epochs']} epochs done"
    if not resume:
        raise GenforgeError(f"{out} holds an unfinished training run ({done}); pass --resume to continue it, or "
                            f"choose another --out")
    found = differences(saved.state["identity"], current)
    if found:
        raise GenforgeError(f"{out} holds an unfinished run of another command ({'; '.join(found)}): "
                            f"{saved.state['identity'].get('command')} ({done}); resume it with that command, "
                            f"or choose another --out")
    return saved
