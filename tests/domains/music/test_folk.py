"""`genforge datasets build folk` (music21's ABC folk tunes as melody archives) and the engine under
it (genforge.domains.music.corpus_build): one voice per tune, metres and pickups as written, a cache
that lets an interrupted build go on, unparseable tunes skipped and counted, a pool of processes
giving what one process gives, and archives the training path reads in every metre."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from support import assert_user_error, invoke

from genforge.domains.music.corpus import read_folder
from genforge.domains.music.corpus_build import CACHE_FOLDER, Job, Result, run_jobs
from genforge.domains.music.folk import tunes_of

ABC = """%abc file header
L:1/8

X:3
T:first
M:3/4
K:G
D2|G2 A2 B2|c6|]

X:7
T:second
M:6/8
L:1/16
K:D
d4e2 f4g2|a12|]
"""


def test_tunes_of_splits_an_abc_file_and_carries_its_header():
    tunes = tunes_of(ABC)
    assert [n for n, _ in tunes] == [3, 7]
    assert tunes[0][1].startswith("X:3\nL:1/8\n") and "T:second" not in tunes[0][1]
    assert tunes[1][1].startswith("X:7\nL:1/8\n") and "L:1/16" in tunes[1][1]


def test_build_folk_without_music21_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "music21", None)              # import music21 -> ImportError
    out = tmp_path / "folk"
    res = invoke("datasets", "build", "folk", "--out", out)
    assert_user_error(res, "needs music21", 'pip install "genforge[corpora]"', out=out)


@pytest.fixture(scope="module")
def music21():
    return pytest.importorskip("music21", reason="music21 (the corpora extra) is not installed")


def test_convert_tune_keeps_one_voice_metre_and_pickup(music21):
    from genforge.domains.music.folk import convert_tune

    first = convert_tune(Job("a", "t.mid", "t", tunes_of(ABC)[0][1]))
    # 3/4 with a one-quarter pickup (D2 in 1/8 units): padded with two quarters of rest in front
    assert first.skipped is None and first.sigs == [(0, 3, 4)]
    assert first.notes[:, 0].tolist() == [0] * 5
    assert first.notes[:, 1].tolist() == [62, 67, 69, 71, 72]                 # D G A B c
    assert first.notes[:, 2].tolist() == [96, 144, 192, 240, 288]            # ticks of 1/48 quarter
    second = convert_tune(Job("b", "u.mid", "u", tunes_of(ABC)[1][1]))
    assert second.sigs == [(0, 6, 8)] and second.notes[-1, 3] - second.notes[-1, 2] == 144   # a12 at its own L:1/16, not the header's 1/8


def _explode(job: Job) -> Result:
    if "bad" in job.name:
        raise ValueError("no such note")
    return Result(np.array([[0, 60, 0, 48]]), [(0, 4, 4)], {"n": job.name})


def test_run_jobs_skips_what_fails_and_goes_on_from_its_cache(tmp_path):
    cache = tmp_path / CACHE_FOLDER
    jobs = [Job(f"k{i}", f"{'bad' if i == 2 else 'ok'}{i}.mid", f"s{i}", "") for i in range(5)]
    run = run_jobs(jobs[:3], _explode, cache, quiet=True)
    assert (run.converted, run.cached) == (3, 0)
    assert [r.skipped is None for _, r in run.results] == [True, True, False]
    assert run.skipped() == {"unparseable (ValueError: no such note)": 1}
    (cache / "k1.npz").write_bytes(b"cut short by a kill")                  # a write the kill interrupted
    again = run_jobs(jobs, _explode, cache, quiet=True)
    assert (again.converted, again.cached) == (3, 2)                          # k1 redone, k3 and k4 new
    assert [r.facts.get("n") for _, r in again.results] == ["ok0.mid", "ok1.mid", None, "ok3.mid", "ok4.mid"]
    assert again.results[2][1].skipped.startswith("unparseable")             # the skip was cached too


def test_build_folk_in_a_pool_reads_back_for_training(music21, tmp_path):
    """40 Essen tunes on 2 processes: the archives equal a 1-process build's, read back as one-voice
    pieces with their metres, and the training path cuts windows in more than one metre."""
    from genforge.domains.music.dataset import build_dataset
    from genforge.domains.music.folk import build

    written = build(tmp_path / "pool", "test", processes=2, limit=40, quiet=True)
    assert [p.name for p in written] == ["essen.npz", "LICENSE_music21_corpus.txt", "LICENSE_essen.txt",
                                         "PROVENANCE.md"]
    text = (tmp_path / "pool" / "PROVENANCE.md").read_text()
    assert "40 tunes converted on 2 process(es)" in text and "no time signature (free metre): 2" in text
    build(tmp_path / "one", "test", processes=1, limit=40, quiet=True)
    pooled, single = read_folder(tmp_path / "pool").pieces, read_folder(tmp_path / "one").pieces
    assert len(pooled) == 38 and [p.name for p in pooled] == [p.name for p in single]
    assert all(np.array_equal(a.notes, b.notes) and a.segments == b.segments for a, b in zip(pooled, single))
    assert all([v.name for v in p.voices] == ["Melody"] for p in pooled)
    metres = {s.time_signature for p in pooled for s in p.segments}
    assert {(3, 4), (4, 4), (6, 8), (3, 2), (4, 2)} <= metres
    ds = build_dataset(tmp_path / "pool" / "essen.npz", transpose=0, labels=None, test=0.2, validation=0.1)
    assert ds.voices[0].name == "Melody" and ds.monophonic == [True]
    assert ds.label_metres is not None and len({ts for ts, _ in ds.label_metres}) >= 3
    assert len(ds.splits["train"][0]) > 100


def test_metres_midi_cannot_write_are_named():
    """music21 reads a few O'Neill tunes' `M:1/6` as 1/6: such a tune is skipped when the archive is
    written (a notes archive, like MIDI, keeps power-of-two denominators only), never written corrupt."""
    from genforge.domains.music.scores import metre_problem

    assert metre_problem([(0, 6, 8), (96, 2, 4)]) is None
    assert metre_problem([(0, 4, 4), (192, 1, 6)]) == "a metre MIDI cannot write (1/6)"
    assert metre_problem([(0, 300, 4)]) is not None
