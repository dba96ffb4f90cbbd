"""Explorer speed: slider move to new picture, measured in the browser.

    python benchmarks/serve_speed.py [--moves 300] [--domain levels --domain music]

For each bundled model: `genforge serve --no-browser` in its own process, Debian's Chromium
(headless, through Playwright) on the page, the first sample opened, then `--moves` slider moves
(a random walk over every slider, one move at a time, as a hand moves one). The page times each
move itself (performance.now): from the slider's `input` event to the new picture drawn on the
canvas (the request, the server's decoding through onnxruntime, the JSON, the drawing), and to the
next animation frame after it, when the browser shows it. Everything runs on at most 2 CPU cores
(the process and its children pinned to two of the machine's, when it has more).
Results: benchmarks/results/serve_speed.json and .md. The machines are shared and noisy: medians
and percentiles over many moves, never one.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WARMUP = 10


def start_server(domain: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "genforge", "serve", "--domain", domain, "--no-browser"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+/", line)
    if not found:
        proc.kill()
        raise SystemExit(f"genforge serve did not start: {line}{proc.stdout.read()}")
    return proc, found.group(0)


def tree_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process and every process under it (the
    server, Playwright's driver, Chromium's processes), from /proc: how much work the moves are,
    apart from how long a busy machine makes them wait."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry))
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [os.getpid()]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += (int(stats[pid][11]) + int(stats[pid][12])) / tick   # utime, stime
        todo += children.get(pid, [])
    return total


# The moves, driven from inside the page (no Playwright call between them, so the browser does only
# the page's own work): set a slider, fire its input event, wait for the frame that shows the picture.
DRIVE = """async (moves) => {
  let changed = 0;
  for (const [name, value] of moves) {
    const before = JSON.stringify(genforge.current.asset);
    const shown = new Promise((resolve) => window.addEventListener("genforge:frame", resolve, { once: true }));
    const slider = document.querySelector(`input[data-move='${name}']`);
    slider.value = value;
    slider.dispatchEvent(new Event("input"));
    await shown;
    changed += JSON.stringify(genforge.current.asset) !== before;
  }
  return changed;
}"""


def measure(browser, url: str, moves: int, seed: int) -> dict:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    sliders = page.eval_on_selector_all("#sliders input", "els => els.map(e => [e.dataset.move, Number(e.max)])")
    rng = np.random.default_rng(seed)
    values = {name: 0.0 for name, _ in sliders}
    walk = []
    for _ in range(WARMUP + moves):   # a random walk over every slider, one slider a move
        name, top = sliders[rng.integers(len(sliders))]
        value = float(np.clip(values[name] + rng.choice([-1, 1]) * rng.uniform(0.1, 0.6) * top, -top, top))
        values[name] = round(value / 0.05) * 0.05
        walk.append([name, values[name]])
    page.evaluate(DRIVE, walk[:WARMUP])
    cpu = tree_cpu_seconds()
    changed = page.evaluate(DRIVE, walk[WARMUP:])
    cpu = tree_cpu_seconds() - cpu
    drawn = np.asarray(page.evaluate("window.genforgeTimings"))[WARMUP:]
    frame = np.asarray(page.evaluate("window.genforgeFrameTimings"))[WARMUP:]
    page.close()

    def stats(ms):
        return {"p50": round(float(np.percentile(ms, 50)), 1), "p95": round(float(np.percentile(ms, 95)), 1),
                "max": round(float(ms.max()), 1), "mean": round(float(ms.mean()), 1)}

    return {"moves": int(len(drawn)), "to_drawn_ms": stats(drawn), "to_next_frame_ms": stats(frame),
            "cpu_ms_per_move_all_processes": round(1000 * cpu / moves, 1),
            "share_of_moves_that_changed_the_picture": round(changed / moves, 3), "page_errors": errors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--moves", type=int, default=300)
    ap.add_argument("--domain", action="append", choices=["levels", "music"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 2:
        os.sched_setaffinity(0, cores[:2])  # the server and the browser, started below, inherit it
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no Chromium installed (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    results = {"what": "slider move to new picture, timed in the page (performance.now): input event -> canvas "
                       "drawn, and -> the next animation frame", "cpu_cores": len(os.sched_getaffinity(0)),
               "load_average_before": os.getloadavg()[0], "machine": platform.machine(),
               "python": platform.python_version(),
               "chromium": subprocess.run([chromium, "--version"], capture_output=True, text=True).stdout.strip(),
               "moves_per_model": args.moves, "domains": {}}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        for domain in args.domain or ["levels", "music"]:
            proc, url = start_server(domain)
            try:
                started = time.perf_counter()
                results["domains"][domain] = measure(browser, url, args.moves, args.seed)
                results["domains"][domain]["seconds"] = round(time.perf_counter() - started, 1)
            finally:
                proc.terminate()
                proc.wait(10)
        browser.close()
    results["load_average_after"] = os.getloadavg()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serve_speed.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# Explorer speed: slider move to new picture", "",
             f"`python benchmarks/serve_speed.py --moves {args.moves}`: {results['cpu_cores']} CPU cores, "
             f"{results['chromium']} headless, load average {results['load_average_before']:.1f} before and "
             f"{results['load_average_after']:.1f} after (the machine is shared).", "",
             "Each move is one slider's value changed (a random walk over every slider), timed in the page from "
             "the `input` event to the new picture drawn on the canvas, and to the next animation frame (when the "
             f"browser shows it); {WARMUP} warm-up moves left out. Target: 95th percentile <= 50 ms.", "",
             "CPU per move: the CPU time of every process taking part (the server, Chromium's processes, "
             "Playwright's driver, this script's own polling) over the timed moves, divided by their number: "
             "the work a move is, apart from the waits a busy machine adds.", "",
             "| model | moves | drawn p50 | drawn p95 | next frame p50 | next frame p95 | max | CPU per move "
             "| pictures changed |",
             "|---|---|---|---|---|---|---|---|---|"]
    for domain, r in results["domains"].items():
        d, f = r["to_drawn_ms"], r["to_next_frame_ms"]
        lines.append(f"| bundled {domain} | {r['moves']} | {d['p50']} ms | {d['p95']} ms | {f['p50']} ms | "
                     f"{f['p95']} ms | {f['max']} ms | {r['cpu_ms_per_move_all_processes']} ms | "
                     f"{r['share_of_moves_that_changed_the_picture']:.0%} |")
    (RESULTS / "serve_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
