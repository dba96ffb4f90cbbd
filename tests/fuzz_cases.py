"""Fuzz cases for every reader a user can point at a file, as Hypothesis strategies: each draws a
`Case`, a handful of files (made up from a grammar of the format, or a real file mutated) that
`materialize` writes under a fresh folder for the reader to read (genforge/domains/levels/read.py,
genforge/domains/music/midi.py and corpus.py, genforge.bundle with what loading a model reads).

Shared by tests/test_fuzz.py (a short deterministic profile in the default test run) and
benchmarks/fuzz.py (a long profile, each case in a worker process that catches hangs and
memory). The contract for every case is in fuzz_targets.py: a result, or one GenforgeError.

Mutation seeds are the real files where present: ../shared/datasets/vglc levels and legends, the
Bach chorales' MIDI, datasets/chorales/chorales.npz, the bundled models; `missing_seeds` says
which are absent (strategies then draw from the grammar alone).
"""
from __future__ import annotations

import base64
import copy
import csv
import gzip
import io
import json
import os
import shutil
import struct
import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from hypothesis import strategies as st
from support import BACH, REPO, VGLC

READERS = ("levels", "tiled", "midi", "labels", "archive", "model")
VGLC_GAMES = ("Super Mario Bros", "Super Mario Bros 2 (Japan)", "Kid Icarus", "The Legend of Zelda", "Super Mario Land")
ARCHIVE_SEED = REPO / "datasets" / "chorales" / "chorales.npz"
MODEL_SEEDS = {d: REPO / "genforge" / "models" / d for d in ("levels", "music")}


@dataclass
class Link:
    """A file of the case that is a seed file unchanged (hard-linked or copied, never written)."""
    source: Path


@dataclass
class Symlink:
    target: str


@dataclass
class Case:
    reader: str
    entry: str                                    # what the reader is pointed at, relative to the case folder
    files: dict[str, bytes | Link | Symlink]      # relative path -> content
    options: dict = field(default_factory=dict)   # the reader's options (pad, ...)
    what: str = ""                                # how the case was made, for reports

    def __repr__(self) -> str:  # Hypothesis prints falsifying examples: keep them readable
        sizes = {k: (len(v) if isinstance(v, bytes) else v) for k, v in self.files.items()}
        return f"Case({self.reader!r}, {self.what!r}, entry={self.entry!r}, options={self.options}, files={sizes})"


def materialize(case: Case, root: Path) -> Path:
    """Write the case's files under `root` (an empty folder); returns the path the reader gets."""
    for rel, content in case.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            try:
                os.link(content.source, path)
            except OSError:
                shutil.copyfile(content.source, path)
        elif isinstance(content, Symlink):
            os.symlink(content.target, path)
        else:
            path.write_bytes(content)
    entry = root / case.entry
    entry.parent.mkdir(parents=True, exist_ok=True)
    return entry


def missing_seeds() -> dict[str, str]:
    """reader -> why its real-file seeds are absent (the strategies then use the grammar alone)."""
    out = {}
    if not any(vglc_seeds()):
        out["levels"] = f"no VGLC levels under {VGLC} (../shared/datasets absent)"
    if not midi_seeds():
        out["midi"] = f"no Bach chorale MIDI files under {BACH / 'midi'} (../shared/datasets absent)"
    if not ARCHIVE_SEED.is_file():
        out["archive"] = f"{ARCHIVE_SEED} is absent"
    if not all((p / "genforge.json").is_file() for p in MODEL_SEEDS.values()):
        out["model"] = "the bundled models (genforge/models) are absent"
    return out


# ---------------------------------------------------------------- shared pieces

def mostly(usual, rare, one_in: int = 10):
    """`usual`, and `rare` once in `one_in` draws (Hypothesis' `|` picks each side half the time)."""
    return st.integers(1, one_in).flatmap(lambda k: rare if k == 1 else usual)


json_scalars = (st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70) | st.sampled_from([0, -1, 1, 2 ** 31, 2 ** 63])
                | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=10)
NASTY_JSON = ["[" * 50_000, '{"a":' * 50_000, "1" * 5000, "-" + "9" * 5000, "1e999", "NaN", '"\\ud800"', "", "\x00",
              "\ufeff{}", "[1,]", '{"tiles": {}}', "null", '{"tiles": ' + "[" * 50_000, '{"tiles": {"-": ["empty"]}, "n": '
              + "1" * 5000 + "}", '{"type": "map", "layers": ' + "[" * 50_000]
