"""`genforge train/sample/interpolate music`, end to end.

A tiny music model is trained once per session on the real Bach chorales
(../shared/datasets/midi beside the repository; the tests that need it are skipped without it):
windows in every metre of the chorales, labelled mode by metre ("minor 3/4").
Every .mid written is read back with pretty_midi, a parser independent of genforge's mido code.
"""
from __future__ import annotations

import json
import subprocess
import sys
import warnings
import wave
from pathlib import Path

import mido
import numpy as np
import pytest
from support import BACH, NO_BACH, REPO, assert_user_error, invoke, needs_bach, run_cli

from genforge import runtime
from genforge.bundle import open_bundle
from genforge.domains import codec_for
from genforge.domains.music.roll import grid_notes, notes_to_grid
from genforge.domains.music.stats import ATTRIBUTES

pretty_midi = pytest.importorskip("pretty_midi", reason="pretty_midi (the test extra) reads the written MIDI "
                                  "independently: pip install -e '.[test]'")

# The tiny session model: small enough to train in well under a minute, big enough to write notes.
TINY_MODEL = dict(filters=(8, 16), latent_dim=384, bottleneck="grid", beta=0.25, pos_weight=4.0, kl_warmup_epochs=1,
                  data_bias=True)


@pytest.fixture(scope="session")
def music_model(tmp_path_factory) -> Path:
    """A small VAE on the real Bach chorales conditioned on mode and metre (untransposed windows, 3 epochs)."""
    if not (BACH / "midi").is_dir():
        pytest.skip(NO_BACH)
    from genforge.config import ModelConfig, TrainConfig
    from genforge.train import train_music

    out = tmp_path_factory.mktemp("music-run")
    with warnings.catch_warnings():  # Keras's ONNX export trips a NumPy FutureWarning: not ours
        warnings.simplefilter("ignore", FutureWarning)
        return train_music([str(BACH)], out, ModelConfig(**TINY_MODEL), TrainConfig(epochs=3, batch_size=64),
                           command="test", transpose=0, quiet=True)


