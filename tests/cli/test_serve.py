"""`genforge serve`: the command as a user runs it (a fresh process printing its address, stopped
by Ctrl-C), and its one-line errors."""
from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest
from support import REPO, assert_user_error, invoke

pytest.importorskip("uvicorn", reason="the serve extra (starlette, uvicorn) is not installed")


def serving(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "genforge", "serve", "--no-browser", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not found:
        proc.kill()
        pytest.fail(f"no address printed: {line!r} {proc.stderr.read()}")
    return proc, found.group(0)


def test_serve_prints_its_loopback_address_serves_the_page_and_stops_on_ctrl_c():
    proc, url = serving("--model", "genforge/models/music")       # the domain read from the run folder
    try:
        with urllib.request.urlopen(url, timeout=30) as res:
            assert "genforge explorer" in res.read().decode()
        with urllib.request.urlopen(url + "api/model", timeout=30) as res:
            info = json.loads(res.read())
        assert info["domain"] == "music" and info["model"] == "genforge/models/music"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, 130) and "Traceback" not in err, err


def test_serve_on_a_port_in_use_is_one_error_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = invoke("serve", "--no-browser", "--port", str(port))
    assert_user_error(res, f"cannot listen on 127.0.0.1:{port}")


@pytest.mark.parametrize("args, says", [
    (["--domain", "pictures"], "--domain must be levels or music"),
    (["--model", "no/such/run"], "no such model folder"),
    (["--model", "genforge/models/levels", "--domain", "music"], "not a music one"),
    (["--port", "70000"], "--port must be between 0 and 65535"),
])
def test_serve_errors(args, says):
    assert_user_error(invoke("serve", "--no-browser", *args), says)
