"""build_dataset: windows split by whole pieces, transposed for training, labelled by mode, folder or
labels files."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from music_support import SCALE
from support import BACH, needs_bach

from genforge.domains.music.codec import MusicCodec
from genforge.domains.music.dataset import build_dataset
from genforge.domains.music.midi import read_midi, write_midi
from genforge.domains.music.roll import Segment, Voice, notes_to_grid
from genforge.domains.music.theory import estimate_mode
from genforge.errors import GenforgeError


@needs_bach
def test_build_dataset_splits_transposes_and_labels(bach_subset):
    d, files = bach_subset
    ds = build_dataset([d], bars=4, test=0.2, validation=0.1, seed=3, transpose=5)
    # The 40 hold 4/4 and 3/4 pieces: the labels are mode by metre, 3/4 windows 5 bars of the 64 steps.
    assert ds.labels == ["major 4/4", "minor 4/4", "major 3/4", "minor 3/4"]
    assert ds.label_metres == [((4, 4), 4), ((4, 4), 4), ((3, 4), 5), ((3, 4), 5)]
    assert ds.time_signature == (4, 4)
    shape = ds.splits["train"][0].shape[1:]
    assert shape == (64, ds.high - ds.low + 1, 8)
    assert 36 <= ds.low and ds.high <= 81
    names = {k: set(v) for k, v in ds.pieces.items()}
    assert not (names["train"] & names["test"]) and not (names["train"] & names["validation"])
    assert not (names["validation"] & names["test"])
    # Augmented training set: more windows than the un-augmented held-out share would suggest,
    # and every window still obeys the layout (onset implies hold) inside the range.
    train, ids = ds.splits["train"]
    assert len(train) == len(ids) and set(np.unique(ids)) == {0, 1, 2, 3}
    assert np.all(train[..., 1::2] >= train[..., 0::2])
    assert not train[ids >= 2, 60:].any()                             # transposed 3/4 windows keep silent padding
    assert any("transposition" in n and "->" in n for n in ds.notes)
    assert any(n.startswith("bars in 3/4: ") and "(100.0%)" in n for n in ds.notes)   # bars used, per metre
    assert any("not a MIDI file" in n for n in ds.notes)              # notes.txt
    assert ds.report["files skipped: not a MIDI file (files)"] == 1
    # Without transposition the training split is smaller; held-out splits are never augmented.
    plain = build_dataset([d], bars=4, test=0.2, validation=0.1, seed=3, transpose=0)
    assert len(plain.splits["train"][0]) < len(train)
    assert len(plain.splits["test"][0]) == len(ds.splits["test"][0])
    assert len(plain.splits["validation"][0]) == len(ds.splits["validation"][0])
    capped = build_dataset([d], bars=4, test=0.2, validation=0.1, seed=3, transpose=5, shifts_per_window=2)
    assert len(plain.splits["train"][0]) < len(capped.splits["train"][0]) <= 3 * len(plain.splits["train"][0])
    assert plain.label_counts == {name: int(np.count_nonzero(plain.splits["train"][1] == i))
                                  for i, name in enumerate(plain.labels)}
    # One metre asked for: mode labels alone, the other metre's bars skipped and reported.
    four = build_dataset([d], bars=4, test=0.2, validation=0.1, seed=3, transpose=0, time_signature=(4, 4))
    assert four.labels == ["major", "minor"] and four.label_metres is None
    assert any("skipped: bars in 3/4 (bar of 12 steps, not 16)" in n for n in four.notes)


@needs_bach
def test_labels_sidecar_overrides_the_estimate(bach_subset, tmp_path):
    _, files = bach_subset
    # An override that contradicts the estimate wins.
    target = read_midi(files[2])
    est = estimate_mode(target)
    flip = "minor" if est == "major" else "major"
    d2 = tmp_path / "one"
    d2.mkdir()
    os.symlink(files[2], d2 / files[2].name)
    for f in files[4:8]:
        os.symlink(f, d2 / f.name)
    (d2 / "labels.json").write_text(json.dumps({files[2].name: flip}))
    ds = build_dataset([d2], test=0, validation=0, transpose=0)
    assert any("1 from labels files" in n for n in ds.notes)
    (d2 / "labels.json").write_text(json.dumps({files[2].name: "cheerful"}))
    with pytest.raises(GenforgeError, match="not a mode"):
        build_dataset([d2], test=0, validation=0, transpose=0)
    ds = build_dataset([d2], test=0, validation=0, transpose=0, labels="sidecar")
    assert ds.labels == ["cheerful"]


@needs_bach
def test_the_chorales_four_voices_are_monophonic():
    ds = build_dataset([BACH], test=0.2, validation=0.1, seed=0, transpose=0)
    assert [v.name for v in ds.voices] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert ds.monophonic == [True, True, True, True]
    # Three grace notes in two sopranos sound two notes at once on 7 steps: reported, within the tolerance.
    assert any(n.startswith("monophonic voice(s): Soprano, Alto, Tenor, Bass") for n in ds.notes)
    borderline = [n for n in ds.notes if n.startswith("borderline voice: Soprano")]
    assert len(borderline) == 1 and " of its " in borderline[0], ds.notes
    codec = MusicCodec.from_dataset(ds)
    assert codec.one_of == ((0, 1), (2, 3), (4, 5), (6, 7))
    assert codec.meta()["monophonic"] == [True] * 4


def test_a_piano_playing_chords_is_polyphonic_beside_a_monophonic_melody(tmp_path):
    voices = [Voice("Melody", 0, 0), Voice("Piano", 0, 1)]
    for i in range(4):
        notes = []
        for bar in range(8):
            root = SCALE[(bar + i) % 4]
            notes += [(1, root - 12 + d, bar * 16, bar * 16 + 16) for d in (0, 4, 7)]    # a triad per bar
            notes += [(0, SCALE[(bar + k + i) % len(SCALE)], bar * 16 + 4 * k, bar * 16 + 4 * k + 4) for k in range(4)]
        grid = notes_to_grid(np.asarray(notes), 128, 2)
        write_midi(tmp_path / f"tune{i}.mid", grid, voices, segments=[Segment(0, 128, (4, 4), 100.0)])
    ds = build_dataset([tmp_path], labels=None, test=0, validation=0, transpose=0)
    assert ds.monophonic == [True, False]
    assert any(n.startswith("polyphonic voice: Piano") and "on/off per cell" in n for n in ds.notes), ds.notes
    codec = MusicCodec.from_dataset(ds)
    assert codec.one_of == ((0, 1),)
    assert "Melody (program 0, monophonic), Piano (program 0)" in "\n".join(codec.describe({}))