@pytest.fixture(scope="module")
def sampled(music_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("music-sample")
    res = run_cli("sample", "music", "--model", music_model, "-n", "4", "--bars", "4", "--seed", "3",
                  "--out", out, "-q")
    assert res.returncode == 0, res.stderr
    return out


def decoded(model: Path, n: int, seed: int, condition=None, attributes=None) -> tuple[np.ndarray, np.ndarray]:
    """The grids and label ids `sample` decodes for a seed (the same draws, through the same ONNX decoder)."""
    from genforge.generate import push_attributes

    bundle = open_bundle(model, "music")
    z, ids = runtime.sample_latents(bundle, n, seed, condition)
    z = push_attributes(bundle, z, attributes)
    return codec_for(bundle.meta).from_logits(runtime.decode(bundle, z, ids)), ids


VOICES = ["Soprano", "Alto", "Tenor", "Bass"]


def check_tracks(path: Path) -> None:
    """Type 1: a conductor track, then one named track per voice with its program and channel. pretty_midi
    agrees on every voice that plays (it makes no instrument of a silent track)."""
    mid = mido.MidiFile(path)
    assert mid.type == 1 and len(mid.tracks) == 5
    for v, (track, name) in enumerate(zip(mid.tracks[1:], VOICES)):
        assert track.name == name
        programs = [(m.channel, m.program) for m in track if m.type == "program_change"]
        assert programs == [(v, 52)], (name, programs)
    pm = pretty_midi.PrettyMIDI(str(path))
    playing = [name for track, name in zip(mid.tracks[1:], VOICES) if any(m.type == "note_on" for m in track)]
    assert [i.name for i in pm.instruments] == playing
    assert all(i.program == 52 and not i.is_drum for i in pm.instruments)


def pm_notes(path: Path) -> dict[str, list[tuple[float, float, int]]]:
    """Per voice that plays: (start s, end s, pitch), sorted, as pretty_midi reads the file."""
    pm = pretty_midi.PrettyMIDI(str(path))
    return {inst.name: sorted((round(n.start, 6), round(n.end, 6), n.pitch) for n in inst.notes)
            for inst in pm.instruments}


def grid_seconds(grid: np.ndarray, low: int, tempo: float, steps_per_beat: int) -> dict[str, list[tuple]]:
    """The same for a grid, per voice that has notes."""
    step = 60.0 / (tempo * steps_per_beat)
    notes = grid_notes(grid, low)
    per_voice = {name: sorted((round(s * step, 6), round(e * step, 6), int(p)) for vv, p, s, e in notes if vv == v)
                 for v, name in enumerate(VOICES)}
    return {name: n for name, n in per_voice.items() if n}


def density(folder: Path, stem: str) -> float:
    """Mean notes per file over the .mid files of a folder, read by pretty_midi."""
    counts = [sum(len(i.notes) for i in pretty_midi.PrettyMIDI(str(p)).instruments)
              for p in sorted(folder.glob(f"{stem}*.mid"))]
    return float(np.mean(counts))


def label_of(path: Path) -> str:
    """The label a written .mid records in its properties."""
    text = next(m.text for m in mido.MidiFile(path).tracks[0] if m.type == "text")
    return json.loads(text.removeprefix("genforge "))["label"]


# ---------------------------------------------------------------- sampling

@needs_bach
def test_sample_writes_midi_png_and_wav_that_an_independent_parser_reads(music_model, sampled):
    bundle = open_bundle(music_model)
    meta = bundle.meta["codec"]
    assert {"major 4/4", "minor 4/4", "major 3/4", "minor 3/4"} <= set(bundle.labels)
    assert meta["bars"] == 4 and meta["time_signature"] == [4, 4]
    assert [(m["label"], m["time_signature"]) for m in meta["label_metres"]] == \
        [(name, [int(v) for v in name.split()[1].split("/")]) for name in bundle.labels]
    assert sum(bundle.label_counts) == sum(bundle.meta["label_counts"].values()) > 2000
    names = sorted(p.name for p in sampled.iterdir())
    stems = [f"music-3-{i:03d}" for i in range(4)]
    assert names == sorted([f"{s}{e}" for s in stems for e in (".mid", ".png", ".wav")] + ["sheet-3.png"])
    grids, ids = decoded(music_model, 4, 3)
    assert sum(len(grid_notes(g)) for g in grids) > 0, "the tiny model writes notes"
    tempo, spb, low = meta["tempo"], meta["steps_per_beat"], meta["low"]
    codec = codec_for(bundle.meta)
    for i, stem in enumerate(stems):
        path = sampled / f"{stem}.mid"
        check_tracks(path)
        (num, den), _, _ = codec.metre(int(ids[i]))
        steps = codec.content_steps(int(ids[i]))             # the label's whole bars; the padding is cropped
        pm = pretty_midi.PrettyMIDI(str(path))
        assert pm.time_signature_changes[0].numerator == num and pm.time_signature_changes[0].denominator == den
        assert pm.get_tempo_changes()[1][0] == pytest.approx(tempo)
        # Exactly the notes of the decoded grid's bars, at the model's tempo, in the right voices.
        assert pm_notes(path) == grid_seconds(grids[i][:steps], low, tempo, spb), stem
        # genforge's own reader gets the same window back (it makes voices of the tracks that play only).
        # The decoder's raw grid may start a note with a hold cell: compare the notes' canonical grid.
        if all(grids[i][:steps, :, 2 * v].any() for v in range(4)):
            canonical = notes_to_grid(grid_notes(grids[i][:steps]), 64, 4, 0, grids[i].shape[1] - 1)
            assert np.array_equal(codec.read_window(path, int(ids[i])), canonical)
        props = json.loads(next(m.text for m in mido.MidiFile(path).tracks[0]
                                if m.type == "text").removeprefix("genforge "))
        assert props["seed"] == 3 and props["index"] == i and props["label"] == bundle.labels[ids[i]]
        with wave.open(str(sampled / f"{stem}.wav")) as w:
            seconds = w.getnframes() / w.getframerate()
        assert seconds == pytest.approx(steps * 60 / (tempo * spb) + 0.08, abs=0.01)
        from PIL import Image
        with Image.open(sampled / f"{stem}.png") as im:
            assert im.size == (steps * 4, (meta["high"] - low + 1) * 3)


@needs_bach
def test_same_seed_same_files_other_seed_other_music(music_model, sampled, tmp_path):
    again = tmp_path / "again"
    assert invoke("sample", "music", "--model", music_model, "-n", "4", "--seed", "3", "--out", again,
                   "-q").returncode == 0
    for p in sampled.iterdir():
        assert (again / p.name).read_bytes() == p.read_bytes(), p.name
    other = tmp_path / "other"
    invoke("sample", "music", "--model", music_model, "-n", "4", "--seed", "4", "--out", other, "-q")
    assert [pm_notes(other / f"music-4-{i:03d}.mid") for i in range(4)] != \
        [pm_notes(sampled / f"music-3-{i:03d}.mid") for i in range(4)]


@needs_bach
def test_conditions_by_words_and_an_unknown_condition(music_model, tmp_path):
    out = tmp_path / "minor"
    res = invoke("sample", "music", "--model", music_model, "-n", "6", "--condition",
                   "minor", "--out", out, "-q")
    assert res.returncode == 0, res.stderr
    assert all(label_of(out / f"music-0-{i:03d}.mid").split()[0] == "minor" for i in range(6))
    # "3/4": a 3/4 label per piece, written as 5 whole bars of 3/4.
    three = tmp_path / "three"
    res = invoke("sample", "music", "--model", music_model, "-n", "3", "--condition", "3/4", "--out", three, "-q")
    assert res.returncode == 0, res.stderr
    for i in range(3):
        path = three / f"music-0-{i:03d}.mid"
        assert label_of(path).endswith(" 3/4")
        sig = pretty_midi.PrettyMIDI(str(path)).time_signature_changes
        assert [(t.numerator, t.denominator) for t in sig] == [(3, 4)]
        with wave.open(str(three / f"music-0-{i:03d}.wav")) as w:
            tempo = open_bundle(music_model).meta["codec"]["tempo"]
            assert w.getnframes() / w.getframerate() == pytest.approx(60 * 60 / (tempo * 4) + 0.08, abs=0.01)
    bad = tmp_path / "dorian"
    res = invoke("sample", "music", "--model", music_model, "--condition", "dorian",
                   "--out", bad)
    assert_user_error(res, "unknown --condition 'dorian'", "'major 4/4', 'minor 4/4'", "'minor 3/4'", out=bad)


@needs_bach
def test_bars_must_be_the_models(music_model, tmp_path):
    out = tmp_path / "eight"
    res = invoke("sample", "music", "--model", music_model, "--bars", "8", "--out", out)
    assert_user_error(res, "--bars 8", "bars 4", out=out)


@needs_bach
def test_attribute_vectors_push_density(music_model, tmp_path):
    attrs = open_bundle(music_model).meta["attributes"]
    # polyphony too, where windows differ in it (nearly every chorale step sounds all four voices)
    assert {"density", "pitch_range", "register", "note_length"} <= set(attrs) <= set(ATTRIBUTES)
    assert len(attrs["density"]["vector"]) == open_bundle(music_model).latent_dim
    folders = {}
    for amount in ("+2", "-2"):
        folders[amount] = tmp_path / f"density{amount}"
        res = invoke("sample", "music", "--model", music_model, "-n", "16", "--seed", "1",
                       "--attribute", f"density={amount}", "--out", folders[amount], "-q")
        assert res.returncode == 0, res.stderr
    up, down = density(folders["+2"], "music-1-"), density(folders["-2"], "music-1-")
    print(f"mean notes per piece: density=+2 {up:.2f}, density=-2 {down:.2f}")
    assert up > down
    # The grids the decoder gives for the pushed latents are the ones written (their labels' bars).
    grids, ids = decoded(music_model, 16, 1, attributes={"density": 2.0})
    codec = codec_for(open_bundle(music_model).meta)
    assert up == pytest.approx(np.mean([len(grid_notes(g[:codec.content_steps(int(i))])) for g, i in zip(grids, ids)]))
    text = next(m.text for m in mido.MidiFile(folders["+2"] / "music-1-000.mid").tracks[0]
                if m.type == "text")
    assert json.loads(text.removeprefix("genforge "))["attributes"] == "density=+2"
    bad = tmp_path / "bad"
    res = invoke("sample", "music", "--model", music_model, "--attribute", "loudness=1",
                   "--out", bad)
    assert_user_error(res, "unknown --attribute 'loudness'", "density", "pitch_range", out=bad)
    res = invoke("sample", "music", "--model", music_model, "--attribute", "density",
                   "--out", bad)
    assert_user_error(res, "NAME=AMOUNT", out=bad)


@needs_bach
def test_evaluation_measures_each_condition_in_its_own_metre(music_model, tmp_path):
    from genforge.evaluate.music import evaluate_music

    report = evaluate_music(music_model, 8, tmp_path / "eval", seed=0, data=[BACH])
    bundle = open_bundle(music_model)
    assert list(report["conditions"]) == bundle.labels
    assert report["notes"] == []                          # the split rebuilt is the one the model was tested on
    steps = {"4/4": (4, 64), "3/4": (5, 60), "3/2": (2, 48), "12/8": (2, 48)}
    for name, entry in report["conditions"].items():
        metre = name.split()[1]
        assert entry["metre"] == {"time_signature": metre, "bars": steps[metre][0], "steps": steps[metre][1]}
        assert entry["windows"]["samples"] == 8
        if entry["windows"]["held_out"]:
            # Real chorale bars, counted in their own metre: hardly any is empty.
            assert entry["measures"]["empty_bar_rate"]["held_out"] < 0.05, name
    assert report["conditions"]["major 3/4"]["windows"]["held_out"] > 0
    assert "Measured on 5 bar(s) of 3/4 (60 steps)." in (tmp_path / "eval" / "report.md").read_text()


@needs_bach
def test_chorale_voices_sing_one_note_at_a_time(music_model, tmp_path):
    """The session model learned its voices are monophonic: its samples, at temperature 0 and above,
    never strike two notes at once in one voice (the bundled model, all on/off cells: 16-29% of onsets)."""
    from genforge.domains.music.stats import voice_overlaps
    from genforge.evaluate.music import measure_sums

    bundle = open_bundle(music_model)
    assert bundle.meta["codec"]["monophonic"] == [True] * 4
    codec = codec_for(bundle.meta)
    z, ids = runtime.sample_latents(bundle, 64, 0, None)
    logits = runtime.decode(bundle, z, ids)
    for temperature in (0.0, 1.0):
        grids = codec.from_logits(logits, np.random.default_rng(0), temperature)
        overlaps, sounding = voice_overlaps(grids)
        assert overlaps.tolist() == [0, 0, 0, 0] and sounding.min() > 0, temperature
        sums = measure_sums(grids, 16, codec.low, steps_per_beat=4)
        for v in range(4):
            assert sums[f"clusters/{v}"][0].sum() == 0 and sums[f"clusters/{v}"][1].sum() > 0, (temperature, v)
    res = invoke("info", music_model)
    assert res.returncode == 0 and "monophonic" in res.stdout and "4 of 4 voice(s) monophonic" in res.stdout
    res = invoke("export", music_model, "--out", tmp_path / "engine")
    assert res.returncode == 0, res.stderr
    side = json.loads((tmp_path / "engine" / "genforge-decoder.json").read_text())
    assert side["music"]["monophonic"] == [True] * 4 and "one note at a time" in side["music"]["monophonic_decode"]


# ---------------------------------------------------------------- interpolation

def reconstruction(model: Path, path: Path) -> np.ndarray:
    bundle = open_bundle(model, "music")
    codec = codec_for(bundle.meta)
    window = codec.read_window(path, 0)
    z = runtime.encode(bundle, codec.to_onehot(window)[None], np.array([0]))
    return codec.from_logits(runtime.decode(bundle, z, np.array([0])))[0]


@needs_bach
def test_interpolation_between_two_real_pieces_starts_and_ends_at_their_reconstructions(music_model, tmp_path):
    a, b = BACH / "midi" / "riem002_bwv347.mid", BACH / "midi" / "riem003_bwv153.1.mid"
    out = tmp_path / "interp"
    res = invoke("interpolate", "music", "--model", music_model, "--from", a, "--to", b, "--steps", "6",
                  "--out", out)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"step-{i:03d}{e}" for i in range(6) for e in (".mid", ".png", ".wav")] + ["strip.png"])
    meta = open_bundle(music_model).meta["codec"]
    args = (meta["low"], meta["tempo"], meta["steps_per_beat"])
    assert pm_notes(out / "step-000.mid") == grid_seconds(reconstruction(music_model, a), *args)
    assert pm_notes(out / "step-005.mid") == grid_seconds(reconstruction(music_model, b), *args)
    seeds = tmp_path / "seeds"
    res = invoke("interpolate", "music", "--model", music_model, "--from-seed", "1", "--to-seed", "2",
                  "--steps", "3", "--out", seeds)
    assert res.returncode == 0, res.stderr
    for i in range(3):
        check_tracks(seeds / f"step-{i:03d}.mid")
    for i in range(6):
        check_tracks(out / f"step-{i:03d}.mid")


