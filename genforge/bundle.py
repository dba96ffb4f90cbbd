"""The run bundle: a self-describing folder that training writes and generation reads.

    genforge.json     what the model is: domain, shape, latent size, labels, codec metadata
                      (tile vocabulary and legends...), configs, the exact command, metrics
    decoder.onnx      what generation runs (onnxruntime + numpy, no TensorFlow)
    prior.npz         the Gaussian fitted to the training codes that sampling draws from
                      (binary: a 768-d prior is 2 MB of floats, 9 MB and slow to parse as JSON)
    encoder.onnx      loaded only to encode a real asset (interpolation from files)
    decoder.keras     for training further / inspecting with Keras
    encoder.keras
    checkpoints/      only in an unfinished run: what `train --resume` goes on from (core/checkpoint.py)
    samples.png       a look at what the model makes

No TensorFlow here: this module is on the sampling path.
"""
from __future__ import annotations

import json
import os
import shlex
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genforge import __version__, trust
from genforge.atomic import atomic_path, write_json
from genforge.errors import GenforgeError, brief

META_FILE = "genforge.json"
PRIOR_FILE = "prior.npz"
FORMAT = "genforge-run"
FORMAT_VERSION = 1  # bump when a bundle written before can no longer be read as it is


@dataclass
class Bundle:
    path: Path
    meta: dict

    @property
    def domain(self) -> str:
        return self.meta["domain"]

    @property
    def labels(self) -> list[str]:
        return self.meta["labels"]

    @property
    def latent_dim(self) -> int:
        return self.meta["latent_dim"]

    @property
    def prior(self) -> dict | None:
        """The latent prior sampling draws from: {"kind": "gaussian", mean, scale_tril}, or {"kind":
        "mixture", means, spreads, labels} (genforge.core.latent.fit_mixture); None: N(0, I)."""
        if "_prior" not in self.__dict__:
            if "prior" in self.meta["files"]:
                try:
                    with np.load(self.file("prior"), allow_pickle=False) as f:
                        if "means" in f.files:
                            self._prior = {"kind": "mixture", "means": f["means"].astype(np.float32),
                                           "spreads": f["spreads"].astype(np.float32), "labels": f["labels"],
                                           "training_hashes": f["training_hashes"] if "training_hashes" in f.files
                                           else None}
                        else:
                            self._prior = {"kind": "gaussian", "mean": f["mean"], "scale_tril": f["scale_tril"]}
                except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as e:  # damaged data
                    raise GenforgeError(f"{self.path}: unreadable {PRIOR_FILE}: {brief(e)}") from None
            else:  # bundles written before the prior moved out of genforge.json kept it inline
                self._prior = self.meta.get("prior")
        return self._prior

    @property
    def logit_bias(self) -> np.ndarray | None:
        """Per-label class offsets of calibrated decoding (genforge.core.calibrate), or None."""
        bias = self.meta.get("logit_bias")
        return None if bias is None else np.asarray(bias, np.float32)

    def file(self, name: str) -> Path:
        if name not in self.meta.get("files", {}):
            raise GenforgeError(f"{self.path}: {META_FILE} names no {name} file; the run is incomplete")
        path = trust.inside(self.path, self.meta["files"][name], self.path / META_FILE)  # never outside the folder
        if not path.is_file():
            raise GenforgeError(f"{self.path}: the run lacks {path.name}; it is incomplete or was moved")
        return path

    @property
    def name(self) -> str:
        """How outputs name the model: `bundled:DOMAIN` for the one shipped in the package, else its path."""
        return "bundled:" + self.domain if self.path == default_model(self.domain) else str(self.path)

    @property
    def options(self) -> dict:
        """The training command's options by name (`data` a list, flags True); bundles written before
        genforge recorded them have them read back from their command line, here and only here."""
        if "options" in self.meta:
            return self.meta["options"]
        return options_from_command(self.meta.get("command", ""))

    @property
    def split(self) -> dict[str, dict[str, list[str]]]:
        """Which whole items each split holds, per game (levels) or data folder (music):
        {group: {"train" | "validation" | "test": [names]}}. Older bundles: from the codec's
        games (levels) or the note naming the test pieces (music, test pieces only)."""
        if "split" in self.meta:
            return self.meta["split"]
        if self.domain == "levels":
            return {g["name"]: {part: list(g.get(f"{part}_levels", [])) for part in ("train", "validation", "test")}
                    for g in self.meta["codec"]["games"]}
        for note in self.meta.get("notes", []):
            if note.startswith("held-out test pieces (") and "): " in note:
                return {"": {"test": note.split("): ", 1)[1].split(", ")}}
        return {}

    def data_folders(self) -> list[Path]:
        """The data the model was trained on, as recorded (relative paths are relative to the
        folder training ran in); each found where it exists: under the current folder, else under
        the project that holds this genforge (an editable install: the bundled models' data)."""
        recorded = self.meta.get("data") or self.options.get("data") or []
        project = Path(__file__).resolve().parents[1]
        found = []
        for d in map(Path, recorded):
            found.append(d if d.is_absolute() or d.exists() or not (project / d).exists() else project / d)
        return found

    @property
    def label_counts(self) -> list[int] | None:
        """Training windows per label, in the order of `labels`, when the run records them
        (genforge.json's "label_counts"); None for older runs and unconditional models."""
        counts = self.meta.get("label_counts")
        if not counts or not self.labels:
            return None
        return [int(counts.get(name, 0)) for name in self.labels]

    def label_ids(self, condition: str | None) -> list[int] | None:
        """The labels a --condition names (None for none given): the label it spells exactly
        (case-insensitive), else every label whose words include all of the condition's words
        ("minor" -> "minor 4/4", "minor 3/4"; "3/4"; "minor 3/4")."""
        if condition is None:
            return None
        if not self.labels:
            raise GenforgeError(f"{self.path}: this model is unconditional; it takes no --condition")
        wanted = condition.lower().split()
        exact = [i for i, name in enumerate(self.labels) if name.lower().split() == wanted]
        found = exact or [i for i, name in enumerate(self.labels) if wanted and set(wanted) <= set(name.lower().split())]
        if not found:
            raise GenforgeError(f"unknown --condition {condition!r}; this model knows: " +
                                ", ".join(repr(n) for n in self.labels))
        return found

    def label_id(self, condition: str | None) -> int | None:
        """One label for a --condition (None for none given): the one it names, or of several the one
        with the most training windows (the first when the run does not record them)."""
        found = self.label_ids(condition)
        if found is None:
            return None
        counts = self.label_counts
        return max(found, key=lambda i: counts[i]) if counts else found[0]


