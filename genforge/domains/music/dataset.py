"""Training data for the music VAE: bar-aligned windows from folders of MIDI files (or notes
archives), labelled, on one metre, voice count and pitch range, split by whole pieces, the
training split augmented by transposition.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genforge.domains.music.corpus import LABEL_FILES, label_of, nearest_labels, read_folder
from genforge.domains.music.roll import Piece, Voice, bar_steps, check_steps_per_beat, check_time_signature, ts_text
from genforge.domains.music.theory import MODES, estimate_mode
from genforge.domains.music.windows import Windows, cut_windows, section_bars, transpose_windows, window_starts
from genforge.domains.splits import split_items
from genforge.errors import GenforgeError


@dataclass
class MusicDataset:
    """Bar-aligned windows on one pitch range and voice layout, split by whole pieces."""

    splits: dict[str, tuple[np.ndarray, np.ndarray]]   # name -> (grids (N,S,P,2V) bool, label ids (N,))
    labels: list[str]
    notes: list[str]
    low: int
    high: int
    voices: list[Voice]
    steps_per_beat: int
    bars: int
    time_signature: tuple[int, int]
    tempo: float
    pieces: dict[str, list[str]]                        # split -> piece file names
    split: dict[str, dict[str, list[str]]]              # data folder -> split -> piece file names
    report: Counter                                     # skip reasons -> counts


@dataclass(frozen=True)
class WindowSpec:
    """What every window of a dataset shares: `bars` bars of one metre on the grid, `voices` pitched
    voices, a window starting every `stride_bars` bars."""

    steps_per_beat: int
    bars: int
    time_signature: tuple[int, int]
    voices: int
    stride_bars: int = 1

    @property
    def steps(self) -> int:
        """A window's length in steps."""
        return self.bars * bar_steps(self.time_signature, self.steps_per_beat)

    def starts(self, piece: Piece, report: Counter) -> list[int]:
        """Where this spec's windows fall in `piece` (see window_starts)."""
        return window_starts(piece, self.bars, self.time_signature, self.voices, self.stride_bars, report)

    def cut(self, piece: Piece, low: int, high: int, report: Counter) -> Windows:
        """This spec's windows of `piece` inside pitches low..high (see cut_windows)."""
        return cut_windows(piece, self.bars, self.time_signature, low, high, self.voices, self.stride_bars, report)


@dataclass
class _LabelledPiece:
    """A piece read for the dataset, with its label."""

    piece: Piece
    label: str | None
    source: str                  # where the label came from: "estimate", "sidecar", "folder" or "none"
    folder: str                  # the data folder it was read from, as given


def build_dataset(folders: list[str | Path] | str | Path, bars: int = 4, steps_per_beat: int = 4,
                  test: float = 0.2, validation: float = 0.1, seed: int = 0, transpose: int = 5,
                  labels: str | None = "mode", time_signature: tuple[int, int] | None = None,
                  pitch_range: tuple[int, int] | None = None, voices: int | None = None,
                  stride_bars: int = 1, recursive: bool = True,
                  shifts_per_window: int | None = None) -> MusicDataset:
    """Windows of `bars` bars from every MIDI file in `folders`, split by whole pieces.

    labels: "mode" (major/minor, estimated per piece; a labels.csv / labels.json beside the files
    overrides), "folder" (each folder is a label), "sidecar" (any labels from the sidecar files;
    unlabelled pieces skipped) or None (unconditional). time_signature: the metre windows must
    have (by bar length); None picks the metre with the most bars. pitch_range: (low, high);
    None: the pitched notes' range over the pieces used. voices: pitched voices per window; None:
    the most common count. Transposition by up to `transpose` semitones (kept inside the range)
    augments the training split only: every legal shift of every window, or the original plus
    `shifts_per_window` random legal shifts (all shifts multiply the training set about 10x)."""
    folders, spb = _check_arguments(folders, bars, steps_per_beat, test, validation, transpose, labels,
                                    shifts_per_window)
    notes: list[str] = []
    report: Counter = Counter()
    entries = _labelled_pieces(folders, labels, recursive, spb, notes, report)
    spec = _window_spec(entries, spb, bars, time_signature, voices, stride_bars, notes)
    low, high = _pitch_range(entries, spec, pitch_range, folders)
    cut = _cut(entries, spec, low, high, report, folders)
    if labels is None:
        label_names: list[str] = []
    elif labels == "mode":
        label_names = list(MODES)
    else:
        label_names = sorted({e.label for e, _ in cut})

    parts = _split_pieces(cut, test, validation, seed, notes)
    splits = _split_windows(parts, label_names)
    if transpose:
        grids, ids = splits["train"]
        moved, src, _ = transpose_windows(grids, transpose, shifts_per_window, seed)
        splits["train"] = (moved, ids[src])
        notes.append(f"transposition by up to +-{transpose} semitones inside {low}-{high}: "
                     f"{len(grids)} training windows -> {len(moved)}")
    names, by_folder = _piece_names(parts)
    vs = _model_voices(cut[0][0].piece, spec.voices)
    tempo = float(np.median([e.piece.tempo for e, _ in cut]))
    notes += _summary_notes(entries, cut, spec, (low, high), labels, report)
    return MusicDataset(splits, label_names, notes, low, high, vs, spb, bars, spec.time_signature, tempo, names,
                        by_folder, report)


