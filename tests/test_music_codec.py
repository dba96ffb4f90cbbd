"""The music codec: MIDI <-> onset/hold piano rolls <-> windows, previews, audio, statistics, bad input.

The Bach-chorale tests need the shared MIDI set (../shared/datasets/midi beside the repository)
and are skipped without it; the synthetic ones always run.
"""
from __future__ import annotations

import csv
import io
import json
import os
import wave
from collections import Counter
from pathlib import Path

import mido
import numpy as np
import pytest

from genforge.domains import music as M
from genforge.errors import GenforgeError

REPO = Path(__file__).resolve().parents[1]
MIDI_DATA = REPO.parent / "shared" / "datasets" / "midi"
BACH = MIDI_DATA / "bach_chorales_music21"
needs_bach = pytest.mark.skipif(not (BACH / "metadata.csv").is_file(),
                                reason=f"real MIDI data not found at {BACH} (shared dataset absent)")
# pretty_midi is only a test-time reference reader (genforge itself uses mido alone).
try:
    import pretty_midi  # noqa: F401
    HAVE_PRETTY_MIDI = True
except ImportError:
    HAVE_PRETTY_MIDI = False
needs_pretty_midi = pytest.mark.skipif(not HAVE_PRETTY_MIDI, reason="pretty_midi is not installed "
                                       "(pip install pretty_midi): the independent-reader checks need it")


# ---------------------------------------------------------------- helpers

def make_midi(path: Path, tracks: list[list], type_: int = 1, tpb: int = 480) -> Path:
    """tracks: lists of (absolute tick, message); delta times are filled in."""
    mid = mido.MidiFile(type=type_, ticks_per_beat=tpb)
    for events in tracks:
        tr = mido.MidiTrack()
        now = 0
        for tick, msg in sorted(events, key=lambda e: e[0]):
            tr.append(msg.copy(time=tick - now))
            now = tick
        mid.tracks.append(tr)
    mid.save(str(path))
    return path


def note(ch: int, pitch: int, on: int, off: int) -> list:
    return [(on, mido.Message("note_on", channel=ch, note=pitch, velocity=90)),
            (off, mido.Message("note_off", channel=ch, note=pitch, velocity=0))]


def meta_track(ts=(4, 4), bpm=120.0, extra=()) -> list:
    return [(0, mido.MetaMessage("time_signature", numerator=ts[0], denominator=ts[1])),
            (0, mido.MetaMessage("set_tempo", tempo=int(round(60e6 / bpm)))), *extra]


def seconds_of(step: int, segments: list, spb: int) -> float:
    """Where a grid step falls in seconds under the segments' tempos."""
    t = 0.0
    for s in segments:
        if step <= s.start:
            break
        t += (min(step, s.end) - s.start) * 60.0 / (s.tempo * spb)
    return t


def check_with_pretty_midi(path: Path, grid: np.ndarray, voices: list, segments: list, spb: int, low: int = 0):
    """An independent reader agrees on tracks, names, programs, note counts and onset times.
    Without pretty_midi this does nothing; test_pretty_midi_reads_every_written_bach_file then
    reports the skip."""
    if not HAVE_PRETTY_MIDI:
        return
    pm = pretty_midi.PrettyMIDI(str(path))
    assert len(pm.instruments) == len(voices)
    notes = M.grid_notes(grid, low)
    for vi, (inst, v) in enumerate(zip(pm.instruments, voices)):
        assert inst.name == v.name
        assert inst.program == v.program
        assert inst.is_drum == v.is_drum
        mine = notes[notes[:, 0] == vi]
        assert len(inst.notes) == len(mine)
        got = sorted((n.start, n.pitch) for n in inst.notes)
        want = sorted((seconds_of(int(s), segments, spb), int(p)) for _, p, s, _ in mine)
        assert [p for _, p in got] == [p for _, p in want]
        # MIDI stores tempo in whole microseconds per beat: allow that rounding, nothing more.
        assert np.allclose([t for t, _ in got], [t for t, _ in want], rtol=1e-6, atol=1e-6)


def no_leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------- the Bach set

@pytest.fixture(scope="module")
def bach():
    if not (BACH / "metadata.csv").is_file():
        pytest.skip(f"real MIDI data not found at {BACH}")
    return M.read_folder(BACH)


@pytest.fixture(scope="module")
def bach_meta():
    with open(BACH / "metadata.csv", newline="") as f:
        return {r["file"]: r for r in csv.DictReader(f)}


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


@pytest.fixture(scope="module")
def bach_written(bach, tmp_path_factory) -> Path:
    """Every Bach piece written back to MIDI by write_piece: <dir>/<index>.mid."""
    d = tmp_path_factory.mktemp("bach-written")
    for i, piece in enumerate(bach.pieces):
        M.write_piece(d / f"{i:03d}.mid", piece)
    return d


