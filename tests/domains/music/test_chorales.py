"""The chorales corpus: the committed notes archive (datasets/chorales), read without music21 and
equal to the shared MIDI conversion, and `genforge datasets build chorales` (music21)."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from support import BACH, REPO, assert_user_error, invoke, needs_bach

from genforge.domains.music.corpus import read_folder
from genforge.domains.music.midi import read_midi

CHORALES = REPO / "datasets" / "chorales"


def test_committed_chorales_archive_reads_without_music21():
    """The archive is read by numpy alone (test_music_cli.py's no-TensorFlow test shows music21 stays
    out too)."""
    assert (CHORALES / "chorales.npz").is_file(), "datasets/chorales/chorales.npz is committed"
    assert (CHORALES / "chorales.npz").stat().st_size < 2_000_000
    folder = read_folder(CHORALES)
    assert len(folder.pieces) == 347
    assert all([v.name for v in p.voices] == ["Soprano", "Alto", "Tenor", "Bass"] for p in folder.pieces)
    text = (CHORALES / "PROVENANCE.md").read_text()
    assert "music21" in text and "`genforge datasets build chorales`" in text and "347 chorales" in text


# Known, documented differences from the shared MIDI conversion (datasets/chorales/PROVENANCE.md).
OTHER_FILE = {"riem126_bwv18.5-l.mid", "riem313_bwv112.5.mid", "riem327_bwv190.7.mid", "riem333_bwv69.6.mid"}
METRE_KEPT = {"riem252_bwv362.mid", "riem280_bwv304.mid"}   # 4/4 -> 3/4 here; 4/4 throughout in the MIDI set


@needs_bach
def test_committed_chorales_equal_the_shared_midi_conversion():
    """Same notes, metres (pickups padded alike) and voices as the shared MIDI set, piece for piece."""
    pieces = {p.name: p for p in read_folder(CHORALES).pieces}
    files = [f for f in sorted((BACH / "midi").glob("*.mid")) if f.name not in OTHER_FILE]
    assert len(files) == 344 and {f.name for f in files} <= set(pieces)
    differ = []
    for f in files:
        mine, theirs = pieces[f.name], read_midi(f)
        if not np.array_equal(mine.notes, theirs.notes) or mine.voices != theirs.voices:
            differ.append(f.name)
        elif f.name in METRE_KEPT:
            assert [s.time_signature for s in mine.segments] == [(4, 4), (3, 4)], f.name
        elif not (mine.segments == theirs.segments and mine.n_steps == theirs.n_steps):
            differ.append(f.name)
    assert not differ, differ


def test_build_chorales_without_music21_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "music21", None)              # import music21 -> ImportError
    out = tmp_path / "chorales"
    res = invoke("datasets", "build", "chorales", "--out", out)
    assert_user_error(res, "needs music21", 'pip install "genforge[chorales]"', out=out)


def test_build_chorales_from_music21(tmp_path):
    pytest.importorskip("music21", reason="music21 (the chorales extra) is not installed")
    from genforge.domains.music.chorales import build

    written = build(tmp_path / "c", "test", limit=6)
    assert [p.name for p in written] == ["chorales.npz", "LICENSE_music21_corpus.txt", "PROVENANCE.md"]
    pieces = read_folder(tmp_path / "c").pieces
    committed = {p.name: p for p in read_folder(CHORALES).pieces}
    assert [p.name for p in pieces] == [f"riem{i:03d}_{n}" for i, n in
                                        zip(range(1, 7), ["bwv269.mid", "bwv347.mid", "bwv153.1.mid",
                                                          "bwv86.6.mid", "bwv267.mid", "bwv281.mid"])]
    for p in pieces:
        assert np.array_equal(p.grid(), committed[p.name].grid()) and p.segments == committed[p.name].segments