def _check_arguments(folders, bars, steps_per_beat, test, validation, transpose, labels,
                     shifts_per_window) -> tuple[list, int]:
    """The folders as a list and the steps per beat, once every setting is checked."""
    if labels not in ("mode", "folder", "sidecar", None):
        raise GenforgeError(f"labels must be 'mode', 'folder', 'sidecar' or None, got {labels!r}")
    if isinstance(folders, (str, Path)):
        folders = [folders]
    if not folders:
        raise GenforgeError("no data folders given")
    spb = check_steps_per_beat(steps_per_beat)
    if not isinstance(bars, int) or not 1 <= bars <= 64:
        raise GenforgeError(f"bars must be a whole number from 1 to 64, got {bars!r}")
    if not isinstance(transpose, int) or not 0 <= transpose <= 11:
        raise GenforgeError(f"transpose must be a whole number of semitones from 0 to 11, got {transpose!r}")
    if not (0 <= test < 1 and 0 <= validation < 1 and test + validation < 1):
        raise GenforgeError(f"test and validation shares must be in [0, 1) and sum to less than 1, "
                            f"got {test} and {validation}")
    if shifts_per_window is not None and (not isinstance(shifts_per_window, int) or shifts_per_window < 0):
        raise GenforgeError(f"shifts per window must be a whole number >= 0, got {shifts_per_window!r}")
    return folders, spb


# ---------------------------------------------------------------- pieces and their labels

def _mode_of(text: str) -> str | None:
    """"minor", "g minor", "Minor", "min" -> "minor"; None if not a mode."""
    word = text.strip().lower().split()[-1] if text.strip() else ""
    return {"major": "major", "maj": "major", "minor": "minor", "min": "minor"}.get(word)


def _piece_label(piece: Piece, kind, folder_name: str, sidecar: dict, sidecar_root: Path, sidecar_file: str):
    """(label or None, where it came from)."""
    given = label_of(sidecar, sidecar_root, piece.path) if sidecar and piece.path else None
    if kind == "mode":
        if given is not None:
            mode = _mode_of(given)
            if mode is None:
                raise GenforgeError(f"{sidecar_file}: label {given!r} for {piece.name} is not a mode "
                                    "(major or minor); pass labels='sidecar' for other labels")
            return mode, "sidecar"
        return estimate_mode(piece), "estimate"
    if kind == "folder":
        return folder_name, "folder"
    if kind == "sidecar":
        return given, "sidecar"
    return None, "none"