nasty_json_text = st.sampled_from(NASTY_JSON)


@st.composite
def mutated(draw, data: bytes, most: int = 8, keep: int = 0) -> bytes:
    """Bytes with a few mutations: bit flips, interesting bytes, inserts, deletes, a cut, a splice;
    the first `keep` bytes (a header) are left alone half the time."""
    data = bytearray(data)
    low = keep if keep < len(data) and draw(st.booleans()) else 0
    for _ in range(draw(st.integers(1, most))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "splice", "repeat"]))
        pos = draw(st.integers(min(low, max(len(data) - 1, 0)), max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]) | st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(max_size=16))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[pos:]
        elif op == "splice" and data:
            src = draw(st.integers(0, len(data) - 1))
            data[pos:pos] = data[src:src + draw(st.integers(1, 64))]
        elif op == "repeat" and data:
            data[pos:pos] = data[pos:pos + draw(st.integers(1, 8))] * draw(st.integers(2, 200))
    return bytes(data)


def _paths(obj, prefix=(), depth=0, out=None) -> list[tuple]:
    out = [] if out is None else out
    if depth > 6 or len(out) > 4000:
        return out
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        out.append(prefix + (k,))
        _paths(v, prefix + (k,), depth + 1, out)
    return out


@st.composite
def mutated_json(draw, doc, keys=None, most: int = 3):
    """A JSON document with 1..most values replaced, deleted, or numbers pushed to extremes;
    `keys`: the top-level keys to aim at (all when None)."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, most))):
        top = [k for k in (keys or list(doc)) if k in doc] if isinstance(doc, dict) else []
        paths = [(k,) + p for k in top for p in [()] + _paths(doc[k])] if top else _paths(doc)
        if not paths:
            return draw(json_values)
        path = draw(st.sampled_from(paths))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        old = parent[path[-1]]
        op = draw(st.sampled_from(["replace", "delete", "extreme", "type"]))
        if op == "delete":
            del parent[path[-1]]
        elif op == "extreme" and isinstance(old, (int, float)) and not isinstance(old, bool):
            parent[path[-1]] = draw(st.sampled_from([0, -1, -old, old + 1, old * 1000, 2 ** 31, 2 ** 62, 10 ** 30, 0.5,
                                                     float("inf"), float("nan")]))
        elif op == "type":
            parent[path[-1]] = draw(st.sampled_from([str(old)[:20], [old], {"x": old}, None, True]))
        else:
            parent[path[-1]] = draw(json_values)
    return doc


def dumps(doc) -> bytes:
    return json.dumps(doc, allow_nan=True).encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------- VGLC text + legend

TAGS = ["solid", "empty", "passable", "void", "enemy", "hazard", "pipe", "top-left pipe", "top-right pipe", "left pipe",
        "right pipe", "cannon top", "cannon bottom", "null", "ground", "coin", "door", "ladder", "moving", "breakable"]


@cache
def vglc_seeds() -> tuple[tuple[str, bytes, tuple[tuple[str, bytes], ...]], ...]:
    """(game folder, legend file name, legend bytes, ((level name, bytes), ...)) per VGLC game present."""
    out = []
    for game in VGLC_GAMES:
        folder = VGLC / game
        if not folder.is_dir():
            continue
        legends = sorted(folder.glob("*.json")) + ([folder / "README.txt"] if (folder / "README.txt").is_file() else [])
        levels = sorted(folder.glob("*.txt"))
        levels = [p for p in levels if p.name != "README.txt"][:3]
        out.append((game, tuple((p.name, p.read_bytes()) for p in legends[:1]),
                    tuple((p.name, p.read_bytes()) for p in levels)))
    return tuple(out)


legend_chars = st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from(list("-#XE?<>[]oS"))


@st.composite
def level_cases(draw) -> Case:
    seeds = vglc_seeds()
    use_seed = bool(seeds) and draw(st.booleans())
    if use_seed:
        game, legends, levels = draw(st.sampled_from(seeds))
        folder = game if draw(st.booleans()) else "custom"
        files = {}
        for name, data in legends:
            if draw(st.booleans()) and name.endswith(".json"):
                try:
                    doc = json.loads(data)
                    files[f"{folder}/{name}"] = dumps(draw(mutated_json(doc)))
                except ValueError:
                    files[f"{folder}/{name}"] = draw(mutated(data))
            else:
                files[f"{folder}/{name}"] = draw(mutated(data)) if draw(st.booleans()) else data
        for name, data in levels[:draw(st.integers(1, len(levels)))]:
            files[f"{folder}/{name}"] = draw(mutated(data)) if draw(st.booleans()) else data
        return Case("levels", folder, files, {"pad": draw(st.booleans())}, f"mutated VGLC {game}")
    chars = draw(st.lists(legend_chars, min_size=1, max_size=8, unique=True))
    tiles = {c: draw(st.lists(st.sampled_from(TAGS) | st.text(max_size=6), max_size=3)) for c in chars}
    legend = {"tiles": tiles}
    if draw(st.booleans()):
        legend["structures"] = draw(st.lists(st.fixed_dictionaries(
            {"name": st.text(max_size=6), "mouth": st.lists(st.sampled_from(TAGS), max_size=3),
             "body": st.lists(st.sampled_from(TAGS), max_size=3)}, optional={"flip": json_values, "stack": json_values})
            | json_values, max_size=2))
    kind = draw(st.sampled_from(["json", "json", "mutated json", "prose", "garbage", "none"]))
    files = {}
    folder = draw(st.sampled_from(["custom", "Super Mario Bros", "Kid Icarus", "The Legend of Zelda"]))
    if kind == "json":
        files[f"{folder}/legend.json"] = dumps(legend)
    elif kind == "mutated json":
        files[f"{folder}/legend.json"] = dumps(draw(mutated_json(legend)))
    elif kind == "prose":
        files[f"{folder}/README.txt"] = "\n".join(f"{c} = {', '.join(t)}" for c, t in tiles.items()).encode("utf-8")
    elif kind == "garbage":
        files[f"{folder}/legend.json"] = draw(nasty_json_text.map(str.encode) | st.binary(max_size=64))
    alphabet = st.sampled_from(chars) | legend_chars if draw(st.booleans()) else st.sampled_from(chars)
    width = draw(st.integers(0, 40))
    for i in range(draw(st.integers(1, 3))):
        rows = draw(st.lists(st.text(alphabet, min_size=max(width - 2, 0), max_size=width + 1), min_size=0, max_size=20))
        sep = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        text = sep.join(rows) + (sep if draw(st.booleans()) else "")
        files[f"{folder}/level{i}.txt"] = text.encode("utf-8", "surrogatepass") if draw(st.integers(0, 9)) else \
            draw(st.binary(max_size=200))
    return Case("levels", folder, files, {"pad": draw(st.booleans())}, f"grammar legend {kind}")


# ---------------------------------------------------------------- Tiled maps

GID_FLAGS = [0, 0x80000000, 0x40000000, 0x20000000, 0x10000000, 0xF0000000]
odd_ints = st.sampled_from([0, -1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 10 ** 12, -(2 ** 31)])


@st.composite
def tiled_docs(draw) -> dict:
    """A Tiled map: mostly well-formed (so the reading goes deep), with odd sizes, ids, encodings,
    compressions, flip bits, tilesets and properties mixed in at a rate each."""
    w = draw(mostly(st.integers(1, 12), st.integers(-1, 12) | odd_ints, 8))
    h = draw(mostly(st.integers(1, 12), st.integers(-1, 12) | odd_ints, 8))
    sane = 0 <= w <= 12 and 0 <= h <= 12
    n = w * h if sane and draw(st.integers(0, 7)) else draw(st.integers(0, 12))
    tilesets, first, defined = [], 1, 0
    for _ in range(draw(mostly(st.integers(1, 2), st.integers(0, 3), 6))):
        count = draw(mostly(st.integers(1, 8), st.sampled_from([0, 100, 2 ** 31, -5]), 8))
        tiles = []
        for local in range(min(max(count, 0), 8)):
            props = []
            if draw(st.integers(0, 3)):
                props.append({"name": "char", "type": "string",
                              "value": draw(mostly(st.text(min_size=1, max_size=1), st.text(max_size=2) | json_scalars))})
            for tag in draw(st.lists(st.sampled_from(TAGS), max_size=2)):
                props.append({"name": tag, "type": "bool", "value": draw(mostly(st.just(True), json_scalars))})
            if draw(st.integers(0, 4)) == 0:
                props.append({"name": "tags", "type": "string", "value": draw(json_scalars)})
            tiles.append({"id": draw(mostly(st.just(local), json_scalars)), "properties": props})
        ts = {"firstgid": draw(mostly(st.just(first), st.integers(-2, 20) | json_scalars)), "tilecount": count,
              "tiles": tiles}
        if draw(st.integers(0, 15)) == 0:
            ts["source"] = draw(st.text(max_size=8) | json_scalars)
        tilesets.append(ts)
        step = count if isinstance(count, int) and 0 <= count < 1000 else 8
        first, defined = first + step, defined + step
    gid = mostly(st.integers(0, max(defined, 0)), st.integers(0, defined + 20))
    gids = [draw(gid) | draw(mostly(st.just(0), st.sampled_from(GID_FLAGS), 4)) for _ in range(n)]
    layer = {"type": "tilelayer", "name": "ground", "width": w, "height": h}
    encoding = draw(mostly(st.sampled_from(["csv", "base64", "base64-zlib", "base64-gzip"]),
                           st.sampled_from(["base64-zstd", "junk", "csv junk"]), 6))
    if encoding.startswith("csv"):
        layer["data"] = gids if encoding == "csv" else draw(st.lists(json_scalars, max_size=n + 2))
    elif encoding == "junk":
        layer["data"] = draw(st.text(max_size=20))
        layer["encoding"] = "base64"
    else:
        raw = struct.pack(f"<{n}I", *[g & 0xFFFFFFFF for g in gids])
        raw = raw[:draw(st.integers(0, len(raw)))] if draw(st.integers(0, 7)) == 0 else raw
        comp = encoding.partition("-")[2]
        if comp == "zlib":
            raw = zlib.compress(raw)
        elif comp == "gzip":
            raw = gzip.compress(raw)
        elif comp == "zstd":
            raw = draw(st.binary(max_size=40))
        if draw(st.integers(0, 7)) == 0:
            raw = draw(mutated(raw, 3))
        layer.update(data=base64.b64encode(raw).decode("ascii") + draw(mostly(st.just(""), st.sampled_from(["=", "!", "\n"]))),
                     encoding="base64", **({"compression": comp} if comp else {}))
    doc = {"type": "map", "width": w, "height": h, "infinite": draw(mostly(st.just(False), json_scalars)),
           "layers": [layer], "tilesets": tilesets}
    if draw(st.booleans()):
        doc["properties"] = [{"name": draw(st.sampled_from(["empty_char", "game", "x"])),
                              "value": draw(mostly(st.sampled_from(["-", ".", "Mario"]), json_scalars))}
                             for _ in range(draw(st.integers(0, 3)))]
    return doc


@cache
def tiled_seed() -> bytes | None:
    """A map as genforge writes it: a level of the bundled model as a Tiled map."""
    meta_path = MODEL_SEEDS["levels"] / "genforge.json"
    if not meta_path.is_file():
        return None
    from genforge.bundle import open_bundle
    from genforge.domains import codec_for
    from genforge.domains.levels.tiles import tiled_map

    codec = codec_for(open_bundle(meta_path.parent).meta)
    rng = np.random.default_rng(0)
    try:
        grid = codec.native(rng.integers(0, len(codec.vocabulary), codec.shape), 0)
        doc = tiled_map(grid, codec.vocabulary, codec.legend(0), "tiles.png", {"game": "Super Mario Bros"})
    except Exception:  # the writer's signature is not this test's business: fall back to the grammar alone
        return None
    return dumps(doc)


@st.composite
def tiled_cases(draw) -> Case:
    seed = tiled_seed()
    kind = draw(st.sampled_from(["grammar", "grammar", "mutated json", "bytes"] + (["seed bytes"] if seed else [])))
    doc = draw(tiled_docs())
    if kind == "grammar":
        data = dumps(doc)
    elif kind == "mutated json":
        data = dumps(draw(mutated_json(doc)))
    elif kind == "seed bytes":
        data = draw(mutated(seed))
    else:
        data = draw(mutated(dumps(doc)) | nasty_json_text.map(str.encode))
    return Case("tiled", "map.tmj", {"map.tmj": data}, {}, f"Tiled {kind}")


# ---------------------------------------------------------------- MIDI

def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


deltas = mostly(st.integers(0, 960), st.sampled_from([0x7F, 0x80, 0x0FFFFFFF]) | st.integers(0, 0x0FFFFFFF))
tempos = mostly(st.integers(300_000, 1_500_000), st.sampled_from([0, 1, 2 ** 24 - 1]) | st.integers(0, 2 ** 24 - 1))


@st.composite
def midi_track(draw, wild: bool) -> bytes:
    """One track's events; `wild`: data bytes over 127, junk bytes and lengths that lie, too."""
    data_byte = (st.integers(0, 127) | st.integers(0, 255)) if wild else st.integers(0, 127)
    out = bytearray()
    running = None
    for _ in range(draw(st.integers(0, 24))):
        out += vlq(draw(deltas))
        kind = draw(st.sampled_from(["on", "on", "off", "off", "cc", "program", "bend", "touch", "tempo", "timesig",
                                     "keysig", "text", "eot", "sysex", "meta"] + (["junk"] if wild else [])))
        channel = draw(st.integers(0, 15))
        if kind in ("on", "off", "cc", "program", "bend", "touch"):
            status = {"on": 0x90, "off": 0x80, "cc": 0xB0, "program": 0xC0, "bend": 0xE0, "touch": 0xA0}[kind] | channel
            if status != running or not draw(st.booleans()):  # running status: the status byte left out
                out.append(status)
            running = status
            out += bytes(draw(data_byte) for _ in range(1 if kind == "program" else 2))
        elif kind == "tempo":
            length = draw(st.just(3) | st.integers(0, 5)) if wild else 3
            out += b"\xff\x51" + vlq(length) + draw(tempos).to_bytes(3, "big")[:length].ljust(length, b"\0")
        elif kind == "timesig":
            out += b"\xff\x58\x04" + bytes([draw(data_byte), draw(st.integers(0, 255) if wild else st.integers(0, 7)),
                                             24, 8])
        elif kind == "keysig":
            key = [draw(st.integers(0, 255)), draw(st.integers(0, 255))] if wild else \
                [draw(st.integers(-7, 7)) & 0xFF, draw(st.integers(0, 1))]
            out += b"\xff\x59\x02" + bytes(key)
        elif kind == "text":
            text = draw(st.binary(max_size=12))
            out += bytes([0xFF, draw(st.sampled_from([1, 3, 4]))]) + vlq(len(text)) + text
        elif kind == "eot":
            out += b"\xff\x2f\x00"
        elif kind == "sysex":
            body = draw(st.binary(max_size=8)) if wild else bytes(draw(st.lists(st.integers(0, 127), max_size=8)))
            out += b"\xf0" + vlq(len(body) + (draw(st.sampled_from([1, 0, 50])) if wild else 1)) + body + b"\xf7"
        elif kind == "meta":
            body = draw(st.binary(max_size=8))
            length = draw(st.integers(0, 300)) if wild else len(body)
            out += bytes([0xFF, draw(st.integers(0, 0x7F) if not wild else st.integers(0, 255))]) + vlq(length) + body
        else:
            out += draw(st.binary(min_size=1, max_size=6))
        if kind not in ("on", "off", "cc", "program", "bend", "touch"):
            running = None if not wild or draw(st.booleans()) else running  # meta and sysex cancel running status
    if draw(st.integers(0, 3)):
        out += b"\x00\xff\x2f\x00"
    return bytes(out)


