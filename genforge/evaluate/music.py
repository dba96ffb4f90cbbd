"""`genforge evaluate music`: how a music model's samples compare with real music it never saw.

onnxruntime + numpy (+ Pillow for the figures): never TensorFlow. The model's data split is
rebuilt from its recorded settings (seed, test and validation shares, label scheme; windows in
the model's metre, pitch range and voices, untransposed), and every figure is computed for the
samples, for the held-out test windows (whole pieces never trained on) and for the training
windows, side by side, per condition and pooled:

  in_asked_mode_scale     share of note onsets inside the best-fitting scale of the window's mode
                          (tonic free: a mode-conditioned model is told major or minor, not the
                          tonic); the asked mode for samples, the piece's label for real windows;
                          only for mode labels. Scales: genforge.domains.music.theory.scale_pitch_classes
  estimated_mode_agrees   share of non-silent windows whose estimated key (Krumhansl-Schmuckler,
                          music.theory.window_keys) has that mode
  in_scale_share          share of note onsets inside the scale of each window's own estimated key
  polyphony               notes sounding at once, over the steps where anything sounds
  pitch_classes_per_bar   distinct pitch classes sounding in a bar, over the non-empty bars
                          ("used pitch classes")
  empty_bar_rate          share of bars in which nothing sounds
  qualified_note_rate     share of notes lasting at least 2 steps (an eighth note on a 16th grid)
  voices (per voice)      clusters: share of the voice's onset steps where it starts two or more
                          notes at once (0 in the Bach chorales); notes_per_beat: its notes per beat
  notes_per_bar           notes (all voices) per bar
  silent_windows          share of windows without a single note
  novelty                 share of cells (steps x pitches x onset/hold channels) differing between a
                          window and its nearest training window, every window first transposed so
                          that its estimated tonic is C (a shift of -5..+6 semitones, on a pitch axis
                          widened so no note drops): a transposed copy of a training window, which the
                          model saw when it trained on transposed windows, counts as a copy. For the
                          samples and, as the reference, the held-out windows; share_identical: the
                          share at distance 0
  gap                     (samples - held-out) / |held-out| for each figure

Each condition is measured in its own metre: a label's windows (samples, held-out and training
alike) cropped to its whole bars, bars counted in its time signature (a "minor 3/4" label of a
model with windows in every metre: 5 bars of 12 steps), and novelty against the training windows
of the same metre.

Ratios pool numerators and denominators over windows (a busy window weighs more than a quiet
one), as genforge.domains.music.stats.window_sums does. Per-window attributes (density, pitch range,
polyphony, register, note length: music.stats.window_attributes) are summarised as mean/std/median
and drawn as histograms.

Writes report.json, report.md, stats.png (attribute histograms: samples, held-out and training
overlaid) and rolls.png (sample piano rolls beside held-out ones), each atomically.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from genforge import __version__, runtime
from genforge.atomic import write_json, write_text
from genforge.bundle import load
from genforge.domains import codec_for
from genforge.domains.music.dataset import build_dataset
from genforge.domains.music.metres import mode_word
from genforge.domains.music.roll import as_batch, ts_text
from genforge.domains.music.stats import ATTRIBUTES, summarise, voice_sums, window_attributes, window_sums
from genforge.domains.music.theory import KEY_SCALES, MODES, key_normalised, window_keys
from genforge.errors import GenforgeError
from genforge.evaluate.common import (SETS, finite, nearest_distance, relative_gap, summary,
                                      training_data, two_sample_auc)
from genforge.evaluate.music_report import MEASURES, figures, markdown

MOST = 20_000                 # samples per condition
TRAINING_MOST = 20_000        # training windows measured and searched for nearest neighbours
CHUNK = 1024                  # windows measured at a time
DECODE_CHUNK = 128            # windows decoded at a time: onnxruntime's memory grows with the batch (1.6 GB at 1024)
SUM_KEYS = ("poly", "pcb", "empty", "qual", "scale", "notes_per_bar", "silent_windows", "in_asked_mode_scale",
            "estimated_mode_agrees")
_MODE_SCALES = KEY_SCALES.reshape(len(MODES), 12, 12)                          # (mode, tonic, pitch class)


# ---------------------------------------------------------------- measures (numpy)

def measure_sums(grids: np.ndarray, steps_per_bar: int, low: int, modes: np.ndarray | None = None,
                 steps_per_beat: int = 4) -> dict:
    """Per-window (numerator, denominator) of every measure above but novelty, (N,) arrays each,
    so any subset of windows is summarised by summing (music.stats.summarise). `modes`: per window the
    index in music.theory.MODES its mode-based measures use, -1 for none (those windows are left out).
    Per voice v: "clusters/v" and "notes_per_beat/v" (music.stats.voice_sums)."""
    g = as_batch(grids)
    n = len(g)
    if not n:
        keys = list(SUM_KEYS) + [f"{k}/{v}" for v in range(g.shape[-1] // 2) for k in ("clusters", "notes_per_beat")]
        return {k: (np.zeros(0, int), np.zeros(0, int)) for k in keys}
    modes = np.full(n, -1) if modes is None else np.asarray(modes)
    keys = window_keys(g, low)
    sums = window_sums(g, steps_per_bar, low, keys=keys)
    bars = max(1, g.shape[1] // steps_per_bar)
    sums["notes_per_bar"] = (sums["qual"][1], np.full(n, bars))
    busy = g.any(axis=(1, 2, 3))
    sums["silent_windows"] = ((~busy).astype(int), np.ones(n, int))
    has_mode = modes >= 0
    onsets = np.count_nonzero(g[..., 0::2], axis=(1, 3))                               # (N, P)
    per_class = onsets @ np.eye(12, dtype=np.int64)[(low + np.arange(g.shape[2])) % 12]   # (N, 12)
    inside = np.einsum("nc,ntc->nt", per_class, _MODE_SCALES[np.maximum(modes, 0)].astype(np.int64))
    sums["in_asked_mode_scale"] = (np.where(has_mode, inside.max(1), 0), np.where(has_mode, per_class.sum(1), 0))
    agree = busy & has_mode & (keys // 12 == modes)
    sums["estimated_mode_agrees"] = (agree.astype(int), (busy & has_mode).astype(int))
    sums.update(voice_sums(g, steps_per_beat))
    return sums


def _chunked_sums(grids: np.ndarray, steps_per_bar: int, low: int, modes: np.ndarray, steps_per_beat: int) -> dict:
    parts = [measure_sums(grids[i:i + CHUNK], steps_per_bar, low, modes[i:i + CHUNK], steps_per_beat)
             for i in range(0, len(grids), CHUNK)]
    return _join(parts, empty_like=measure_sums(grids[:0], steps_per_bar, low, steps_per_beat=steps_per_beat))


def _join(parts: list[dict], empty_like: dict | None = None) -> dict:
    """Concatenate per-window dicts (values: arrays, or (num, den) pairs of arrays)."""
    if not parts:
        return empty_like or {}
    out = {}
    for k, v in parts[0].items():
        if isinstance(v, tuple):
            out[k] = tuple(np.concatenate([p[k][j] for p in parts]) for j in range(len(v)))
        else:
            out[k] = np.concatenate([p[k] for p in parts])
    return out


def _ratios(sums: dict) -> dict:
    return {k: (None if v is None else round(v, 4)) for k, v in summarise(sums).items()}


def describe(grids: np.ndarray, codec, label: str | None) -> dict:
    """The measures of a batch of windows of one label (or None), in the label's metre and with its
    mode word, as a flat dict with the window count (the rows benchmarks/music_experiments.py prints)."""
    label_id = codec.labels.index(label) if label in codec.labels else -1
    mode = mode_word(label, MODES)
    modes = np.full(len(grids), MODES.index(mode) if mode else -1)
    _, _, per_bar = codec.metre(label_id)
    out = summarise(_chunked_sums(np.asarray(grids)[:, :codec.content_steps(label_id)], per_bar, codec.low, modes,
                                  codec.steps_per_beat))
    out["windows"] = int(len(grids))
    if mode is None:
        out.pop("in_asked_mode_scale")
        out.pop("estimated_mode_agrees")
    return out


def _attributes(grids: np.ndarray, per_bar: int, low: int) -> dict[str, np.ndarray]:
    return window_attributes(grids, per_bar, low)


# ---------------------------------------------------------------- the data

def _label_scheme(bundle, folders: list[Path]) -> str | None:
    """The `labels` build_dataset was given at training: the recorded --labels option, else (a
    library call) what the model's labels say."""
    given = bundle.options.get("labels")
    if given:
        return None if given == "none" else given
    labels = list(bundle.labels)
    metres = bundle.meta.get("codec", {}).get("label_metres")
    if metres:              # labels that name the metre: "minor 3/4", "3/4"; their scheme is in the rest
        labels = sorted({" ".join(name.split()[:-1]) for name in labels} - {""})
    if not labels:
        return None
    if set(labels) <= set(MODES) and (metres or labels == list(MODES)):
        return "mode"
    return "folder" if labels == sorted(p.name for p in folders) else "sidecar"


