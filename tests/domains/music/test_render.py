"""Piano-roll previews and WAV audio."""
from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from genforge.domains.music.render import VOICE_COLOURS, preview, render_wav
from genforge.errors import GenforgeError


def test_preview_dimensions_and_drawing(two_bar_window):
    g = two_bar_window
    img = preview(g, steps_per_bar=16, steps_per_beat=4, low=48)
    assert img.shape == (24 * 3, 32 * 4, 3) and img.dtype == np.uint8
    colours = {tuple(c) for c in img.reshape(-1, 3)}
    assert tuple(VOICE_COLOURS[0]) in colours and tuple(VOICE_COLOURS[1]) in colours
    assert (img[:, 16 * 4] == 110).all(axis=-1).sum() > 0     # a bar line at step 16
    # Pitch goes up the image: the bass (row 0 = pitch 48) is drawn at the bottom.
    assert (img[-3:, 4 * 1] == VOICE_COLOURS[1]).all()


def test_render_wav_is_valid_and_audible(two_bar_window):
    g = two_bar_window
    data = render_wav(g, tempo=100, steps_per_beat=4, low=48, sample_rate=16000, release=0.1)
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        n = w.getnframes()
        pcm = np.frombuffer(w.readframes(n), "<i2")
    assert n == round(32 * 60 / (100 * 4) * 16000) + round(0.1 * 16000)
    assert np.sqrt(np.mean(pcm.astype(float) ** 2)) > 1000
    silent = render_wav(np.zeros_like(g), tempo=100)
    with wave.open(io.BytesIO(silent)) as w:
        assert not np.frombuffer(w.readframes(w.getnframes()), "<i2").any()
    with pytest.raises(GenforgeError):
        render_wav(g, tempo=0)


def test_render_wav_tone_of_each_note_alone():
    """The synthesis shares one waveform per pitch among its notes: the result is the sum, note by
    note, of each note's own tone, envelope and release (the same pitch at three lengths here, one
    cut short by the end of the roll)."""
    g = np.zeros((16, 12, 2), bool)
    for start, end in ((0, 2), (4, 9), (12, 16)):
        g[start, 7, 0] = True
        g[start:end, 7, 1] = True
    sr, release, step = 8000, 0.1, 60.0 / (120 * 4)
    with wave.open(io.BytesIO(render_wav(g, low=60, sample_rate=sr, release=release))) as w:
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
