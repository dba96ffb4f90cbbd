"""Music statistics of grid batches: onset agreement, polyphony, pitch classes, empty bars, note
lengths, scale membership, and the per-window attributes latent attribute vectors are made from.

Every statistic is a ratio of counts; `window_sums` keeps the counts per window so a batch, or any
subset of it (a label), is summarised by summing.
"""
from __future__ import annotations

import numpy as np

from genforge.domains.music.roll import as_batch, grid_notes
from genforge.domains.music.theory import KEY_SCALES, key_index, window_keys


def ratio(a, b) -> float | None:
    """a / b as a float; None when b is 0 (a ratio of nothing is undefined, not zero)."""
    return float(a / b) if b else None


def onset_scores_from_counts(hits, predicted, actual) -> dict:
    """Onset precision, recall and F1 from counts: onsets in both grids, in the prediction, in the
    truth. Precision (recall) is None when nothing is predicted (true); F1 is then None too, and 0.0
    when either is 0."""
    prec, rec = ratio(hits, predicted), ratio(hits, actual)
    f1 = 2 * prec * rec / (prec + rec) if prec and rec else (0.0 if prec is not None and rec is not None else None)
    return {"onset_precision": prec, "onset_recall": rec, "onset_f1": f1}


def onset_scores(true, pred) -> dict:
    """Cell-wise onset precision, recall and F1 (same step, pitch and voice), over a batch."""
    t, p = as_batch(true)[..., 0::2], as_batch(pred)[..., 0::2]
    return onset_scores_from_counts(np.count_nonzero(t & p), np.count_nonzero(p), np.count_nonzero(t))


def polyphony(grids) -> float | None:
    """Mean number of sounding notes per step, over the steps where anything sounds."""
    snd = as_batch(grids)[..., 1::2] | as_batch(grids)[..., 0::2]
    per_step = np.count_nonzero(snd, axis=(2, 3))
    busy = per_step > 0
    return ratio(per_step[busy].sum(), busy.sum())


def pitch_classes_per_bar(grids, steps_per_bar: int, low: int = 0) -> float | None:
    """Mean number of distinct pitch classes sounding in a bar, over non-empty bars."""
    g = as_batch(grids)
    n, s, p, _ = g.shape
    nb = s // steps_per_bar
    snd = (g[..., 0::2] | g[..., 1::2]).any(-1)[:, :nb * steps_per_bar]           # (N, S, P)
    per_bar = snd.reshape(n, nb, steps_per_bar, p).any(2)                           # (N, B, P)
    pcs = np.zeros((n, nb, 12), bool)
    for i in range(p):
        pcs[..., (low + i) % 12] |= per_bar[..., i]
    counts = pcs.sum(-1)
    filled = counts > 0
    return ratio(counts[filled].sum(), filled.sum())


def empty_bar_rate(grids, steps_per_bar: int) -> float | None:
    """Share of bars in which nothing sounds."""
    g = as_batch(grids)
    n, s = g.shape[:2]
    nb = s // steps_per_bar
    any_ = g[:, :nb * steps_per_bar].any(axis=(2, 3)).reshape(n, nb, steps_per_bar).any(-1)
    return ratio((~any_).sum(), any_.size)


def batch_notes(grids) -> np.ndarray:
    """Notes of a batch of grids: (N, 5) int array of window, voice, pitch row, start, end."""
    g = as_batch(grids)
    n, s, p, c = g.shape
    # One grid, the windows end to end with a silent step between them so no note runs across.
    joined = np.concatenate([g, np.zeros((n, 1, p, c), bool)], axis=1).reshape(n * (s + 1), p, c)
    notes = grid_notes(joined).astype(np.int64)
    win = notes[:, 2] // (s + 1)
    notes[:, 2:] -= win[:, None] * (s + 1)
    return np.concatenate([win[:, None], notes], axis=1)


