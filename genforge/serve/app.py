"""The explorer's web app: Starlette routes over one Explorer, served by uvicorn on 127.0.0.1.

Routes (JSON in and out unless said):
    GET  /                      the page (static/index.html); /static/... its scripts and styles
    GET  /api/model             what the page needs to draw and edit (Explorer.info)
    GET  /api/tileset/{label}   the game's tileset PNG, under the name exported maps give it
    POST /api/sample            {n, seed, label|null} -> {items}
    POST /api/decode            {z, label, moves} -> item            (every slider move)
    POST /api/interpolate       {a, b, label, steps} -> {items}
    POST /api/complete          {asset, known|unknown, label, seed} -> item
    POST /api/score             {asset, label} -> {score, percentile}
    POST /api/check             {asset, label} -> {playable, message, path, furthest, problems}
    POST /api/download          {asset, label, z} -> the .tmj or .mid file

A request the page cannot have meant (GenforgeError) is status 400 with {"error": "..."}. The
numpy work runs in Starlette's thread pool, one request at a time (the Explorer's lock), except a
slider's decoding, which takes a millisecond or a few and runs in the event loop.
"""
from __future__ import annotations

import socket
import threading
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from genforge.errors import GenforgeError
from genforge.serve.explorer import Explorer

STATIC = Path(__file__).parent / "static"
HOST = "127.0.0.1"   # never another interface: the explorer has no authentication
MOST_BODY = 4_000_000


async def _body(request: Request) -> dict:
    raw = await request.body()
    if len(raw) > MOST_BODY:
        raise GenforgeError(f"request larger than {MOST_BODY:,} bytes")
    import json

    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise GenforgeError("the request body is not JSON") from None
    if not isinstance(data, dict):
        raise GenforgeError("the request body must be a JSON object")
    return data


def create_app(explorer: Explorer) -> Starlette:
    """The app over one model's Explorer."""

    def posting(work, inline: bool = False):
        """A POST route: the body's JSON to `work(data)` in the thread pool (`inline`: in the event loop
        itself, for work of a millisecond, where the two thread hand-overs would cost more on a busy
        machine), its answer as JSON."""
        async def handler(request: Request) -> Response:
            try:
                data = await _body(request)
                answer = work(data) if inline else await run_in_threadpool(work, data)
            except GenforgeError as e:
                return JSONResponse({"error": str(e)}, status_code=400)
            return answer if isinstance(answer, Response) else JSONResponse(answer)
        return handler

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def model(request: Request) -> Response:
        return JSONResponse(explorer.info())

    async def tileset(request: Request) -> Response:
        try:
            label = int(request.path_params["label"])
            name, png = await run_in_threadpool(explorer.tileset_png, label if explorer.bundle.labels else -1)
        except (GenforgeError, ValueError) as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        return Response(png, media_type="image/png", headers={"Content-Disposition": f'inline; filename="{name}"'})

    def download(data: dict) -> Response:
        name, content = explorer.download(data.get("asset"), data.get("label", -1), data.get("z"))
        media = "application/json" if name.endswith(".tmj") else "audio/midi"
        return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    routes = [
        Route("/", page),
        Route("/api/model", model),
        Route("/api/tileset/{label}", tileset),
        Route("/api/sample", posting(lambda d: {"items": explorer.sample(d.get("n", 8), d.get("seed", 0),
                                                                          d.get("label"))}), methods=["POST"]),
        Route("/api/decode", posting(lambda d: explorer.decode(d.get("z"), d.get("label", -1), d.get("moves")),
                                     inline=True), methods=["POST"]),
        Route("/api/interpolate", posting(lambda d: {"items": explorer.interpolate(
            d.get("a"), d.get("b"), d.get("label", -1), d.get("steps", 8))}), methods=["POST"]),
        Route("/api/complete", posting(lambda d: explorer.complete(
            d.get("asset"), d.get("known", d.get("unknown")), d.get("label", -1), d.get("seed", 0))),
            methods=["POST"]),
        Route("/api/score", posting(lambda d: explorer.score(d.get("asset"), d.get("label", -1))), methods=["POST"]),
        Route("/api/check", posting(lambda d: explorer.check(d.get("asset"), d.get("label", -1))), methods=["POST"]),
        Route("/api/download", posting(download), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes)


class Server:
    """uvicorn serving the app on a socket of 127.0.0.1 bound before it starts (port 0: a free one,
    known at once, with no race between choosing it and binding it)."""

    def __init__(self, explorer: Explorer, port: int = 0):
        import uvicorn

        # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on connections of a socket that says so, and
        # without it a response's headers and body (two writes) wait on the browser's delayed ACK, 40 ms a move.
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((HOST, port))
            self.socket.listen(128)  # from now on a browser's first request waits for uvicorn, never refused
        except OSError as e:
            self.socket.close()
            raise GenforgeError(f"cannot listen on {HOST}:{port}: {e.strerror or e}") from None
        self.port = self.socket.getsockname()[1]
        self.url = f"http://{HOST}:{self.port}/"
        config = uvicorn.Config(create_app(explorer), log_level="warning", access_log=False)
        self.uvicorn = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    def run(self) -> None:
        """Serve until interrupted (Ctrl-C)."""
        self.uvicorn.run(sockets=[self.socket])

    def start(self) -> "Server":
        """Serve from a thread (tests, benchmarks); returns once the server answers."""
        import time

        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        while not self.uvicorn.started:
            if not self.thread.is_alive():
                raise GenforgeError(f"the explorer's server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.uvicorn.should_exit = True
        if self.thread is not None:
            self.thread.join(10)
        self.socket.close()


def serve(model: str | Path | None, domain: str | None, port: int = 0, open_browser: bool = True,
          echo=print) -> None:
    """`genforge serve`: the explorer of a model (the bundled model of `domain`, default levels,
    when none is given; a run folder's own domain otherwise) on 127.0.0.1, until interrupted."""
    from genforge.bundle import load, open_bundle

    if model is None:
        bundle = load(None, domain or "levels")
    else:
        bundle = open_bundle(model, domain)
    if not 0 <= port <= 65535:
        raise GenforgeError(f"--port must be between 0 and 65535, got {port}")
    server = Server(Explorer(bundle), port)
    echo(f"genforge explorer of {bundle.name} ({bundle.domain}) at {server.url}  (Ctrl-C stops it)")
    if open_browser:
        import webbrowser

        threading.Timer(0.5, webbrowser.open, (server.url,)).start()
    server.run()