def rebuild_dataset(bundle, codec, folders: list[Path]):
    from genforge.config import TrainConfig, from_dict

    tc = from_dict(TrainConfig, bundle.meta["train_config"])
    # A model with windows in every metre is rebuilt that way; an older one in its one metre.
    ds = build_dataset([str(f) for f in folders], bars=codec.bars, steps_per_beat=codec.steps_per_beat,
                       test=tc.test_levels, validation=tc.validation_levels, seed=tc.seed, transpose=0,
                       labels=_label_scheme(bundle, folders),
                       time_signature=None if codec.short_sections else codec.time_signature,
                       pitch_range=(codec.low, codec.high), voices=len(codec.voices))
    if list(ds.labels) != list(bundle.labels):
        raise GenforgeError(f"the data's labels ({', '.join(ds.labels) or 'none'}) are not the model's "
                            f"({', '.join(bundle.labels) or 'none'}); pass the data it was trained on with --data")
    return ds, tc


def recorded_test_pieces(bundle) -> list[str] | None:
    """The pieces the model was tested on at training, from every data folder; None if unrecorded."""
    parts = [p["test"] for p in bundle.split.values() if "test" in p]
    return [name for part in parts for name in part] if parts else None


# ---------------------------------------------------------------- the job

def roll_features(grids: np.ndarray, low: int) -> np.ndarray:
    """What the two-sample classifier sees of piano-roll windows (N, S, P, 2V): each voice's onset
    cells, and the window's pitch-class histogram of onsets (shares)."""
    g = as_batch(grids)
    onsets = g[..., 0::2]
    n = len(g)
    per_class = np.count_nonzero(onsets, axis=(1, 3)) @ np.eye(12)[(low + np.arange(g.shape[2])) % 12]
    shares = per_class / np.maximum(per_class.sum(1, keepdims=True), 1)
    return np.concatenate([onsets.reshape(n, int(np.prod(onsets.shape[1:]))).astype(np.float32),
                           shares.astype(np.float32)], 1)


