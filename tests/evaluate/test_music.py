"""`evaluate_music`: the bundled music model's samples beside the held-out Bach windows.

The main report is built once per module (40 samples per condition, ~7 s on 2 cores, most of it
reading the 348 MIDI files and the nearest-neighbour search) from the shared MIDI data
(../shared/datasets/midi beside the repository; those tests are skipped without it). The
committed notes archive (datasets/chorales) and the argument checks need no shared data.
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from support import BACH, NO_BACH, REPO, needs_bach

from genforge import runtime
from genforge.bundle import open_bundle
from genforge.domains import codec_for
from genforge.domains.music.codec import MusicCodec
from genforge.domains.music.roll import Voice
from genforge.errors import GenforgeError
from genforge.evaluate import music as E
from genforge.evaluate import music_report as R
from genforge.evaluate.common import SETS, hamming_nearest, nearest_distance

CHORALES = REPO / "datasets" / "chorales"
MODEL = REPO / "genforge" / "models" / "music"
N = 40
SHARES = ("in_asked_mode_scale", "estimated_mode_agrees", "in_scale_share", "empty_bar_rate",
          "qualified_note_rate", "silent_windows")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    if not (BACH / "midi").is_dir():
        pytest.skip(NO_BACH)
    out = tmp_path_factory.mktemp("eval-music")
    return E.evaluate_music(None, N, out, seed=0, data=[BACH]), out


# ---------------------------------------------------------------- the report on real data

@needs_bach
def test_samples_and_held_out_side_by_side_for_each_condition(evaluated):
    report, _ = evaluated
    assert report["model"] == "bundled:music" and report["n"] == N and report["notes"] == []
    labels = open_bundle(MODEL).labels  # every metre of the chorales: "major 4/4" ... "major 12/8"
    assert list(report["conditions"]) == labels and "pooled" in report
    held = 0
    for entry in [report["conditions"]["major 4/4"], report["conditions"]["minor 4/4"], report["pooled"]]:
        assert entry["windows"]["held_out"] > 100 and entry["windows"]["training"] > 500
        assert set(entry["measures"]) == {k for k, _ in R.MEASURES}
        for row in entry["measures"].values():
            assert set(row) == {"samples", "held_out", "training", "gap"}
            assert row["held_out"] is not None and row["samples"] is not None
        for row in entry["attributes"].values():
            assert row["samples"]["mean"] is not None and row["held_out"]["mean"] is not None
    for entry in report["conditions"].values():
        assert entry["windows"]["samples"] == N
        held += entry["windows"]["held_out"]
    pooled = report["pooled"]["windows"]
    assert pooled["samples"] == len(labels) * N and pooled["held_out"] == held
    # The split is the model's own: its 70 held-out pieces, recorded at training time.
    assert report["held_out_pieces"] == len(E.recorded_test_pieces(open_bundle(MODEL))) == 70


@needs_bach
def test_held_out_bach_is_in_scale_and_values_are_in_range(evaluated):
    report, _ = evaluated
    for name, entry in [*report["conditions"].items(), ("pooled", report["pooled"])]:
        if not entry["windows"]["held_out"]:  # minor 3/2, major 12/8: no held-out piece in those metres
            continue
        m = entry["measures"]
        assert m["in_scale_share"]["held_out"] > 0.85, name           # real Bach: measured 0.94-0.95
        assert m["in_asked_mode_scale"]["held_out"] > 0.9, name      # measured 0.95-0.98
        assert m["polyphony"]["held_out"] == pytest.approx(4.0, abs=0.05), name   # four voices almost always
        for k in SHARES:
            for s in SETS:
                assert 0.0 <= m[k][s] <= 1.0, (name, k, s)
        for s in SETS:
            assert 1.0 <= m["pitch_classes_per_bar"][s] <= 12.0
            assert 0.0 < m["polyphony"][s] <= 2 * 46                     # at most every pitch of every voice
            assert m["notes_per_bar"][s] > 0
        for k, row in m.items():
            if row["held_out"]:
                assert row["gap"] == pytest.approx((row["samples"] - row["held_out"]) / abs(row["held_out"]),
                                                   abs=1e-3), k
        nov = entry["novelty"]
        for s in ("samples", "held_out"):
            assert 0.0 <= nov[s]["mean"] <= 1.0 and 0.0 <= nov[s]["share_identical"] <= 1.0
        # Samples of the aggregate posterior are variations on training windows: closer to them than
        # unseen Bach is (measured: a fifth to a quarter as far), but not the windows themselves. In
        # 4/4 none repeats one in any key; in 3/4 some repeat one transposed (the redraw checks the
        # trained keys only: README).
        assert 0.1 < nov["samples"]["mean"] / nov["held_out"]["mean"] < 1.0, name
        if name.endswith("4/4"):
            assert nov["samples"]["share_identical"] == 0.0, name


@needs_bach
def test_report_files_are_written(evaluated):
    report, out = evaluated
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "report.md", "rolls.png", "stats.png"]
    assert json.loads((out / "report.json").read_text()) == json.loads(json.dumps(report))
    assert report["figures"] == ["stats.png", "rolls.png"]
    for f in report["figures"]:
        assert (out / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text()
    labels = list(report["conditions"])
    assert md.count("| measure | samples | held-out | training | gap (samples vs held-out) |") == len(labels) + 1
    assert all(f"## {label}\n" in md for label in labels) and "## All conditions (pooled)" in md
    lines = R.summary_lines(report)
    first = report["conditions"][labels[0]]["windows"]["held_out"]
    assert lines[0] == f"{labels[0]}: {N} samples, {first} held-out windows"
    assert any(line.strip().startswith("in_scale_share") for line in lines)


@needs_bach
def test_samples_are_the_ones_sample_music_draws(evaluated):
    """The report's sample figures are those of `genforge sample music --condition "minor 4/4"` draws
    (copies of a training window redrawn, as `sample` redraws them)."""
    report, _ = evaluated
    bundle = open_bundle(MODEL)
    codec = codec_for(bundle.meta)
    z, ids = runtime.sample_latents(bundle, N, 0, "minor 4/4")
    z, _ = runtime.redraw_copies(bundle, codec, z, ids, 0)
    grids = codec.from_logits(runtime.decode(bundle, z, ids))
    expected = E.describe(grids, codec, "minor 4/4")
    for k, row in report["conditions"]["minor 4/4"]["measures"].items():
        assert row["samples"] == pytest.approx(expected[k], abs=1e-4), k


def test_chunked_draws_at_a_temperature_match_one_call(monkeypatch):
    """Decoding a chunk at a time draws the same notes as `sample music` (one call, one stream)."""
    bundle = open_bundle(MODEL)
    codec = codec_for(bundle.meta)
    monkeypatch.setattr(E, "DECODE_CHUNK", 3)
    got = E.draw_samples(bundle, codec, runtime.decoder(bundle), 7, 5, "major", 1.0)
    z, ids = runtime.sample_latents(bundle, 7, 5, "major")
    z, _ = runtime.redraw_copies(bundle, codec, z, ids, 5)
    want = codec.from_logits(runtime.decode(bundle, z, ids), np.random.default_rng([5, 1]), 1.0)
    assert np.array_equal(got, want)


# ---------------------------------------------------------------- the committed archive, one condition

def test_archive_data_one_condition_at_a_temperature(tmp_path):
    """datasets/chorales (347 pieces, not the 348 MIDI files the model trained on): the split differs,
    and the report says so."""
    report = E.evaluate_music(None, 8, tmp_path, seed=1, data=[CHORALES], condition="minor", temperature=1.0)
    # "minor" names three labels; evaluation takes the one with the most training windows
    assert list(report["conditions"]) == ["minor 4/4"] and "pooled" not in report
    entry = report["conditions"]["minor 4/4"]
    assert entry["windows"]["samples"] == 8 and entry["windows"]["held_out"] > 100
    assert entry["measures"]["in_scale_share"]["held_out"] > 0.85
    assert any("held-out pieces differ" in note for note in report["notes"]), report["notes"]
    assert (tmp_path / "report.md").is_file() and (tmp_path / "rolls.png").is_file()


# ---------------------------------------------------------------- user errors: one message, nothing written

@pytest.mark.parametrize("n, says", [(0, "-n must be between 1 and 20,000, got 0"),
                                     (20_001, "-n must be between 1 and 20,000, got 20001")])
def test_bad_n(tmp_path, n, says):
    with pytest.raises(GenforgeError, match=says):
        E.evaluate_music(None, n, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("t", [-0.5, 10.5])
def test_bad_temperature(tmp_path, t):
    with pytest.raises(GenforgeError, match=f"--temperature must be between 0 and 10, got {t}"):
        E.evaluate_music(None, 10, tmp_path / "out", temperature=t)
    assert not (tmp_path / "out").exists()


def test_unknown_condition(tmp_path):
    with pytest.raises(GenforgeError, match="unknown --condition 'dorian'"):
        E.evaluate_music(None, 10, tmp_path / "out", data=[CHORALES], condition="dorian")


def test_missing_data_folder_says_pass_data(tmp_path):
    """A model whose training data is not where its command says: one message naming --data."""
    model = tmp_path / "moved"
    shutil.copytree(MODEL, model)
    meta = json.loads((model / "genforge.json").read_text())
    meta["data"] = ["/nowhere/bach"]
    (model / "genforge.json").write_text(json.dumps(meta))
    older = json.loads(json.dumps(meta))  # a bundle from before bundles recorded their data: its command says
    for key in ("data", "split", "options"):
        older.pop(key)
    older["command"] = "genforge train music --data=/nowhere/bach --out runs/bach"
    (tmp_path / "older").mkdir()
    shutil.copytree(MODEL, tmp_path / "older", dirs_exist_ok=True)
    (tmp_path / "older" / "genforge.json").write_text(json.dumps(older))
    for run in (model, tmp_path / "older"):
        with pytest.raises(GenforgeError) as err:
            E.evaluate_music(run, 10, tmp_path / "out")
        assert "cannot find the music this model was trained on (/nowhere/bach)" in str(err.value)
        assert "pass it with --data FOLDER" in str(err.value)
    with pytest.raises(GenforgeError, match="--data /nowhere/else: no such file or folder"):
        E.evaluate_music(model, 10, tmp_path / "out", data=["/nowhere/else"])
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- the measures on small hand-made windows

def test_nearest_distance_matches_a_brute_force_count():
    rng = np.random.default_rng(0)
    a = rng.random((13, 8, 5, 4)) < 0.1
    b = rng.random((29, 8, 5, 4)) < 0.1
    b[3] = a[7]
    got = nearest_distance(a.reshape(13, -1), b.reshape(29, -1), chunk_bytes=4 * 160 * 5)   # 5-row chunks
    brute = (a.reshape(13, 1, -1) != b.reshape(1, 29, -1)).sum(-1).min(1)
    assert np.array_equal(got, brute)
    # and the tile-level form: class-index windows, as a share of cells
    tiles_a, tiles_b = rng.integers(0, 6, (7, 4, 5)), rng.integers(0, 6, (11, 4, 5))
    share = (tiles_a.reshape(7, 1, -1) != tiles_b.reshape(1, 11, -1)).mean(-1).min(1)
    assert np.allclose(hamming_nearest(tiles_a, tiles_b), share)
    assert got[7] == 0
    assert np.array_equal(nearest_distance(a[:0], b), np.zeros(0)) and (nearest_distance(a, b[:0]) == -1).all()


def chord_window(pitches: list[int], low: int = 36, p: int = 46) -> np.ndarray:
    """A 1-bar, 16-step window: voice v holds pitches[v] for the whole bar (onset at step 0)."""
    g = np.zeros((16, p, 2 * len(pitches)), bool)
    for v, pitch in enumerate(pitches):
        g[:, pitch - low, 2 * v + 1] = True
        g[0, pitch - low, 2 * v] = True
    return g


def test_a_transposed_copy_is_a_copy():
    window = chord_window([60, 64, 67, 72])           # C major
    up = chord_window([62, 66, 69, 74])               # the same chord in D major
    other = chord_window([60, 63, 67, 70])
    keyed = E.key_normalised(np.stack([window, up, other]), 36)
    assert np.array_equal(keyed[0], keyed[1]) and not np.array_equal(keyed[0], keyed[2])
    assert nearest_distance(keyed[1:2], keyed[:1])[0] == 0


def test_mode_measures_on_hand_made_windows():
    major = chord_window([60, 64, 67, 72])
    codec = MusicCodec(36, 81, [Voice(f"V{v}") for v in range(4)], ["major", "minor"], bars=1)
    as_major = E.describe(major[None], codec, "major")
    assert as_major["in_asked_mode_scale"] == 1.0 and as_major["estimated_mode_agrees"] == 1.0
    assert as_major["polyphony"] == 4.0 and as_major["pitch_classes_per_bar"] == 3.0
    assert as_major["qualified_note_rate"] == 1.0 and as_major["notes_per_bar"] == 4.0
    assert as_major["silent_windows"] == 0.0 and as_major["empty_bar_rate"] == 0.0 and as_major["windows"] == 1
    # C-E-G fits a minor scale too (A minor's), but the window does not read as minor.
    as_minor = E.describe(major[None], codec, "minor")
    assert as_minor["in_asked_mode_scale"] == 1.0 and as_minor["estimated_mode_agrees"] == 0.0
    silent = E.describe(np.zeros((2, 16, 46, 8), bool), codec, None)
    assert silent["silent_windows"] == 1.0 and silent["empty_bar_rate"] == 1.0 and "in_asked_mode_scale" not in silent


def test_each_label_is_measured_in_its_own_metre():
    """A model with 4-bar 4/4 windows and 5-bar 3/4 ones (60 of the 64 steps): a "minor 3/4" window
    is measured on its 5 bars of 12 steps, whatever the decoder left in the padding."""
    voices = [Voice(f"V{v}") for v in range(4)]
    codec = MusicCodec(36, 81, voices, ["major 4/4", "minor 3/4"], bars=4,
                       label_metres=[((4, 4), 4), ((3, 4), 5)], short_sections=True)
    g = np.zeros((1, 64, 46, 8), bool)
    for bar in range(5):                                   # an A minor triad struck at every 3/4 bar line
        for v, pitch in enumerate((57, 60, 64, 69)):
            g[0, bar * 12:(bar + 1) * 12, pitch - 36, 2 * v + 1] = True
            g[0, bar * 12, pitch - 36, 2 * v] = True
    noisy = g.copy()
    noisy[0, 60:, :, 1::2] = True                          # padding: cropped before measuring
    three = E.describe(noisy, codec, "minor 3/4")
    assert three["notes_per_bar"] == 4.0 and three["empty_bar_rate"] == 0.0 and three["pitch_classes_per_bar"] == 3.0
    assert three["in_asked_mode_scale"] == 1.0 and three["estimated_mode_agrees"] == 1.0
    # Read as 4/4 bars of the whole window, the same music would be 5 notes a bar over 4 bars.
    four = E.describe(g, codec, "major 4/4")
    assert four["notes_per_bar"] == 5.0 and four["estimated_mode_agrees"] == 0.0


def test_clusters_and_notes_per_beat_per_voice_on_hand_made_windows():
    """Voice 0 strikes a two-note cluster at step 0 and single notes at steps 4, 8 and 12 (one of 4
    onsets a cluster); voice 1 a three-note chord at step 0 and again at step 8 (2 of 2); voice 2 a
    note held all bar; voice 3 is silent."""
    codec = MusicCodec(36, 81, [Voice(f"V{v}") for v in range(4)], [], bars=1)
    g = np.zeros((1, 16, 46, 8), bool)

    def note(v, pitch, start, end):
        g[0, start, pitch - 36, 2 * v] = True
        g[0, start:end, pitch - 36, 2 * v + 1] = True

    note(0, 72, 0, 4)
    note(0, 76, 0, 4)
    for s in (4, 8, 12):
        note(0, 74, s, s + 4)
    for s in (0, 8):
        for pitch in (48, 52, 55):
            note(1, pitch, s, s + 8)
    note(2, 60, 0, 16)
    got = E.describe(g, codec, None)
    assert got["clusters/0"] == 0.25 and got["clusters/1"] == 1.0 and got["clusters/2"] == 0.0
    assert got["clusters/3"] is None                                      # no onsets: undefined, not 0
    assert [got[f"notes_per_beat/{v}"] for v in range(4)] == [5 / 4, 6 / 4, 1 / 4, 0.0]
    sums = E.measure_sums(np.concatenate([g, np.zeros_like(g)]), 16, 36, steps_per_beat=4)
    assert sums["clusters/1"][0].tolist() == [2, 0] and sums["clusters/1"][1].tolist() == [2, 0]


@needs_bach
def test_held_out_bach_sounds_no_cluster_and_each_voice_is_reported(evaluated):
    report, out = evaluated
    for name, entry in [*report["conditions"].items(), ("pooled", report["pooled"])]:
        assert list(entry["voices"]) == ["Soprano", "Alto", "Tenor", "Bass"], name
        for voice, row in entry["voices"].items():
            assert row["clusters"]["samples"] == 0.0, (name, voice)   # monophonic voices: one note per step
            if not entry["windows"]["held_out"]:
                continue
            assert row["clusters"]["held_out"] == 0.0, (name, voice)     # no chorale voice strikes two notes at once
            assert row["clusters"]["training"] < 0.001, (name, voice)    # (two sopranos' grace notes)
            assert 0.5 < row["notes_per_beat"]["held_out"] < 2.0, (name, voice)
    md = (out / "report.md").read_text()
    tables = len(report["conditions"]) + 1  # each condition, and pooled
    assert md.count("| voice | clusters: samples | held-out | training | notes per beat: samples |") == tables
    lines = R.summary_lines(report)
    assert sum(line.strip().startswith("Soprano") and "clusters samples" in line for line in lines) == tables
