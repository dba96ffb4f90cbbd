"""MIDI files <-> Pieces and grids: the Bach round trip, synthetic files (repeated notes, metre and
tempo changes, type 0, drums), bad input, bad output arguments.

The Bach-chorale tests need the shared MIDI set (../shared/datasets/midi beside the repository)
and are skipped without it; the synthetic ones always run.
"""
from __future__ import annotations

import importlib.util
import io
from collections import Counter
from pathlib import Path

import mido
import numpy as np
import pytest
from support import BACH, needs_bach

from genforge.domains.music.codec import MusicCodec
from genforge.domains.music.corpus import read_folder
from genforge.domains.music.midi import read_midi, write_midi, write_piece
from genforge.domains.music.roll import Segment, Voice
from genforge.domains.music.windows import cut_windows
from genforge.errors import GenforgeError

needs_pretty_midi = pytest.mark.skipif(importlib.util.find_spec("pretty_midi") is None,
                                       reason="pretty_midi is not installed (pip install pretty_midi): the "
                                       "independent-reader checks need it")


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


def no_leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------- the Bach set


@pytest.fixture(scope="module")
def bach_written(bach, tmp_path_factory) -> Path:
    """Every Bach piece written back to MIDI by write_piece: <dir>/<index>.mid."""
    d = tmp_path_factory.mktemp("bach-written")
    for i, piece in enumerate(bach.pieces):
        write_piece(d / f"{i:03d}.mid", piece)
    return d


@needs_bach
def test_round_trip_is_exact_on_every_bach_file(bach, bach_written):
    """MIDI -> roll -> MIDI -> roll gives the same roll, metre and tempo segments, and voices."""
    bad = []
    for i, piece in enumerate(bach.pieces):
        again = read_midi(bach_written / f"{i:03d}.mid")
        # grid(): every voice's onset and hold planes over all 128 pitches.
        if not (again.n_steps == piece.n_steps and np.array_equal(again.grid(), piece.grid())
                and again.segments == piece.segments
                and again.voices == piece.voices and again.snapped == 0):
            bad.append(piece.name)
    assert not bad, f"round trip differs for {len(bad)} files: {bad[:5]}"
    assert no_leftovers(bach_written) == [f"{i:03d}.mid" for i in range(len(bach.pieces))]   # no temporaries


@needs_bach
@needs_pretty_midi
def test_pretty_midi_reads_every_written_bach_file(bach, bach_written, pretty_midi_agrees):
    """An independent reader parses every file we wrote: tracks, names, programs, note counts and
    onset times in seconds (from the tempo) match the roll."""
    for i, p in enumerate(bach.pieces):
        pretty_midi_agrees(bach_written / f"{i:03d}.mid", p.grid(), p.voices, p.segments, p.steps_per_beat)


# ---------------------------------------------------------------- synthetic MIDI


def test_repeated_notes_survive(tmp_path, pretty_midi_agrees):
    """Four repeated quarter-note Gs stay four notes; a long G stays one."""
    ev = []
    for k in range(4):
        ev += note(0, 67, k * 480, (k + 1) * 480)
    ev += note(0, 67, 4 * 480, 8 * 480)
    src = make_midi(tmp_path / "rep.mid", [meta_track(), [(0, mido.MetaMessage("track_name", name="Lead"))] + ev])
    p = read_midi(src)
    assert [v.name for v in p.voices] == ["Lead"]
    onset, hold = p.onset[0, :, 67], p.hold[0, :, 67]
    assert np.flatnonzero(onset).tolist() == [0, 4, 8, 12, 16]
    assert hold[:32].all() and p.n_steps == 32
    out = write_piece(tmp_path / "out.mid", p)
    again = read_midi(out)
    assert np.array_equal(again.onset, p.onset) and np.array_equal(again.hold, p.hold)
    pretty_midi_agrees(out, p.grid(), p.voices, p.segments, 4)
    # Directly from a grid: onset cells split a held pitch even with hold on throughout (the notes
    # themselves: test_roll.py).
    g = np.zeros((16, 1, 2), bool)
    g[:, 0, 1] = True
    g[[0, 3, 9], 0, 0] = True
    write_midi(tmp_path / "g.mid", g, ["x"], tempo=90, low=60)
    pretty_midi_agrees(tmp_path / "g.mid", g, [Voice("x")], [Segment(0, 16, (4, 4), 90.0)], 4, 60)


def test_metre_changes_tempo_changes_and_snapping(tmp_path, pretty_midi_agrees):
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
    p = read_midi(src)
    assert p.voices == [Voice("Track 1", 19, 0, False)]
    assert p.snapped == 1
    assert p.onset[0, 25, 72]                                 # step 24 + 1
    assert [(s.start, s.end, s.time_signature, s.tempo, s.bar_start) for s in p.segments] == [
        (0, 24, (3, 4), 120.0, 0), (24, 32, (4, 4), 120.0, 24), (32, 104, (4, 4), 150.0, 24)]
    # 24 quarters = 6 in 3/4 + 18 in 4/4: 4.5 bars of 4/4, padded with rest to 5 (n_steps 24 + 80).
    assert p.n_steps == 104
    report = Counter()
    w = cut_windows(p, 4, (4, 4), report=report)
    assert w.starts == [24, 40]                               # inside the 4/4 section, on its bar lines
    assert report["bars in 3/4 (bar of 12 steps, not 16) (bars)"] == 2
    r3 = Counter()
    assert len(cut_windows(p, 4, (3, 4), report=r3).grids) == 0
    assert r3["bars in 3/4 sections shorter than 4 bars (bars)"] == 2
    assert r3["bars in 4/4 (bar of 16 steps, not 12) (bars)"] == 5
    assert cut_windows(p, 2, (3, 4)).starts == [0]
    # Round trip keeps the metre and tempo changes; pretty_midi times follow the tempo map.
    out = write_piece(tmp_path / "mix-out.mid", p)
    again = read_midi(out)
    assert again.segments == p.segments and np.array_equal(again.grid(), p.grid())
    pretty_midi_agrees(out, p.grid(), p.voices, p.segments, 4)


