"""Grids as pictures and sound: a piano-roll PNG image and a synthesised WAV, numpy alone."""
from __future__ import annotations

import io
import wave

import numpy as np

from genforge.domains.music.roll import Voice, as_grid, check_steps_per_beat, check_tempo, grid_notes
from genforge.errors import GenforgeError

VOICE_COLOURS = [(214, 39, 40), (31, 119, 180), (44, 160, 44), (148, 103, 189),
                 (255, 127, 14), (23, 190, 207), (227, 119, 194), (140, 86, 75)]
_BLACK_KEYS = {1, 3, 6, 8, 10}


def preview(roll: np.ndarray, steps_per_bar: int = 16, steps_per_beat: int = 4, low: int = 0,
            step_px: int = 4, pitch_px: int = 3) -> np.ndarray:
    """A piano-roll image (pitches*pitch_px, steps*step_px, 3) uint8: time left to right, pitch
    bottom to top, one colour per voice, a darker cell at each onset, bar lines dark grey, beat
    lines light grey, black-key rows shaded."""
    g = as_grid(roll)
    s, p, c = g.shape
    img = np.full((p, s, 3), 250, np.uint8)
    black = np.array([(low + i) % 12 in _BLACK_KEYS for i in range(p)])
    img[black] = 236
    img = np.repeat(np.repeat(img, pitch_px, 0), step_px, 1)
    if steps_per_beat > 0:
        img[:, ::steps_per_beat * step_px] = 215
    if steps_per_bar > 0:
        img[:, ::steps_per_bar * step_px] = 110
    for v in range(c // 2):
        colour = np.array(VOICE_COLOURS[v % len(VOICE_COLOURS)])
        hold = np.repeat(np.repeat(g[:, :, 2 * v + 1].T, pitch_px, 0), step_px, 1)
        onset = np.zeros_like(hold)
        onset[:, ::step_px] = np.repeat(g[:, :, 2 * v].T, pitch_px, 0)
        hold |= onset
        img[hold] = colour
        img[onset] = (colour * 0.55).astype(np.uint8)
    return img[::-1].copy()


def render_wav(roll: np.ndarray, tempo: float = 120.0, steps_per_beat: int = 4, low: int = 0,
               sample_rate: int = 22050, voices=None, release: float = 0.08, gain: float = 0.8) -> bytes:
    """A 16-bit mono WAV of the roll: each note a few harmonics under an attack/decay/release
    envelope (drum voices: a noise burst). Length: the roll's duration plus `release` seconds."""
    g = as_grid(roll)
    bpm = check_tempo(tempo, "render_wav")
    steps_per_beat = check_steps_per_beat(steps_per_beat, "render_wav")
    if g.ndim != 3 or g.shape[2] % 2:
        raise GenforgeError(f"render_wav: a roll must be (steps, pitches, 2*voices), got shape {g.shape}")
    if not 0.0 <= release <= 10.0:
        raise GenforgeError(f"render_wav: release must be 0 to 10 seconds, got {release}")
    if not 4000 <= sample_rate <= 192000:
        raise GenforgeError(f"render_wav: sample rate {sample_rate} out of range (4000 to 192000)")
    step_s = 60.0 / (bpm * steps_per_beat)
    n_rel = int(round(release * sample_rate))
    total = int(round(g.shape[0] * step_s * sample_rate)) + n_rel
    drum = [bool(Voice.from_dict(v).is_drum if isinstance(v, dict) else getattr(v, "is_drum", False))
            for v in voices] if voices is not None else []
    notes = []  # (voice, pitch, first sample, samples sounding, samples with the release)
    for v, pitch, s, e in grid_notes(g, low):
        a = int(round(s * step_s * sample_rate))
        n_on = max(1, int(round((e - s) * step_s * sample_rate)))
        n = min(n_on + n_rel, total - a)
        if n > 0:
            notes.append((v, pitch, a, n_on, n))
    out = _synthesise(notes, drum, total, n_rel, sample_rate)
    peak = np.abs(out).max()
    if peak > 0:
        out *= gain / peak
    pcm = np.clip(out * 32767, -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def _synthesise(notes: list[tuple], drum: list[bool], total: int, n_rel: int, sample_rate: int) -> np.ndarray:
    """The mix (total,) float64 of `notes` (voice, pitch, first sample, samples sounding, samples
    with the release): each a few harmonics, or a noise burst in a drum voice, under its envelope."""
    out = np.zeros(total, np.float64)
    rng = np.random.default_rng(0)
    attack = max(1, int(0.005 * sample_rate))
    # Every note starts at phase 0, so a pitch's tone is one waveform that each note cuts to its
    # length: computed once per pitch (the sines were nearly all of the time), as is the decay.
    t = np.arange(max((n for *_, n in notes), default=0)) / sample_rate
    decay = np.exp(-1.5 * t)
    tones: dict[int, np.ndarray] = {}
    rise, fall = np.linspace(0.0, 1.0, attack), np.linspace(1.0, 0.0, n_rel)
    for v, pitch, a, n_on, n in notes:
        env = decay[:n].copy()
        k = min(attack, n)
        env[:k] *= rise[:k]
        if n > n_on:  # the release; cut short only by the end of the roll
            env[n_on:] *= fall if n - n_on == n_rel else np.linspace(1.0, 0.0, n - n_on)
        if v < len(drum) and drum[v]:
            wave_ = rng.uniform(-1, 1, n) * np.exp(-t[:n] / 0.06)
        else:
            if pitch not in tones:
                f = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
                longest = max(m for _, p, _, _, m in notes if p == pitch)
                tone = np.zeros(longest)
                for h, amp in ((1, 1.0), (2, 0.5), (3, 0.25), (4, 0.12)):
                    if f * h < sample_rate / 2:
                        tone += amp * np.sin(2 * np.pi * f * h * t[:longest])
                tones[pitch] = tone
            wave_ = tones[pitch][:n]
        out[a:a + n] += 0.25 * env * wave_
    return out
