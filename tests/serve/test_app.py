"""The explorer's routes without a browser (Starlette's TestClient): what each answers, against
what the library and the CLI make of the same request."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest

from genforge.domains.levels.grid import to_chars


def tiles_text(explorer, item) -> list[str]:
    grid = explorer.codec.native(np.asarray(item["asset"]["tiles"]), item["label"])
    return ["".join(row) for row in to_chars(grid, explorer.codec.vocabulary)]


def test_model_info_describes_what_the_page_draws(levels_client, levels_explorer):
    info = levels_client.get("/api/model").json()
    assert info["domain"] == "levels" and info["labels"] == levels_explorer.bundle.labels
    spreads = [d["spread"] for d in info["directions"]]
    assert len(spreads) == 6 and spreads == sorted(spreads, reverse=True) and spreads[-1] > 0
    smb = info["games"][0]
    assert smb["window"] == [14, 28] and smb["checkable"]
    assert info["vocabulary"][smb["empty"]] == "-"
    assert {"X", "E", "<", ">"} <= {t["char"] for t in smb["tiles"]}
    page = levels_client.get("/")
    assert page.status_code == 200 and "genforge explorer" in page.text
    for script in ("app.js", "levels.js", "music.js", "style.css"):
        assert levels_client.get(f"/static/{script}").status_code == 200


def test_principal_directions_are_the_codes_own(levels_explorer):
    """PC1's spread is the training codes' spread along it, and no other direction holds more."""
    means = np.asarray(levels_explorer.bundle.prior["means"], np.float64)
    centred = means - means.mean(0)
    d, s = levels_explorer.directions.astype(np.float64), levels_explorer.spreads
    assert np.allclose(np.linalg.norm(d, axis=1), 1, atol=1e-4)
    assert np.allclose((centred @ d[0]).std(ddof=1), s[0], rtol=1e-3)
    random = np.random.default_rng(0).standard_normal((50, d.shape[1]))
    random /= np.linalg.norm(random, axis=1, keepdims=True)
    assert (centred @ random.T).std(0, ddof=1).max() < s[0]


def test_samples_are_what_genforge_sample_writes(levels_client, levels_explorer, tmp_path):
    from genforge.generate import sample

    items = levels_client.post("/api/sample", json={"n": 4, "seed": 7}).json()["items"]
    sample(None, "levels", 4, 7, tmp_path, quiet=True)
    for i, item in enumerate(items):
        written = (tmp_path / f"level-7-{i:03d}.txt").read_text().splitlines()
        assert tiles_text(levels_explorer, item) == written
    again = levels_client.post("/api/sample", json={"n": 4, "seed": 7}).json()["items"]
    assert again == items
    only = levels_client.post("/api/sample", json={"n": 6, "seed": 3, "label": 1}).json()["items"]
    assert {it["label"] for it in only} == {1}


def test_slider_moves_the_latent_along_its_direction_and_changes_the_picture(levels_client, levels_explorer):
    item = levels_client.post("/api/sample", json={"n": 1, "seed": 11}).json()["items"][0]
    still = levels_client.post("/api/decode", json={"z": item["z"], "label": item["label"], "moves": {}}).json()
    assert still["asset"] == item["asset"]
    moved = levels_client.post("/api/decode", json={"z": item["z"], "label": item["label"],
                                                    "moves": {"PC1": 2.5}}).json()
    step = np.asarray(moved["z"]) - np.asarray(item["z"])
    assert np.allclose(step, 2.5 * levels_explorer.spreads[0] * levels_explorer.directions[0], atol=1e-3)
    changed = np.mean(np.asarray(moved["asset"]["tiles"]) != np.asarray(item["asset"]["tiles"]))
    assert changed > 0.02, changed


def test_attribute_sliders_push_music_the_way_they_say(music_client):
    """More `density` gives more notes than less, window by window (the attribute vectors of training)."""
    items = music_client.post("/api/sample", json={"n": 6, "seed": 2}).json()["items"]
    more = less = 0
    for item in items:
        counts = [len(music_client.post("/api/decode", json={"z": item["z"], "label": item["label"],
                                                             "moves": {"density": amount}}).json()["asset"]["notes"])
                  for amount in (-3.0, 3.0)]
        more += counts[1] > counts[0]
        less += counts[1] < counts[0]
    assert more >= 5 and less == 0, (more, less)


def test_interpolation_ends_at_its_two_picks(levels_client):
    a, b = levels_client.post("/api/sample", json={"n": 2, "seed": 5, "label": 0}).json()["items"]
    steps = levels_client.post("/api/interpolate", json={"a": a["z"], "b": b["z"], "label": 0, "steps": 6}).json()
    items = steps["items"]
    assert len(items) == 6 and {it["label"] for it in items} == {0}
    assert items[0]["asset"] == a["asset"] and items[-1]["asset"] == b["asset"]
    assert np.allclose(items[0]["z"], a["z"], atol=1e-4) and np.allclose(items[-1]["z"], b["z"], atol=1e-4)
    assert any(it["asset"] != a["asset"] and it["asset"] != b["asset"] for it in items[1:-1])


def test_check_is_what_genforge_check_says_of_the_downloaded_map(levels_client, levels_explorer, tmp_path):
    from genforge.domains.levels.check import check_file

    item = levels_client.post("/api/sample", json={"n": 1, "seed": 4, "label": 0}).json()["items"][0]
    found = levels_client.post("/api/check", json={"asset": item["asset"], "label": 0}).json()
    res = levels_client.post("/api/download", json={"asset": item["asset"], "label": 0, "z": item["z"]})
    name = res.headers["content-disposition"].split('filename="')[1].rstrip('"')
    (tmp_path / name).write_bytes(res.content)
    result = check_file(tmp_path / name)[0]
    assert found["message"] == result.message and found["playable"] == result.playable
    assert [tuple(p) for p in found["path"]] == [tuple(p) for p in result.path]
    if found["playable"]:
        assert found["path"][0][1] == 0 and found["path"][-1][1] == 27  # left edge to right edge


def test_downloaded_map_is_the_codecs_export_and_opens_in_pytiled_parser(levels_client, levels_explorer, tmp_path):
    pytiled_parser = pytest.importorskip("pytiled_parser")
    from genforge.generate import sample

    item = levels_client.post("/api/sample", json={"n": 1, "seed": 7}).json()["items"][0]
    res = levels_client.post("/api/download", json={"asset": item["asset"], "label": item["label"], "z": item["z"]})
    assert res.status_code == 200 and res.headers["content-disposition"].endswith('level-explorer.tmj"')
    doc = json.loads(res.content)
    sample(None, "levels", 1, 7, tmp_path / "cli", quiet=True)
    cli = json.loads((tmp_path / "cli" / "level-7-000.tmj").read_text())
    assert doc["layers"] == cli["layers"] and doc["tilesets"] == cli["tilesets"]
    props = {p["name"]: p["value"] for p in doc["properties"]}
    assert props["source"] == "genforge serve" and json.loads(props["latent"]) == pytest.approx(item["z"], abs=1e-4)
    tileset = levels_client.get(f"/api/tileset/{item['label']}")
    image_name = tileset.headers["content-disposition"].split('filename="')[1].rstrip('"')
    assert image_name == doc["tilesets"][0]["image"]
    (tmp_path / "level-explorer.tmj").write_bytes(res.content)
    (tmp_path / image_name).write_bytes(tileset.content)
    tiled = pytiled_parser.parse_map(tmp_path / "level-explorer.tmj")
    assert (tiled.map_size.width, tiled.map_size.height) == (28, 14)


def test_downloaded_midi_holds_the_notes_on_the_page(music_client, music_explorer):
    mido = pytest.importorskip("mido")
    item = music_client.post("/api/sample", json={"n": 1, "seed": 3, "label": 0}).json()["items"][0]
    res = music_client.post("/api/download", json={"asset": item["asset"], "label": 0, "z": item["z"]})
    assert res.status_code == 200 and res.headers["content-type"] == "audio/midi"
    song = mido.MidiFile(file=io.BytesIO(res.content))
    onsets = sum(1 for track in song.tracks for m in track if m.type == "note_on" and m.velocity > 0)
    assert onsets == len(item["asset"]["notes"])


def test_music_notes_round_trip_the_codecs_grid(music_explorer):
    from genforge import runtime
    from genforge.serve.assets import from_json, to_json

    b, codec = music_explorer.bundle, music_explorer.codec
    z, ids = runtime.sample_latents(b, 6, 9, None)
    for grid in runtime.decode_assets(b, codec, z, ids):
        assert np.array_equal(from_json(codec, to_json(codec, grid)), grid)


@pytest.mark.parametrize("route, body, says", [
    ("decode", {"z": [0.0] * 3, "label": 0}, "z must be 112 finite numbers"),
    ("decode", {"z": [0.0] * 112, "label": 5}, "label must be a number from 0 to 1"),
    ("decode", {"z": [0.0] * 112, "label": 0, "moves": {"PC1": 9}}, "PC1 must be between"),
    ("decode", {"z": [0.0] * 112, "label": 0, "moves": {"density": 1}}, "no attribute vectors"),
    ("sample", {"n": 0}, "n must be between 1 and 64"),
    ("interpolate", {"a": [0.0] * 112, "b": [0.0] * 112, "label": 0, "steps": 1}, "steps must be between"),
    ("check", {"asset": {"tiles": [[0] * 28] * 13}, "label": 0}, "tiles must be 14 x 28"),
    ("check", {"asset": {"tiles": [[99] * 28] * 14}, "label": 0}, "tile indices must be between"),
    ("download", {"asset": {"notes": []}, "label": 0}, "tiles must be rows"),
])
def test_a_request_the_page_cannot_mean_is_one_clear_error(levels_client, route, body, says):
    res = levels_client.post(f"/api/{route}", json=body)
    assert res.status_code == 400 and says in res.json()["error"], res.text


def test_a_body_that_is_not_json_is_refused(levels_client):
    res = levels_client.post("/api/sample", content=b"{nope")
    assert res.status_code == 400 and "not JSON" in res.json()["error"]


def test_served_on_loopback_only(levels_explorer):
    import socket
    import urllib.request

    from genforge.serve.app import Server

    server = Server(levels_explorer).start()
    try:
        assert server.socket.getsockname()[0] == "127.0.0.1" and server.url.startswith("http://127.0.0.1:")
        # asyncio sets TCP_NODELAY on the connections of a socket that names TCP: without it each answer
        # waits ~40 ms for the browser's delayed ACK
        assert server.socket.proto == socket.IPPROTO_TCP
        with urllib.request.urlopen(server.url + "api/model", timeout=10) as res:
            assert json.loads(res.read())["domain"] == "levels"
    finally:
        server.stop()


def test_complete_keeps_the_known_cells_and_fills_the_rest(levels_client):
    """Right half unknown: the left half comes back as given, the right half is the model's and
    whole (no broken pipe), and the answer's latent decodes near the result (sliders go on from it)."""
    item = levels_client.post("/api/sample", json={"n": 1, "seed": 21, "label": 0}).json()["items"][0]
    tiles = np.asarray(item["asset"]["tiles"])
    sketch = tiles.copy()
    sketch[:, 14:] = 0                                   # the empty tile, then marked unknown
    known = np.ones_like(tiles)
    known[:, 14:] = 0
    out = levels_client.post("/api/complete", json={"asset": {"tiles": sketch.tolist()}, "known": known.tolist(),
                                                    "label": 0, "seed": 1}).json()
    filled = np.asarray(out["asset"]["tiles"])
    assert np.array_equal(filled[:, :14], tiles[:, :14])
    assert (filled[-1, 14:] != 0).any(), "the ground was not continued into the unknown half"
    assert len(out["z"]) == 112 and out["label"] == 0
    check = levels_client.post("/api/check", json={"asset": out["asset"], "label": 0}).json()
    assert check["problems"] == []


