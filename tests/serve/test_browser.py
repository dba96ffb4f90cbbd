"""The explorer in a real headless Chromium (Debian's, through Playwright): every control on the
page, checked by what the page draws (canvas pixels) and holds, against the library's answers.

Skips with a reason where no Chromium is installed. GENFORGE_SCREENSHOT=1 saves the levels page's
screenshot as docs/explorer.png (the README's picture); otherwise it goes to a temporary folder.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from support import REPO

LEVEL_PX = 32          # the editor draws 16-pixel tiles at twice their size
CELL_W, CELL_H, HEADER = 12, 7, 16   # music.js's piano roll at the editor's scale


def picture(page) -> str:
    return page.evaluate("document.getElementById('view').toDataURL()")


def version(page) -> int:
    return page.evaluate("genforge.version")


def wait_drawn(page, after: int) -> None:
    page.wait_for_function("v => genforge.version > v", arg=after, timeout=30_000)


def state(page, expression: str):
    return page.evaluate(f"JSON.parse(JSON.stringify({expression}))")


def open_sample(page, index: int = 0) -> dict:
    drawn = version(page)
    page.locator(f"#samples .thumb[data-index='{index}'] canvas").click()
    wait_drawn(page, drawn)
    return state(page, "genforge.current")


def settle(page, items) -> None:
    """Wait until the page holds the samples of the answer it just got."""
    page.wait_for_function("z => JSON.stringify(genforge.items[0].z) === JSON.stringify(z)", arg=items[0]["z"])


def pixel(page, x: int, y: int) -> list[int]:
    return page.evaluate(f"Array.from(document.getElementById('view').getContext('2d').getImageData({x}, {y}, 1, 1).data)")


# ---------------------------------------------------------------- levels

def test_slider_move_draws_a_new_picture(levels_page):
    item = open_sample(levels_page, 0)
    before, drawn = picture(levels_page), version(levels_page)
    levels_page.locator("input[data-move='PC1']").fill("2.5")
    wait_drawn(levels_page, drawn)
    levels_page.wait_for_function("genforge.moves.PC1 === 2.5 && window.genforgeTimings.length > 0")
    moved = state(levels_page, "genforge.current")
    assert picture(levels_page) != before and moved["asset"] != item["asset"] and moved["z"] != item["z"]
    drawn = version(levels_page)
    levels_page.locator("#reset").click()
    wait_drawn(levels_page, drawn)
    levels_page.wait_for_function("!inflight")
    assert state(levels_page, "genforge.current.asset") == item["asset"] and picture(levels_page) == before
    assert levels_page.errors == []


def test_conditioning_draws_samples_of_the_picked_game(levels_page, levels_explorer):
    levels_page.select_option("#condition", "1")
    levels_page.wait_for_function("genforge.items.length && genforge.items.every(i => i.label === 1)")
    labels = levels_page.eval_on_selector_all("#samples .thumb", "els => els.map(e => e.dataset.label)")
    assert labels == ["1"] * 8
    assert levels_explorer.bundle.labels[1] in levels_page.inner_text("#current-label")
    levels_page.fill("#seed", "3")
    with levels_page.expect_response("**/api/sample") as answer:
        levels_page.select_option("#condition", "")      # back to any game: samples of both
    settle(levels_page, answer.value.json()["items"])
    with levels_page.expect_response("**/api/sample") as answer:
        levels_page.click("#resample")
    settle(levels_page, answer.value.json()["items"])
    assert {i["label"] for i in state(levels_page, "genforge.items")} == {0, 1}
    assert levels_page.errors == []


def test_interpolation_between_two_picked_samples(levels_page):
    items = state(levels_page, "genforge.items")
    levels_page.locator("#samples .thumb[data-index='0'] .pick-a").click()
    levels_page.locator("#samples .thumb[data-index='1'] .pick-b").click()
    levels_page.fill("#steps", "5")
    levels_page.click("#interpolate")
    levels_page.wait_for_function("document.querySelectorAll('#strip .thumb').length === 5")
    strip = state(levels_page, "genforge.strip")
    assert strip[0]["asset"] == items[0]["asset"]
    assert all(s["label"] == items[0]["label"] for s in strip)
    drawn = version(levels_page)
    levels_page.locator("#strip .thumb[data-step='2'] canvas").click()
    wait_drawn(levels_page, drawn)
    assert state(levels_page, "genforge.current.asset") == strip[2]["asset"]
    assert levels_page.errors == []


def test_paint_a_sketch_and_complete_it(levels_page, levels_explorer):
    """Blank sketch, ground painted in the first six columns: Complete keeps those cells and fills
    every other cell of the window with the model's tiles."""
    item = open_sample(levels_page, 0)
    codec = levels_explorer.codec
    ground = codec.vocabulary.index("X")
    levels_page.click("#blank")
    levels_page.locator(f".brush[data-brush='{ground}']").click()
    view = levels_page.locator("#view")
    rows, cols = 14, 28
    for c in range(6):
        view.click(position={"x": c * LEVEL_PX + 10, "y": (rows - 1) * LEVEL_PX + 10})
    known = np.asarray(state(levels_page, "LevelsView.state().known"))
    assert known.sum() == 6 and known[rows - 1, :6].all()
    assert pixel(levels_page, 10, (rows - 1) * LEVEL_PX + 10)[:3] != pixel(levels_page, 10 + 10 * LEVEL_PX, 10)[:3]
    levels_page.click("#complete")
    levels_page.wait_for_function("document.getElementById('status').textContent === 'completed'", timeout=60_000)
    tiles = np.asarray(state(levels_page, "genforge.current.asset.tiles"))
    assert (tiles[rows - 1, :6] == ground).all()
    assert tiles.shape == (rows, cols) and (tiles != codec.vocabulary.index("-")).sum() > 6
    assert np.asarray(state(levels_page, "LevelsView.state().known")).all()   # the result is all known again
    assert item["asset"]["tiles"] != tiles.tolist()
    assert levels_page.errors == []


