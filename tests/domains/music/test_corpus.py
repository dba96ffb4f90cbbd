"""Music corpora on disk: the Bach folder read whole, and labels files."""
from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from support import needs_bach

from genforge.domains.music.corpus import read_labels
from genforge.errors import GenforgeError


@needs_bach
def test_bach_folder_reads_all_348_and_skips_the_rest(bach):
    assert len(bach.pieces) == 348
    assert bach.skip_counts() == Counter({"not a MIDI file": 2})      # metadata.csv and the licence
    assert all([v.name for v in p.voices] == ["Soprano", "Alto", "Tenor", "Bass"] for p in bach.pieces)
    assert all({v.program for v in p.voices} == {52} for p in bach.pieces)
    lo = min(p.pitch_range()[0] for p in bach.pieces)
    hi = max(p.pitch_range()[1] for p in bach.pieces)
    assert (lo, hi) == (36, 81)
    assert sum(p.snapped for p in bach.pieces) <= 10                  # SOURCE.md: 3 notes off the 16th grid


@needs_bach
def test_read_labels_csv_json_and_bad_files(bach_subset, tmp_path):
    d, files = bach_subset
    labels = read_labels(d)
    assert labels == {files[2].name: "major", files[3].stem: "Minor"}
    (tmp_path / "labels.json").write_text(json.dumps({"a.mid": "minor"}))
    assert read_labels(tmp_path) == {"a.mid": "minor"}
    (tmp_path / "labels.csv").write_text("a.mid,major\n")
    with pytest.raises(GenforgeError, match="both labels.csv and labels.json"):
        read_labels(tmp_path)
    (tmp_path / "labels.json").unlink()
    (tmp_path / "labels.csv").write_text("a.mid,major,extra\n")
    with pytest.raises(GenforgeError, match=r"labels.csv:1"):
        read_labels(tmp_path)


def write_three_tunes(folder) -> list:
    from genforge.domains.music.midi import write_midi

    roll = np.zeros((16, 12, 2), np.uint8)
    roll[::4, 0, 0] = roll[:, 0, 1] = 1  # one pitch, a note on each beat
    return [write_midi(folder / f"{name}.mid", roll, low=60) for name in ("a", "b", "c")]


def test_a_file_removed_between_listing_and_reading_is_skipped_and_counted(tmp_path, monkeypatch):
    from genforge.domains.music import corpus

    files = write_three_tunes(tmp_path)
    real_read = corpus.read_midi

    def remove_then_read(path, steps_per_beat=4):
        if path == files[1]:
            path.unlink()
        return real_read(path, steps_per_beat)

    monkeypatch.setattr(corpus, "read_midi", remove_then_read)
    folder = corpus.read_folder(tmp_path)
    assert [p.path.name for p in folder.pieces] == ["a.mid", "c.mid"]
    assert folder.skip_counts() == Counter({"missing": 1})


def test_a_file_removed_while_being_read_is_read_whole(tmp_path, monkeypatch):
    """The file is read once: removing it while its bytes are parsed changes nothing."""
    import mido

    from genforge.domains.music.midi import read_midi

    path = write_three_tunes(tmp_path)[0]
    whole = read_midi(path)
    real_parse = mido.MidiFile

    def remove_then_parse(*args, **kwargs):
        path.unlink(missing_ok=True)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(mido, "MidiFile", remove_then_parse)
    removed = read_midi(path)
    assert not path.exists() and np.array_equal(removed.notes, whole.notes)