def draw_samples(bundle, codec, net, n: int, seed: int, label: str | None, temperature: float):
    """`n` samples as `genforge sample music --condition LABEL --seed SEED` draws them (copies of a
    training window redrawn), decoded a chunk at a time (the same draws as one call: the
    temperature stream is consumed in order)."""
    z, ids = runtime.sample_latents(bundle, n, seed, label)
    z, _ = runtime.redraw_copies(bundle, codec, z, ids, seed, net)
    rng = np.random.default_rng([seed, 1])
    step = DECODE_CHUNK
    return np.concatenate([codec.from_logits(runtime.decode(bundle, z[i:i + step], ids[i:i + step], net), rng,
                                             temperature) for i in range(0, n, step)])


def evaluate_music(model: str | Path | None, n: int, out: str | Path, seed: int = 0,
                   data: list[str | Path] | None = None, condition: str | None = None,
                   temperature: float = 0.0) -> dict:
    """Sample `n` windows per condition (each label, or `condition` only), measure them beside the
    held-out test windows and the training windows of the same split; write report.json,
    report.md and the figures under `out`; return the report."""
    runtime.check_count(n, "-n", MOST)
    if not 0 <= temperature <= 10:
        raise GenforgeError(f"--temperature must be between 0 and 10, got {temperature}")
    bundle = load(model, "music")
    codec = codec_for(bundle.meta)
    asked = bundle.label_id(condition)
    folders, same_data = training_data(bundle, data, "it with --data FOLDER (the MIDI folder or notes archive it "
                                                     "was trained on, e.g. --data datasets/chorales)")
    ds, tc = rebuild_dataset(bundle, codec, folders)
    report = {"model": bundle.name, "genforge_version": __version__, "n": n, "seed": seed,
              "temperature": temperature, "condition": condition, "data": [str(f) for f in folders],
              "split": {"seed": tc.seed, "test": tc.test_levels, "validation": tc.validation_levels},
              "conditions": {}, "notes": []}

    held, held_ids = _held_out(bundle, ds, codec, same_data, report)
    train, train_ids = _training_windows(ds, seed, report)
    keyed: dict[int, np.ndarray] = {}          # content steps -> the training windows of that metre, keyed

    def train_keyed(steps: int) -> np.ndarray:
        if steps not in keyed:
            same = np.isin(np.maximum(train_ids, 0), [j for j in range(max(1, len(ds.labels)))
                                                      if codec.content_steps(j if ds.labels else -1) == steps])
            keyed[steps] = key_normalised(train[same, :steps], codec.low)
        return keyed[steps]

    def mode_of(label_names: list[str | None], ids: np.ndarray) -> np.ndarray:
        index = np.array([MODES.index(m) if (m := mode_word(nm, MODES)) else -1 for nm in label_names] or [-1])
        return index[np.maximum(ids, 0)] if len(ids) else np.zeros(0, int)

    names = list(bundle.labels) if bundle.labels else [None]
    voice_names = [v.name for v in codec.voices]
    wanted = [asked] if asked is not None else list(range(len(names)))
    net = runtime.decoder(bundle)
    per_condition, rolls, full = {}, {}, {}
    rng = np.random.default_rng([seed, 2])
    for i in wanted:
        label = names[i]
        key = label or "all"
        label_id = i if label is not None else -1
        steps, (ts, bars, per_bar) = codec.content_steps(label_id), codec.metre(label_id)
        grids = draw_samples(bundle, codec, net, n, seed, label, temperature)
        sets = {"samples": grids,
                "held_out": held[held_ids == i] if label is not None else held,
                "training": train[train_ids == i] if label is not None else train}
        sets = {s: g[:, :steps] for s, g in sets.items()}         # the label's bars, padding left out
        modes = {"samples": mode_of([label], np.zeros(len(grids), int)),
                 "held_out": mode_of(ds.labels, held_ids[held_ids == i] if label is not None else held_ids),
                 "training": mode_of(ds.labels, train_ids[train_ids == i] if label is not None else train_ids)}
        measured = {s: {"sums": _chunked_sums(g, per_bar, codec.low, modes[s], codec.steps_per_beat),
                        "attributes": _attributes(g, per_bar, codec.low)} for s, g in sets.items()}
        cells = steps * int(np.prod(codec.grid_shape[1:]))
        for s in ("samples", "held_out"):
            d = nearest_distance(np.concatenate([key_normalised(sets[s][j:j + CHUNK], codec.low)
                                                 for j in range(0, max(1, len(sets[s])), CHUNK)]), train_keyed(steps))
            measured[s]["novelty"] = d / cells if len(train_keyed(steps)) else np.full(len(d), np.nan)
        features = {s: roll_features(g, codec.low) for s, g in sets.items()}
        measured["two_sample_auc"] = {"samples_vs_held_out": two_sample_auc(features["samples"], features["held_out"]),
                                      "training_vs_held_out": two_sample_auc(features["training"],
                                                                             features["held_out"])}
        full[key] = (grids, held[held_ids == i] if label is not None else held,
                     train[train_ids == i] if label is not None else train)
        per_condition[key] = measured
        picks = rng.permutation(len(sets["held_out"]))[:4]
        rolls[key] = (grids[:4], held[held_ids == i][np.sort(picks)] if label is not None else held[np.sort(picks)],
                      label_id)
        report["conditions"][key] = {"metre": {"time_signature": ts_text(ts), "bars": bars, "steps": steps},
                                     **_entry(measured, voice_names)}
    if len(per_condition) > 1:
        pooled = {s: {"sums": _join([m[s]["sums"] for m in per_condition.values()]),
                      "attributes": _join([m[s]["attributes"] for m in per_condition.values()]),
                      **({"novelty": np.concatenate([m[s]["novelty"] for m in per_condition.values()])}
                         if s != "training" else {})}
                  for s in SETS}
        pooled_sets = [np.concatenate([f[k] for f in full.values()]) for k in range(3)]  # whole tensors: one length
        features = [roll_features(g, codec.low) for g in pooled_sets]
        pooled["two_sample_auc"] = {"samples_vs_held_out": two_sample_auc(features[0], features[1]),
                                    "training_vs_held_out": two_sample_auc(features[2], features[1])}
        report["pooled"] = _entry(pooled, voice_names)
    if not len(held):
        report["notes"].append("no held-out windows: the held-out figures are empty")

    out = Path(out)
    report["figures"] = figures(codec, per_condition, rolls, out)
    write_json(out / "report.json", report)
    write_text(out / "report.md", markdown(report))
    return report