def qualified_note_rate(grids, min_steps: int = 2) -> float | None:
    """Share of notes lasting at least `min_steps` steps. Default 2 steps = an eighth note on a
    16th grid: the analogue of MuseGAN's qualified notes (>= 3 of 24 steps per beat, i.e. a 32nd),
    since on a 16th grid every note lasts >= 1 step; it catches fragmented one-step blips."""
    notes = batch_notes(grids)
    if not len(notes):
        return None
    return float(((notes[:, 4] - notes[:, 3]) >= min_steps).mean())


def scale_counts(grids: np.ndarray, keys: np.ndarray, low: int) -> tuple[np.ndarray, np.ndarray]:
    """Per window of a bool batch (N, S, P, 2V): (onsets in the scale of its key, all onsets), (N,)
    each. `keys`: one key index per window (see window_keys)."""
    onsets = np.count_nonzero(grids[..., 0::2], axis=(1, 3))                        # (N, P)
    inside = KEY_SCALES[np.asarray(keys)][:, (low + np.arange(grids.shape[2])) % 12]   # (N, P)
    return (onsets * inside).sum(1), onsets.sum(1)


def in_scale_share_by_key(grids, keys: np.ndarray, low: int = 0) -> float | None:
    """Share of onsets in the scale of each window's key (indices from window_keys)."""
    inside, onsets = scale_counts(as_batch(grids), keys, low)
    return ratio(inside.sum(), onsets.sum())


def in_scale_share(grids, tonic: int, mode: str, low: int = 0) -> float | None:
    """Share of note onsets whose pitch class is in the key's scale (see scale_pitch_classes)."""
    g = as_batch(grids)
    return in_scale_share_by_key(g, np.full(len(g), key_index(tonic, mode)), low)


def _nz(a, axis) -> np.ndarray:
    return np.count_nonzero(a, axis=axis)


