"""MusicCodec: the piano-roll codec the VAE plugs into, for training (from a MusicDataset) and
generation (from a bundle): tensors, metrics, attributes, and assets (.mid, .png, .wav).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from genforge.core import latent, one_of
from genforge.domains.music.midi import read_midi, write_midi
from genforge.domains.music.render import preview, render_wav
from genforge.domains.music.roll import Voice, as_batch, as_grid, bar_steps, ts_text
from genforge.domains.music.stats import (onset_scores_from_counts, ratio, scale_counts, summarise, window_attributes,
                                          window_sums)
from genforge.domains.music.theory import key_normalised, window_keys
from genforge.domains.music.windows import cut_windows
from genforge.errors import GenforgeError
from genforge.images import png_bytes, sheet as contact_sheet

if TYPE_CHECKING:                 # only a type here: generation never loads the dataset builder
    from genforge.domains.music.dataset import MusicDataset


class MusicCodec:
    """Piano-roll windows <-> model tensors, for training (from a MusicDataset) and generation
    (from a bundle). Grids are (steps, pitches, 2*voices) bool: onset channels even, hold odd.

    Every window is `bars` bars of `time_signature` long. With `label_metres` (per label: time
    signature, whole bars) a label's windows hold that many bars of its own metre and silent
    padding after them, which the loss leaves out (`row_mask`) and exports crop away.

    `monophonic` (per voice; None for models from before it was recorded: every voice on/off per
    cell): a voice whose training data never sounds two notes at once is decoded as one choice
    per step (rest, a new note at pitch p, or the note at pitch p going on, which only a step with a
    note at p can precede): its onset and hold planes form a one-of group (`one_of`,
    genforge.core.one_of), so a sample cannot hold a cluster, nor slide a note to another pitch."""

    domain = "music"
    likelihood = "bernoulli"

    def __init__(self, low: int, high: int, voices: list, labels: list[str], steps_per_beat: int = 4,
                 bars: int = 4, time_signature: tuple[int, int] = (4, 4), tempo: float = 120.0,
                 label_metres: list | None = None, short_sections: bool = False, monophonic: list | None = None):
        self.low, self.high = int(low), int(high)
        self.voices = [v if isinstance(v, Voice) else Voice.from_dict(v) for v in voices]
        self.monophonic = None if monophonic is None else [bool(m) for m in monophonic]
        if self.monophonic is not None and len(self.monophonic) != len(self.voices):
            raise GenforgeError(f"{len(self.monophonic)} monophonic flags for {len(self.voices)} voices")
        self.labels = list(labels)
        self.steps_per_beat, self.bars = int(steps_per_beat), int(bars)
        self.time_signature = (int(time_signature[0]), int(time_signature[1]))
        self.tempo = float(tempo)
        self.steps_per_bar = self._bar(self.time_signature)
        self.short_sections = bool(short_sections)      # windows cut in every metre (see build_dataset)
        self.label_metres = None
        if label_metres is not None:
            if len(label_metres) != len(self.labels):
                raise GenforgeError(f"{len(label_metres)} label metres for {len(self.labels)} labels")
            self.label_metres = [((int(ts[0]), int(ts[1])), int(n)) for ts, n in label_metres]
            for ts, n in self.label_metres:
                if not 1 <= n * self._bar(ts) <= self.bars * self.steps_per_bar:
                    raise GenforgeError(f"{n} bars of {ts_text(ts)} do not fit a window of "
                                        f"{self.bars * self.steps_per_bar} steps")

    def _bar(self, ts: tuple[int, int]) -> int:
        per_bar = bar_steps(ts, self.steps_per_beat)
        if not isinstance(per_bar, int):
            raise GenforgeError(f"time signature {ts_text(ts)} does not fit {self.steps_per_beat} steps per beat")
        return per_bar

    @classmethod
    def from_dataset(cls, ds: MusicDataset) -> "MusicCodec":
        return cls(ds.low, ds.high, ds.voices, ds.labels, ds.steps_per_beat, ds.bars, ds.time_signature, ds.tempo,
                   ds.label_metres, ds.short_sections, ds.monophonic)

    @classmethod
    def from_meta(cls, meta: dict) -> "MusicCodec":
        m = meta["codec"]
        metres = m.get("label_metres")
        return cls(m["low"], m["high"], m["voices"], meta.get("labels", []), m["steps_per_beat"], m["bars"],
                   tuple(m["time_signature"]), m["tempo"],
                   None if metres is None else [(d["time_signature"], d["bars"]) for d in metres],
                   m.get("short_sections", False), m.get("monophonic"))

    def meta(self) -> dict:
        out = {"low": self.low, "high": self.high, "voices": [v.to_dict() for v in self.voices],
               "steps_per_beat": self.steps_per_beat, "bars": self.bars,
               "time_signature": list(self.time_signature), "tempo": self.tempo,
               "layout": "channel 2v = onset of voice v, 2v+1 = hold (sounding, onset included); "
                         "pitch row i = MIDI pitch low+i"}
        if self.label_metres is not None:
            out["label_metres"] = [{"label": name, "time_signature": list(ts), "bars": n}
                                   for name, (ts, n) in zip(self.labels, self.label_metres)]
        if self.short_sections:
            out["short_sections"] = True
        if self.monophonic is not None:
            out["monophonic"] = list(self.monophonic)
            if any(self.monophonic):
                out["monophonic_decode"] = (
                    "a voice v marked monophonic plays one note at a time. Each step is one class: rest (score 0), "
                    "onset at pitch row i (score: the logit of channel 2v at row i) or hold at row i (channel 2v+1), "
                    "where a hold at row i may only follow an onset or hold at row i at the step before (or open "
                    "the window). Take the sequence of classes with the largest total score (Viterbi; at a "
                    "temperature T, draw one with probability proportional to exp(total score / T)). Onset at i "
                    "sets channels 2v and 2v+1 at row i, hold at i channel 2v+1, rest none. Other voices: each "
                    "cell on where its logit > 0")
        return out

    @property
    def one_of(self) -> tuple[tuple[int, int], ...]:
        """The (onset, hold) channel pairs of the monophonic voices (genforge.core.fit.GridSpec.one_of)."""
        return tuple((2 * v, 2 * v + 1) for v, mono in enumerate(self.monophonic or []) if mono)

    @property
    def grid_shape(self) -> tuple[int, int, int]:
        return (self.bars * self.steps_per_bar, self.high - self.low + 1, 2 * len(self.voices))

    # ---- metres
    def metre(self, label_id: int = -1) -> tuple[tuple[int, int], int, int]:
        """(time signature, whole bars, steps per bar) of a label's windows (-1: the model's metre)."""
        if self.label_metres is None or not 0 <= label_id < len(self.label_metres):
            return self.time_signature, self.bars, self.steps_per_bar
        ts, n = self.label_metres[label_id]
        return ts, n, self._bar(ts)

    def content_steps(self, label_id: int = -1) -> int:
        """The steps of a label's windows that hold music; the rest is padding."""
        _, n, per_bar = self.metre(label_id)
        return n * per_bar

    @property
    def row_mask(self) -> np.ndarray | None:
        """(labels, steps) bool: the steps a window of each label fills (genforge.core.fit.GridSpec);
        None when every label fills the whole window."""
        if self.label_metres is None:
            return None
        steps = np.arange(self.grid_shape[0])
        return np.stack([steps < self.content_steps(i) for i in range(len(self.labels))])

    def metre_groups(self, label_ids) -> list[tuple[np.ndarray, int, int]]:
        """(mask over the windows, content steps, steps per bar) for each metre among `label_ids`."""
        ids = np.asarray(label_ids)
        if self.label_metres is None or not len(ids):
            return [(np.ones(len(ids), bool), self.grid_shape[0], self.steps_per_bar)]
        by: dict[tuple[int, int], np.ndarray] = {}
        for i in np.unique(ids):
            key = (self.content_steps(int(i)), self.metre(int(i))[2])
            by[key] = by.get(key, np.zeros(len(ids), bool)) | (ids == i)
        return [(mask, steps, per_bar) for (steps, per_bar), mask in by.items()]

    # ---- copies
    fingerprint_kind = "key-normalised"   # what genforge.json records: how `fingerprints` hashed the training windows

    def fingerprints(self, grids: np.ndarray, label_ids) -> np.ndarray:
        """One 64-bit fingerprint per window, the same for a window and its transpositions (each
        moved to an estimated tonic of C) and blind to the padding after a label's bars: how sampling
        tells a copy of a training window, which the model saw in every key it was transposed to."""
        g = as_batch(grids).astype(bool)
        out = np.zeros(len(g), np.uint64)
        for mask, steps, _ in self.metre_groups(label_ids):
            if mask.any():
                out[mask] = latent.window_hashes(key_normalised(g[mask, :steps], self.low))
        return out

    def describe(self, split: dict[str, dict[str, list[str]]]) -> list[str]:
        """`genforge info`'s lines for the codec: metre, grid, pitch range, tempo and voices."""
        mono = self.monophonic or [False] * len(self.voices)
        voices = ", ".join(f"{v.name} (program {v.program}{', monophonic' if m else ''})"
                           for v, m in zip(self.voices, mono))
        lines = [f"music      {self.bars} bars of {ts_text(self.time_signature)}, {self.steps_per_beat} steps per "
                 f"beat, pitches {self.low}-{self.high}, {self.tempo:g} bpm",
                 f"voices     {voices}"]
        if self.label_metres is not None:
            steps = self.grid_shape[0]
            metres = {}
            for ts, n in self.label_metres:
                metres.setdefault(ts, n)
            lines.append("metres     " + ", ".join(
                f"{ts_text(ts)} {n} bar(s)" + (f" ({n * self._bar(ts)} of {steps} steps)"
                                               if n * self._bar(ts) < steps else "")
                for ts, n in metres.items()))
        if self.monophonic is not None:
            lines.append(f"decoding   {sum(mono)} of {len(mono)} voice(s) monophonic in the data: one choice per step "
                         "(rest, new note, held note); " + ("the others on/off per cell" if not all(mono) else
                                                             "no voice can sound a cluster"))
        return lines

    # ---- tensors
    def to_onehot(self, grids: np.ndarray) -> np.ndarray:
        """Codec grids are already binary planes: as float32."""
        return np.asarray(grids, dtype=np.float32)

    def from_logits(self, logits: np.ndarray, rng: np.random.Generator | None = None,
                    temperature: float = 0.0) -> np.ndarray:
        """Bool grids: each cell on where sigmoid(logit) > 0.5, or drawn at a temperature; each
        monophonic voice one class per step (rest, onset or hold at one pitch, a hold only after a
        note at its pitch), the most likely sequence or one drawn (after the other cells' draws:
        genforge.core.one_of.choose). Onset cells are made to sound (hold |= onset), so the result
        obeys the layout."""
        logits = np.asarray(logits, np.float64)
        groups = self.one_of
        if not temperature:
            on = logits > 0
            one_of.decode(logits, groups, on)
        else:
            rng = rng or np.random.default_rng()
            free = [c for c in range(logits.shape[-1]) if all(c not in g for g in groups)]
            on = np.zeros(logits.shape, bool)
            p = 1.0 / (1.0 + np.exp(-np.clip(logits[..., free] / temperature, -60, 60)))
            # All of a window's numbers in one row, window after window: windows decoded a chunk at
            # a time (evaluate) draw what one call (sample) draws.
            n, cells_free, rows = len(logits), int(np.prod(p.shape[1:])), logits.shape[1]
            u = rng.random((n, cells_free + len(groups) * rows))
            on[..., free] = u[:, :cells_free].reshape(p.shape) < p
            one_of.decode(logits, groups, on, rng, temperature, u[:, cells_free:].reshape(n, len(groups), rows))
        on[..., 1::2] |= on[..., 0::2]
        return on

    # ---- metrics
    def metrics(self, true: np.ndarray, pred: np.ndarray, label_ids: np.ndarray) -> dict:
        """Reconstruction of `true` by `pred` (bool grids), overall and per label: cell accuracy
        (all cells, and `accuracy_non_empty` on the cells that are on in `true`, 1.0 if none),
        onset precision/recall/F1, and the music statistics of both (see window_sums); the
        reconstruction's in-scale share is also given in the key estimated for the true window.
        Each window is measured on its label's bars only (its own metre; padding left out)."""
        t, p = as_batch(true), as_batch(pred)
        label_ids = np.asarray(label_ids)
        n = len(t)
        cells: dict = {}
        st: dict = {}
        sp: dict = {}
        for sel, steps, per_bar in self.metre_groups(np.maximum(label_ids, 0)):
            tt, pp = t[sel, :steps], p[sel, :steps]
            ax = (1, 2, 3)
            _put(cells, sel, n, {"same": np.count_nonzero(tt == pp, axis=ax), "on": np.count_nonzero(tt, axis=ax),
                                 "hit": np.count_nonzero(tt & pp, axis=ax),
                                 "o_t": np.count_nonzero(tt[..., 0::2], axis=ax),
                                 "o_p": np.count_nonzero(pp[..., 0::2], axis=ax),
                                 "o_tp": np.count_nonzero(tt[..., 0::2] & pp[..., 0::2], axis=ax),
                                 "size": np.full(len(tt), int(np.prod(tt.shape[1:])))})
            _put(st, sel, n, window_sums(tt, per_bar, self.low))
            pred_sums = window_sums(pp, per_bar, self.low)
            # The reconstruction's notes in the key of the window it reconstructs.
            pred_sums["scale_true_key"] = scale_counts(pp, window_keys(tt, self.low), self.low)
            _put(sp, sel, n, pred_sums)

        def measure(mask):
            c = {k: int(v[mask].sum()) for k, v in cells.items()}
            pred = summarise(sp, mask)
            pred["in_scale_share_true_key"] = pred.pop("scale_true_key")
            return {"accuracy": ratio(c["same"], c["size"]),
                    "accuracy_non_empty": c["hit"] / c["on"] if c["on"] else 1.0, "windows": int(mask.sum()),
                    **onset_scores_from_counts(c["o_tp"], c["o_p"], c["o_t"]),
                    "true": summarise(st, mask), "pred": pred}

        out = measure(np.ones(n, bool))
        if self.labels:
            out["per_label"] = {name: measure(label_ids == i)
                                for i, name in enumerate(self.labels) if np.any(label_ids == i)}
        return out

    def summary_stats(self, grids: np.ndarray, label_ids: np.ndarray) -> dict[str, float]:
        """Notes per bar, polyphony, in-scale share (each window's own key) and qualified-note rate
        of windows, each on its label's bars: what training sets samples beside the data with."""
        g = as_batch(grids)
        totals: dict[str, list[float]] = {}
        for sel, steps, per_bar in self.metre_groups(np.maximum(np.asarray(label_ids), 0)):
            sums = window_sums(g[sel, :steps], per_bar, self.low)
            bars = max(1, steps // per_bar)
            parts = {"notes_per_bar": (sums["qual"][1], np.full(int(sel.sum()), bars)), "polyphony": sums["poly"],
                     "in_scale_share": sums["scale"], "qualified_note_rate": sums["qual"]}
            for name, (num, den) in parts.items():
                t = totals.setdefault(name, [0.0, 0.0])
                t[0], t[1] = t[0] + float(np.sum(num)), t[1] + float(np.sum(den))
        return {name: round(num / den, 4) if den else None for name, (num, den) in totals.items()}

    # ---- attributes (latent attribute vectors are computed from these at training time)
    def attributes(self, grids: np.ndarray, label_ids=None) -> dict[str, np.ndarray]:
        """Per-window values of the attributes `--attribute NAME=AMOUNT` can push: see
        window_attributes; with `label_ids`, each window on its label's bars only."""
        if label_ids is None:
            return window_attributes(grids, self.steps_per_bar, self.low)
        g = as_batch(grids)
        out: dict = {}
        for sel, steps, per_bar in self.metre_groups(np.maximum(np.asarray(label_ids), 0)):
            _put(out, sel, len(g), window_attributes(g[sel, :steps], per_bar, self.low))
        return out

    # ---- assets
    def read_window(self, path: str | Path, label_id: int) -> np.ndarray:
        """A real MIDI file as one window: its first window in the label's metre (-1: the model's), in
        the model's voices and range."""
        piece = read_midi(path, self.steps_per_beat)
        report: Counter = Counter()
        ts, bars, _ = self.metre(label_id)
        w = cut_windows(piece, bars, ts, self.low, self.high, len(self.voices), 1, report, length=self.grid_shape[0],
                        same_signature=self.short_sections, short_sections=self.short_sections)
        if not len(w.grids):
            why = "; ".join(f"{k}: {n}" for k, n in report.items()) or "too short"
            raise GenforgeError(f"{path}: no {bars}-bar {ts_text(ts)} window with "
                                f"{len(self.voices)} voice(s) inside pitches {self.low}-{self.high} ({why})")
        return w.grids[0]

    def _check(self, grid: np.ndarray) -> np.ndarray:
        g = np.asarray(grid)
        if g.shape != self.grid_shape:
            raise GenforgeError(f"a music grid must have shape {self.grid_shape}, got {g.shape}")
        return as_grid(g)

    def preview(self, grid: np.ndarray, label_id: int = -1) -> np.ndarray:
        """The piano roll of a window's bars in its label's metre (padding cropped)."""
        _, _, per_bar = self.metre(label_id)
        return preview(self._check(grid)[:self.content_steps(label_id)], per_bar, self.steps_per_beat, self.low)

    def sheet(self, previews: list[np.ndarray]) -> bytes:
        return png_bytes(contact_sheet(previews, columns=4))

    def sheet_of(self, grids: list[np.ndarray], label_ids) -> bytes:
        return self.sheet([self.preview(g, int(i)) for g, i in zip(grids, label_ids)])

    def export(self, grid: np.ndarray, label_id: int, out_dir: Path, stem: str, properties: dict) -> list[Path]:
        """Write a window as MIDI (.mid), a piano-roll image (.png) and audio (.wav): its label's
        bars in its label's time signature, the padding after them cropped."""
        from genforge.atomic import write_bytes

        g = self._check(grid)[:self.content_steps(label_id)]
        ts, _, _ = self.metre(label_id)
        out_dir = Path(out_dir)
        props = dict(properties)
        if self.labels and 0 <= label_id < len(self.labels):
            props.setdefault("label", self.labels[label_id])
        # Everything that can fail is rendered before the first file is written.
        png = png_bytes(self.preview(self._check(grid), label_id))
        wav = render_wav(g, self.tempo, self.steps_per_beat, self.low, voices=self.voices)
        return [
            write_midi(out_dir / f"{stem}.mid", g, self.voices, self.tempo, ts,
                       self.steps_per_beat, self.low, properties=props, title=stem),
            write_bytes(out_dir / f"{stem}.png", png),
            write_bytes(out_dir / f"{stem}.wav", wav),
        ]


def _put(out: dict, sel: np.ndarray, n: int, part: dict) -> None:
    """Scatter per-window values of the windows in `sel` (arrays, or (num, den) pairs of arrays)
    into `out`'s arrays over all `n` windows, made on first use."""
    for k, v in part.items():
        if isinstance(v, tuple):
            if k not in out:
                out[k] = tuple(np.zeros(n, np.asarray(x).dtype) for x in v)
            for dst, src in zip(out[k], v):
                dst[sel] = src
        else:
            if k not in out:
                out[k] = np.full(n, np.nan) if np.asarray(v).dtype.kind == "f" else np.zeros(n, np.asarray(v).dtype)
            out[k][sel] = v
