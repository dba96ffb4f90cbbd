"""`genforge datasets build palestrina`: music21's Palestrina kern files as archives per voice count."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from support import assert_user_error, invoke

from genforge.domains.music.corpus import read_folder


def test_build_palestrina_without_music21_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "music21", None)
    out = tmp_path / "palestrina"
    res = invoke("datasets", "build", "palestrina", "--out", out)
    assert_user_error(res, "needs music21", 'pip install "genforge[corpora]"', out=out)


def test_build_palestrina_keeps_every_voice_top_to_bottom(tmp_path):
    pytest.importorskip("music21", reason="music21 (the corpora extra) is not installed")
    from genforge.domains.music.palestrina import build

    written = build(tmp_path / "p", "test", processes=1, limit=2, quiet=True)
    assert [p.name for p in written] == ["palestrina-5v.npz", "LICENSE_music21_corpus.txt", "PROVENANCE.md"]
    assert "John Miller" in (tmp_path / "p" / "PROVENANCE.md").read_text()
    pieces = read_folder(tmp_path / "p").pieces
    assert [p.name for p in pieces] == ["Agnus.mid", "Agnus_00.mid"]       # Missa De Beata Marie Virginis (I)
    for p in pieces:
        assert len(p.voices) == 5 and {s.time_signature for s in p.segments} == {(4, 2)}
        means = [p.notes[p.notes[:, 0] == v, 1].mean() for v in range(5)]
        assert means[0] == max(means) and means[-1] == min(means)            # cantus on top, bassus below
        assert np.isin(np.arange(5), p.notes[:, 0]).all()
