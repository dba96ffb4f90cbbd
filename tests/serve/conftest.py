"""Fixtures of the explorer's tests: one Explorer per bundled model, the app through Starlette's
TestClient, a served explorer on a free port of 127.0.0.1, and Debian's Chromium driven by
Playwright (never a browser Playwright downloads: the tests skip where none is installed)."""
from __future__ import annotations

import shutil

import pytest

pytest.importorskip("starlette", reason="the serve extra (starlette, uvicorn) is not installed")
pytest.importorskip("uvicorn", reason="the serve extra (starlette, uvicorn) is not installed")

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def levels_explorer():
    from genforge.bundle import load
    from genforge.serve.explorer import Explorer

    return Explorer(load(None, "levels"))


@pytest.fixture(scope="session")
def music_explorer():
    from genforge.bundle import load
    from genforge.serve.explorer import Explorer

    return Explorer(load(None, "music"))


@pytest.fixture(scope="session")
def levels_client(levels_explorer):
    from starlette.testclient import TestClient

    from genforge.serve.app import create_app

    with TestClient(create_app(levels_explorer)) as client:
        yield client


@pytest.fixture(scope="session")
def music_client(music_explorer):
    from starlette.testclient import TestClient

    from genforge.serve.app import create_app

    with TestClient(create_app(music_explorer)) as client:
        yield client


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium installed (Debian: apt-get install chromium): the browser tests need one")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, explorer):
    """A served explorer and a page on it, ready (its first samples drawn); page errors collected."""
    from genforge.serve.app import Server

    server = Server(explorer).start()
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(server.url)
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    return server, page


@pytest.fixture(scope="module")
def levels_page(browser, levels_explorer):
    server, page = open_page(browser, levels_explorer)
    yield page
    page.close()
    server.stop()


@pytest.fixture(scope="module")
def music_page(browser, music_explorer):
    server, page = open_page(browser, music_explorer)
    yield page
    page.close()
    server.stop()
