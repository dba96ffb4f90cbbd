"""What the fuzzers found (tests/test_fuzz.py, benchmarks/fuzz.py), one hand-made file each, kept as
regression tests: before the readers were fixed each of these raised something other than one
GenforgeError (a TypeError, a zlib.error, a StopIteration, a RecursionError...), returned a level
of no tiles, or would have hung or filled memory."""
from __future__ import annotations

import base64
import io
import json
import shutil
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from fuzz_targets import judge

from genforge.bundle import default_model


def outcome(tmp_path: Path, reader: str, files: dict[str, bytes | str], entry: str, **options) -> str:
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data.encode() if isinstance(data, str) else data)
    result, detail = judge(reader, tmp_path / entry, options, tmp_path, alarm_s=10)
    assert result == "clean error", detail
    return detail


def tmj(layer: dict, tilesets=None, **doc) -> str:
    base = {"type": "tilelayer", "name": "g", "width": 2, "height": 1, "data": [1, 0]}
    tilesets = [{"firstgid": 1, "tilecount": 1, "tiles": []}] if tilesets is None else tilesets
    return json.dumps({"type": "map", "layers": [{**base, **layer}], "tilesets": tilesets, **doc})


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize("layer, tilesets, says", [
    ({"data": [1, None]}, None, "not a tile id"),                                        # was TypeError
    ({"data": [1, "x"]}, None, "not a tile id"),                                         # was ValueError
    ({"data": "é", "encoding": "base64"}, None, "not valid base64"),                      # was ValueError
    ({"data": b64(b"\1\0\0"), "encoding": "base64"}, None, "bytes of tile data"),         # was ValueError
    ({"data": b64(b"junk"), "encoding": "base64", "compression": "zlib"}, None, "not valid zlib"),   # zlib.error
    ({"data": b64(b"\x1f\x8b junk"), "encoding": "base64", "compression": "gzip"}, None, "not valid gzip"),
    ({"data": b64(zlib.compress(bytes(50 << 20))), "encoding": "base64", "compression": "zlib"}, None,
     "inflates to more than"),                                                            # 50 MB from 50 KB
    ({"width": 0, "height": 5, "data": []}, None, "at least 1 x 1"),                      # was a level of 0 tiles
    ({"width": 10 ** 6, "height": 10 ** 6, "data": []}, None, "at most"),
    ({"data": [1, 101]}, [{"firstgid": 1, "tilecount": 101, "tiles": []}], "more tiles without"),  # StopIteration
    ({}, [{"firstgid": 1, "tilecount": 2 ** 31, "tiles": []}], "tilecount"),              # a loop of 2**31 tiles
    ({}, ["tileset"], "tilesets"),                                                        # was AttributeError
])
def test_tiled_maps(tmp_path, layer, tilesets, says):
    assert says in outcome(tmp_path, "tiled", {"m.tmj": tmj(layer, tilesets)}, "m.tmj")


def test_tiled_json_the_parser_cannot_take(tmp_path):
    assert "malformed Tiled map JSON" in outcome(tmp_path, "tiled", {"m.tmj": '{"n": ' + "1" * 5000 + "}"}, "m.tmj")
    assert "malformed Tiled map JSON" in outcome(tmp_path, "tiled", {"d.tmj": "[" * 50_000}, "d.tmj")


def test_a_two_character_empty_tile_is_not_taken(tmp_path):
    level_file = tmj({}, properties=[{"name": "empty_char", "value": "ab"}])
    result, _ = judge("tiled", _write(tmp_path / "e.tmj", level_file), {}, tmp_path)
    assert result == "result"  # "ab" is ignored: the empty tile stays "-", every cell in the legend


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_legends_the_json_parser_cannot_take(tmp_path):
    files = {"g/legend.json": '{"tiles": {"-": ["empty"]}, "n": ' + "1" * 5000 + "}", "g/a.txt": "--\n"}
    assert "malformed legend JSON" in outcome(tmp_path, "levels", files, "g")


