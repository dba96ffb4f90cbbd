"""MusicCodec: the piano-roll codec the VAE plugs into, for training (from a MusicDataset) and
generation (from a bundle): tensors, metrics, attributes, and assets (.mid, .png, .wav).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from genforge.domains.music.midi import read_midi, write_midi
from genforge.domains.music.render import preview, render_wav
from genforge.domains.music.roll import Voice, as_batch, as_grid, bar_steps, ts_text
from genforge.domains.music.stats import (onset_scores_from_counts, ratio, scale_counts, summarise, window_attributes,
                                          window_sums)
from genforge.domains.music.theory import window_keys
from genforge.domains.music.windows import cut_windows
from genforge.errors import GenforgeError
from genforge.images import png_bytes, sheet as contact_sheet

if TYPE_CHECKING:                 # only a type here: generation never loads the dataset builder
    from genforge.domains.music.dataset import MusicDataset


class MusicCodec:
    """Piano-roll windows <-> model tensors, for training (from a MusicDataset) and generation
    (from a bundle). Grids are (steps, pitches, 2*voices) bool: onset channels even, hold odd."""

    domain = "music"
    likelihood = "bernoulli"

    def __init__(self, low: int, high: int, voices: list, labels: list[str], steps_per_beat: int = 4,
                 bars: int = 4, time_signature: tuple[int, int] = (4, 4), tempo: float = 120.0):
        self.low, self.high = int(low), int(high)
        self.voices = [v if isinstance(v, Voice) else Voice.from_dict(v) for v in voices]
        self.labels = list(labels)
        self.steps_per_beat, self.bars = int(steps_per_beat), int(bars)
        self.time_signature = (int(time_signature[0]), int(time_signature[1]))
        self.tempo = float(tempo)
        per_bar = bar_steps(self.time_signature, self.steps_per_beat)
        if not isinstance(per_bar, int):
            raise GenforgeError(f"time signature {ts_text(self.time_signature)} does not fit "
                                f"{self.steps_per_beat} steps per beat")
        self.steps_per_bar = per_bar

    @classmethod
    def from_dataset(cls, ds: MusicDataset) -> "MusicCodec":
        return cls(ds.low, ds.high, ds.voices, ds.labels, ds.steps_per_beat, ds.bars, ds.time_signature, ds.tempo)

    @classmethod
    def from_meta(cls, meta: dict) -> "MusicCodec":
        m = meta["codec"]
        return cls(m["low"], m["high"], m["voices"], meta.get("labels", []), m["steps_per_beat"], m["bars"],
                   tuple(m["time_signature"]), m["tempo"])

    def meta(self) -> dict:
        return {"low": self.low, "high": self.high, "voices": [v.to_dict() for v in self.voices],
                "steps_per_beat": self.steps_per_beat, "bars": self.bars,
                "time_signature": list(self.time_signature), "tempo": self.tempo,
                "layout": "channel 2v = onset of voice v, 2v+1 = hold (sounding, onset included); "
                          "pitch row i = MIDI pitch low+i"}

    @property
    def grid_shape(self) -> tuple[int, int, int]:
        return (self.bars * self.steps_per_bar, self.high - self.low + 1, 2 * len(self.voices))

    def describe(self, split: dict[str, dict[str, list[str]]]) -> list[str]:
        """`genforge info`'s lines for the codec: metre, grid, pitch range, tempo and voices."""
        voices = ", ".join(f"{v.name} (program {v.program})" for v in self.voices)
        return [f"music      {self.bars} bars of {ts_text(self.time_signature)}, {self.steps_per_beat} steps per "
                f"beat, pitches {self.low}-{self.high}, {self.tempo:g} bpm",
                f"voices     {voices}"]

    # ---- tensors
    def to_onehot(self, grids: np.ndarray) -> np.ndarray:
        """Codec grids are already binary planes: as float32."""
        return np.asarray(grids, dtype=np.float32)

    def from_logits(self, logits: np.ndarray, rng: np.random.Generator | None = None,
                    temperature: float = 0.0) -> np.ndarray:
        """Bool grids: each cell on where sigmoid(logit) > 0.5, or drawn at a temperature. Onset
        cells are made to sound (hold |= onset), so the result obeys the layout."""
        logits = np.asarray(logits, np.float64)
        if not temperature:
            on = logits > 0
        else:
            rng = rng or np.random.default_rng()
            p = 1.0 / (1.0 + np.exp(-np.clip(logits / temperature, -60, 60)))
            on = rng.random(p.shape) < p
        on[..., 1::2] |= on[..., 0::2]
        return on

    # ---- metrics
    def metrics(self, true: np.ndarray, pred: np.ndarray, label_ids: np.ndarray) -> dict:
        """Reconstruction of `true` by `pred` (bool grids), overall and per label: cell accuracy
        (all cells, and `accuracy_non_empty` on the cells that are on in `true`, 1.0 if none),
        onset precision/recall/F1, and the music statistics of both (see window_sums); the
        reconstruction's in-scale share is also given in the key estimated for the true window."""
        t, p = as_batch(true), as_batch(pred)
        label_ids = np.asarray(label_ids)
        ax = (1, 2, 3)
        cells = {"same": np.count_nonzero(t == p, axis=ax), "on": np.count_nonzero(t, axis=ax),
                 "hit": np.count_nonzero(t & p, axis=ax),
                 "o_t": np.count_nonzero(t[..., 0::2], axis=ax), "o_p": np.count_nonzero(p[..., 0::2], axis=ax),
                 "o_tp": np.count_nonzero(t[..., 0::2] & p[..., 0::2], axis=ax)}
        size = int(np.prod(t.shape[1:]))
        st = window_sums(t, self.steps_per_bar, self.low)
        true_keys = window_keys(t, self.low)
        sp = window_sums(p, self.steps_per_bar, self.low)
        # The reconstruction's notes in the key of the window it reconstructs.
        sp["scale_true_key"] = scale_counts(p, true_keys, self.low)

        def measure(mask):
            c = {k: int(v[mask].sum()) for k, v in cells.items()}
            pred = summarise(sp, mask)
            pred["in_scale_share_true_key"] = pred.pop("scale_true_key")
            return {"accuracy": ratio(c["same"], size * int(mask.sum())),
                    "accuracy_non_empty": c["hit"] / c["on"] if c["on"] else 1.0, "windows": int(mask.sum()),
                    **onset_scores_from_counts(c["o_tp"], c["o_p"], c["o_t"]),
                    "true": summarise(st, mask), "pred": pred}

        out = measure(np.ones(len(t), bool))
        if self.labels:
            out["per_label"] = {name: measure(label_ids == i)
                                for i, name in enumerate(self.labels) if np.any(label_ids == i)}
        return out

    # ---- attributes (latent attribute vectors are computed from these at training time)
    def attributes(self, grids: np.ndarray) -> dict[str, np.ndarray]:
        """Per-window values of the attributes `--attribute NAME=AMOUNT` can push: see
        window_attributes."""
        return window_attributes(grids, self.steps_per_bar, self.low)

    # ---- assets
    def read_window(self, path: str | Path, label_id: int) -> np.ndarray:
        """A real MIDI file as one window: its first window in this model's metre, voices and range."""
        piece = read_midi(path, self.steps_per_beat)
        report: Counter = Counter()
        w = cut_windows(piece, self.bars, self.time_signature, self.low, self.high, len(self.voices), 1, report)
        if not len(w.grids):
            why = "; ".join(f"{k}: {n}" for k, n in report.items()) or "too short"
            raise GenforgeError(f"{path}: no {self.bars}-bar {ts_text(self.time_signature)} window with "
                                f"{len(self.voices)} voice(s) inside pitches {self.low}-{self.high} ({why})")
        return w.grids[0]

    def _check(self, grid: np.ndarray) -> np.ndarray:
        g = np.asarray(grid)
        if g.shape != self.grid_shape:
            raise GenforgeError(f"a music grid must have shape {self.grid_shape}, got {g.shape}")
        return as_grid(g)

    def preview(self, grid: np.ndarray, label_id: int = -1) -> np.ndarray:
        return preview(self._check(grid), self.steps_per_bar, self.steps_per_beat, self.low)

    def sheet(self, previews: list[np.ndarray]) -> bytes:
        return png_bytes(contact_sheet(previews, columns=4))

    def sheet_of(self, grids: list[np.ndarray], label_ids) -> bytes:
        return self.sheet([self.preview(g, int(i)) for g, i in zip(grids, label_ids)])

    def export(self, grid: np.ndarray, label_id: int, out_dir: Path, stem: str, properties: dict) -> list[Path]:
        """Write a window as MIDI (.mid), a piano-roll image (.png) and audio (.wav)."""
        from genforge.atomic import write_bytes

        g = self._check(grid)
        out_dir = Path(out_dir)
        props = dict(properties)
        if self.labels and 0 <= label_id < len(self.labels):
            props.setdefault("label", self.labels[label_id])
        # Everything that can fail is rendered before the first file is written.
        png = png_bytes(self.preview(g, label_id))
        wav = render_wav(g, self.tempo, self.steps_per_beat, self.low, voices=self.voices)
        return [
            write_midi(out_dir / f"{stem}.mid", g, self.voices, self.tempo, self.time_signature,
                       self.steps_per_beat, self.low, properties=props, title=stem),
            write_bytes(out_dir / f"{stem}.png", png),
            write_bytes(out_dir / f"{stem}.wav", wav),
        ]