@needs_bach
def test_round_trip_is_exact_on_every_bach_file(bach, bach_written):
    """MIDI -> roll -> MIDI -> roll gives the same roll, metre and tempo segments, and voices."""
    bad = []
    for i, piece in enumerate(bach.pieces):
        again = M.read_midi(bach_written / f"{i:03d}.mid")
        # grid(): every voice's onset and hold planes over all 128 pitches.
        if not (again.n_steps == piece.n_steps and np.array_equal(again.grid(), piece.grid())
                and again.segments == piece.segments
                and again.voices == piece.voices and again.snapped == 0):
            bad.append(piece.name)
    assert not bad, f"round trip differs for {len(bad)} files: {bad[:5]}"
    assert no_leftovers(bach_written) == [f"{i:03d}.mid" for i in range(len(bach.pieces))]   # no temporaries


@needs_bach
@needs_pretty_midi
def test_pretty_midi_reads_every_written_bach_file(bach, bach_written):
    """An independent reader parses every file we wrote: tracks, names, programs, note counts and
    onset times in seconds (from the tempo) match the roll."""
    for i, p in enumerate(bach.pieces):
        check_with_pretty_midi(bach_written / f"{i:03d}.mid", p.grid(), p.voices, p.segments, p.steps_per_beat)


@needs_bach
def test_mode_estimate_agrees_with_metadata(bach, bach_meta):
    agree = [M.estimate_mode(p) == bach_meta[p.name]["key"].split()[-1].lower() for p in bach.pieces]
    share = float(np.mean(agree))
    print(f"mode agreement with metadata.csv: {share:.3f} ({sum(agree)}/{len(agree)})")
    assert share >= 0.85


@needs_bach
def test_bach_windows_skip_other_metres_and_count_them(bach, bach_meta):
    report, n, per_piece = Counter(), 0, {}
    for p in bach.pieces:
        w = M.cut_windows(p, bars=4, time_signature=(4, 4), report=report)
        per_piece[p.name] = len(w.grids)
        n += len(w.grids)
        assert w.grids.shape[1:] == (64, 128, 8) or len(w.grids) == 0
        assert all((s - p.segments[0].bar_start) % 16 == 0 for s in w.starts)   # on bar lines
    print(f"4-bar 4/4 windows: {n}; skipped: {dict(report)}")
    three_four = [f for f, r in bach_meta.items() if r["time_signatures"] == "3/4"]
    assert len(three_four) == 35
    assert all(per_piece[f] == 0 for f in three_four)
    assert report["bars in 3/4 (bar of 12 steps, not 16) (bars)"] > 0
    assert report["bars in 3/2 (bar of 24 steps, not 16) (bars)"] > 0
    assert report["bars in 12/8 (bar of 24 steps, not 16) (bars)"] > 0
    assert sum(v > 0 for v in per_piece.values()) == 311
    assert n > 3000
    # The same pieces asked for 3/4 windows give windows from the 3/4 pieces only.
    r34 = Counter()
    assert len(M.cut_windows(bach.pieces[0], 4, (3, 4), report=r34).grids) > 0   # riem001 is in 3/4
    assert M.read_midi(BACH / "midi" / "riem001_bwv269.mid").time_signature == (3, 4)


@pytest.fixture(scope="module")
def bach_subset(tmp_path_factory):
    """40 chorales (symlinked, not copied) plus a labels.csv overriding two modes, and a 3/4 piece."""
    if not (BACH / "metadata.csv").is_file():
        pytest.skip(f"real MIDI data not found at {BACH}")
    d = tmp_path_factory.mktemp("bach40")
    files = sorted((BACH / "midi").glob("*.mid"))[:40]
    for f in files:
        os.symlink(f, d / f.name)
    (d / "labels.csv").write_text(f"file,label\n{files[2].name},major\n{files[3].stem},Minor\n")
    (d / "notes.txt").write_text("not music\n")
    return d, files