@st.composite
def midi_grammar(draw) -> bytes:
    wild = draw(st.integers(0, 3)) == 0
    tracks = draw(st.lists(midi_track(wild), min_size=0, max_size=4))
    fmt = draw(st.sampled_from([0, 1, 1, 2]) | st.integers(0, 0xFFFF)) if wild else draw(st.sampled_from([0, 1]))
    division = draw(st.sampled_from([480, 96, 1, 0, 0x7FFF, 0x8000, 0xE728]) | st.integers(0, 0xFFFF)) if wild else \
        draw(st.sampled_from([480, 96, 1, 0x7FFF, 3]))
    ntrks = draw(st.just(len(tracks)) | st.integers(0, 0xFFFF)) if wild else len(tracks)
    data = b"MThd" + struct.pack(">IHHH", draw(st.just(6) | st.integers(0, 20)) if wild else 6, fmt, ntrks, division)
    for t in tracks:
        length = draw(st.just(len(t)) | st.integers(0, 2 ** 32 - 1)) if wild else len(t)
        data += b"MTrk" + struct.pack(">I", length) + t
    if wild and draw(st.integers(0, 2)) == 0:
        data = data[:draw(st.integers(0, len(data)))]
    return data


@cache
def midi_seeds() -> tuple[Path, ...]:
    folder = BACH / "midi"
    return tuple(sorted(folder.glob("*.mid"))[::12]) if folder.is_dir() else ()


