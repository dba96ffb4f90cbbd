"""MIDI files <-> Pieces and grids, with mido alone.

Reading turns each (track, channel) that plays notes into a voice and snaps times to the grid.
MIDI out is always type 1: track 0 holds tempo and time signature (and a text event with the
asset's properties), then one named track per voice with its program and channel.
"""
from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genforge.domains.music.roll import (MAX_BPM, Piece, Segment, Voice, bar_steps, check_steps_per_beat, check_tempo,
                                         check_time_signature, grid_notes)
from genforge.errors import GenforgeError

DRUM_CHANNEL = 9                 # MIDI channel 10
DEFAULT_TEMPO_US = 500_000       # 120 bpm, MIDI's default
MAX_TICKS_PER_BEAT = 32767       # above this the division field means SMPTE time, which we do not read
MAX_CELLS = 1_000_000            # voices x steps (x 128 pitches): 16 voices of ~2 h at 120 bpm on 16ths


class MidiError(GenforgeError):
    """A MIDI input we cannot use. `reason` is a short category for skip reports."""

    def __init__(self, path, reason: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path, self.reason = Path(path), reason


# ---------------------------------------------------------------- reading MIDI

def read_midi(path: str | Path, steps_per_beat: int = 4) -> Piece:
    """A MIDI file (type 0 or 1) on a grid of `steps_per_beat` steps per quarter note.

    Voices: one per (track, channel) that plays notes, so one per track in an ordinary type-1
    file and one per channel in a type-0 file; channel 10 (index 9) is always a voice of its own,
    flagged `is_drum`. Names come from track names, programs from the first program change.
    Note-offs close the oldest open note of their pitch and channel (first in, first out).
    Raises MidiError (a GenforgeError naming the file) for anything it cannot use."""
    import mido

    spb = check_steps_per_beat(steps_per_beat)
    path = Path(path)
    if not path.exists():
        raise MidiError(path, "missing", "no such file")
    if not path.is_file():
        raise MidiError(path, "not a file", "not a file")
    try:  # read once: a file removed or replaced meanwhile is read whole or not at all
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise MidiError(path, "unreadable", f"cannot read: {e.strerror or e}") from None
    head = data[:4]
    if head != b"MThd":
        what = "empty file" if not head else "a RIFF (RMID or WAV) file" if head == b"RIFF" else "no MThd header"
        raise MidiError(path, "not a MIDI file", f"not a standard MIDI file ({what})")
    try:
        mid = mido.MidiFile(file=io.BytesIO(data))
    except Exception as e:  # mido raises OSError, EOFError, ValueError, KeyError, IndexError, ...
        raise MidiError(path, "corrupt MIDI",
                        f"corrupt or truncated MIDI file ({type(e).__name__}: {e})") from None
    if mid.type == 2:
        raise MidiError(path, "type-2 MIDI", "type-2 MIDI (independent sequences) is not supported; "
                                             "save it as type 0 or 1")
    tpb = mid.ticks_per_beat
    if not isinstance(tpb, int) or not 0 < tpb <= MAX_TICKS_PER_BEAT:
        raise MidiError(path, "bad ticks per beat",
                        f"ticks per beat is {tpb}; expected 1 to {MAX_TICKS_PER_BEAT} (SMPTE timing is not supported)")
    try:
        return _piece_from_mido(mid, path, spb)
    except MidiError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as e:
        raise MidiError(path, "corrupt MIDI", f"unreadable MIDI content ({type(e).__name__}: {e})") from None


def nearest_step(ticks, steps_per_beat: int, ticks_per_beat: int):
    """Ticks (an int or an int array) -> the nearest grid step, halves rounded up."""
    return (2 * ticks * steps_per_beat + ticks_per_beat) // (2 * ticks_per_beat)


@dataclass
class _TrackEvents:
    """What a MIDI file says, in ticks, gathered over all its tracks."""

    tempos: list[tuple[int, int]] = field(default_factory=list)              # (tick, us per beat)
    sigs: list[tuple[int, int, int]] = field(default_factory=list)           # (tick, numerator, denominator)
    # (track, channel) -> [(pitch, on tick, off tick)]
    notes: dict[tuple[int, int], list[tuple[int, int, int]]] = field(default_factory=dict)
    programs: dict[tuple[int, int], int] = field(default_factory=dict)       # (track, channel) -> first program
    channel_programs: dict[int, int] = field(default_factory=dict)           # channel -> first program
    names: dict[int, str] = field(default_factory=dict)                      # track -> name
    unterminated: int = 0


def _track_events(mid) -> _TrackEvents:
    """Notes (pitch, on tick, off tick) per (track, channel), tempo, metre, programs and names."""
    ev = _TrackEvents()
    for ti, track in enumerate(mid.tracks):
        tick = 0
        open_notes: dict[tuple[int, int], list[int]] = {}
        for msg in track:
            tick += msg.time
            kind = msg.type
            if kind == "note_on" and msg.velocity > 0:
                open_notes.setdefault((msg.channel, msg.note), []).append(tick)
            elif kind == "note_off" or kind == "note_on":
                q = open_notes.get((msg.channel, msg.note))
                if q:
                    ev.notes.setdefault((ti, msg.channel), []).append((msg.note, q.pop(0), tick))
            elif kind == "program_change":
                ev.programs.setdefault((ti, msg.channel), msg.program)
                ev.channel_programs.setdefault(msg.channel, msg.program)
            elif kind == "set_tempo":
                ev.tempos.append((tick, msg.tempo))
            elif kind == "time_signature":
                ev.sigs.append((tick, msg.numerator, msg.denominator))
            elif kind == "track_name" and ti not in ev.names and msg.name.strip():
                ev.names[ti] = msg.name.strip()
        for (ch, note), q in open_notes.items():
            for on in q:
                ev.notes.setdefault((ti, ch), []).append((note, on, tick))
                ev.unterminated += 1
    return ev


def _check_events(ev: _TrackEvents, path: Path) -> list[tuple[int, int]]:
    """The (track, channel) keys that play notes, sorted; a MidiError for absurd tempos, invalid
    metres, no notes or drums alone."""
    for tick, us in ev.tempos:
        bpm = 60e6 / us if us > 0 else math.inf
        if not 0 < bpm <= MAX_BPM:
            raise MidiError(path, "absurd tempo", f"absurd tempo {bpm:g} bpm (set_tempo {us} us per beat) "
                                                  f"at tick {tick}; expected at most {MAX_BPM:g} bpm")
    for tick, num, den in ev.sigs:
        if num < 1 or den < 1 or den > 64 or den & (den - 1):
            raise MidiError(path, "bad time signature", f"invalid time signature {num}/{den} at tick {tick}")

    keys = sorted(k for k, v in ev.notes.items() if v)
    if not keys:
        raise MidiError(path, "no notes", "no notes in this MIDI file")
    if all(ch == DRUM_CHANNEL for _, ch in keys):
        raise MidiError(path, "drums only", "drums only (channel 10): no pitched notes to learn from")
    return keys


def _piece_from_mido(mid, path: Path, spb: int) -> Piece:
    tpb = mid.ticks_per_beat
    ev = _track_events(mid)
    keys = _check_events(ev, path)

    def step(t: int) -> int:
        return nearest_step(t, spb, tpb)

    voices: list[Voice] = []
    rows = []
    snapped = lengthened = 0
    channels_of: dict[int, set[int]] = {}
    for ti, ch in keys:
        channels_of.setdefault(ti, set()).add(ch)
    for vi, (ti, ch) in enumerate(keys):
        drum = ch == DRUM_CHANNEL
        base = ev.names.get(ti)
        if mid.type == 0 or len(channels_of[ti]) > 1:
            label = "Drums" if drum else f"Channel {ch + 1}"
            name = f"{base} {label}" if base else label
        else:
            name = base or ("Drums" if drum else f"Track {ti}")
        voices.append(Voice(name, ev.programs.get((ti, ch), ev.channel_programs.get(ch, 0)), ch, drum))
        for note, on, off in ev.notes[(ti, ch)]:
            s, e = step(on), step(off)
            if (on * spb) % tpb or (off * spb) % tpb:
                snapped += 1
            if e <= s:
                e = s + 1
                lengthened += 1
            rows.append((vi, note, s, e))
    arr = np.array(rows, np.int64)
    last = int(arr[:, 3].max())  # before the cast to int32: steps of absurd times would wrap round
    if last * len(voices) > MAX_CELLS:
        raise MidiError(path, "too long", f"too long: {last} steps x {len(voices)} voices on a "
                                          f"{spb}-steps-per-beat grid (at most {MAX_CELLS} cells)")
    arr = arr[np.lexsort((arr[:, 1], arr[:, 0], arr[:, 2]))].astype(np.int32)
    segments, n_steps = grid_segments(ev.sigs, ev.tempos, last, spb, step)
    return Piece(arr, n_steps, spb, segments, voices, path, tpb, snapped, lengthened, ev.unterminated)


def grid_segments(sigs, tempos, last: int, spb: int, step) -> tuple[list[Segment], int]:
    """Cut [0, last) at every time-signature and tempo change; pad the end to a whole bar.

    `sigs`: (tick, numerator, denominator) events; `tempos`: (tick, us per beat) events; `step`
    maps a tick to its grid step. Returns the segments and the piece's length in steps."""
    ts_ev = [(0, 4, 4)] + [(step(t), n, d) for t, n, d in sorted(sigs, key=lambda e: e[0])]
    tempo_ev = [(0, DEFAULT_TEMPO_US)] + [(step(t), us) for t, us in sorted(tempos, key=lambda e: e[0])]
    bounds = sorted({0} | {s for s, *_ in ts_ev if s < last} | {s for s, _ in tempo_ev if s < last})
    segs: list[Segment] = []
    i_ts = i_tempo = 0
    for b in bounds:                  # the last event at or before each boundary (the later one wins a tie)
        while i_ts + 1 < len(ts_ev) and ts_ev[i_ts + 1][0] <= b:
            i_ts += 1
        while i_tempo + 1 < len(tempo_ev) and tempo_ev[i_tempo + 1][0] <= b:
            i_tempo += 1
        ts, us = ts_ev[i_ts], tempo_ev[i_tempo][1]
        seg = Segment(b, 0, (ts[1], ts[2]), 60e6 / us, ts[0])
        if segs and (segs[-1].time_signature, segs[-1].tempo, segs[-1].bar_start) == \
                (seg.time_signature, seg.tempo, seg.bar_start):
            continue
        segs.append(seg)
    per_bar = bar_steps(segs[-1].time_signature, spb)
    n_steps = last
    if isinstance(per_bar, int):
        rel = last - segs[-1].bar_start
        n_steps = segs[-1].bar_start + -(-rel // per_bar) * per_bar
    out = []
    for i, s in enumerate(segs):
        end = segs[i + 1].start if i + 1 < len(segs) else n_steps
        out.append(Segment(s.start, end, s.time_signature, s.tempo, s.bar_start))
    return out, n_steps


# ---------------------------------------------------------------- writing MIDI

def _voice_list(voices, n: int, where) -> list[Voice]:
    if voices is None:
        chans = [c for c in range(16) if c != DRUM_CHANNEL]
        return [Voice(f"Voice {i + 1}", 0, chans[i % len(chans)]) for i in range(n)]
    out = []
    for v in voices:
        out.append(v if isinstance(v, Voice) else Voice.from_dict(v) if isinstance(v, dict) else Voice(str(v)))
    if len(out) != n:
        raise GenforgeError(f"{where}: the roll has {n} voice(s) (onset/hold channel pairs), "
                            f"but {len(out)} voice description(s) were given")
    for v in out:
        if not 0 <= v.channel <= 15 or not 0 <= v.program <= 127:
            raise GenforgeError(f"{where}: voice {v.name!r} has channel {v.channel} / program {v.program}; "
                                "expected channel 0-15 and program 0-127")
    return out


def write_midi(path: str | Path, roll: np.ndarray, voices=None, tempo: float = 120.0,
               time_signature: tuple[int, int] = (4, 4), steps_per_beat: int = 4, low: int = 0,
               segments: list[Segment] | None = None, ticks_per_beat: int | None = None,
               properties: dict | None = None, title: str | None = None, velocity: int = 80) -> Path:
    """A grid (steps, pitches, 2V) -> type-1 MIDI, written atomically.

    `voices`: Voice objects, dicts or names (None: "Voice 1".."Voice V", piano). `low`: the MIDI
    pitch of the grid's first row. `segments` (e.g. a Piece's) give tempo and time-signature changes
    and override `tempo` and `time_signature`. Every onset cell starts a new note, even when the same
    pitch sounded on the step before."""
    import mido

    from genforge.atomic import atomic_path

    path = Path(path)
    spb = check_steps_per_beat(steps_per_beat, str(path))
    g = np.asarray(roll)
    if g.ndim != 3 or g.shape[2] % 2 or g.shape[2] == 0:
        raise GenforgeError(f"{path}: a roll must be (steps, pitches, 2*voices), got shape {g.shape}")
    if not 0 <= low or low + g.shape[1] - 1 > 127:
        raise GenforgeError(f"{path}: pitches {low}..{low + g.shape[1] - 1} are outside MIDI's 0..127")
    vs = _voice_list(voices, g.shape[2] // 2, path)
    if segments:
        segs = [Segment(s.start, s.end, check_time_signature(s.time_signature, path), check_tempo(s.tempo, path),
                        s.bar_start) for s in segments]
    else:
        segs = [Segment(0, g.shape[0], check_time_signature(time_signature, path), check_tempo(tempo, path), 0)]
    tpb = ticks_per_beat or (480 if 480 % spb == 0 else 120 * spb)
    if tpb % spb or not 0 < tpb <= MAX_TICKS_PER_BEAT:
        raise GenforgeError(f"{path}: ticks per beat {tpb} must be a multiple of steps per beat {spb}, at most "
                            f"{MAX_TICKS_PER_BEAT}")
    tps = tpb // spb
    notes = grid_notes(g, low)
    end_tick = max(g.shape[0], max((s.end for s in segs), default=0)) * tps
    meta = _conductor_events(segs, tps, title or path.stem, properties)
    if not 0 < velocity <= 127:
        raise GenforgeError(f"{path}: velocity must be 1 to 127, got {velocity}")
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    tracks = [meta] + [_voice_events(v, notes[notes[:, 0] == vi], tps, velocity) for vi, v in enumerate(vs)]
    for ev in tracks:
        ev.append((end_tick, 9, _meta_msg("end_of_track")))
        mid.tracks.append(_track(ev))
    with atomic_path(path) as tmp:
        mid.save(str(tmp))
    return path


def _track(events):
    """(tick, order, make) -> a track; `make(delta)` builds the message once. Values are
    checked above (pitch range, channel, program, velocity), so mido's per-message
    validation, which dominates the cost of writing, is skipped."""
    import mido

    t = mido.MidiTrack()
    now = 0
    for tick, _, make in sorted(events, key=lambda e: (e[0], e[1])):
        t.append(make(tick - now))
        now = tick
    return t


def _meta_msg(kind, **kw):
    import mido

    return lambda dt: mido.MetaMessage(kind, time=dt, **kw)


def _conductor_events(segs: list[Segment], tps: int, title: str, properties: dict | None) -> list:
    """Track 0's events: its name, the properties as a text event, time signatures and tempos."""
    meta = [(0, 0, _meta_msg("track_name", name=_latin1(title)))]
    if properties:
        text = "genforge " + json.dumps(properties, ensure_ascii=True, sort_keys=True, default=str)
        meta.append((0, 1, _meta_msg("text", text=text)))
    last_ts, last_bpm = None, None
    for s in segs:
        if s.time_signature != last_ts or s.bar_start == s.start:
            meta.append((s.start * tps, 2, _meta_msg("time_signature", numerator=s.time_signature[0],
                                                     denominator=s.time_signature[1])))
        if s.tempo != last_bpm:
            meta.append((s.start * tps, 3, _meta_msg("set_tempo", tempo=int(round(60e6 / s.tempo)))))
        last_ts, last_bpm = s.time_signature, s.tempo
    return meta


def _voice_events(v: Voice, notes: np.ndarray, tps: int, velocity: int) -> list:
    """One voice's track events: its name, program and notes ((N, 4) notes of this voice)."""
    import mido

    ch = DRUM_CHANNEL if v.is_drum else v.channel
    ev = [(0, 0, _meta_msg("track_name", name=_latin1(v.name))),
          (0, 1, lambda dt, ch=ch, prog=v.program: mido.Message("program_change", skip_checks=True,
                                                                 channel=ch, program=prog, time=dt))]
    for _, pitch, s, e in notes.tolist():
        ev.append((s * tps, 3, lambda dt, n=pitch, ch=ch: mido.Message("note_on", skip_checks=True, channel=ch,
                                                                      note=n, velocity=velocity, time=dt)))
        ev.append((e * tps, 2, lambda dt, n=pitch, ch=ch: mido.Message("note_off", skip_checks=True, channel=ch,
                                                                      note=n, velocity=0, time=dt)))
    return ev


def _latin1(text: str) -> str:
    """MIDI text events are bytes; mido encodes them as Latin-1. Anything else becomes '?'."""
    return str(text).encode("latin-1", "replace").decode("latin-1")


def write_piece(path: str | Path, piece: Piece, **kw) -> Path:
    """A Piece back to MIDI with its voices, tempo and metre changes."""
    return write_midi(path, piece.grid(), piece.voices, steps_per_beat=piece.steps_per_beat,
                      segments=piece.segments, **kw)