def test_an_unprintable_legend_stays_on_one_line(tmp_path):
    files = {"g/legend.json": json.dumps({"tiles": {"-": ["empty"], "\r": ["solid"]}}), "g/a.txt": "-Q\n"}
    assert "known: \\r-" in outcome(tmp_path, "levels", files, "g")


def test_a_nul_tile_is_refused(tmp_path):
    """numpy's one-character strings drop a NUL: a legend's "\x00" tile read back as '' (found by
    benchmarks/fuzz.py, 12 of 10,000 level cases)."""
    files = {"g/legend.json": json.dumps({"tiles": {"-": ["empty"], "\x00": ["solid"]}}), "g/a.txt": "-\x00\n"}
    assert "must map one character to a list of tags" in outcome(tmp_path / "a", "levels", files, "g")
    files = {"g/README.txt": "- = EMPTY\n\x00 = WALL\n", "g/a.txt": "-\x00\n"}
    said = outcome(tmp_path / "b", "levels", files, "g")
    assert "expected a legend line" in said or "no tile legend" in said or "not in the legend" in said


def test_label_sidecars(tmp_path):
    said = outcome(tmp_path / "a", "labels", {"f/labels.csv": 'a.mid,"' + "x" * 140_000 + '"\n'}, "f")
    assert "labels.csv:1: not a CSV file" in said                                # was _csv.Error
    said = outcome(tmp_path / "b", "labels", {"f/labels.json": "[" * 50_000}, "f")
    assert "malformed JSON" in said                                              # was RecursionError
    said = outcome(tmp_path / "c", "labels", {"f/labels.csv": "a.mid,b,c" + ",x" * 10_000 + "\n"}, "f")
    assert "labels.csv:1: expected `file,label`" in said and len(said) < 400


def archive(**arrays) -> bytes:
    base = {"format": np.array("genforge-notes"), "version": np.array(1), "ticks_per_beat": np.array(480),
            "tempo": np.array(100.0), "names": np.array(["a.mid"]), "sources": np.array([""]),
            "voice_names": np.array(["S"]), "voice_programs": np.zeros(1, np.uint8),
            "voice_channels": np.zeros(1, np.uint8), "note_counts": np.array([1], np.int32),
            "voice": np.zeros(1, np.uint8), "pitch": np.array([60], np.uint8), "start": np.array([0], np.int32),
            "length": np.array([480], np.int32), "ts_counts": np.array([1], np.int32),
            "ts": np.array([[0, 4, 4]], np.int32)}
    buf = io.BytesIO()
    np.savez_compressed(buf, **{**base, **arrays})
    return buf.getvalue()


@pytest.mark.parametrize("arrays, says", [
    ({"tempo": np.array([100.0, 90.0])}, "'tempo' is missing or not a 0-d array"),      # was TypeError
    ({"start": np.array([0, 1])}, "inconsistent counts"),                              # was a broadcast error
    ({"ts": np.array([[0, 4, -2147483648]], np.int32)}, "invalid time signature"),      # was a bad result
    ({"ts": np.array([[0, -3, 4]], np.int32)}, "invalid time signature"),               # was a piece of 0 steps
    ({"voice": np.array([-1], np.int8)}, "outside its voices"),
    ({"start": np.array([2 ** 31 - 1], np.int64), "ticks_per_beat": np.array(1)}, "too long"),
])
def test_notes_archives(tmp_path, arrays, says):
    assert says in outcome(tmp_path, "archive", {"n.npz": archive(**arrays)}, "n.npz")