@cache
def _bytes_of(path: Path) -> bytes:
    return path.read_bytes()


@st.composite
def midi_cases(draw) -> Case:
    seeds = midi_seeds()
    if seeds and draw(st.booleans()):
        seed = draw(st.sampled_from(seeds))
        return Case("midi", "piece.mid", {"piece.mid": draw(mutated(_bytes_of(seed), draw(st.sampled_from([1, 2, 12])), 22))},
                    {}, f"mutated {seed.name}")
    return Case("midi", "piece.mid", {"piece.mid": draw(midi_grammar())}, {}, "MIDI grammar")


# ---------------------------------------------------------------- labels sidecars

field_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from(list(',"#\n\r\x00 ')),
                     max_size=16)


@st.composite
def labels_cases(draw) -> Case:
    kind = draw(st.sampled_from(["csv", "csv", "raw csv", "json", "mutated json", "both", "bytes", "huge field"]))
    files = {}
    if kind in ("csv", "both"):
        rows = draw(st.lists(st.lists(field_text, max_size=4), max_size=8))
        if draw(st.booleans()):
            rows.insert(0, ["file", "label"])
        buf = io.StringIO()
        csv.writer(buf, quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
                   ).writerows(rows)
        files["labels.csv"] = (("\ufeff" if draw(st.booleans()) else "") + buf.getvalue()).encode("utf-8")
    if kind == "raw csv":
        files["labels.csv"] = "\n".join(",".join(r) for r in draw(st.lists(st.lists(field_text, max_size=3), max_size=6))
                                        ).encode("utf-8")
    if kind == "huge field":
        files["labels.csv"] = b'a.mid,"' + b"x" * 140_000 + b'"\n' if draw(st.booleans()) else b"a.mid," + b"y" * 140_000
    if kind in ("json", "both"):
        files["labels.json"] = dumps(draw(st.dictionaries(field_text, field_text, max_size=5)))
    if kind == "mutated json":
        doc = draw(st.dictionaries(field_text, field_text, min_size=1, max_size=5))
        files["labels.json"] = draw(st.builds(dumps, mutated_json(doc)) | nasty_json_text.map(str.encode))
    if kind == "bytes":
        files[draw(st.sampled_from(["labels.csv", "labels.json"]))] = draw(st.binary(max_size=64))
    return Case("labels", "folder", {f"folder/{k}": v for k, v in files.items()}, {}, f"labels {kind}")


