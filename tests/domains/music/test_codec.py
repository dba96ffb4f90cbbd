"""MusicCodec: model tensors, metrics, previews and exported assets; a real window read and measured."""
from __future__ import annotations

import json

import mido
import numpy as np
import pytest
from support import needs_bach

from genforge.domains.music.codec import MusicCodec
from genforge.domains.music.roll import Segment, Voice
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