@needs_bach
def test_build_dataset_splits_transposes_and_labels(bach_subset):
    d, files = bach_subset
    ds = M.build_dataset([d], bars=4, test=0.2, validation=0.1, seed=3, transpose=5)
    assert ds.labels == ["major", "minor"]
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
    assert len(train) == len(ids) and set(np.unique(ids)) <= {0, 1}
    assert np.all(train[..., 1::2] >= train[..., 0::2])
    assert any("transposition" in n and "->" in n for n in ds.notes)
    assert any("3/4" in n for n in ds.notes)                          # skipped bars are reported
    assert any("not a MIDI file" in n for n in ds.notes)              # notes.txt
    assert ds.report["files skipped: not a MIDI file (files)"] == 1
    # Without transposition the training split is smaller; held-out splits are never augmented.
    plain = M.build_dataset([d], bars=4, test=0.2, validation=0.1, seed=3, transpose=0)
    assert len(plain.splits["train"][0]) < len(train)
    assert len(plain.splits["test"][0]) == len(ds.splits["test"][0])
    assert len(plain.splits["validation"][0]) == len(ds.splits["validation"][0])
    capped = M.build_dataset([d], bars=4, test=0.2, validation=0.1, seed=3, transpose=5, shifts_per_window=2)
    assert len(plain.splits["train"][0]) < len(capped.splits["train"][0]) <= 3 * len(plain.splits["train"][0])


@needs_bach
def test_labels_sidecar_overrides_the_estimate(bach_subset, tmp_path):
    d, files = bach_subset
    labels = M.read_labels(d)
    assert labels == {files[2].name: "major", files[3].stem: "Minor"}
    (tmp_path / "labels.json").write_text(json.dumps({"a.mid": "minor"}))
    assert M.read_labels(tmp_path) == {"a.mid": "minor"}
    (tmp_path / "labels.csv").write_text("a.mid,major\n")
    with pytest.raises(GenforgeError, match="both labels.csv and labels.json"):
        M.read_labels(tmp_path)
    (tmp_path / "labels.json").unlink()
    (tmp_path / "labels.csv").write_text("a.mid,major,extra\n")
    with pytest.raises(GenforgeError, match=r"labels.csv:1"):
        M.read_labels(tmp_path)
    # An override that contradicts the estimate wins.
    target = M.read_midi(files[2])
    est = M.estimate_mode(target)
    flip = "minor" if est == "major" else "major"
    d2 = tmp_path / "one"
    d2.mkdir()
    os.symlink(files[2], d2 / files[2].name)
    for f in files[4:8]:
        os.symlink(f, d2 / f.name)
    (d2 / "labels.json").write_text(json.dumps({files[2].name: flip}))
    ds = M.build_dataset([d2], test=0, validation=0, transpose=0)
    assert any("1 from labels files" in n for n in ds.notes)
    (d2 / "labels.json").write_text(json.dumps({files[2].name: "cheerful"}))
    with pytest.raises(GenforgeError, match="not a mode"):
        M.build_dataset([d2], test=0, validation=0, transpose=0)
    ds = M.build_dataset([d2], test=0, validation=0, transpose=0, labels="sidecar")
    assert ds.labels == ["cheerful"]


# ---------------------------------------------------------------- synthetic MIDI

def test_repeated_notes_survive(tmp_path):
    """Four repeated quarter-note Gs stay four notes; a long G stays one."""
    ev = []
    for k in range(4):
        ev += note(0, 67, k * 480, (k + 1) * 480)
    ev += note(0, 67, 4 * 480, 8 * 480)
    src = make_midi(tmp_path / "rep.mid", [meta_track(), [(0, mido.MetaMessage("track_name", name="Lead"))] + ev])
    p = M.read_midi(src)
    assert [v.name for v in p.voices] == ["Lead"]
    onset, hold = p.onset[0, :, 67], p.hold[0, :, 67]
    assert np.flatnonzero(onset).tolist() == [0, 4, 8, 12, 16]
    assert hold[:32].all() and p.n_steps == 32
    out = M.write_piece(tmp_path / "out.mid", p)
    again = M.read_midi(out)
    assert np.array_equal(again.onset, p.onset) and np.array_equal(again.hold, p.hold)
    check_with_pretty_midi(out, p.grid(), p.voices, p.segments, 4)
    # Directly from a grid: onset cells split a held pitch even with hold on throughout.
    g = np.zeros((16, 1, 2), bool)
    g[:, 0, 1] = True
    g[[0, 3, 9], 0, 0] = True
    notes = M.grid_notes(g, low=60)
    assert notes.tolist() == [[0, 60, 0, 3], [0, 60, 3, 9], [0, 60, 9, 16]]
    assert np.array_equal(M.notes_to_grid(notes, 16, 1, low=60, high=60), g)
    M.write_midi(tmp_path / "g.mid", g, ["x"], tempo=90, low=60)
    check_with_pretty_midi(tmp_path / "g.mid", g, [M.Voice("x")], [M.Segment(0, 16, (4, 4), 90.0)], 4, 60)
    # An onset without hold still sounds (for one step); a hold run with no onset starts a note.
    h = np.zeros((8, 1, 2), bool)
    h[2, 0, 0] = True
    h[5:7, 0, 1] = True
    assert M.grid_notes(h).tolist() == [[0, 0, 2, 3], [0, 0, 5, 7]]