@needs_bach
def test_interpolation_from_a_piece_in_another_metre_takes_its_condition(music_model, tmp_path):
    out = tmp_path / "interp"
    three_four = BACH / "midi" / "riem001_bwv269.mid"
    res = invoke("interpolate", "music", "--model", music_model, "--from", three_four, "--to-seed", "1",
                  "--out", out)
    assert_user_error(res, str(three_four), "no 4-bar 4/4 window", out=out)      # the first label: major 4/4
    res = invoke("interpolate", "music", "--model", music_model, "--from", three_four, "--to-seed", "1",
                 "--steps", "3", "--condition", "3/4", "--out", out)
    assert res.returncode == 0, res.stderr
    bundle = open_bundle(music_model)
    label = bundle.label_id("3/4")                       # the 3/4 label with the most training windows
    assert label_of(out / "step-000.mid") == bundle.labels[label] == "major 3/4"
    sig = pretty_midi.PrettyMIDI(str(out / "step-000.mid")).time_signature_changes
    assert [(t.numerator, t.denominator) for t in sig] == [(3, 4)]


# ---------------------------------------------------------------- no TensorFlow on the generation path

@needs_bach
def test_sampling_music_never_imports_tensorflow(music_model, tmp_path):
    out = tmp_path / "fresh"
    code = (
        "import sys\n"
        "from genforge.cli import app\n"
        f"sys.argv = ['genforge', 'sample', 'music', '--model', {str(music_model)!r}, '-n', '2', '--seed', '3',"
        f" '--attribute', 'density=1', '--out', {str(out)!r}, '-q']\n"
        "try:\n"
        "    app()\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'onnxruntime', 'music21') if m in sys.modules))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "['onnxruntime']", res.stdout
    assert (out / "music-3-001.mid").is_file() and (out / "music-3-001.wav").is_file()


# ---------------------------------------------------------------- training: bad input, quality

def test_train_music_on_a_folder_without_midi(tmp_path):
    empty = tmp_path / "no-music"
    empty.mkdir()
    (empty / "notes.txt").write_text("not music\n")
    out = tmp_path / "run"
    res = run_cli("train", "music", "--data", empty, "--out", out, "--epochs", "1", "-q")
    assert_user_error(res, str(empty), "no usable MIDI file", out=out)


def test_train_music_rejects_unknown_labels(tmp_path):
    out = tmp_path / "run"
    res = invoke("train", "music", "--data", tmp_path, "--out", out, "--labels", "genre")
    assert_user_error(res, "unknown --labels 'genre'", "mode, folder, sidecar, none", out=out)


def test_music_commands_have_help_with_examples():
    from typer.testing import CliRunner

    from genforge.cli import app

    for args, example in ((("train", "music"), "genforge train music --data"),
                          (("sample", "music"), "--attribute density=+1.5"),
                          (("interpolate", "music"), "--from a.mid --to b.mid"),
                          (("datasets", "build", "chorales"), 'pip install "genforge[chorales]"')):
        res = CliRunner().invoke(app, [*args, "--help"], terminal_width=200)
        assert res.exit_code == 0 and "Example" in res.output, res.output
        assert example in res.output, (args, res.output)