def default_model(domain: str) -> Path:
    """The model that ships inside the package, used when no --model is given."""
    return Path(__file__).parent / "models" / domain


def load(model: str | Path | None, domain: str) -> Bundle:
    """The run folder `model` of this domain, or the bundled default model when None."""
    path = Path(model) if model else default_model(domain)
    if model is None and not (path / META_FILE).is_file():
        raise GenforgeError(f"no bundled default {domain} model in this install ({path}); pass --model RUN")
    return open_bundle(path, domain)


def open_bundle(path: str | Path, domain: str | None = None) -> Bundle:
    path = Path(path)
    meta_path = path / META_FILE
    if not path.exists():
        raise GenforgeError(f"{path}: no such model folder")
    if not meta_path.is_file():
        raise GenforgeError(f"{path}: not a genforge run (no {META_FILE}); train one with `genforge train`")
    trust.inside(path, META_FILE, meta_path)  # genforge.json itself may not be a link out of the folder
    try:
        if meta_path.stat().st_size > trust.MAX_META_BYTES:
            raise GenforgeError(f"{meta_path}: larger than any run metadata ({trust.MAX_META_BYTES:,} bytes); refused")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError, a number of 5,000 digits
        raise GenforgeError(f"{meta_path}: unreadable run metadata: {brief(e)}") from None
    except OSError as e:
        raise GenforgeError(f"{meta_path}: cannot read: {e.strerror or e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise GenforgeError(f"{meta_path}: not a genforge run metadata file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise GenforgeError(
            f"{path}: run format {brief(meta.get('format_version'), 40)} (written by genforge "
            f"{brief(meta.get('genforge_version'), 40)}); "
            f"this genforge {__version__} reads format {FORMAT_VERSION}. Retrain, or use a matching genforge.")
    if domain and meta.get("domain") != domain:
        raise GenforgeError(f"{path}: a {str(meta.get('domain'))[:40]} model, not a {domain} one")
    trust.check_meta(path, meta)  # types, bounded sizes, file names inside the folder
    if "prior" in meta["files"]:
        trust.check_prior_file(path, meta)  # shapes against latent_dim, from the array headers
    return Bundle(path, meta)


def write_prior(path: Path, prior: dict) -> Path:
    """prior.npz: a Gaussian's mean and scale_tril (float32), or a mixture's component means and
    spreads (float16: a thousandth of a latent's spread is far below what changes a tile) and
    their labels."""
    if prior.get("kind") == "mixture":
        arrays = {"means": np.asarray(prior["means"], np.float16), "spreads": np.asarray(prior["spreads"], np.float16),
                  "labels": np.asarray(prior["labels"], np.int32)}
        if prior.get("training_hashes") is not None:  # fingerprints of the training windows: no copies
            arrays["training_hashes"] = np.asarray(prior["training_hashes"], np.uint64)
    else:
        arrays = {"mean": np.asarray(prior["mean"], np.float32), "scale_tril": np.asarray(prior["scale_tril"], np.float32)}
    with atomic_path(path / PRIOR_FILE) as tmp:
        with open(tmp, "wb") as f:  # a file object: np.savez would add ".npz" to a bare path
            np.savez_compressed(f, **arrays)
    return path / PRIOR_FILE


def write_meta(path: Path, meta: dict) -> Path:
    return write_json(path / META_FILE, {"format": FORMAT, "format_version": FORMAT_VERSION,
                                         "genforge_version": __version__, **meta})


def options_from_command(command: str) -> dict:
    """`genforge train DOMAIN --data A --data B --seed 0 --quiet` -> {"data": ["A", "B"], "seed": "0",
    "quiet": True}: option values as the command gave them (strings), `--name=value` too."""
    try:
        words = shlex.split(command)
    except ValueError:
        return {}
    options: dict = {}
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("--"):
            continue
        name, eq, value = word[2:].partition("=")
        if not eq:
            if i < len(words) and not words[i].startswith("--"):
                value = words[i]
                i += 1
            else:
                value = True
        name = name.replace("-", "_")
        if name == "data":
            options.setdefault("data", []).append(value)
        else:
            options[name] = value
    return options


def relative_path(path: str | Path) -> str:
    """A path as a bundle or result records it: relative to the current folder (the project, when
    training runs there), never the absolute path of the machine that trained it."""
    path = Path(path)
    return os.path.relpath(path) if path.is_absolute() else str(path)


def describe(bundle: Bundle, codec_lines: list[str]) -> list[str]:
    """What `genforge info` prints of a run: the model, its window and labels, `codec_lines` (the
    codec's own account: tile vocabulary per game, or metre, pitches and voices), the metrics per
    split, attribute vectors, training time, the command and the notes training left."""
    m = bundle.meta
    lines = [f"model      {bundle.path}",
             f"domain     {m['domain']}  (genforge {m['genforge_version']}, run format {m['format_version']})",
             f"window     {' x '.join(map(str, m['shape']))}  latent {m['latent_dim']}  likelihood {m['likelihood']}",
             f"labels     {', '.join(m['labels']) if m['labels'] else '(unconditional)'}",
             *codec_lines]
    for split in ("train", "test"):
        s = m["metrics"].get(split)
        if s:
            lines.append(f"{split:<10} accuracy {s['accuracy']:.4f}  non-empty {s['accuracy_non_empty']:.4f}"
                         f"{_f1(s)}  ({s['windows']} windows)")
            for name, ps in s.get("per_label", {}).items():
                lines.append(f"  {name:<30} {ps['accuracy']:.4f}  non-empty {ps['accuracy_non_empty']:.4f}{_f1(ps)}")
    base = m["metrics"].get("baseline")
    if base:
        f1 = f"  onset F1 {base['onset_f1']:.4f}" if base.get("onset_f1") is not None else ""
        what = "each cell's most frequent tile" if m["likelihood"] == "categorical" else "each cell on at its rate"
        lines.append(f"baseline   accuracy {base['accuracy']:.4f}  non-empty {base['accuracy_non_empty']:.4f}{f1}  "
                     f"(a model that learned only {what} in the training windows; on the test windows)")
    stats = m["metrics"].get("sample_stats")
    if stats:
        lines.append("statistics " + ", ".join(f"{k.replace('_', ' ')} {v:.2f} ({stats['training'].get(k, 0):.2f})"
                                               for k, v in stats["samples"].items()) + "  (training windows')")
    if m.get("attributes"):
        lines.append(f"attributes {', '.join(m['attributes'])}  (sample with --attribute NAME=AMOUNT)")
    samples = m["metrics"].get("samples")
    if samples:
        redrawn = (bundle.prior or {}).get("training_hashes") is not None
        lines.append(f"samples    {samples['share_identical_to_training']:.1%} of {samples['n']} prior draws decode to a "
                     "training window" + ("; `sample` redraws those" if redrawn else ""))
    h = m.get("history", {})
    if h:
        lines.append(f"training   {h.get('epochs_run')} epochs in {h.get('seconds', 0):.0f} s")
    lines.append(f"command    {m['command']}")
    lines += [f"warning    {w}" for w in m.get("warnings", [])]
    lines += [f"note       {note}" for note in m.get("notes", [])]
    return lines


def _f1(scores: dict) -> str:
    return f"  onset F1 {scores['onset_f1']:.4f}" if scores.get("onset_f1") is not None else ""