def test_metre_changes_tempo_changes_and_snapping(tmp_path):
    """3/4 for two bars, then 4/4 with a tempo change mid-bar; an off-grid note is snapped."""
    tpb = 480
    meta = [(0, mido.MetaMessage("time_signature", numerator=3, denominator=4)),
            (0, mido.MetaMessage("set_tempo", tempo=500000)),
            (6 * tpb, mido.MetaMessage("time_signature", numerator=4, denominator=4)),
            (8 * tpb, mido.MetaMessage("set_tempo", tempo=400000))]
    ev = [(0, mido.Message("program_change", channel=0, program=19))]
    for q in range(6 + 16 + 2):
        ev += note(0, 60 + q % 12, q * tpb, (q + 1) * tpb)
    ev += note(0, 72, 6 * tpb + 130, 7 * tpb)            # 130 ticks: nearer step 1 than step 0
    src = make_midi(tmp_path / "mix.mid", [meta, ev])
    p = M.read_midi(src)
    assert p.voices == [M.Voice("Track 1", 19, 0, False)]
    assert p.snapped == 1
    assert p.onset[0, 25, 72]                                 # step 24 + 1
    assert [(s.start, s.end, s.time_signature, s.tempo, s.bar_start) for s in p.segments] == [
        (0, 24, (3, 4), 120.0, 0), (24, 32, (4, 4), 120.0, 24), (32, 104, (4, 4), 150.0, 24)]
    # 24 quarters = 6 in 3/4 + 18 in 4/4: 4.5 bars of 4/4, padded with rest to 5 (n_steps 24 + 80).
    assert p.n_steps == 104
    report = Counter()
    w = M.cut_windows(p, 4, (4, 4), report=report)
    assert w.starts == [24, 40]                               # inside the 4/4 section, on its bar lines
    assert report["bars in 3/4 (bar of 12 steps, not 16) (bars)"] == 2
    r3 = Counter()
    assert len(M.cut_windows(p, 4, (3, 4), report=r3).grids) == 0
    assert r3["bars in 3/4 sections shorter than 4 bars (bars)"] == 2
    assert r3["bars in 4/4 (bar of 16 steps, not 12) (bars)"] == 5
    assert M.cut_windows(p, 2, (3, 4)).starts == [0]
    # Round trip keeps the metre and tempo changes; pretty_midi times follow the tempo map.
    out = M.write_piece(tmp_path / "mix-out.mid", p)
    again = M.read_midi(out)
    assert again.segments == p.segments and np.array_equal(again.grid(), p.grid())
    check_with_pretty_midi(out, p.grid(), p.voices, p.segments, 4)
    # Bar lengths: 4/4 -> 16, 3/4 -> 12, 6/8 -> 12, 12/8 -> 24 at 4 steps per beat.
    assert [M.bar_steps(ts, 4) for ts in [(4, 4), (3, 4), (6, 8), (12, 8), (3, 2)]] == [16, 12, 12, 24, 24]


def test_type0_channels_become_voices_and_drums_are_apart(tmp_path):
    ev = [(0, mido.MetaMessage("track_name", name="Band")),
          (0, mido.Message("program_change", channel=0, program=0)),
          (0, mido.Message("program_change", channel=1, program=33))]
    for k in range(16):
        ev += note(0, 72 + k % 5, k * 240, (k + 1) * 240)
        ev += note(1, 40, k * 480, (k + 1) * 480)
        ev += note(9, 36, k * 480, k * 480 + 60)
    src = make_midi(tmp_path / "t0.mid", [meta_track(bpm=100) + ev], type_=0)
    p = M.read_midi(src)
    assert [(v.name, v.program, v.channel, v.is_drum) for v in p.voices] == [
        ("Band Channel 1", 0, 0, False), ("Band Channel 2", 33, 1, False), ("Band Drums", 0, 9, True)]
    assert p.pitched_voices() == [0, 1]
    report = Counter()
    w = M.cut_windows(p, 2, (4, 4), report=report)
    assert w.grids.shape == (3, 32, 128, 4)                  # 4 bars; drums left out of the model grid
    assert report["drum voices left out (voices)"] == 1
    merged = M.cut_windows(p, 2, (4, 4), voices=1)
    assert merged.grids.shape == (3, 32, 128, 2)
    assert np.array_equal(merged.grids[..., 1], w.grids[..., 1::2].any(-1))
    assert M.cut_windows(p, 2, (4, 4), voices=3).grids.shape[0] == 0
    out = M.write_piece(tmp_path / "t0-out.mid", p)
    check_with_pretty_midi(out, p.grid(), p.voices, p.segments, 4)
    assert M.read_midi(out).voices == p.voices