def window_sums(grids, steps_per_bar: int, low: int = 0, min_steps: int = 2, keys=None) -> dict:
    """Per-window numerators and denominators of the statistics above, (N,) arrays each, so a
    batch or any subset of it (a label) is summarised by summing: see `summarise`. In-scale
    counts use `keys` (window_keys indices; None: each window's own estimated key)."""
    g = as_batch(grids)
    n, s, p, _ = g.shape
    on = g[..., 0::2]
    snd = g[..., 1::2] | on
    per_step = _nz(snd, (2, 3))                                                       # (N, S)
    nb = max(1, s // steps_per_bar)
    by_bar = snd.any(-1)[:, :nb * steps_per_bar].reshape(n, nb, -1, p).any(2)      # (N, B, P)
    pcs = (by_bar.astype(np.uint8) @ np.eye(12, dtype=np.uint8)[(low + np.arange(p)) % 12]) > 0
    classes = _nz(pcs, -1)                                                            # (N, B)
    notes = batch_notes(g)
    keys = window_keys(g, low) if keys is None else np.asarray(keys)
    return {
        "poly": (per_step.sum(1), _nz(per_step, 1)),
        "pcb": (classes.sum(1), _nz(classes, 1)),
        "empty": ((classes == 0).sum(1), np.full(n, nb)),
        "qual": (np.bincount(notes[:, 0], (notes[:, 4] - notes[:, 3]) >= min_steps, minlength=n),
                 np.bincount(notes[:, 0], minlength=n)),
        "scale": scale_counts(g, keys, low),
    }


def voice_overlaps(grids) -> tuple[np.ndarray, np.ndarray]:
    """Per voice over a batch: (steps where it sounds two or more notes at once, steps where it
    sounds), (V,) int each. A voice with none of the first is monophonic."""
    g = as_batch(grids)
    per_step = np.count_nonzero(g[..., 0::2] | g[..., 1::2], axis=2)                 # (N, S, V)
    return np.count_nonzero(per_step > 1, axis=(0, 1)), np.count_nonzero(per_step, axis=(0, 1))


def voice_sums(grids, steps_per_beat: int) -> dict:
    """Per window and voice v, (numerator, denominator) pairs of (N,) arrays: "clusters/v", the share
    of the voice's onset steps where it starts two or more notes at once; "notes_per_beat/v", its
    notes per beat of the window (summed as window_sums' are: see summarise)."""
    g = as_batch(grids)
    n, s, _, c = g.shape
    onsets = np.count_nonzero(g[..., 0::2], axis=2)                                   # (N, S, V)
    notes = batch_notes(g)
    beats = np.full(n, s / steps_per_beat)
    out = {}
    for v in range(c // 2):
        out[f"clusters/{v}"] = (np.count_nonzero(onsets[..., v] > 1, axis=1), np.count_nonzero(onsets[..., v], axis=1))
        out[f"notes_per_beat/{v}"] = (np.bincount(notes[notes[:, 1] == v, 0], minlength=n), beats)
    return out


_STAT_NAMES = {"poly": "polyphony", "pcb": "pitch_classes_per_bar", "empty": "empty_bar_rate",
               "qual": "qualified_note_rate", "scale": "in_scale_share"}


def summarise(sums: dict, mask=None) -> dict:
    """window_sums -> {statistic: ratio or None}, over all windows or those in `mask`."""
    out = {}
    for k, (num, den) in sums.items():
        num, den = (num, den) if mask is None else (num[mask], den[mask])
        out[_STAT_NAMES.get(k, k)] = ratio(float(num.sum()), float(den.sum()))
    return out


def music_stats(grids, steps_per_bar: int, low: int = 0, key: tuple[int, str] | None = None,
                min_steps: int = 2) -> dict:
    """The statistics above for a batch of windows; in-scale share for `key` (tonic, mode) or
    each window's own estimated key."""
    g = as_batch(grids)
    keys = None if key is None else np.full(len(g), key_index(key[0], key[1]))
    return summarise(window_sums(g, steps_per_bar, low, min_steps, keys))


ATTRIBUTES = {
    "density": "note onsets per bar, all voices",
    "pitch_range": "semitones from the lowest to the highest note",
    "polyphony": "notes sounding at once, over the steps where anything sounds",
    "register": "mean pitch of the notes (MIDI number)",
    "note_length": "mean note length in steps",
}


def window_attributes(grids, steps_per_bar: int, low: int = 0, batch: int = 2048) -> dict[str, np.ndarray]:
    """name (see ATTRIBUTES) -> (N,) float per window; NaN where a window has no notes."""
    g = as_batch(grids)
    out = {k: np.full(len(g), np.nan) for k in ATTRIBUTES}
    bars = max(1, g.shape[1] // steps_per_bar)
    for i in range(0, len(g), batch):             # a batch at a time: the note list of 10k windows is large
        part = g[i:i + batch]
        n = len(part)
        notes = batch_notes(part)                  # window, voice, pitch row, start, end
        win = notes[:, 0]
        count = np.bincount(win, minlength=n).astype(float)
        has = count > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            out["density"][i:i + n] = np.where(has, count / bars, np.nan)
            pitch = notes[:, 2].astype(float) + low
            top = np.full(n, -np.inf)
            bottom = np.full(n, np.inf)
            np.maximum.at(top, win, pitch)
            np.minimum.at(bottom, win, pitch)
            out["pitch_range"][i:i + n] = np.where(has, top - bottom, np.nan)
            out["register"][i:i + n] = np.bincount(win, pitch, minlength=n) / count
            lengths = (notes[:, 4] - notes[:, 3]).astype(float)
            out["note_length"][i:i + n] = np.bincount(win, lengths, minlength=n) / count
            snd = part[..., 0::2] | part[..., 1::2]
            per_step = np.count_nonzero(snd, axis=(2, 3))
            busy = np.count_nonzero(per_step, axis=1)
            out["polyphony"][i:i + n] = np.where(busy > 0, per_step.sum(1) / np.maximum(busy, 1), np.nan)
    return out
