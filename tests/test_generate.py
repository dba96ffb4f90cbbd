"""Generation from a trained bundle: sample and interpolate, on onnxruntime alone."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import REPO, SMB, needs_vglc

from genforge import runtime
from genforge.bundle import open_bundle
from genforge.core import latent
from genforge.domains import codec_for
from genforge.domains.levels.grid import to_chars
from genforge.domains.levels.read import read_tmj
from genforge.domains.levels.tiles import TILE_PX
from genforge.errors import GenforgeError
from genforge.generate import interpolate, sample

pytestmark = needs_vglc

LEVEL_W, LEVEL_H = 28 * TILE_PX, 14 * TILE_PX


def _grid(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def _reconstruction(model: Path, level: Path) -> list[str]:
    """What the model makes of a real level's first window: encode to the mean, decode (argmax,
    uncalibrated: a real level is reconstructed, not sampled), mend broken structures."""
    bundle = open_bundle(model, "levels")
    codec = codec_for(bundle.meta)
    window = codec.read_window(level, -1)
    z = runtime.encode(bundle, codec.to_onehot(window)[None], np.array([-1]))
    tiles = runtime.decode_assets(bundle, codec, z, np.array([-1]), calibrated=False)
    chars = to_chars(codec.native(tiles[0], -1), codec.vocabulary)
    return ["".join(r) for r in chars]


@pytest.fixture(scope="module")
def sampled(tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    return out, sample(tiny_model, "levels", 3, 5, out, quiet=True)


def test_sample_writes_each_level_three_ways_and_a_sheet(tiny_model, sampled):
    out, written = sampled
    stems = [f"level-5-{i:03d}" for i in range(3)]
    assert [p.name for p in written] == [f"{s}{ext}" for s in stems for ext in (".tmj", ".txt", ".png")] + \
        ["sheet-5.png"]
    on_disk = sorted(p.name for p in out.iterdir())
    tilesets = [n for n in on_disk if n.startswith("tileset-super-mario-bros-") and n.endswith(".png")]
    assert len(tilesets) == 1
    assert on_disk == sorted([p.name for p in written] + tilesets), "no temp files left"
    from genforge.atomic import FILE_MODE

    # written through temporary files, yet with the mode a plain open() gives (not mkstemp's 0600)
    assert {(out / n).stat().st_mode & 0o777 for n in on_disk} == {FILE_MODE}
    vocabulary = open_bundle(tiny_model).meta["codec"]["vocabulary"]
    z, _ = runtime.sample_latents(open_bundle(tiny_model), 3, 5, None)  # the draws `--seed 5` names
    for i, stem in enumerate(stems):
        rows = _grid(out / f"{stem}.txt")
        assert len(rows) == 14 and all(len(r) == 28 for r in rows)
        assert set("".join(rows)) <= set(vocabulary)
        level, _ = read_tmj(out / f"{stem}.tmj", "x")
        assert ["".join(r) for r in level.grid] == rows, "the map and the text are the same level"
        assert _png_size(out / f"{stem}.png") == (LEVEL_W, LEVEL_H)
        props = {p["name"]: p["value"] for p in json.loads((out / f"{stem}.tmj").read_text())["properties"]}
        assert props["model"] == str(tiny_model) and props["seed"] == 5 and props["index"] == i
        assert np.allclose(json.loads(props["latent"]), z[i], atol=1e-4), "the latent recorded is the one decoded"
    assert _png_size(out / "sheet-5.png") == (3 * LEVEL_W + 2 * 8, LEVEL_H)


def test_same_seed_same_levels_other_seed_other_levels(tiny_model, sampled, tmp_path):
    out, _ = sampled
    again = tmp_path / "again"
    sample(tiny_model, "levels", 3, 5, again, quiet=True)
    for i in range(3):
        for ext in (".txt", ".tmj"):
            name = f"level-5-{i:03d}{ext}"
            assert (again / name).read_bytes() == (out / name).read_bytes(), name
    other = tmp_path / "other"
    sample(tiny_model, "levels", 3, 6, other, quiet=True)
    mine = [(out / f"level-5-{i:03d}.txt").read_text() for i in range(3)]
    theirs = [(other / f"level-6-{i:03d}.txt").read_text() for i in range(3)]
    assert mine != theirs
    # More samples with the same seed start with the same ones: a seed names a sequence.
    longer = tmp_path / "longer"
    sample(tiny_model, "levels", 5, 5, longer, quiet=True)
    assert [(longer / f"level-5-{i:03d}.txt").read_text() for i in range(3)] == mine


def test_sampling_at_a_temperature_is_seeded_too(tiny_model, sampled, tmp_path):
    out, _ = sampled
    hot = [tmp_path / "hot1", tmp_path / "hot2"]
    for h in hot:
        sample(tiny_model, "levels", 3, 5, h, temperature=1.0, quiet=True)
    texts = [[(h / f"level-5-{i:03d}.txt").read_text() for i in range(3)] for h in hot]
    assert texts[0] == texts[1]
    assert texts[0] != [(out / f"level-5-{i:03d}.txt").read_text() for i in range(3)]


def test_interpolate_between_seeds(tiny_model, sampled, tmp_path):
    out, _ = sampled
    other = tmp_path / "seed-9"
    sample(tiny_model, "levels", 1, 9, other, quiet=True)
    path = tmp_path / "interp"
    written = interpolate(tiny_model, "levels", 4, path, from_seed=5, to_seed=9)
    assert [p.name for p in written] == [f"step-{i:03d}{e}" for i in range(4) for e in (".tmj", ".txt", ".png")] + \
        ["strip.png"]
    # The ends are the levels the seeds sample.
    assert _grid(path / "step-000.txt") == _grid(out / "level-5-000.txt")
    assert _grid(path / "step-003.txt") == _grid(other / "level-9-000.txt")
    assert _png_size(path / "strip.png") == (4 * LEVEL_W + 3 * 8, LEVEL_H)
    for i in range(4):
        props = {p["name"]: p["value"] for p in json.loads((path / f"step-{i:03d}.tmj").read_text())["properties"]}
        assert (props["step"], props["steps"], props["start"], props["end"]) == (i, 4, "seed 5", "seed 9")
        level, _ = read_tmj(path / f"step-{i:03d}.tmj", "x")
        assert ["".join(r) for r in level.grid] == _grid(path / f"step-{i:03d}.txt")
    z = [json.loads(props["latent"]) for props in
         ({p["name"]: p["value"] for p in json.loads((path / f"step-{i:03d}.tmj").read_text())["properties"]}
          for i in range(4))]
    # The ends are the seeds' first draws; the path turns around the prior's centre.
    bundle = open_bundle(tiny_model)
    prior = bundle.prior
    a, b = (runtime.sample_latents(bundle, 1, seed, None)[0][0] for seed in (5, 9))
    assert np.allclose(z[0], a, atol=1e-4) and np.allclose(z[3], b, atol=1e-4)
    assert np.allclose(z, latent.path_between(a, b, 4, True, prior), atol=1e-4)
    # Spherical by default: the path follows the great circle around the centre (a VAE's samples live
    # on a shell; the straight line's middle is short and decodes washed out).
    c = latent.centre(prior, 8)
    omega = np.arccos((a - c) @ (b - c) / np.linalg.norm(a - c) / np.linalg.norm(b - c))
    for i, t in ((1, 1 / 3), (2, 2 / 3)):
        on_arc = (np.sin((1 - t) * omega) * (a - c) + np.sin(t * omega) * (b - c)) / np.sin(omega) + c
        assert np.allclose(z[i], on_arc, atol=1e-3), i
        assert not np.allclose(z[i], (1 - t) * a + t * b, atol=1e-2), i
    linear = tmp_path / "linear"
    interpolate(tiny_model, "levels", 4, linear, from_seed=5, to_seed=9, spherical=False)
    props = {p["name"]: p["value"] for p in json.loads((linear / "step-001.tmj").read_text())["properties"]}
    assert np.allclose(np.asarray(json.loads(props["latent"])), (2 * a + b) / 3, atol=1e-4)


def test_interpolate_from_a_real_level_to_a_generated_map(tiny_model, sampled, tmp_path):
    out, _ = sampled
    real = SMB / "mario-1-1.txt"
    generated = out / "level-5-001.tmj"
    path = tmp_path / "from-file"
    written = interpolate(tiny_model, "levels", 3, path, from_file=str(real), to_file=str(generated))
    assert sorted(p.name for p in written) == sorted(
        [f"step-{i:03d}{e}" for i in range(3) for e in (".tmj", ".txt", ".png")] + ["strip.png"])
    assert _png_size(path / "strip.png") == (3 * LEVEL_W + 2 * 8, LEVEL_H)
    assert _grid(path / "step-000.txt") == _reconstruction(tiny_model, real)
    assert _grid(path / "step-002.txt") == _reconstruction(tiny_model, generated)
    props = {p["name"]: p["value"] for p in json.loads((path / "step-000.tmj").read_text())["properties"]}
    assert props["start"] == str(real) and props["end"] == str(generated)
    # The window read from the real file is its leftmost 28 columns, exactly.
    bundle = open_bundle(tiny_model)
    codec = codec_for(bundle.meta)
    window = to_chars(codec.read_window(real, -1), codec.vocabulary)
    assert ["".join(r) for r in window] == [r[:28] for r in _grid(real)]


def test_sampling_never_imports_tensorflow(tiny_model, tmp_path):
    out = tmp_path / "fresh"
    code = (
        "import sys\n"
        "from genforge.cli import app\n"
        f"sys.argv = ['genforge', 'sample', 'levels', '--model', {str(tiny_model)!r}, '-n', '2', '--seed', '3',"
        f" '--out', {str(out)!r}, '-q']\n"
        "try:\n"
        "    app()\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'onnxruntime') if m in sys.modules))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "['onnxruntime']", res.stdout
    assert (out / "level-3-001.tmj").is_file() and (out / "sheet-3.png").is_file()


def modules_after(args: list[str], watch: tuple[str, ...]) -> tuple[list[str], subprocess.CompletedProcess]:
    """Which of `watch` a fresh interpreter has imported after running `genforge ARGS`."""
    code = ("import sys\nfrom genforge.cli import main\n"
            f"sys.argv = ['genforge'] + {[str(a) for a in args]!r}\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {watch!r} if m in sys.modules))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert res.stdout.strip(), res.stderr
    return ast.literal_eval(res.stdout.strip().splitlines()[-1]), res


@pytest.mark.parametrize("args", [
    ["info", "{levels}"],
    ["interpolate", "levels", "--from-seed", "1", "--to-seed", "2", "--steps", "3", "--out", "{out}"],
    ["sample", "levels", "-n", "2", "--length", "60", "--playable", "--out", "{out}"],
    ["check", "{flat}", "--game", "Super Mario Bros"],
    ["export", "{levels}", "--out", "{out}"],
])
def test_generation_commands_never_import_tensorflow(args, tmp_path):
    """Every command that only generates or inspects runs on onnxruntime + numpy (fresh process)."""
    from genforge.bundle import default_model

    flat = tmp_path / "flat.txt"
    flat.write_text("\n".join(["-" * 28] * 12 + ["X" * 28] * 2) + "\n")
    args = [a.format(levels=default_model("levels"), out=tmp_path / "out", flat=flat) for a in args]
    loaded, res = modules_after(args, ("tensorflow", "keras"))
    assert loaded == [] and "error" not in res.stderr, res.stderr


def test_a_new_output_folder_appears_whole_or_not_at_all(tiny_model, tmp_path, monkeypatch):
    out = tmp_path / "levels"
    written = sample(tiny_model, "levels", 4, 1, out, quiet=True)
    assert all(p.parent == out and p.is_file() for p in written)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["levels"], "no hidden folder left beside it"
    from genforge.atomic import FILE_MODE
    from genforge.domains.levels.codec import LevelCodec

    assert {p.stat().st_mode & 0o777 for p in out.iterdir()} == {FILE_MODE}

    real_export = LevelCodec.export

    def export_then_crash(self, indices, label_id, out_dir, stem, properties):
        if stem.endswith("-002"):
            raise OSError("disk full")
        return real_export(self, indices, label_id, out_dir, stem, properties)

    monkeypatch.setattr(LevelCodec, "export", export_then_crash)
    with pytest.raises(GenforgeError, match="disk full; nothing was written"):
        sample(tiny_model, "levels", 4, 1, tmp_path / "crashed", quiet=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["levels"], "nothing of the crashed run remains"
    # into a folder that exists already, the run's files are staged inside it, then moved in together
    more = sample(tiny_model, "levels", 2, 9, out, quiet=True)
    assert all(p.is_file() for p in more) and not list(out.glob(".*"))


def test_png_writer_round_trips_through_pillow():
    import io

    from genforge.images import png_bytes

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (37, 53, 3)).astype(np.uint8)
    with Image.open(io.BytesIO(png_bytes(rgb))) as im:
        assert im.mode == "RGB" and np.array_equal(np.asarray(im), rgb)
    index = rng.integers(0, 5, (20, 30)).astype(np.uint8)
    palette = rng.integers(0, 256, (5, 3)).astype(np.uint8)
    with Image.open(io.BytesIO(png_bytes(index, palette))) as im:
        assert im.mode == "P" and np.array_equal(np.asarray(im.convert("RGB")), palette[index])


def test_sampling_levels_needs_neither_tensorflow_nor_pillow(tmp_path):
    """The bundle carries its drawn tiles and PNGs are written with zlib: start-up imports only
    what generation needs."""
    out = tmp_path / "out"
    loaded, res = modules_after(["sample", "levels", "-n", "3", "--out", out], ("tensorflow", "keras", "PIL"))
    assert loaded == [], res.stderr
    assert len(list(out.glob("level-*.png"))) == 3 and (out / "sheet-0.png").is_file()
    assert list(out.glob("tileset-*.png")), "the tileset image the maps point at"


@needs_vglc
def test_draws_that_copy_a_training_window_are_redrawn(tiny_model):
    """Every first draw is made to look like a copy (its own fingerprint counted as a training
    window's): each is redrawn, and the new ones are not copies."""
    bundle = open_bundle(tiny_model)
    codec = codec_for(bundle.meta)
    z, ids = runtime.sample_latents(bundle, 6, 3, None)
    first = runtime.decode_assets(bundle, codec, z, ids)
    bundle.prior["training_hashes"] = latent.window_hashes(first)
    again, redrawn = runtime.redraw_copies(bundle, codec, z, ids, seed=3)
    assert redrawn >= 6 and not np.isin(latent.window_hashes(runtime.decode_assets(bundle, codec, again, ids)),
                                        bundle.prior["training_hashes"]).any()
    assert not np.allclose(again, z)
    # a trained bundle carries its training windows' fingerprints, and nothing sampled matches one
    trained = open_bundle(tiny_model)
    assert len(set(trained.prior["training_hashes"].tolist())) > 1000
