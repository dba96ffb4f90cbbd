"""Training data for the music VAE: bar-aligned windows from folders of MIDI files (or notes
archives), labelled, in every metre (or one), on one voice count and pitch range, split by whole
pieces, the training split augmented by transposition.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genforge.domains.music.corpus import LABEL_FILES, label_of, nearest_labels, read_folder
from genforge.domains.music.metres import WindowSpec, choose_metres, coverage, coverage_notes, label_name
from genforge.domains.music.roll import Piece, Voice, check_steps_per_beat, ts_text
from genforge.domains.music.stats import voice_overlaps
from genforge.domains.music.theory import MODES, estimate_mode
from genforge.domains.music.windows import Windows, transpose_windows
from genforge.domains.splits import split_items
from genforge.errors import GenforgeError

# A voice sounding two notes at once on at most this share of its sounding steps counts as monophonic.
MONOPHONIC_TOLERANCE = 0.001


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
    bars: int                                           # bars of `time_signature` in a window
    time_signature: tuple[int, int]                     # the most common metre: it sets the window's length
    tempo: float
    pieces: dict[str, list[str]]                        # split -> piece file names
    split: dict[str, dict[str, list[str]]]              # data folder -> split -> piece file names
    report: Counter                                     # skip reasons -> counts
    # Per label, (time signature, whole bars in its windows) when the windows come in more than one
    # metre (the labels then name the metre); None: every window in `time_signature`.
    label_metres: list[tuple[tuple[int, int], int]] | None = None
    label_counts: dict[str, int] = field(default_factory=dict)   # training windows per label, untransposed
    coverage: dict[str, dict] = field(default_factory=dict)      # metre -> {"bars", "in_windows"}
    padded: int = 0                                     # windows of a section shorter than a window
    short_sections: bool = False                        # windows in every metre, short sections kept
    monophonic: list[bool] | None = None                # per voice: no training window sounds two notes at once in it


@dataclass
class _LabelledPiece:
    """A piece read for the dataset, with its label."""

    piece: Piece
    label: str | None
    source: str                  # where the label came from: "estimate", "sidecar", "folder" or "none"
    folder: str                  # the data folder it was read from, as given


@dataclass
class _Part:
    """One metre's windows of a piece, with their label."""

    label: str | None
    spec: WindowSpec
    windows: Windows


