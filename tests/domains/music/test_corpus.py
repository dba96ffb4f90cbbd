"""Music corpora on disk: the Bach folder read whole, and labels files."""
from __future__ import annotations

import json
from collections import Counter

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