def _labelled_pieces(folders: list, labels: str | None, recursive: bool, spb: int, notes: list[str],
                     report: Counter) -> list[_LabelledPiece]:
    """Every usable piece of the folders with its label. Each folder's summary goes to `notes`;
    skipped files, and pieces without a label where labels must come from files, to `report`."""
    entries = []
    for folder in folders:
        mf = read_folder(folder, recursive, spb)
        notes.append(mf.summary())
        for f, reason, _ in mf.skipped:
            report[f"files skipped: {reason} (files)"] += 1
        sidecars: dict[Path, dict] = {}
        for piece in mf.pieces:
            # The nearest labels file at or above the piece's folder, up to the root folder.
            side, side_root = nearest_labels(piece.path.parent, mf.root, sidecars) \
                if labels in ("mode", "sidecar") else ({}, mf.root)
            side_file = next((str(side_root / n) for n in LABEL_FILES if (side_root / n).is_file()), "labels")
            label, source = _piece_label(piece, labels, Path(folder).name, side, side_root, side_file)
            if labels == "sidecar" and label is None:
                report["pieces without a label in labels.csv/json (pieces)"] += 1
                continue
            entries.append(_LabelledPiece(piece, label, source, str(folder)))
    if labels == "folder" and len({Path(f).name for f in folders}) != len(folders):
        raise GenforgeError(f"two data folders share a name: {', '.join(map(str, folders))}")
    if not entries:
        raise GenforgeError(f"no labelled pieces in {', '.join(map(str, folders))}")
    return entries


# ---------------------------------------------------------------- the windows