# ---------------------------------------------------------------- notes archives

@cache
def archive_seed() -> dict[str, np.ndarray] | None:
    if not ARCHIVE_SEED.is_file():
        return None
    with np.load(ARCHIVE_SEED, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def npz_bytes(arrays: dict, compressed: bool = True) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


array_dtypes = st.sampled_from(["uint8", "int8", "int16", "int32", "int64", "uint64", "float32", "float64", "bool",
                                "<U5", "S3", "object"])


@st.composite
def small_arrays(draw):
    dtype = draw(array_dtypes)
    shape = tuple(draw(st.lists(st.integers(0, 5), max_size=3)))
    n = int(np.prod(shape))
    if dtype == "object":
        return np.array([None, {"x": 1}] * (n // 2 + 1), dtype=object)[:n].reshape(shape)
    values = draw(st.lists(st.integers(-(2 ** 40), 2 ** 40) | st.sampled_from([0, 1, -1, 127, 128, 2 ** 31 - 1]),
                           min_size=n, max_size=n))
    with np.errstate(all="ignore"):
        return np.array(values, dtype=np.int64).astype(dtype).reshape(shape)


@st.composite
def mutated_arrays(draw, arrays: dict) -> dict:
    arrays = dict(arrays)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(arrays) + ["extra"]))
        a = arrays.get(key, np.zeros(0))
        op = draw(st.sampled_from(["drop", "replace", "extreme", "dtype", "cut", "reshape"]))
        if op == "drop":
            arrays.pop(key, None)
        elif op == "replace":
            arrays[key] = draw(small_arrays())
        elif op == "extreme" and a.size and a.dtype.kind in "iuf":
            a = a.copy()
            i = draw(st.integers(0, a.size - 1))
            with np.errstate(all="ignore"):
                value = np.array(draw(st.sampled_from([0, -1, 1, 127, 255, 2 ** 31 - 1, -(2 ** 31)])))
                a.flat[i] = value.astype(a.dtype)  # wrapped round, as a file could hold it
            arrays[key] = a
        elif op == "dtype" and a.dtype.kind in "iufb":
            with np.errstate(all="ignore"):
                arrays[key] = a.astype(draw(st.sampled_from(["int8", "uint8", "int64", "float64", "bool", "<U3"])))
        elif op == "cut" and a.ndim:
            arrays[key] = a[:draw(st.integers(0, len(a)))]
        elif op == "reshape":
            arrays[key] = a.reshape(-1) if a.ndim != 1 else a.reshape(1, -1)
    return arrays


@st.composite
def grammar_archive(draw) -> dict:
    n_pieces = draw(st.integers(0, 3))
    counts = [draw(st.integers(0, 6)) for _ in range(n_pieces)]
    n = sum(counts)
    voices = draw(mostly(st.integers(1, 4), st.just(0)))
    return {"format": np.array("genforge-notes"), "version": np.array(draw(mostly(st.just(1), st.integers(-1, 3)))),
            "ticks_per_beat": np.array(draw(mostly(st.sampled_from([480, 1, 7]), st.sampled_from([0, -1, 100_000])))),
            "tempo": np.array(draw(mostly(st.just(100.0), st.sampled_from([0.0, -5.0, 1e9, float("nan")])))),
            "names": np.array([f"p{i}.mid" for i in range(n_pieces)]), "sources": np.array([""] * n_pieces),
            "voice_names": np.array([f"V{i}" for i in range(voices)]), "voice_programs": np.zeros(voices, np.uint8),
            "voice_channels": np.arange(voices, dtype=np.uint8), "note_counts": np.array(counts, np.int32),
            "voice": np.array(draw(st.lists(mostly(st.integers(0, max(voices - 1, 0)), st.integers(0, 255)),
                                            min_size=n, max_size=n)), np.uint8),
            "pitch": np.array(draw(st.lists(mostly(st.integers(30, 90), st.integers(0, 255)), min_size=n, max_size=n)),
                              np.uint8),
            "start": np.array(draw(st.lists(mostly(st.integers(0, 5000), st.integers(-2, 2 ** 31 - 1)), min_size=n,
                                            max_size=n)), np.int64),
            "length": np.array(draw(st.lists(mostly(st.integers(1, 2000), st.integers(-1, 2 ** 40)), min_size=n,
                                             max_size=n)), np.int64),
            "ts_counts": np.ones(n_pieces, np.int32),
            "ts": np.array([[0, draw(st.integers(0, 13)), draw(mostly(st.sampled_from([4, 8, 2]), st.sampled_from([0, 3, 128])))]
                            for _ in range(n_pieces)], np.int64).reshape(-1, 3)}


@st.composite
def archive_cases(draw) -> Case:
    seed = archive_seed()
    kinds = ["grammar", "mutated grammar", "bytes"] + (["seed arrays", "seed arrays", "seed bytes"] if seed else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "grammar":
        data = npz_bytes(draw(grammar_archive()), draw(st.booleans()))
    elif kind == "mutated grammar":
        data = npz_bytes(draw(mutated_arrays(draw(grammar_archive()))))
    elif kind == "seed arrays":
        data = npz_bytes(draw(mutated_arrays(seed)))
    elif kind == "seed bytes":
        data = draw(mutated(_bytes_of(ARCHIVE_SEED), 6))
    else:
        data = draw(mutated(npz_bytes(draw(grammar_archive()), False), 6) | st.binary(max_size=64))
    return Case("archive", "notes.npz", {"notes.npz": data}, {}, f"archive {kind}")
