"""LevelCodec (codec.py): export writes maps that Tiled (and engines reading Tiled JSON) accept as
they are, and sampling through the codec mends broken structures and, with --playable, keeps
only levels the checker passes.

Every written .tmj is loaded with an independent parser (pytiled-parser) and checked against
the tileset image, the legend and the VGLC text written beside it; Tiled itself checks one map
when it is installed.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import pytiled_parser
from PIL import Image
from support import KID_ICARUS, SMB, TINY_LEGEND, ZELDA, invoke, needs_vglc

from genforge.domains.levels.codec import LevelCodec
from genforge.domains.levels.dataset import build_dataset
from genforge.domains.levels.grid import to_chars
from genforge.domains.levels.read import read_tmj
from genforge.domains.levels.tiles import TILE_PX


PROPS = {"model": "test-model", "seed": 11}


def _export(codec: LevelCodec, grids: np.ndarray, ids: np.ndarray, out: Path,
            prefix: str = "level") -> list[tuple[Path, int, np.ndarray]]:
    """Export each window; returns (tmj path, label id, native char grid) for each."""
    done = []
    for i, (g, label) in enumerate(zip(grids, ids)):
        label = int(label) if codec.labels else -1
        latent = json.dumps([round(float(v), 5) for v in np.linspace(-1, 1, 8) * (i + 1)])
        stem = f"{prefix}-{i:03d}"
        written = codec.export(g, label, out, stem, {**PROPS, "index": i, "latent": latent})
        assert [p.name for p in written] == [f"{stem}.tmj", f"{stem}.txt", f"{stem}.png"]
        assert all(p.is_file() for p in written)
        done.append((written[0], label, to_chars(codec.native(g, label), codec.vocabulary)))
    return done


def _check_map(path: Path, codec: LevelCodec, label: int, grid: np.ndarray, index: int) -> None:
    raw = json.loads(path.read_text())
    h, w = grid.shape
    legend = codec.legend(label)
    game = codec.game(label)

    # Embedded tileset (Phaser and others reject external .tsj), exactly one, covering the vocabulary.
    assert len(raw["tilesets"]) == 1 and "source" not in raw["tilesets"][0]
    m = pytiled_parser.parse_map(path)
    assert (m.map_size.width, m.map_size.height) == (w, h)
    assert (m.tile_size.width, m.tile_size.height) == (TILE_PX, TILE_PX)
    assert not m.infinite
    (firstgid, ts), = m.tilesets.items()
    assert ts.tile_count == len(codec.vocabulary)

    # The tileset image: exists, has the size the map claims, one TILE_PX cell per tile.
    image_path = ts.image if ts.image.is_absolute() else path.parent / ts.image
    assert image_path.is_file(), image_path
    assert image_path.name == raw["tilesets"][0]["image"]  # relative: the folder moves as a whole
    with Image.open(image_path) as im:
        sheet = np.asarray(im.convert("RGB"))
        assert im.size == (ts.image_width, ts.image_height)
    assert ts.image_width == ts.columns * TILE_PX
    assert ts.image_height == -(-ts.tile_count // ts.columns) * TILE_PX

    def tile_pixels(local: int) -> np.ndarray:
        r, c = divmod(local, ts.columns)
        return sheet[r * TILE_PX:(r + 1) * TILE_PX, c * TILE_PX:(c + 1) * TILE_PX]

    cells = [tile_pixels(i).tobytes() for i in range(ts.tile_count)]
    assert len(set(cells)) == ts.tile_count, "every tile must look different from every other"

    # Each tile says which character it is and what it means, in the game's own legend.
    assert set(ts.tiles) == set(range(ts.tile_count))
    char_of = {}
    for local, tile in ts.tiles.items():
        ch = tile.properties["char"]
        assert ch == codec.vocabulary[local]
        tags = legend.tiles.get(ch, [])
        assert tile.properties["tags"] == ",".join(tags)
        assert {k for k, v in tile.properties.items() if v is True} == set(tags)
        char_of[firstgid + local] = ch

    # Map properties: what made it.
    props = m.properties
    assert props["model"] == "test-model" and props["seed"] == 11 and props["index"] == index
    assert props["game"] == game["name"] and props["empty_char"] == legend.empty
    latent = json.loads(props["latent"])
    assert len(latent) == 8 and latent[-1] == pytest.approx(index + 1, abs=1e-4)
    sky = tuple(int(raw["backgroundcolor"][k:k + 2], 16) for k in (1, 3, 5))
    assert np.all(tile_pixels(codec.vocabulary.index(legend.empty)) == sky), "the sky colour is the empty tile's"

    # The layer: gids in range, decoding back to the characters of the .txt beside it.
    layer, = m.layers
    assert isinstance(layer, pytiled_parser.TileLayer)
    gids = np.array(layer.data)
    assert gids.shape == (h, w)
    assert np.all((gids == 0) | ((gids >= firstgid) & (gids < firstgid + ts.tile_count)))
    decoded = np.array([[char_of.get(int(g), legend.empty) for g in row] for row in gids])
    txt = path.with_suffix(".txt").read_text()
    assert txt.endswith("\n") and txt == "\n".join("".join(r) for r in decoded) + "\n"
    assert np.array_equal(decoded, grid)
    assert np.array_equal(gids == 0, grid == legend.empty), "only the empty tile is gid 0"
    # genforge's own reader agrees.
    level, _ = read_tmj(path, "x")
    assert np.array_equal(level.grid, grid) and level.game == game["name"]

    # The PNG preview shows, cell by cell, the tile the map names.
    with Image.open(path.with_suffix(".png")) as im:
        preview = np.asarray(im.convert("RGB"))
    assert preview.shape == (h * TILE_PX, w * TILE_PX, 3)
    for r in range(h):
        for c in range(w):
            cell = preview[r * TILE_PX:(r + 1) * TILE_PX, c * TILE_PX:(c + 1) * TILE_PX]
            assert cell.tobytes() == cells[codec.vocabulary.index(grid[r, c])], (path.name, r, c)


def _check_folder(out: Path, exported, codec: LevelCodec) -> None:
    maps = sorted(out.glob("*.tmj"))
    assert maps == sorted(p for p, _, _ in exported), "every .tmj written is checked, no stray ones"
    for i, (path, label, grid) in enumerate(exported):
        _check_map(path, codec, label, grid, i)


# ---------------------------------------------------------------- without the corpus

def test_export_tiny_folder(tmp_path, tiny_folder):
    ds = build_dataset([tiny_folder], seed=0)
    codec = LevelCodec.from_dataset(ds)
    grids, ids = np.concatenate([ds.splits[k][0] for k in ("train", "test")]), np.zeros(6, int)
    exported = _export(codec, grids, ids, tmp_path / "out")
    _check_folder(tmp_path / "out", exported, codec)
    assert [p.name.rsplit("-", 1)[0] for p in (tmp_path / "out").glob("tileset-*.png")] == ["tileset-tinygame"]
    tags = {t.properties["char"]: t.properties for t in
            pytiled_parser.parse_map(exported[0][0]).tilesets[1].tiles.values()}
    assert tags["E"]["enemy"] is True and tags["E"]["hazard"] is True and "solid" not in tags["E"]
    assert tags["#"]["tags"] == ",".join(TINY_LEGEND["#"])


# ---------------------------------------------------------------- the real corpus

@pytest.fixture(scope="module")
def smb_export(tmp_path_factory):
    if not SMB.is_dir():
        pytest.skip("the VGLC corpus (../shared/datasets/vglc) is absent: a fresh clone without the shared data")
    ds = build_dataset([SMB], seed=0)
    codec = LevelCodec.from_dataset(ds)
    grids, _ = ds.splits["test"]
    # Windows with everything a Mario level has: pipes, both block kinds, enemies, coins.
    pick = [i for i in range(len(grids)) if len({*grids[i].reshape(-1).tolist()}) >= 7][:4] + [0, len(grids) - 1]
    out = tmp_path_factory.mktemp("smb-export")
    return codec, out, _export(codec, grids[pick], np.zeros(len(pick), int), out)


@needs_vglc
def test_export_smb(smb_export):
    codec, out, exported = smb_export
    _check_folder(out, exported, codec)
    tiles = {t.properties["char"]: t.properties for t in
             pytiled_parser.parse_map(exported[0][0]).tilesets[1].tiles.values()}
    # The corrected meanings reach the map an engine reads.
    assert tiles["?"].get("power-up block") is True and "full question block" not in tiles["?"]
    assert tiles["Q"].get("coin block") is True and "empty question block" not in tiles["Q"]
    assert tiles["<"]["pipe"] is True and tiles["X"]["solid"] is True and "solid" not in tiles["-"]


@needs_vglc
def test_export_multi_game_native_shapes(tmp_path):
    ds = build_dataset([SMB, KID_ICARUS, ZELDA], seed=0)
    codec = LevelCodec.from_dataset(ds)
    grids, ids = ds.splits["test"]
    pick = np.concatenate([np.flatnonzero(ids == k)[:2] for k in range(3)])
    out = tmp_path / "multi"
    exported = _export(codec, grids[pick], ids[pick], out)
    assert [g.shape for _, _, g in exported] == [(14, 28)] * 2 + [(16, 16)] * 2 + [(16, 11)] * 2
    _check_folder(out, exported, codec)
    assert sorted(p.name.rsplit("-", 1)[0] for p in out.glob("tileset-*.png")) == \
        ["tileset-kid-icarus", "tileset-super-mario-bros", "tileset-the-legend-of-zelda"]
    zelda = {t.properties["char"]: t.properties for t in pytiled_parser.parse_map(exported[-1][0])
             .tilesets[1].tiles.values()}
    mario = {t.properties["char"]: t.properties for t in pytiled_parser.parse_map(exported[0][0])
             .tilesets[1].tiles.values()}
    assert zelda["B"].get("block") is True and "cannon" not in zelda["B"]
    assert mario["B"].get("cannon") is True and "block" not in mario["B"]


@needs_vglc
def test_tiled_itself_reads_and_rewrites_an_exported_map(smb_export, tmp_path):
    tiled = shutil.which("tiled")
    if tiled is None:
        pytest.skip("the Tiled editor (`tiled` on PATH) is not installed; it would re-export one map as a check")
    codec, out, exported = smb_export
    src, _, grid = exported[0]
    dst = tmp_path / "by-tiled.tmj"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)}
    res = subprocess.run([tiled, "--export-map", "json", str(src), str(dst)], capture_output=True, text=True,
                         env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    level, legend = read_tmj(dst, "x")
    assert np.array_equal(level.grid, grid), "Tiled's re-export must hold the same level"
    assert legend.has("?", "power-up block") and legend.has("<", "pipe")
    # A map Tiled cannot read fails the same command: the check is not vacuous.
    bad = tmp_path / "bad.tmj"
    bad.write_text('{"type": "map", "layers": [')
    assert subprocess.run([tiled, "--export-map", "json", str(bad), str(tmp_path / "x.tmj")], capture_output=True,
                          env=env, timeout=60).returncode != 0


@needs_vglc
def test_a_tileset_left_by_another_model_is_not_reused(tmp_path):
    out = tmp_path / "levels"
    smb = build_dataset([SMB], seed=0)
    multi = build_dataset([SMB, KID_ICARUS], seed=0)
    first, second = LevelCodec.from_dataset(smb), LevelCodec.from_dataset(multi)
    assert first.vocabulary != second.vocabulary
    _export(first, smb.splits["test"][0][:1], np.zeros(1, int), out, "first")
    (path, label, grid), = _export(second, multi.splits["test"][0][:1], np.zeros(1, int), out, "second")
    _check_map(path, second, label, grid, 0)


# ---------------------------------------------------------------- sampling: structures mended, --playable

def test_sampled_levels_have_whole_structures_unless_raw_is_asked(tmp_path):
    from genforge.bundle import default_model, open_bundle
    from genforge.domains import codec_for

    codec = codec_for(open_bundle(default_model("levels")).meta)
    broken = {}
    for name, extra in (("mended", []), ("raw", ["--raw"])):
        out = tmp_path / name
        assert invoke("sample", "levels", "-n", "40", "--seed", "2", *extra,
                      "--out", out).returncode == 0
        broken[name] = 0
        for txt in sorted(out.glob("*.txt")):
            props = {p["name"]: p["value"] for p in json.loads(txt.with_suffix(".tmj").read_text())["properties"]}
            g = np.array([list(r) for r in txt.read_text().splitlines()])
            broken[name] += bool(codec.checker(codec.labels.index(props["game"])).structure_problems(g))
    assert broken["mended"] == 0 and broken["raw"] >= 4, broken   # about a third of raw windows break one


def test_playable_sampling_replaces_only_the_rejected_levels(tmp_path):
    """The bundled default model: --playable keeps every unfiltered (mended) level that is playable
    with its structures whole, and replaces exactly the others with levels that are."""
    from genforge.bundle import default_model, open_bundle
    from genforge.domains import codec_for

    codec = codec_for(open_bundle(default_model("levels")).meta)
    plain, kept = tmp_path / "plain", tmp_path / "playable"
    n = 120  # about 2% of mended samples are unplayable (SMB 0.6%, SMB2J 5.5%)
    res = invoke("sample", "levels", "-n", str(n), "--seed", "1", "--out", plain)
    assert res.returncode == 0
    res = invoke("sample", "levels", "-n", str(n), "--seed", "1", "--playable", "--out", kept)
    assert res.returncode == 0 and "attempts per accepted level" in res.stdout

    def verdict(folder, i):
        tmj = folder / f"level-1-{i:03d}.tmj"
        props = {p["name"]: p["value"] for p in json.loads(tmj.read_text())["properties"]}
        grid = np.array([list(r) for r in tmj.with_suffix(".txt").read_text().splitlines()])
        checker = codec.checker(codec.labels.index(props["game"]))
        return bool(checker.playable(grid[None])[0]) and not checker.structure_problems(grid), props

    rejected = [i for i in range(n) if not verdict(plain, i)[0]]
    assert rejected, "seed 1 draws some unplayable levels: the test needs one to replace"
    assert invoke("check", *sorted(kept.glob("*.tmj"))).returncode == 0
    for i in range(n):
        ok, props = verdict(kept, i)
        assert ok, i
        same = (plain / f"level-1-{i:03d}.txt").read_text() == (kept / f"level-1-{i:03d}.txt").read_text()
        assert same == (i not in rejected), i
        assert props["playable"] is True and (props["attempts"] == 1) == (i not in rejected)