def test_type0_channels_become_voices_and_drums_are_apart(tmp_path, pretty_midi_agrees):
    ev = [(0, mido.MetaMessage("track_name", name="Band")),
          (0, mido.Message("program_change", channel=0, program=0)),
          (0, mido.Message("program_change", channel=1, program=33))]
    for k in range(16):
        ev += note(0, 72 + k % 5, k * 240, (k + 1) * 240)
        ev += note(1, 40, k * 480, (k + 1) * 480)
        ev += note(9, 36, k * 480, k * 480 + 60)
    src = make_midi(tmp_path / "t0.mid", [meta_track(bpm=100) + ev], type_=0)
    p = read_midi(src)
    assert [(v.name, v.program, v.channel, v.is_drum) for v in p.voices] == [
        ("Band Channel 1", 0, 0, False), ("Band Channel 2", 33, 1, False), ("Band Drums", 0, 9, True)]
    assert p.pitched_voices() == [0, 1]
    report = Counter()
    w = cut_windows(p, 2, (4, 4), report=report)
    assert w.grids.shape == (3, 32, 128, 4)                  # 4 bars; drums left out of the model grid
    assert report["drum voices left out (voices)"] == 1
    merged = cut_windows(p, 2, (4, 4), voices=1)
    assert merged.grids.shape == (3, 32, 128, 2)
    assert np.array_equal(merged.grids[..., 1], w.grids[..., 1::2].any(-1))
    assert cut_windows(p, 2, (4, 4), voices=3).grids.shape[0] == 0
    out = write_piece(tmp_path / "t0-out.mid", p)
    pretty_midi_agrees(out, p.grid(), p.voices, p.segments, 4)
    assert read_midi(out).voices == p.voices


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
            read_midi(path)
        assert path.name in str(err.value), case
        assert err.value.reason == EXPECTED_REASONS[case], (case, str(err.value))
    with pytest.raises(GenforgeError, match="no such file"):
        read_midi(tmp_path / "missing.mid")
    # The interpolation path (a user's file -> window -> exported assets) stops before writing anything.
    codec = MusicCodec(36, 81, [Voice(n) for n in "SATB"], [], bars=4)
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
        read_midi(path)


def test_folder_counts_bad_files_and_fails_only_when_nothing_is_usable(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    files = _bad_files(bad)
    sub = bad / "sub"
    sub.mkdir()
    (sub / "good.mid").write_bytes(_bach_bytes())
    (bad / ".hidden.mid").write_bytes(b"junk")               # hidden files are not looked at
    mf = read_folder(bad, recursive=True)
    assert [p.name for p in mf.pieces] == ["good.mid"]
    assert mf.skip_counts() == Counter(EXPECTED_REASONS.values())
    assert len(mf.skipped) == len(files)
    assert all(isinstance(msg, str) and str(path) in msg for path, _, msg in mf.skipped)
    with pytest.raises(GenforgeError, match="no usable MIDI file"):
        read_folder(bad, recursive=False)
    with pytest.raises(GenforgeError, match="no such file or folder"):
        read_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenforgeError, match="no files"):
        read_folder(tmp_path / "empty")


def test_bad_output_arguments_leave_no_file(tmp_path, monkeypatch):
    out = tmp_path / "out"
    g = np.zeros((16, 12, 2), bool)
    g[0:4, 0, :] = True
    cases = [dict(tempo=0), dict(tempo=-5), dict(tempo=5000), dict(time_signature=(0, 4)),
             dict(time_signature=(4, 3)), dict(low=120), dict(voices=["a", "b"]),
             dict(voices=[Voice("a", program=200)]), dict(steps_per_beat=0)]
    for kw in cases:
        with pytest.raises(GenforgeError, match="x.mid"):
            write_midi(out / "x.mid", g, **kw)
    with pytest.raises(GenforgeError):
        write_midi(out / "x.mid", np.zeros((16, 12, 3), bool))
    assert no_leftovers(out) == []
    # A crash in the middle of writing leaves neither the file nor a temporary.
    write_midi(out / "keep.mid", g)
    before = (out / "keep.mid").read_bytes()

    def half_then_crash(self, filename=None, file=None):
        Path(filename).write_bytes(b"MThd\x00\x00")
        raise OSError("disk full")

    monkeypatch.setattr(mido.MidiFile, "save", half_then_crash)
    with pytest.raises(OSError):
        write_midi(out / "crash.mid", g)
    with pytest.raises(OSError):
        write_midi(out / "keep.mid", g, tempo=60)
    assert no_leftovers(out) == ["keep.mid"] and (out / "keep.mid").read_bytes() == before