def test_complete_music_fills_the_unknown_bars_only(music_client):
    item = music_client.post("/api/sample", json={"n": 1, "seed": 8, "label": 0}).json()["items"][0]
    unknown = [[v, s] for v in range(4) for s in range(32, 64)]      # bars 3-4 of 4/4, every voice
    out = music_client.post("/api/complete", json={"asset": item["asset"], "unknown": unknown, "label": 0}).json()
    before = [n for n in item["asset"]["notes"] if n[2] + n[3] <= 32]
    after = [n for n in out["asset"]["notes"] if n[2] + n[3] <= 32]
    assert before == after
    assert len([n for n in out["asset"]["notes"] if n[2] >= 32]) >= 8, "bars 3-4 were left (nearly) empty"


def test_score_ranks_a_real_level_above_scrambled_tiles(levels_client, levels_explorer):
    item = levels_client.post("/api/sample", json={"n": 1, "seed": 2, "label": 0}).json()["items"][0]
    tiles = np.asarray(item["asset"]["tiles"])
    noise = np.random.default_rng(0).integers(0, len(levels_explorer.codec.vocabulary), tiles.shape)
    scored = [levels_client.post("/api/score", json={"asset": {"tiles": t.tolist()}, "label": 0}).json()
              for t in (tiles, noise)]
    assert scored[0]["score"] > scored[1]["score"]
    assert scored[0]["percentile"] > 10 and scored[1]["percentile"] < 1, scored