def build_dataset(folders: list[str | Path] | str | Path, bars: int = 4, steps_per_beat: int = 4,
                  test: float = 0.2, validation: float = 0.1, seed: int = 0, transpose: int = 5,
                  labels: str | None = "mode", time_signature: tuple[int, int] | None = None,
                  pitch_range: tuple[int, int] | None = None, voices: int | None = None,
                  stride_bars: int = 1, recursive: bool = True,
                  shifts_per_window: int | None = None) -> MusicDataset:
    """Windows of whole bars from every MIDI file in `folders`, split by whole pieces.

    labels: "mode" (major/minor, estimated per piece; a labels.csv / labels.json beside the files
    overrides), "folder" (each folder is a label), "sidecar" (any labels from the sidecar files;
    unlabelled pieces skipped) or None (unconditional). time_signature: None takes every metre
    whose bar fits the grid (genforge.domains.music.metres): windows are `bars` bars of the most
    common metre long, each metre's windows hold as many whole bars as fit, and with more than one
    metre the labels name it ("minor 3/4"; "3/4" when unlabelled). A time signature: that metre
    only (by bar length), windows of `bars` bars. pitch_range: (low, high); None: the pitched
    notes' range over the windows. voices: pitched voices per window; None: the most common
    count. Transposition by up to `transpose` semitones (kept inside the range) augments the
    training split only: every legal shift of every window, or the original plus
    `shifts_per_window` random legal shifts (all shifts multiply the training set about 10x)."""
    folders, spb = _check_arguments(folders, bars, steps_per_beat, test, validation, transpose, labels,
                                    shifts_per_window)
    notes: list[str] = []
    report: Counter = Counter()
    entries = _labelled_pieces(folders, labels, recursive, spb, notes, report)
    if voices is None:
        voices = Counter(len(e.piece.pitched_voices()) for e in entries).most_common(1)[0][0]
    specs = choose_metres([e.piece for e in entries], spb, bars, time_signature, voices, stride_bars, notes)
    low, high = _pitch_range(entries, specs, pitch_range, folders)
    cut = _cut(entries, specs, low, high, report, folders)
    kept = [s for s in specs if any(p.spec == s for _, parts in cut for p in parts)]
    label_names, label_metres = _label_names(cut, kept, labels)

    parts = _split_pieces(cut, test, validation, seed, notes)
    splits = _split_windows(parts, label_names)
    train_ids = splits["train"][1]
    counts = {name: int(np.count_nonzero(train_ids == i)) for i, name in enumerate(label_names)}
    vs = _model_voices(cut[0][0].piece, voices)
    monophonic = _monophonic(splits["train"][0], vs, notes)
    if transpose:
        grids, ids = splits["train"]
        moved, src, _ = transpose_windows(grids, transpose, shifts_per_window, seed)
        splits["train"] = (moved, ids[src])
        notes.append(f"transposition by up to +-{transpose} semitones inside {low}-{high}: "
                     f"{len(grids)} training windows -> {len(moved)}")
    names, by_folder = _piece_names(parts)
    tempo = float(np.median([e.piece.tempo for e, _ in cut]))
    windows_of = {e.piece: [(p.spec, p.windows) for p in ps] for e, ps in cut}
    cover = coverage([e.piece for e in entries], [windows_of.get(e.piece, []) for e in entries])
    padded = sum(sum(e - s < p.spec.content for s, e in zip(p.windows.starts, p.windows.ends))
                 for _, ps in cut for p in ps)
    notes += _summary_notes(entries, cut, kept, (low, high), labels, report)
    notes += coverage_notes(cover)
    if time_signature is None:
        notes.append(f"padded windows: {padded} (a section shorter than a window, kept with silence after its "
                     "whole bars)")
    if label_metres is not None:
        notes.append("training windows per label (untransposed): " +
                     ", ".join(f"{name} {n}" for name, n in counts.items()))
    return MusicDataset(splits, label_names, notes, low, high, vs, spb, kept[0].bars, kept[0].time_signature, tempo,
                        names, by_folder, report, label_metres, counts, cover, padded, time_signature is None,
                        monophonic)


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

def _pitch_range(entries: list[_LabelledPiece], specs: list[WindowSpec], pitch_range,
                 folders: list) -> tuple[int, int]:
    """`pitch_range` checked, or the range of the pitched notes under the windows (where the windows
    fall, before any is cut)."""
    lo_hi = [128, -1]
    for e in entries:
        spans = [span for spec in specs for span in spec.spans(e.piece, Counter())]
        if not spans:
            continue
        n = e.piece.pitched_notes()
        s, end = np.asarray(spans).T
        under = ((n[:, 2, None] < end[None]) & (n[:, 3, None] > s[None])).any(1)
        if under.any():
            lo_hi = [min(lo_hi[0], int(n[under, 1].min())), max(lo_hi[1], int(n[under, 1].max()))]
    if pitch_range is None:
        if lo_hi[1] < 0:
            raise GenforgeError(f"no {_what(specs)} windows with {specs[0].voices} pitched voice(s) in "
                                f"{', '.join(map(str, folders))}")
        return lo_hi[0], lo_hi[1]
    low, high = int(pitch_range[0]), int(pitch_range[1])
    if not 0 <= low <= high <= 127:
        raise GenforgeError(f"pitch range {low}-{high} is not inside 0-127")
    return low, high


def _what(specs: list[WindowSpec]) -> str:
    """"4-bar 4/4" for one metre, "whole-bar" for every metre."""
    if len(specs) == 1 and not specs[0].short_sections:
        return f"{specs[0].bars}-bar {ts_text(specs[0].time_signature)}"
    return "whole-bar"


def _cut(entries: list[_LabelledPiece], specs: list[WindowSpec], low: int, high: int, report: Counter,
         folders: list) -> list[tuple[_LabelledPiece, list[_Part]]]:
    """The pieces with at least one window, and their windows per metre; pieces with none counted
    in `report`. Labels name the metre when more than one metre is in use (see _label_names)."""
    cut = []
    for e in entries:
        parts = [_Part(e.label, spec, spec.cut(e.piece, low, high, report)) for spec in specs]
        parts = [p for p in parts if len(p.windows.grids)]
        if parts:
            cut.append((e, parts))
        else:
            report[f"pieces with no {_what(specs)} window (pieces)"] += 1
    if not cut:
        raise GenforgeError(f"no {_what(specs)} windows with {specs[0].voices} pitched voice(s) inside pitches "
                            f"{low}-{high} in {', '.join(map(str, folders))}")
    return cut


