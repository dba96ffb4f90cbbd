"""MusicCodec: model tensors, metrics, previews and exported assets; a real window read and measured."""
from __future__ import annotations

import json

import mido
import numpy as np
import pytest
from support import needs_bach

from genforge.domains.music.codec import MusicCodec
from genforge.domains.music.roll import Segment, Voice, grid_notes
from genforge.errors import GenforgeError


def test_codec_interface_round_trips_and_exports(tmp_path, two_bar_window, pretty_midi_agrees):
    voices = [Voice("Soprano", 52, 0), Voice("Bass", 32, 1)]
    codec = MusicCodec(48, 71, voices, ["major", "minor"], steps_per_beat=4, bars=2, time_signature=(4, 4),
                         tempo=80.0)
    assert codec.domain == "music" and codec.likelihood == "bernoulli"
    assert codec.grid_shape == (32, 24, 4)
    meta = {"domain": "music", "labels": codec.labels, "codec": json.loads(json.dumps(codec.meta()))}
    again = MusicCodec.from_meta(meta)
    assert again.meta() == codec.meta() and again.grid_shape == codec.grid_shape and again.labels == codec.labels
    g = two_bar_window
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
    assert sorted(p.name for p in out.iterdir()) == sorted(f.name for f in files)   # no temporaries left
    pretty_midi_agrees(files[0], g, voices, [Segment(0, 32, (4, 4), 80.0)], 4, low=48)
    texts = [m.text for m in mido.MidiFile(files[0]).tracks[0] if m.type == "text"]
    assert json.loads(texts[0].removeprefix("genforge "))["label"] == "minor"
    # The exported MIDI reads back as the same window.
    assert np.array_equal(codec.read_window(files[0], 1), g)
    with pytest.raises(GenforgeError, match="shape"):
        codec.export(np.zeros((3, 3, 3)), 0, out, "bad", {})
    assert not (out / "bad.mid").exists()


@needs_bach
def test_codec_reads_a_real_window_and_measures_reconstruction(bach):
    codec = MusicCodec(36, 81, bach.pieces[1].voices, ["major", "minor"], tempo=80.0)
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


def reference_from_logits(logits, rng=None, temperature=0.0):
    """All-Bernoulli decoding as genforge did before voices could be monophonic."""
    logits = np.asarray(logits, np.float64)
    if not temperature:
        on = logits > 0
    else:
        p = 1.0 / (1.0 + np.exp(-np.clip(logits / temperature, -60, 60)))
        on = rng.random(p.shape) < p
    on[..., 1::2] |= on[..., 0::2]
    return on