def test_cells_marked_unknown_are_filled_and_the_rest_kept(levels_page):
    item = open_sample(levels_page, 4)
    levels_page.locator(".brush[data-brush='-1']").click()
    view = levels_page.locator("#view")
    marked = [(r, c) for r in range(6, 10) for c in range(10, 16)]
    for r, c in marked:
        view.click(position={"x": c * LEVEL_PX + 12, "y": r * LEVEL_PX + 12})
    known = np.asarray(state(levels_page, "LevelsView.state().known"))
    assert (known == 0).sum() == len(marked)
    levels_page.click("#complete")
    levels_page.wait_for_function("document.getElementById('status').textContent === 'completed'", timeout=60_000)
    before, after = np.asarray(item["asset"]["tiles"]), np.asarray(state(levels_page, "genforge.current.asset.tiles"))
    assert np.array_equal(before[known == 1], after[known == 1])
    assert levels_page.errors == []


def test_use_as_a_and_b_from_the_editor(levels_page):
    """The editor's item as either end; two samples of one game, since the path is decoded under A's."""
    labels = [it["label"] for it in state(levels_page, "genforge.items")]
    i, j = next((i, j) for i in range(8) for j in range(i + 1, 8) if labels[i] == labels[j] and i + 1 < j)
    first = open_sample(levels_page, j)
    levels_page.click("#set-a")
    last = open_sample(levels_page, i)
    levels_page.click("#set-b")
    levels_page.fill("#steps", "3")
    with levels_page.expect_response("**/api/interpolate"):
        levels_page.click("#interpolate")
    levels_page.wait_for_function("genforge.strip && genforge.strip.length === 3")
    strip = state(levels_page, "genforge.strip")
    assert strip[0]["asset"] == first["asset"] and strip[-1]["asset"] == last["asset"]
    assert levels_page.errors == []


def test_score_is_shown(levels_page, levels_explorer):
    item = open_sample(levels_page, 2)
    levels_page.click("#score")
    levels_page.wait_for_function("document.getElementById('score-out').textContent.includes('percentile')",
                                  timeout=60_000)
    shown = float(levels_page.get_attribute("#score-out", "data-percentile"))
    assert shown == pytest.approx(levels_explorer.score(item["asset"], item["label"])["percentile"], abs=1e-6)
    assert levels_page.errors == []