def test_an_unconditional_run_folder_is_explored_too(tiny_model):
    """A run of one game has no labels: the page gets none, every label is -1, and sampling, a
    slider, the path and the download work as for the bundled model."""
    from starlette.testclient import TestClient

    from genforge.bundle import open_bundle
    from genforge.serve.app import create_app
    from genforge.serve.explorer import Explorer

    explorer = Explorer(open_bundle(tiny_model))
    assert explorer.bundle.labels == []
    with TestClient(create_app(explorer)) as client:
        info = client.get("/api/model").json()
        assert info["labels"] == [] and len(info["games"]) == 1
        item = client.post("/api/sample", json={"n": 2, "seed": 1}).json()["items"][0]
        assert item["label"] == -1 and len(item["z"]) == explorer.bundle.latent_dim
        moved = client.post("/api/decode", json={"z": item["z"], "label": -1, "moves": {"PC1": 3}}).json()
        assert moved["z"] != item["z"]
        assert "message" in client.post("/api/check", json={"asset": item["asset"], "label": -1}).json()
        res = client.post("/api/download", json={"asset": item["asset"], "label": -1})
        assert res.status_code == 200 and json.loads(res.content)["width"] == info["games"][0]["window"][1]
        assert client.get("/api/tileset/0").headers["content-type"] == "image/png"
        refused = client.post("/api/sample", json={"n": 1, "seed": 1, "label": 0})
        assert refused.status_code == 400


def test_music_score_ranks_a_sample_above_random_notes(music_client):
    item = music_client.post("/api/sample", json={"n": 1, "seed": 6, "label": 0}).json()["items"][0]
    rng = np.random.default_rng(1)
    noise = [[int(v), int(rng.integers(0, 46)), int(s), 2, 1] for s in range(0, 64, 2) for v in range(4)]
    scored = [music_client.post("/api/score", json={"asset": asset, "label": 0}).json()
              for asset in (item["asset"], {"notes": noise})]
    assert scored[0]["score"] > scored[1]["score"]
    assert 0 <= scored[1]["percentile"] < scored[0]["percentile"] <= 100, scored
