"""Windows in every metre: one tensor length, whole bars of each metre, the padding masked, the
metre in the label; on the Bach chorales and on a folder of tunes the test writes."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from music_support import MIXED_TUNES, MIXED_WINDOWS, write_mixed_metre_folder
from support import BACH, needs_bach

from genforge.domains.music.codec import MusicCodec
from genforge.domains.music.dataset import build_dataset
from genforge.domains.music.midi import read_midi
from genforge.domains.music.roll import grid_notes, ts_text
from genforge.domains.music.windows import section_bars

try:
    import pretty_midi
except ImportError:
    pretty_midi = None


@pytest.fixture(scope="module")
def bach_all():
    if not (BACH / "midi").is_dir():
        pytest.skip("the Bach chorales of the shared MIDI data are absent")
    return build_dataset([BACH], seed=0, transpose=0)


@pytest.fixture(scope="module")
def tunes(tmp_path_factory):
    return write_mixed_metre_folder(tmp_path_factory.mktemp("metres"))


# ---------------------------------------------------------------- the Bach chorales

@needs_bach
def test_bach_every_bar_of_every_metre_is_in_a_window(bach_all, bach):
    ds = bach_all
    data = Counter()
    for p in bach.pieces:
        for first, end, ts, per_bar in section_bars(p):
            data[ts_text(ts)] += (end - first) // per_bar
    assert data == {"4/4": 4277, "3/4": 803, "3/2": 16, "12/8": 14}          # as the issue counts them
    assert {ts: r["bars"] for ts, r in ds.coverage.items()} == data
    used = sum(r["in_windows"] for r in ds.coverage.values())
    assert used / sum(data.values()) >= 0.95
    assert all(r["in_windows"] > 0 for r in ds.coverage.values())           # every metre with whole bars
    assert "bars in windows: 5110 of 5110 (100.0%)" in ds.notes
    assert any(n.startswith("bars in 3/4: 803 in the data, 803 in windows") for n in ds.notes)
    # Every piece counts now (37 of 348 gave nothing when windows were 4/4 only).
    pieces = sum(len(v) for v in ds.pieces.values())
    assert pieces == len(bach.pieces) == 348 and ds.report.get("pieces with no whole-bar window (pieces)", 0) == 0


@needs_bach
def test_bach_labels_are_mode_by_metre_and_3_4_windows_are_60_steps_of_music(bach_all, bach):
    ds = bach_all
    codec = MusicCodec.from_dataset(ds)
    metres = {"4/4": 4, "3/4": 5, "3/2": 2, "12/8": 2}
    assert ds.time_signature == (4, 4) and codec.grid_shape[0] == 64
    for name, (ts, bars) in zip(ds.labels, ds.label_metres):
        mode, metre = name.split()
        assert mode in ("major", "minor") and metre == ts_text(ts) and metres[metre] == bars
    assert {"major 4/4", "minor 4/4", "major 3/4", "minor 3/4"} <= set(ds.labels)
    assert {n.split()[1] for n in ds.labels} == set(metres)
    three = [i for i, n in enumerate(ds.labels) if n.endswith(" 3/4")]
    assert all(codec.row_mask[i].tolist() == [True] * 60 + [False] * 4 for i in three)
    assert codec.row_mask[ds.labels.index("major 4/4")].all()
    grids = np.concatenate([g for g, _ in ds.splits.values()])
    ids = np.concatenate([i for _, i in ds.splits.values()])
    in_34 = np.isin(ids, three)
    assert in_34.sum() >= 600
    assert not grids[in_34, 60:].any()                       # the padding is silent
    # The fifth bar holds music (but in riem368, whose chorale lines have silent bars between them).
    assert grids[in_34, 48:60].any(axis=(1, 2, 3)).mean() > 0.95
    # A 3/4 window is the piece itself: riem001 (3/4) from its first bar line.
    first = next(p for p in bach.pieces if p.name == "riem001_bwv269.mid")
    window = codec.read_window(first.path, three[0])
    assert np.array_equal(window[:60], first.grid(ds.low, ds.high)[:60]) and not window[60:].any()


# ---------------------------------------------------------------- a folder the test writes

def test_tunes_in_three_metres_give_windows_of_each(tunes):
    ds = build_dataset([tunes], labels=None, test=0, validation=0, transpose=0)
    assert ds.labels == ["4/4", "3/4", "6/8"]
    assert ds.label_metres == [((4, 4), 4), ((3, 4), 5), ((6, 8), 5)]
    assert ds.label_counts == MIXED_WINDOWS
    codec = MusicCodec.from_dataset(ds)
    mask = codec.row_mask
    assert mask.shape == (3, 64) and mask.sum(1).tolist() == [64, 60, 60]
    assert mask[1, :60].all() and not mask[1, 60:].any()
    grids, ids = ds.splits["train"]
    for i, steps in enumerate((64, 60, 60)):
        assert not grids[ids == i, steps:].any()
    # Every bar of every tune is in a window; the short 3/4 section of "mixed" is kept, padded.
    bars = {ts: sum(n for s in MIXED_TUNES.values() for t, n in s if ts_text(t) == ts) for ts in MIXED_WINDOWS}
    assert ds.coverage == {ts: {"bars": n, "in_windows": n} for ts, n in bars.items()}
    assert ds.padded == 1 and "padded windows: 1" in " ".join(ds.notes)
    short = grids[(ids == 1)].any(axis=(2, 3))               # (windows, steps): which steps sound
    lengths = sorted(int(s.nonzero()[0].max()) + 1 for s in short)
    assert lengths[0] == 24 and lengths[1:] == [60] * (len(lengths) - 1)   # 2 bars of music, then silence


def test_labels_name_the_metre_only_when_there_is_more_than_one(tunes, tmp_path):
    ds = build_dataset([tunes], labels="folder", test=0, validation=0, transpose=0)
    assert ds.labels == ["tunes 4/4", "tunes 3/4", "tunes 6/8"]
    one = tmp_path / "four"
    one.mkdir()
    for stem in ("four_a", "four_b"):
        (one / f"{stem}.mid").write_bytes((tunes / f"{stem}.mid").read_bytes())
    single = build_dataset([one], labels="folder", test=0, validation=0, transpose=0)
    assert single.labels == ["four"] and single.label_metres is None
    assert MusicCodec.from_dataset(single).row_mask is None
    # A time signature asked for: that metre alone, other bars skipped and counted as before.
    only = build_dataset([tunes], labels=None, test=0, validation=0, transpose=0, time_signature=(3, 4))
    assert only.labels == [] and only.splits["train"][0].shape[1] == 48
    assert only.coverage["4/4"]["in_windows"] == 0 and only.coverage["3/4"]["in_windows"] == 20


def test_a_3_4_sample_is_written_as_whole_bars_of_3_4(tunes, tmp_path):
    ds = build_dataset([tunes], labels=None, test=0, validation=0, transpose=0)
    codec = MusicCodec.from_dataset(ds)
    grids, ids = ds.splits["train"]
    label = ds.labels.index("3/4")
    g = next(w for w in grids[ids == label] if w[48:60].any()).copy()    # a whole window, not the short one
    noisy = g.copy()
    noisy[60:, :, 1::2] = True                               # a decoder's output in the padding is cropped
    files = codec.export(noisy, label, tmp_path, "three", {"seed": 0})
    piece = read_midi(files[0])
    assert piece.time_signature == (3, 4) and piece.n_steps == 60
    assert [(s.time_signature, s.end - s.bar_start) for s in piece.segments] == [((3, 4), 60)]
    assert np.array_equal(codec.read_window(files[0], label), g)
    assert len(grid_notes(piece.grid(ds.low, ds.high)[:60])) == len(grid_notes(g))
    if pretty_midi is not None:
        pm = pretty_midi.PrettyMIDI(str(files[0]))
        assert [(t.numerator, t.denominator) for t in pm.time_signature_changes] == [(3, 4)]
        seconds = 60 * 60.0 / (codec.tempo * codec.steps_per_beat)      # 60 steps: 15 quarter notes
        assert max(n.end for i in pm.instruments for n in i.notes) == pytest.approx(seconds)
        assert np.allclose(pm.get_downbeats(), np.arange(6) * seconds / 5)   # bar lines: 5 whole bars
    import wave

    from PIL import Image
    with wave.open(str(files[2])) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(60 * 60 / (codec.tempo * 4) + 0.08, abs=0.01)
    with Image.open(files[1]) as im:
        assert im.size == (60 * 4, (ds.high - ds.low + 1) * 3)
    assert any("3/4 5 bar(s) (60 of 64 steps)" in line for line in codec.describe({}))


def test_metrics_measure_each_label_on_its_own_bars(tunes):
    ds = build_dataset([tunes], labels=None, test=0, validation=0, transpose=0)
    codec = MusicCodec.from_dataset(ds)
    grids, ids = ds.splits["train"]
    garbage = grids.copy()
    garbage[ids == 1, 60:] = True                            # padding of the 3/4 windows all on
    m = codec.metrics(grids, garbage, ids)
    assert m["accuracy"] == 1.0 and m["onset_f1"] == 1.0      # the padding is not measured
    # Bars counted in 3/4 (13 windows of 5 bars): empty only the 3 after the short section's 2.
    assert m["per_label"]["3/4"]["true"]["empty_bar_rate"] == pytest.approx(3 / 65)
    # 3/4 windows hold 5 bars of 12 steps, 2 voices: the bass sounds in every bar, 3 melody notes a bar.
    attrs = codec.attributes(grids[ids == 1][:1], np.array([1]))
    full = [w for w in grids[ids == 1] if w[48:60].any()][0]
    assert codec.attributes(full[None], np.array([1]))["density"][0] == pytest.approx(len(grid_notes(full)) / 5)
    assert np.isfinite(attrs["density"]).all()