def test_playability_path_drawn_over_the_level(levels_page, levels_explorer, tmp_path):
    item = open_sample(levels_page, 1)
    before, drawn = picture(levels_page), version(levels_page)
    levels_page.click("#path")
    wait_drawn(levels_page, drawn)
    found = levels_explorer.check(item["asset"], item["label"])
    assert levels_page.inner_text("#path-out") == found["message"]
    if found["path"]:
        r, c, _ = found["path"][len(found["path"]) // 2]   # the path's middle cell: drawn white over its tile
        assert picture(levels_page) != before
        above = max(0, -min(p[0] for p in found["path"]))       # rows of open air drawn above the level
        y = (r + above) * LEVEL_PX + LEVEL_PX // 2
        assert pixel(levels_page, c * LEVEL_PX + LEVEL_PX // 2, y)[:3] == [255, 255, 255]
        height = levels_page.evaluate("document.getElementById('view').height")
        assert height == (14 + above) * LEVEL_PX
        assert found["path"][0][1] == 0
    shot = REPO / "docs" / "explorer.png" if os.environ.get("GENFORGE_SCREENSHOT") else tmp_path / "explorer.png"
    levels_page.screenshot(path=str(shot), full_page=True)
    from PIL import Image

    colours = Image.open(shot).convert("RGB").getcolors(1_000_000)
    assert colours is not None and len(colours) > 20
    assert levels_page.errors == []


def test_download_a_map_that_opens_in_pytiled_parser(levels_page, levels_explorer, tmp_path):
    pytiled_parser = pytest.importorskip("pytiled_parser")
    item = open_sample(levels_page, 3)
    with levels_page.expect_download() as got:
        levels_page.click("#download")
    download = got.value
    assert download.suggested_filename == "level-explorer.tmj"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    with levels_page.expect_download() as got:
        levels_page.click("#tileset-link")
    image_name = json.loads(path.read_text())["tilesets"][0]["image"]
    got.value.save_as(tmp_path / image_name)
    tiled = pytiled_parser.parse_map(path)
    assert (tiled.map_size.width, tiled.map_size.height) == (28, 14)
    assert tiled.tilesets[1].image.name == image_name
    read = levels_explorer.codec.read_window(path, item["label"])
    assert read.tolist() == item["asset"]["tiles"]
    assert levels_page.errors == []


# ---------------------------------------------------------------- music

def test_piano_roll_and_sliders(music_page):
    item = open_sample(music_page, 0)
    voice0 = [225, 29, 72]   # music.js's first voice colour (#e11d48)
    note = next(n for n in item["asset"]["notes"] if n[0] == 0)
    pitches = 46
    x, y = note[2] * CELL_W + CELL_W // 2 + 2, HEADER + (pitches - 1 - note[1]) * CELL_H + CELL_H // 2
    assert pixel(music_page, x, y)[:3] == voice0
    for name in ("PC2", "density"):
        before, drawn = picture(music_page), version(music_page)
        music_page.locator(f"input[data-move='{name}']").fill("2")
        wait_drawn(music_page, drawn)
        music_page.wait_for_function("!inflight")
        assert picture(music_page) != before
    assert music_page.errors == []


def test_play_starts_web_audio(music_page):
    item = open_sample(music_page, 1)
    music_page.click("#play")
    music_page.wait_for_function("window.genforgePlayback !== undefined")
    played = state(music_page, "window.genforgePlayback")
    music_page.evaluate("MusicView.play(genforge.current)")  # its state now that the context runs
    played["state"] = music_page.evaluate("window.genforgePlayback.state")
    assert played["notes"] == len(item["asset"]["notes"]) and played["seconds"] > 1
    assert played["state"] == "running"
    music_page.click("#stop")
    assert music_page.evaluate("window.genforgePlayback.stopped") is True
    assert music_page.errors == []


def test_paint_a_note_and_complete_a_bar(music_page, music_explorer):
    item = open_sample(music_page, 2)
    metre = music_explorer.info()["metres"][item["label"]]
    bar, last = metre["steps_per_bar"], metre["bars"] - 1
    view = music_page.locator("#view")
    view.click(position={"x": last * bar * CELL_W + 20, "y": 5})       # the last bar's header: unknown, every voice
    unknown = state(music_page, "MusicView.state().unknown")
    assert len(unknown) == 4 * bar
    music_page.locator(".brush[data-brush='0']").click()
    music_page.select_option("#note-length", "2")
    row = 30
    view.click(position={"x": 1 * CELL_W + 3, "y": HEADER + (45 - row) * CELL_H + 3})   # soprano, step 1
    notes = state(music_page, "genforge.current.asset.notes")
    assert [0, row, 1, 2, 1] in notes
    kept = [n for n in notes if n[2] + n[3] <= last * bar]
    music_page.click("#complete")
    music_page.wait_for_function("document.getElementById('status').textContent === 'completed'", timeout=60_000)
    after = state(music_page, "genforge.current.asset.notes")
    assert [n for n in after if n[2] + n[3] <= last * bar] == kept
    assert any(n[2] >= last * bar for n in after)
    assert music_page.errors == []


def test_erase_notes_and_fill_chosen_voices_only(music_page):
    item = open_sample(music_page, 4)
    note = next(n for n in item["asset"]["notes"] if n[0] == 1 and n[3] >= 2)
    music_page.locator(".brush[data-brush='-1']").click()
    view = music_page.locator("#view")
    view.click(position={"x": note[2] * CELL_W + 4, "y": HEADER + (45 - note[1]) * CELL_H + 3})
    notes = state(music_page, "genforge.current.asset.notes")
    assert note not in notes and len(notes) == len(item["asset"]["notes"]) - 1
    for v in (1, 2, 3):
        music_page.locator(f"input[data-fill-voice='{v}']").uncheck()
    view.click(position={"x": 4, "y": 5})                                # bar 1's header: the soprano only
    unknown = state(music_page, "MusicView.state().unknown")
    bar = state(music_page, f"genforge.info.metres[{item['label']}].steps_per_bar")
    assert sorted(map(tuple, (u.split(",") for u in unknown))) == sorted((str(0), str(s)) for s in range(bar))
    for v in (1, 2, 3):
        music_page.locator(f"input[data-fill-voice='{v}']").check()
    assert music_page.errors == []


def test_download_midi(music_page, tmp_path):
    mido = pytest.importorskip("mido")
    item = open_sample(music_page, 3)
    with music_page.expect_download() as got:
        music_page.click("#download")
    assert got.value.suggested_filename == "music-explorer.mid"
    path = tmp_path / "music-explorer.mid"
    got.value.save_as(path)
    song = mido.MidiFile(path)
    onsets = sum(1 for t in song.tracks for m in t if m.type == "note_on" and m.velocity > 0)
    assert onsets == len(item["asset"]["notes"])
    assert music_page.errors == []