def test_transposition_stays_in_range_and_keeps_every_note():
    g = np.zeros((3, 16, 12, 2), bool)                       # pitch rows 0..11
    g[0, 0:4, 0, :] = True                                   # touches the bottom row: no downward shift
    g[1, 0:4, 11, :] = True                                  # touches the top row: no upward shift
    g[2, 0:4, 4, :] = True
    g[2, 8, 7, :] = True                                     # rows 4..7: -4..+4 fit
    out, src, shift = M.transpose_windows(g, max_shift=5)
    by = {i: sorted(shift[src == i].tolist()) for i in range(3)}
    assert by == {0: [0, 1, 2, 3, 4, 5], 1: [-5, -4, -3, -2, -1, 0], 2: [-4, -3, -2, -1, 0, 1, 2, 3, 4]}
    for w, i, k in zip(out, src, shift):
        assert w.sum() == g[i].sum()                         # no note lost at the edges
        assert np.array_equal(np.roll(g[i], k, axis=1), w)   # (no wrap-around: the shift is legal)
    capped, csrc, cshift = M.transpose_windows(g, 5, per_window=2, seed=1)
    assert all((csrc == i).sum() == 3 and 0 in cshift[csrc == i] for i in range(3))


# ---------------------------------------------------------------- bad input

def _bach_bytes() -> bytes:
    files = sorted((BACH / "midi").glob("*.mid")) if BACH.is_dir() else []
    if files:
        return files[0].read_bytes()
    buf = io.BytesIO()
    mid = mido.MidiFile(type=1)
    tr = mido.MidiTrack([m for _, m in sorted(note(0, 60, 0, 480) + note(0, 62, 480, 960), key=lambda e: e[0])])
    mid.tracks.append(tr)
    mid.save(file=buf)
    return buf.getvalue()