@pytest.mark.parametrize("temperature", [0.0, 0.5, 1.0, 2.5])
def test_a_monophonic_voice_decodes_one_note_at_a_time(temperature):
    voices = [Voice("Melody", 0, 0), Voice("Piano", 0, 1), Voice("Bass", 32, 2)]
    codec = MusicCodec(48, 71, voices, [], bars=2, monophonic=[True, False, True])
    assert codec.one_of == ((0, 1), (4, 5))
    for seed in range(3):
        rng = np.random.default_rng(seed)
        logits = rng.normal(rng.normal(-1, 2), rng.uniform(0.5, 6), (16, *codec.grid_shape))
        g = codec.from_logits(logits, np.random.default_rng(seed), temperature)
        assert np.all(g[..., 1::2] >= g[..., 0::2])                         # the layout holds
        for v in (0, 2):
            sounding = np.count_nonzero(g[..., 2 * v + 1], axis=-1)        # pitches sounding per step
            assert sounding.max() <= 1, (v, seed)
        assert np.count_nonzero(g[..., 3], axis=-1).max() > 1               # the piano still plays chords
        # A note goes on only at its own pitch: a hold without an onset continues the step before.
        for v in (0, 2):
            n, s, p = np.nonzero(g[..., 2 * v + 1] & ~g[..., 2 * v])
            later = s > 0
            assert g[n[later], s[later] - 1, p[later], 2 * v + 1].all()
        for window in g[:4]:                                                # read as notes: one after another
            notes = grid_notes(window, codec.low)
            for v in (0, 2):
                mine = notes[notes[:, 0] == v]
                mine = mine[np.argsort(mine[:, 2])]
                assert len(mine) and (mine[1:, 2] >= mine[:-1, 3]).all()
        piano = logits[..., 2:4] > 0
        piano[..., 1] |= piano[..., 0]
        if not temperature:                                                 # the Bernoulli voice: as before
            assert np.array_equal(g[..., 2:4], piano)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_a_model_from_before_monophonic_voices_decodes_as_it_did(temperature):
    voices = [Voice("Soprano", 52, 0), Voice("Bass", 32, 1)]
    old = {"domain": "music", "labels": ["major", "minor"],
           "codec": {"low": 48, "high": 71, "voices": [v.to_dict() for v in voices], "steps_per_beat": 4, "bars": 2,
                     "time_signature": [4, 4], "tempo": 80.0}}
    codec = MusicCodec.from_meta(old)
    assert codec.monophonic is None and codec.one_of == () and "monophonic" not in codec.meta()
    assert not any(line.startswith("decoding") for line in codec.describe({}))
    logits = np.random.default_rng(5).normal(-1, 2, (8, *codec.grid_shape))
    assert np.array_equal(codec.from_logits(logits, np.random.default_rng(1), temperature),
                          reference_from_logits(logits, np.random.default_rng(1), temperature))
    marked = MusicCodec.from_meta({**old, "codec": {**old["codec"], "monophonic": [True, True]}})
    assert marked.monophonic == [True, True] and marked.meta()["monophonic"] == [True, True]
    assert "monophonic_decode" in marked.meta()
    assert MusicCodec.from_meta({**old, "codec": json.loads(json.dumps(marked.meta()))}).meta() == marked.meta()
    assert any(line.startswith("decoding   2 of 2 voice(s) monophonic") for line in marked.describe({}))
    with pytest.raises(GenforgeError, match="monophonic flags"):
        MusicCodec(48, 71, voices, [], monophonic=[True])


def test_fingerprints_see_through_transposition_and_padding():
    """A transposed copy of a training window, or one that differs only in the padding after its
    label's bars, has the training window's fingerprint; a window with one note moved has another."""
    from genforge.core import latent

    voices = [Voice("Soprano", 52, 0), Voice("Bass", 32, 1)]
    codec = MusicCodec(48, 83, voices, ["major 4/4", "major 3/4"], steps_per_beat=4, bars=4, time_signature=(4, 4),
                       label_metres=[((4, 4), 4), ((3, 4), 5)])
    assert codec.content_steps(1) == 60 and codec.grid_shape[0] == 64
    g = np.zeros(codec.grid_shape, bool)
    melody = [60, 62, 64, 65, 67, 65, 64, 62, 60, 64, 67, 72, 67, 64, 60]     # C major, four steps a note
    bass = [48, 43, 48, 41, 43, 48, 41, 43, 48, 43, 48, 41, 43, 48, 48]
    for i, (top, low) in enumerate(zip(melody, bass)):
        for v, pitch in ((0, top), (1, low)):
            g[4 * i, pitch - 48, 2 * v] = True
            g[4 * i:4 * i + 4, pitch - 48, 2 * v + 1] = True
    up = np.roll(g, 3, axis=1)                                        # a minor third up, inside the range
    padded = g.copy()
    padded[62, 10, 1] = True                                          # a note in the 3/4 label's padding
    moved = g.copy()
    moved[8:12, 64 - 48, 1], moved[8, 64 - 48, 0] = False, False
    moved[8:12, 66 - 48, 1], moved[8, 66 - 48, 0] = True, True
    prints = codec.fingerprints(np.stack([g, up, padded, moved]), np.array([1, 1, 1, 1]))
    assert prints[0] == prints[1] == prints[2] and prints[3] != prints[0]
    assert prints.dtype == np.uint64
    # The 4/4 label's windows have no padding: there the late note makes another window.
    four = codec.fingerprints(np.stack([g, padded]), np.array([0, 0]))
    assert four[0] != four[1]
    assert prints[0] != latent.window_hashes(g[None])[0]             # not the plain cells' hash