def test_a_notes_archive_that_is_not_a_zip_or_has_bad_data(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    assert "not a readable .npz file" in outcome(tmp_path / "a", "archive", {"n.npz": buf.getvalue()}, "n.npz")
    data = bytearray(archive())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("start.npy")
    data[info.header_offset + 30 + len(info.filename) + 20] ^= 0xFF  # inside the compressed data: a CRC error
    assert "n.npz" in outcome(tmp_path / "b", "archive", {"n.npz": bytes(data)}, "n.npz")


def _model(tmp_path: Path, domain: str = "levels") -> Path:
    shutil.copytree(default_model(domain), tmp_path / "model")
    return tmp_path / "model"


def test_a_prior_whose_data_fails_its_crc(tmp_path):
    model = _model(tmp_path)
    data = bytearray((model / "prior.npz").read_bytes())
    with zipfile.ZipFile(model / "prior.npz") as z:
        info = z.getinfo("means.npy")
    data[info.header_offset + 30 + len(info.filename) + 200] ^= 0xFF
    (model / "prior.npz").write_bytes(bytes(data))
    assert "prior.npz" in outcome(tmp_path, "model", {}, "model")                  # was zipfile.BadZipFile


def test_a_prior_whose_array_header_the_tokenizer_cannot_finish(tmp_path):
    """numpy parses an .npy header with Python's tokenizer: an unclosed bracket raised
    tokenize.TokenError (benchmarks/fuzz.py, 2 of 10,000 model cases)."""
    model = _model(tmp_path)
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (3, }"
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    npy = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\0" * 12
    with zipfile.ZipFile(model / "prior.npz", "w") as z:
        z.writestr("means.npy", npy)
    assert "prior.npz" in outcome(tmp_path, "model", {}, "model")


def test_a_logit_bias_that_is_not_a_table(tmp_path):
    """Ragged "logit_bias" rows in a genforge.json without "shape" reached numpy (ValueError)."""
    model = _model(tmp_path)
    meta = json.loads((model / "genforge.json").read_text())
    meta.pop("shape")
    meta["logit_bias"] = [[0.0] * 13, [0.0] * 12]
    (model / "genforge.json").write_text(json.dumps(meta))
    assert "logit_bias" in outcome(tmp_path, "model", {}, "model")


@pytest.mark.parametrize("change, says", [
    (lambda g: g["legend"].__setitem__("X", [["solid"]]), "\"legend\" must map one character"),  # was TypeError
    (lambda g: g.__setitem__("layout", "diagonal"), "\"layout\" must be one of"),
    (lambda g: g.__setitem__("window", [14]), "\"window\""),
])
def test_a_level_model_whose_codec_metadata_lies(tmp_path, change, says):
    model = _model(tmp_path)
    meta = json.loads((model / "genforge.json").read_text())
    change(meta["codec"]["games"][0])
    (model / "genforge.json").write_text(json.dumps(meta))
    assert says in outcome(tmp_path, "model", {}, "model")


def test_a_music_model_whose_codec_metadata_lies(tmp_path):
    model = _model(tmp_path, "music")
    meta = json.loads((model / "genforge.json").read_text())
    meta["codec"]["monophonic"] = [True]  # four voices: was a GenforgeError that named no file
    (model / "genforge.json").write_text(json.dumps(meta))
    assert "\"monophonic\" must be one true/false per voice" in outcome(tmp_path, "model", {}, "model")


def test_midi_times_past_two_billion_steps(tmp_path):
    """One tick per beat and deltas of 2**28 - 1 ticks: note ends past 2**31 steps wrapped round to
    negative int32 before the length check, and came back as a piece of negative length."""
    import mido

    mid = mido.MidiFile(type=1, ticks_per_beat=1)
    track = mido.MidiTrack([mido.Message("note_on", note=60, velocity=80, time=0)])
    track += [mido.MetaMessage("text", text="x", time=0x0FFFFFFF) for _ in range(8)]
    track += [mido.Message("note_off", note=60, velocity=0, time=0)]
    mid.tracks.append(track)
    mid.save(str(tmp_path / "long.mid"))
    assert "too long" in outcome(tmp_path, "midi", {}, "long.mid")