def _label_names(cut: list, kept: list[WindowSpec], labels: str | None):
    """The labels (sorted as the model knows them) and, with more than one metre kept, each label's
    (time signature, bars); every part's label made the one it trains under."""
    if len(kept) == 1:
        if labels is None:
            return [], None
        if labels == "mode":
            return list(MODES), None
        return sorted({p.label for _, parts in cut for p in parts}), None
    base = list(MODES) if labels == "mode" else sorted({p.label for _, parts in cut for p in parts} - {None})
    names, metres = [], []
    for spec in kept:
        present = {p.label for _, parts in cut for p in parts if p.spec == spec}
        for b in (base or [None]):
            if b in present:
                names.append(label_name(b, spec.time_signature, True))
                metres.append((spec.time_signature, spec.bars))
    for _, parts in cut:
        for p in parts:
            p.label = label_name(p.label, p.spec.time_signature, True)
    return names, metres


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
        grids = np.concatenate([p.windows.grids for _, parts in items for p in parts])
        ids = np.concatenate([np.full(len(p.windows.grids), label_index.get(p.label, 0), np.int32)
                              for _, parts in items for p in parts])
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


def _monophonic(grids: np.ndarray, voices: list[Voice], notes: list[str], chunk: int = 1024) -> list[bool]:
    """Per voice, whether its training windows (almost) never sound two notes at once in it: on at most
    MONOPHONIC_TOLERANCE of its sounding steps (the Bach chorales' sopranos: 7 of 177,438, three grace
    notes). Such a voice is decoded as one choice per step (MusicCodec.one_of); the steps that break the
    rule train as their lowest new note (else lowest held one). The finding, with those steps' count,
    goes to `notes`."""
    overlaps, sounding = np.zeros(len(voices), np.int64), np.zeros(len(voices), np.int64)
    for i in range(0, len(grids), chunk):
        o, n = voice_overlaps(grids[i:i + chunk])
        overlaps, sounding = overlaps + o, sounding + n
    mono = [bool(o <= MONOPHONIC_TOLERANCE * n) for o, n in zip(overlaps, sounding)]
    named = [v.name for v, m in zip(voices, mono) if m]
    if named:
        notes.append(f"monophonic voice(s): {', '.join(named)} (two notes at once on at most "
                     f"{MONOPHONIC_TOLERANCE:.1%} of their sounding steps in the training windows): decoded as one "
                     "choice per step (rest, new note, held note)")
    for v, m, o, n in zip(voices, mono, overlaps, sounding):
        if o:
            notes.append(f"{'borderline' if m else 'polyphonic'} voice: {v.name}, {o:,} of its {n:,} sounding steps "
                         f"sound two or more notes at once" + (" (taken as monophonic: those steps break the rule)"
                                                             if m else "; it stays on/off per cell"))
    return mono


def _summary_notes(entries: list[_LabelledPiece], cut: list, specs: list[WindowSpec], pitches: tuple[int, int],
                   labels: str | None, report: Counter) -> list[str]:
    """The dataset's closing notes: windows and pieces used, mode labels, snapped notes, skips."""
    low, high = pitches
    per_metre = Counter()
    for _, parts in cut:
        for p in parts:
            per_metre[p.spec] += len(p.windows.grids)
    spec = specs[0]
    if len(specs) == 1:
        what = f"{spec.bars} bars {ts_text(spec.time_signature)} ({spec.steps} steps"
    else:
        what = f"{spec.steps} steps (" + ", ".join(f"{per_metre[s]} of {s.bars} bars {ts_text(s.time_signature)}"
                                                   for s in specs)
    notes = [f"{sum(per_metre.values())} windows of {what}, stride {spec.stride_bars} bar(s)) from {len(cut)} of "
             f"{len(entries)} pieces; pitches {low}-{high}; {spec.voices} voice(s)"]
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
