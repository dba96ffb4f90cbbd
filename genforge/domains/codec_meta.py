"""The "codec" section of a model's genforge.json, checked before a codec is rebuilt from it: a
stranger's (or damaged) file must fail here, as one error naming the file, not later inside
sampling, repair or export with a KeyError from deep in the codec.

What each domain's codec reads back (LevelCodec.from_meta, MusicCodec.from_meta) and relies on:
types, value ranges and sizes that agree with each other and with the model's window shape.
"""
from __future__ import annotations

import math

from genforge.domains.games import AREA, HORIZONTAL, ROOMS, VERTICAL
from genforge.errors import GenforgeError, brief

LAYOUTS = (HORIZONTAL, VERTICAL, ROOMS, AREA)
MAX_TILE_BYTES = 1 << 24   # one game's drawn tiles; the bundled model's are 10 KB


def _int(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _strings(value, most: int = 100_000) -> bool:
    return isinstance(value, list) and len(value) <= most and all(isinstance(v, str) for v in value)


def _structures(specs) -> bool:
    return isinstance(specs, list) and all(
        isinstance(s, dict) and isinstance(s.get("name"), str) and _strings(s.get("mouth")) and _strings(s.get("body"))
        and len(s["mouth"]) == len(s["body"]) > 0 and isinstance(s.get("flip", False), bool)
        and isinstance(s.get("stack", False), bool) for s in specs)


def check_levels(meta: dict) -> str | None:
    """What is wrong with a level model's codec metadata, or None."""
    m, labels = meta["codec"], meta.get("labels", [])
    vocab = m.get("vocabulary")
    if not (isinstance(vocab, str) and 0 < len(vocab) == len(set(vocab))):
        return "\"vocabulary\" must be a string of distinct tile characters"
    if not (isinstance(m.get("shape"), list) and len(m["shape"]) == 2 and all(_int(n, 1, 1 << 16) for n in m["shape"])):
        return "\"shape\" must be two positive whole numbers (rows, columns)"
    games = m.get("games")
    if not (isinstance(games, list) and games and len(games) >= len(labels)):
        return f"\"games\" must list a game for each of the {len(labels)} label(s)"
    for g in games:
        if not isinstance(g, dict):
            return "each of \"games\" must be an object"
        name = brief(repr(g.get("name")), 40)
        legend = g.get("legend")
        if not isinstance(g.get("name"), str):
            return "a game without a \"name\""
        if not (isinstance(legend, dict) and all(isinstance(c, str) and len(c) == 1 and _strings(t, 100)
                                                 for c, t in legend.items())):
            return f"game {name}: \"legend\" must map one character to a list of tags"
        if not (isinstance(g.get("empty"), str) and len(g["empty"]) == 1):
            return f"game {name}: \"empty\" must be one tile character"
        if g.get("layout") not in LAYOUTS:
            return f"game {name}: \"layout\" must be one of {', '.join(LAYOUTS)}"
        if not (isinstance(g.get("window"), list) and len(g["window"]) == 2 and all(_int(n, 1, 1 << 16)
                                                                                   for n in g["window"])):
            return f"game {name}: \"window\" must be two positive whole numbers"
        if not all(_strings(g.get(f"{part}_levels", [])) for part in ("train", "validation", "test")):
            return f"game {name}: its train/validation/test levels must be lists of names"
        if not _structures(g.get("structures", [])):
            return f"game {name}: \"structures\" must be a list of {{name, mouth, body}} with tags"
    images = m.get("tile_images", {})
    if not isinstance(images, dict):
        return "\"tile_images\" must be an object"
    for key, img in images.items():
        shape = img.get("shape") if isinstance(img, dict) else None
        if not (isinstance(img.get("zlib_base64") if isinstance(img, dict) else None, str) and isinstance(shape, list)
                and len(shape) == 4 and all(_int(n, 1, 1 << 16) for n in shape) and shape[0] == len(vocab)
                and shape[1] == shape[2] <= 256 and shape[3] in (3, 4) and math.prod(shape) <= MAX_TILE_BYTES):
            return f"tile images of {brief(repr(key), 40)} must be {len(vocab)} square RGB tiles, zlib and base64"
    return None


def check_music(meta: dict) -> str | None:
    """What is wrong with a music model's codec metadata, or None."""
    m, labels = meta["codec"], meta.get("labels", [])
    if not (_int(m.get("low"), 0, 127) and _int(m.get("high"), 0, 127) and m["low"] <= m["high"]):
        return "\"low\" and \"high\" must be MIDI pitches (0-127), low first"
    voices = m.get("voices")
    if not (isinstance(voices, list) and 0 < len(voices) <= 64 and all(
            isinstance(v, dict) and isinstance(v.get("name"), str) and _int(v.get("program", 0), 0, 127)
            and _int(v.get("channel", 0), 0, 15) and isinstance(v.get("is_drum", False), bool) for v in voices)):
        return "\"voices\" must be 1-64 objects of a name, a program (0-127) and a channel (0-15)"
    if not (_int(m.get("steps_per_beat"), 1, 96) and _int(m.get("bars"), 1, 256)):
        return "\"steps_per_beat\" (1-96) and \"bars\" (1-256) must be whole numbers"
    metres = [m.get("time_signature")] + [d.get("time_signature") if isinstance(d, dict) else None
                                          for d in (m.get("label_metres") or [])]
    for ts in metres:
        if not (isinstance(ts, list) and len(ts) == 2 and _int(ts[0], 1, 255) and _int(ts[1], 1, 64)
                and not ts[1] & (ts[1] - 1)):
            return f"time signature {brief(ts, 30)} is not a numerator (1-255) over a power of two up to 64"
    tempo = m.get("tempo")
    if not (isinstance(tempo, (int, float)) and not isinstance(tempo, bool) and math.isfinite(tempo)
            and 1 <= tempo <= 1000):
        return "\"tempo\" must be 1-1000 beats per minute"
    label_metres = m.get("label_metres")
    if label_metres is not None and not (isinstance(label_metres, list) and len(label_metres) == len(labels) and all(
            isinstance(d, dict) and _int(d.get("bars"), 1, 256) for d in label_metres)):
        return f"\"label_metres\" must give a time signature and bars for each of the {len(labels)} label(s)"
    mono = m.get("monophonic")
    if mono is not None and not (isinstance(mono, list) and len(mono) == len(voices)
                                 and all(isinstance(x, bool) for x in mono)):
        return "\"monophonic\" must be one true/false per voice"
    if not isinstance(m.get("short_sections", False), bool):
        return "\"short_sections\" must be true or false"
    return None


CHECKS = {"levels": check_levels, "music": check_music}


def check_codec_meta(meta: dict, where) -> None:
    """A GenforgeError naming `where` (the genforge.json) unless its "codec" section is one the
    domain's codec can be rebuilt from and used with."""
    if not isinstance(meta.get("codec"), dict):
        raise GenforgeError(f"{where}: \"codec\" is missing or not an object")
    wrong = CHECKS[meta["domain"]](meta) if meta.get("domain") in CHECKS else None
    if wrong:
        raise GenforgeError(f"{where}: the \"codec\" metadata: {wrong}")