def _held_out(bundle, ds, codec, same_data: bool, report: dict) -> tuple[np.ndarray, np.ndarray]:
    """The held-out windows (the test pieces', else the validation pieces') and their label ids;
    the report notes when they may not be the ones the model was tested on."""
    held_split = next((k for k in ("test", "validation") if ds.pieces.get(k)), None)
    if held_split == "validation":
        report["notes"].append("no test pieces in this split: the held-out figures use the validation pieces")
    held, held_ids = ds.splits[held_split] if held_split else (np.zeros((0, *codec.grid_shape), bool),
                                                               np.zeros(0, int))
    report["held_out_pieces"] = len(ds.pieces[held_split]) if held_split else 0
    recorded = recorded_test_pieces(bundle)
    if recorded is not None and held_split == "test":      # the model names its test pieces: compare
        common = len(set(recorded) & set(ds.pieces["test"]))
        if sorted(recorded) != sorted(ds.pieces["test"]):
            report["notes"].append(f"the held-out pieces differ from the {len(recorded)} the model was tested on "
                                   f"at training ({common} in common): some held-out windows may come from pieces it "
                                   "trained on")
    elif not same_data:
        report["notes"].append("--data is not the data the training command names: the held-out windows are "
                               "held out only if the pieces are the same ones")
    return held, held_ids