def _bad_files(d: Path) -> dict[str, Path]:
    good = _bach_bytes()
    out = {}
    out["truncated"] = d / "truncated.mid"
    out["truncated"].write_bytes(good[:len(good) * 2 // 3])
    out["header only"] = d / "header.mid"
    out["header only"].write_bytes(good[:14])
    out["garbage after header"] = d / "garbage.mid"
    out["garbage after header"].write_bytes(good[:22] + bytes(range(256)) * 4)
    out["empty"] = d / "empty.mid"
    out["empty"].write_bytes(b"")
    out["text named .mid"] = d / "text.mid"
    out["text named .mid"].write_text("this is not music\n")
    out["no notes"] = make_midi(d / "nonotes.mid", [meta_track()])
    out["type 2"] = make_midi(d / "type2.mid", [meta_track() + note(0, 60, 0, 480)], type_=2)
    out["tempo 0"] = make_midi(d / "tempo0.mid", [[(0, mido.MetaMessage("set_tempo", tempo=0))] + note(0, 60, 0, 480)])
    out["tempo 1200 bpm"] = make_midi(d / "fast.mid", [meta_track(bpm=1200) + note(0, 60, 0, 480)])
    out["tpb 0"] = make_midi(d / "tpb0.mid", [meta_track() + note(0, 60, 0, 480)], tpb=0)
    big = make_midi(d / "tpb40000.mid", [meta_track() + note(0, 60, 0, 480)], tpb=480)
    raw = bytearray(big.read_bytes())
    raw[12:14] = (40000).to_bytes(2, "big")                # mido cannot write this: patch the header
    big.write_bytes(bytes(raw))
    out["tpb 40000"] = big
    out["drums only"] = make_midi(d / "drums.mid", [meta_track() + note(9, 36, 0, 120) + note(9, 38, 480, 600)])
    out["csv"] = d / "metadata.csv"
    out["csv"].write_text("file,key\n")
    return out


EXPECTED_REASONS = {
    "truncated": "corrupt MIDI", "header only": "corrupt MIDI", "garbage after header": "corrupt MIDI",
    "empty": "not a MIDI file", "text named .mid": "not a MIDI file", "no notes": "no notes",
    "type 2": "type-2 MIDI", "tempo 0": "absurd tempo", "tempo 1200 bpm": "absurd tempo",
    "tpb 0": "bad ticks per beat", "tpb 40000": "bad ticks per beat", "drums only": "drums only",
    "csv": "not a MIDI file",
}


def test_bad_files_raise_genforge_error_naming_the_file(tmp_path):
    for case, path in _bad_files(tmp_path).items():
        with pytest.raises(GenforgeError) as err:
            M.read_midi(path)
        assert path.name in str(err.value), case
        assert err.value.reason == EXPECTED_REASONS[case], (case, str(err.value))
    with pytest.raises(GenforgeError, match="no such file"):
        M.read_midi(tmp_path / "missing.mid")
    # The interpolation path (a user's file -> window -> exported assets) stops before writing anything.
    codec = M.MusicCodec(36, 81, [M.Voice(n) for n in "SATB"], [], bars=4)
    out = tmp_path / "out"
    again = tmp_path / "again"
    again.mkdir()
    for case, path in _bad_files(again).items():
        with pytest.raises(GenforgeError, match=path.name):
            codec.export(codec.read_window(path, -1), -1, out, "step-000", {})
    assert no_leftovers(out) == []


@pytest.mark.parametrize("exc", [OSError("x"), EOFError(), ValueError("x"), KeyError("x"), IndexError("x")])
def test_any_mido_failure_becomes_genforge_error(tmp_path, monkeypatch, exc):
    path = tmp_path / "ok.mid"
    path.write_bytes(_bach_bytes())

    def boom(*a, **k):
        raise exc

    monkeypatch.setattr(mido, "MidiFile", boom)
    with pytest.raises(GenforgeError, match="ok.mid: corrupt or truncated"):
        M.read_midi(path)


def test_folder_counts_bad_files_and_fails_only_when_nothing_is_usable(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    files = _bad_files(bad)
    sub = bad / "sub"
    sub.mkdir()
    (sub / "good.mid").write_bytes(_bach_bytes())
    (bad / ".hidden.mid").write_bytes(b"junk")               # hidden files are not looked at
    mf = M.read_folder(bad, recursive=True)
    assert [p.name for p in mf.pieces] == ["good.mid"]
    assert mf.skip_counts() == Counter(EXPECTED_REASONS.values())
    assert len(mf.skipped) == len(files)
    assert all(isinstance(msg, str) and str(path) in msg for path, _, msg in mf.skipped)
    with pytest.raises(GenforgeError, match="no usable MIDI file"):
        M.read_folder(bad, recursive=False)
    with pytest.raises(GenforgeError, match="no such file or folder"):
        M.read_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenforgeError, match="no files"):
        M.read_folder(tmp_path / "empty")


def test_bad_output_arguments_leave_no_file(tmp_path, monkeypatch):
    out = tmp_path / "out"
    g = np.zeros((16, 12, 2), bool)
    g[0:4, 0, :] = True
    cases = [dict(tempo=0), dict(tempo=-5), dict(tempo=5000), dict(time_signature=(0, 4)),
             dict(time_signature=(4, 3)), dict(low=120), dict(voices=["a", "b"]),
             dict(voices=[M.Voice("a", program=200)]), dict(steps_per_beat=0)]
    for kw in cases:
        with pytest.raises(GenforgeError, match="x.mid"):
            M.write_midi(out / "x.mid", g, **kw)
    with pytest.raises(GenforgeError):
        M.write_midi(out / "x.mid", np.zeros((16, 12, 3), bool))
    assert no_leftovers(out) == []
    # A crash in the middle of writing leaves neither the file nor a temporary.
    M.write_midi(out / "keep.mid", g)
    before = (out / "keep.mid").read_bytes()

    def half_then_crash(self, filename=None, file=None):
        Path(filename).write_bytes(b"MThd\x00\x00")
        raise OSError("disk full")

    monkeypatch.setattr(mido.MidiFile, "save", half_then_crash)
    with pytest.raises(OSError):
        M.write_midi(out / "crash.mid", g)
    with pytest.raises(OSError):
        M.write_midi(out / "keep.mid", g, tempo=60)
    assert no_leftovers(out) == ["keep.mid"] and (out / "keep.mid").read_bytes() == before


# ---------------------------------------------------------------- previews, audio, statistics

def _window() -> np.ndarray:
    """Two bars, two voices, pitches 48..71: a held chord and a repeated melody."""
    g = np.zeros((32, 24, 4), bool)
    for s in range(0, 32, 4):
        g[s, 12 + (s // 4) % 5, 0] = True
        g[s:s + 4, 12 + (s // 4) % 5, 1] = True
    g[0, 0, 2] = True
    g[0:16, 0, 3] = True
    g[16, 7, 2] = True
    g[16:32, 7, 3] = True
    return g


def test_preview_dimensions_and_drawing():
    g = _window()
    img = M.preview(g, steps_per_bar=16, steps_per_beat=4, low=48)
    assert img.shape == (24 * 3, 32 * 4, 3) and img.dtype == np.uint8
    colours = {tuple(c) for c in img.reshape(-1, 3)}
    assert tuple(M.VOICE_COLOURS[0]) in colours and tuple(M.VOICE_COLOURS[1]) in colours
    assert (img[:, 16 * 4] == 110).all(axis=-1).sum() > 0     # a bar line at step 16
    # Pitch goes up the image: the bass (row 0 = pitch 48) is drawn at the bottom.
    assert (img[-3:, 4 * 1] == M.VOICE_COLOURS[1]).all()


def test_render_wav_is_valid_and_audible():
    g = _window()
    data = M.render_wav(g, tempo=100, steps_per_beat=4, low=48, sample_rate=16000, release=0.1)
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        n = w.getnframes()
        pcm = np.frombuffer(w.readframes(n), "<i2")
    assert n == round(32 * 60 / (100 * 4) * 16000) + round(0.1 * 16000)
    assert np.sqrt(np.mean(pcm.astype(float) ** 2)) > 1000
    silent = M.render_wav(np.zeros_like(g), tempo=100)
    with wave.open(io.BytesIO(silent)) as w:
        assert not np.frombuffer(w.readframes(w.getnframes()), "<i2").any()
    with pytest.raises(GenforgeError):
        M.render_wav(g, tempo=0)


def test_render_wav_tone_of_each_note_alone():
    """The synthesis shares one waveform per pitch among its notes: the result is the sum, note by
    note, of each note's own tone, envelope and release (the same pitch at three lengths here, one
    cut short by the end of the roll)."""
    g = np.zeros((16, 12, 2), bool)
    for start, end in ((0, 2), (4, 9), (12, 16)):
        g[start, 7, 0] = True
        g[start:end, 7, 1] = True
    sr, release, step = 8000, 0.1, 60.0 / (120 * 4)
    with wave.open(io.BytesIO(M.render_wav(g, low=60, sample_rate=sr, release=release))) as w:
        got = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    total = round(16 * step * sr) + round(release * sr)
    out = np.zeros(total)
    f = 440.0 * 2.0 ** ((67 - 69) / 12.0)  # row 7 above C4: G4
    for start, end in ((0, 2), (4, 9), (12, 16)):
        a, n_on = round(start * step * sr), round((end - start) * step * sr)
        n = min(n_on + round(release * sr), total - a)
        t = np.arange(n) / sr
        env = np.exp(-1.5 * t)
        env[:40] *= np.linspace(0.0, 1.0, 40)  # 5 ms attack
        env[n_on:] *= np.linspace(1.0, 0.0, n - n_on)
        tone = sum(amp * np.sin(2 * np.pi * f * h * t) for h, amp in ((1, 1.0), (2, 0.5), (3, 0.25), (4, 0.12)))
        out[a:a + n] += 0.25 * env * tone
    expected = np.clip(out * 0.8 / np.abs(out).max() * 32767, -32768, 32767).astype("<i2")
    assert len(got) == total and np.abs(got.astype(int) - expected).max() <= 1


def test_music_statistics():
    g = _window()
    assert M.onset_scores(g, g) == {"onset_precision": 1.0, "onset_recall": 1.0, "onset_f1": 1.0}
    half = g.copy()
    half[16:, :, 0] = False                                  # drop the melody's onsets in bar 2
    s = M.onset_scores(g, half)
    assert s["onset_precision"] == 1.0 and s["onset_recall"] == pytest.approx(6 / 10)
    assert M.polyphony(g) == pytest.approx(2.0)
    assert M.empty_bar_rate(g, 16) == 0.0
    assert M.empty_bar_rate(np.concatenate([g, np.zeros_like(g)]), 16) == 0.5
    # Bar 1: melody pitches 60,61,62,63 (C C# D D#) and bass 48 (C) -> 4 classes; bar 2 likewise + G.
    assert M.pitch_classes_per_bar(g, 16, low=48) == pytest.approx((4 + 5) / 2)
    assert M.qualified_note_rate(g, min_steps=2) == 1.0
    blips = np.zeros((16, 4, 2), bool)
    blips[[0, 2], 0, :] = True
    blips[4, 1, 0] = True
    blips[4:8, 1, 1] = True                                  # two one-step notes and one of four steps
    assert M.qualified_note_rate(blips, 2) == pytest.approx(1 / 3)
    c_major = np.zeros((16, 12, 2), bool)
    for i, pc in enumerate([0, 2, 4, 5, 7, 9, 11, 1]):
        c_major[2 * i, pc, :] = True
    assert M.in_scale_share(c_major, 0, "major", low=60) == pytest.approx(7 / 8)
    assert M.estimate_key(c_major[:14], low=60)[:2] == (0, "major")
    # The batch summary agrees with the single statistics, and the vectorised key with estimate_key.
    batch = np.stack([g, half, np.zeros_like(g)])
    st = M.music_stats(batch, 16, low=48)
    assert st["polyphony"] == pytest.approx(M.polyphony(batch))
    assert st["pitch_classes_per_bar"] == pytest.approx(M.pitch_classes_per_bar(batch, 16, low=48))
    assert st["empty_bar_rate"] == pytest.approx(M.empty_bar_rate(batch, 16)) == pytest.approx(2 / 6)
    assert st["qualified_note_rate"] == pytest.approx(M.qualified_note_rate(batch))
    k = M.window_keys(batch[:2], low=48)
    assert [(i % 12, M.MODES[i // 12]) for i in k] == [M.estimate_key(w, 48)[:2] for w in batch[:2]]


# ---------------------------------------------------------------- the codec

def test_codec_interface_round_trips_and_exports(tmp_path):
    voices = [M.Voice("Soprano", 52, 0), M.Voice("Bass", 32, 1)]
    codec = M.MusicCodec(48, 71, voices, ["major", "minor"], steps_per_beat=4, bars=2, time_signature=(4, 4),
                         tempo=80.0)
    assert codec.domain == "music" and codec.likelihood == "bernoulli"
    assert codec.grid_shape == (32, 24, 4)
    meta = {"domain": "music", "labels": codec.labels, "codec": json.loads(json.dumps(codec.meta()))}
    again = M.MusicCodec.from_meta(meta)
    assert again.meta() == codec.meta() and again.grid_shape == codec.grid_shape and again.labels == codec.labels
    g = _window()
    x = codec.to_onehot(g[None])
    assert x.dtype == np.float32 and x.shape == (1, *codec.grid_shape)
    logits = np.where(x > 0.5, 4.0, -4.0)
    assert np.array_equal(codec.from_logits(logits), g[None])
    onset_only = np.full((1, *codec.grid_shape), -4.0)
    onset_only[0, 3, 5, 0] = 4.0
    dec = codec.from_logits(onset_only)
    assert dec[0, 3, 5, 1]                                   # an onset is made to sound
    sampled = codec.from_logits(logits, np.random.default_rng(0), temperature=1.0)
    assert sampled.shape == logits.shape and sampled.dtype == bool
    assert 0.9 < (sampled == g[None]).mean() < 1.0
    m = codec.metrics(g[None].repeat(2, 0), g[None].repeat(2, 0), np.array([0, 1]))
    assert m["onset_f1"] == 1.0 and m["accuracy"] == 1.0 and m["accuracy_non_empty"] == 1.0
    assert set(m["per_label"]) == {"major", "minor"} and m["pred"]["polyphony"] == pytest.approx(2.0)
    json.dumps(m)
    img = codec.preview(g, 0)
    assert img.shape == (24 * 3, 32 * 4, 3)
    assert codec.sheet([img, img])[:8] == b"\x89PNG\r\n\x1a\n"
    out = tmp_path / "gen"
    files = codec.export(g, 1, out, "music-0-000", {"seed": 0, "latent": "[0.1, -0.2]"})
    assert [f.name for f in files] == ["music-0-000.mid", "music-0-000.png", "music-0-000.wav"]
    assert no_leftovers(out) == sorted(f.name for f in files)
    check_with_pretty_midi(files[0], g, voices, [M.Segment(0, 32, (4, 4), 80.0)], 4, low=48)
    texts = [m.text for m in mido.MidiFile(files[0]).tracks[0] if m.type == "text"]
    assert json.loads(texts[0].removeprefix("genforge "))["label"] == "minor"
    # The exported MIDI reads back as the same window.
    assert np.array_equal(codec.read_window(files[0], 1), g)
    with pytest.raises(GenforgeError, match="shape"):
        codec.export(np.zeros((3, 3, 3)), 0, out, "bad", {})
    assert not (out / "bad.mid").exists()


@needs_bach
def test_codec_reads_a_real_window_and_measures_reconstruction(bach):
    codec = M.MusicCodec(36, 81, bach.pieces[1].voices, ["major", "minor"], tempo=80.0)
    g = codec.read_window(bach.pieces[1].path, 0)          # riem002, in 4/4
    assert g.shape == codec.grid_shape == (64, 46, 8)
    with pytest.raises(GenforgeError, match="no 4-bar 4/4 window"):
        codec.read_window(bach.pieces[0].path, 0)          # riem001, in 3/4
    noisy = g.copy()
    noisy[::7, :, 0::2] = False
    m = codec.metrics(g[None], noisy[None], np.array([0]))
    assert m["onset_precision"] == 1.0 and m["onset_recall"] < 1.0
    assert 0.9 < m["true"]["in_scale_share"] <= 1.0
    assert 3.0 < m["true"]["polyphony"] <= 4.0