def _window_spec(entries: list[_LabelledPiece], spb: int, bars: int, time_signature, voices: int | None,
                 stride_bars: int, notes: list[str]) -> WindowSpec:
    """Metre and voice layout: the most common, unless asked (metre by bars, voices by pieces)."""
    if time_signature is None:
        by_len: Counter = Counter()
        ts_of: dict[int, Counter] = {}
        for e in entries:
            for first, end, ts, per_bar in section_bars(e.piece):
                if isinstance(per_bar, int):
                    by_len[per_bar] += max(0, (end - first) // per_bar)
                    ts_of.setdefault(per_bar, Counter())[ts] += max(0, (end - first) // per_bar)
        if not by_len:
            raise GenforgeError("no metre in the data fits the grid")
        per_bar = by_len.most_common(1)[0][0]
        time_signature = ts_of[per_bar].most_common(1)[0][0]
        notes.append(f"metre: {ts_text(time_signature)} ({per_bar} steps per bar), the most common by bars")
    time_signature = check_time_signature(time_signature, "time signature")
    if voices is None:
        voices = Counter(len(e.piece.pitched_voices()) for e in entries).most_common(1)[0][0]
    return WindowSpec(spb, bars, time_signature, voices, stride_bars)


def _pitch_range(entries: list[_LabelledPiece], spec: WindowSpec, pitch_range, folders: list) -> tuple[int, int]:
    """`pitch_range` checked, or the range of the pitched notes under the windows (where the windows
    fall, before any is cut)."""
    length = spec.steps
    lo_hi = [128, -1]
    for e in entries:
        starts = spec.starts(e.piece, Counter())
        if not starts:
            continue
        n = e.piece.pitched_notes()
        s = np.asarray(starts)
        under = ((n[:, 2, None] < s[None] + length) & (n[:, 3, None] > s[None])).any(1)
        if under.any():
            lo_hi = [min(lo_hi[0], int(n[under, 1].min())), max(lo_hi[1], int(n[under, 1].max()))]
    if pitch_range is None:
        if lo_hi[1] < 0:
            raise GenforgeError(f"no {spec.bars}-bar windows in {ts_text(spec.time_signature)} with {spec.voices} "
                                f"pitched voice(s) in {', '.join(map(str, folders))}")
        return lo_hi[0], lo_hi[1]
    low, high = int(pitch_range[0]), int(pitch_range[1])
    if not 0 <= low <= high <= 127:
        raise GenforgeError(f"pitch range {low}-{high} is not inside 0-127")
    return low, high


def _cut(entries: list[_LabelledPiece], spec: WindowSpec, low: int, high: int, report: Counter,
         folders: list) -> list[tuple[_LabelledPiece, Windows]]:
    """The pieces with at least one window, and their windows; pieces with none counted in `report`."""
    cut = []
    for e in entries:
        w = spec.cut(e.piece, low, high, report)
        if len(w.grids):
            cut.append((e, w))
        else:
            report[f"pieces with no {spec.bars}-bar {ts_text(spec.time_signature)} window (pieces)"] += 1
    if not cut:
        raise GenforgeError(f"no {spec.bars}-bar windows in {ts_text(spec.time_signature)} with {spec.voices} "
                            f"pitched voice(s) inside pitches {low}-{high} in {', '.join(map(str, folders))}")
    return cut


# ---------------------------------------------------------------- the split

def _split_pieces(cut: list, test: float, validation: float, seed: int, notes: list[str]) -> dict[str, list]:
    """Whole pieces (with their windows) for "train", "validation" and "test", in that order."""
    train, val, held = split_items(cut, test, validation, seed)
    if not val:
        notes.append(f"{len(cut)} piece(s) only, none held out; metrics are on training windows")
    if not train:
        raise GenforgeError(f"{len(cut)} usable piece(s): none left for training after holding out "
                            f"test {test} and validation {validation}")
    return {"train": train, "validation": val, "test": held}


def _split_windows(parts: dict[str, list], label_names: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(grids, label ids) per split; a split without pieces gets the training windows."""
    label_index = {name: i for i, name in enumerate(label_names)}
    splits = {}
    for split, items in parts.items():
        if not items:
            splits[split] = splits["train"]          # the training windows, not transposed
            continue
        grids = np.concatenate([w.grids for _, w in items])
        ids = np.concatenate([np.full(len(w.grids), label_index.get(e.label, 0), np.int32) for e, w in items])
        splits[split] = (grids, ids)
    return splits


def _piece_names(parts: dict[str, list]) -> tuple[dict[str, list[str]], dict[str, dict[str, list[str]]]]:
    """The piece names per split, and per data folder per split."""
    names = {split: [e.piece.name for e, _ in items] for split, items in parts.items()}
    by_folder: dict[str, dict[str, list[str]]] = {}
    for split, items in parts.items():
        for e, _ in items:
            by_folder.setdefault(e.folder, {"train": [], "validation": [], "test": []})[split].append(e.piece.name)
    return names, by_folder


def _model_voices(first: Piece, voices: int) -> list[Voice]:
    """The voices the model writes: the first piece's pitched voices, or one voice (with the program of
    its first pitched voice) when the windows merge them."""
    pitched = first.pitched_voices()
    return [first.voices[i] for i in pitched] if voices == len(pitched) else \
        [Voice("Voice 1", first.voices[pitched[0]].program, 0)]


def _summary_notes(entries: list[_LabelledPiece], cut: list, spec: WindowSpec, pitches: tuple[int, int],
                   labels: str | None, report: Counter) -> list[str]:
    """The dataset's closing notes: windows and pieces used, mode labels, snapped notes, skips."""
    low, high = pitches
    n_windows = sum(len(w.grids) for _, w in cut)
    ts = ts_text(spec.time_signature)
    notes = [f"{n_windows} windows of {spec.bars} bars {ts} ({spec.steps} steps, "
             f"stride {spec.stride_bars} bar(s)) from {len(cut)} of {len(entries)} pieces; "
             f"pitches {low}-{high}; {spec.voices} voice(s)"]
    if labels == "mode":
        src = Counter(e.source for e in entries)
        per = Counter(e.label for e, _ in cut)
        notes.append(f"mode labels: {per['major']} major, {per['minor']} minor pieces "
                     f"({src['estimate']} estimated from the notes, {src['sidecar']} from labels files)")
    snapped = sum(e.piece.snapped for e, _ in cut)
    if snapped:
        notes.append(f"{snapped} note(s) off the {spec.steps_per_beat}-steps-per-beat grid snapped to the nearest step")
    for reason, n in sorted(report.items()):
        notes.append(f"skipped: {reason}: {n}")
    return notes