def _training_windows(ds, seed: int, report: dict) -> tuple[np.ndarray, np.ndarray]:
    """The untransposed training windows and their label ids, at most TRAINING_MOST of them."""
    train, train_ids = ds.splits["train"]
    report["training_windows_total"] = int(len(train))
    if len(train) > TRAINING_MOST:
        keep = np.sort(np.random.default_rng([seed, 2]).choice(len(train), TRAINING_MOST, replace=False))
        train, train_ids = train[keep], train_ids[keep]
        report["notes"].append(f"training figures and nearest neighbours use {TRAINING_MOST:,} of the "
                               f"{report['training_windows_total']:,} training windows, drawn at random")
    return train, train_ids


def _entry(measured: dict, voice_names: list[str]) -> dict:
    """Report entry of one condition (or the pool): measures, per-voice measures, novelty and
    attributes per set."""
    ratios = {s: _ratios(measured[s]["sums"]) for s in SETS}
    entry = {"windows": {s: int(len(measured[s]["sums"]["silent_windows"][0])) for s in SETS}, "measures": {}}
    for k, _ in MEASURES:
        row = {s: ratios[s].get(k) for s in SETS}
        if all(v is None for v in row.values()):
            continue
        row["gap"] = relative_gap(row["samples"], row["held_out"])
        entry["measures"][k] = row
    entry["voices"] = {}
    for v, name in enumerate(voice_names):
        entry["voices"][name] = {}
        for k in ("clusters", "notes_per_beat"):
            row = {s: ratios[s].get(f"{k}/{v}") for s in SETS}
            entry["voices"][name][k] = {**row, "gap": relative_gap(row["samples"], row["held_out"])}
    entry["novelty"] = {}
    for s in ("samples", "held_out"):
        v = measured[s]["novelty"]
        v = v[np.isfinite(v)]
        entry["novelty"][s] = {**summary(v), "share_identical": round(float(np.mean(v == 0)), 4) if len(v) else None}
    entry["novelty"]["gap"] = relative_gap(entry["novelty"]["samples"]["mean"], entry["novelty"]["held_out"]["mean"])
    entry["two_sample_auc"] = measured.get("two_sample_auc")
    entry["attributes"] = {}
    for a in ATTRIBUTES:
        row = {s: summary(finite(measured[s]["attributes"][a])) for s in SETS}
        row["gap"] = relative_gap(row["samples"]["mean"], row["held_out"]["mean"])
        entry["attributes"][a] = row
    return entry
