"""Conversion speed of `genforge datasets build folk`: tunes per second on 1 process and on every
core, on the same tunes (spread evenly over the three collections), without a cache.

    nice -n 10 python benchmarks/datasets_build.py --tunes 400

Results: benchmarks/results/datasets_build.json and .md, beside the full build's own figures read
from datasets/folk/PROVENANCE.md when it exists. The machine's load (uptime's 1-minute average)
is recorded before and after each run: other work on the machine slows these figures down.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def load() -> float:
    return os.getloadavg()[0]


def measure(jobs: list, processes: int) -> dict:
    from genforge.domains.music.corpus_build import run_jobs
    from genforge.domains.music.folk import convert_tune

    before = load()
    started = time.perf_counter()
    run = run_jobs(jobs, convert_tune, None, processes, quiet=True)    # no cache: every tune converted
    seconds = time.perf_counter() - started
    return {"processes": processes, "tunes": len(jobs), "seconds": round(seconds, 1),
            "tunes_per_second": round(len(jobs) / seconds, 2), "skipped": sum(run.skipped().values()),
            "load_before": round(before, 2), "load_after": round(load(), 2)}


def full_build() -> dict | None:
    """The full build's figures as its PROVENANCE.md states them."""
    path = ROOT / "datasets" / "folk" / "PROVENANCE.md"
    if not path.is_file():
        return None
    text = path.read_text()
    m = re.search(r"`([^`]*)` \(`genforge/domains/music/folk.py`\) in (\d+) s: ([\d,]+) tunes converted on (\d+) "
                  r"process\(es\) in (\d+) s \(([\d.]+) tunes/s\)", text)
    melodies = re.search(r"^([\d,]+) melodies", text, re.M)
    if not m:
        return None
    return {"command": m.group(1), "tunes_converted": int(m.group(3).replace(",", "")), "processes": int(m.group(4)),
            "seconds": int(m.group(5)), "tunes_per_second": float(m.group(6)),
            "melodies": int(melodies.group(1).replace(",", "")) if melodies else None}


def markdown(r: dict) -> str:
    lines = ["# Building the folk corpus: conversion speed", "",
             f"`python benchmarks/datasets_build.py --tunes {r['tunes']}`: the same {r['tunes']} tunes (every "
             f"{r['every']}th of the {r['of']:,} in music21's three ABC collections), converted by music21 with no "
             f"cache, on 1 process and on all {r['cores']} cores (a spawn process pool; its start-up, each "
             "worker importing music21, is inside the time). Load: the 1-minute load average before / after "
             "(this machine is shared; other jobs slow these figures).", "",
             "| processes | tunes | seconds | tunes/s | skipped | load before / after |", "|---|---|---|---|---|---|"]
    for m in r["runs"]:
        lines.append(f"| {m['processes']} | {m['tunes']} | {m['seconds']} | {m['tunes_per_second']} | {m['skipped']} | "
                     f"{m['load_before']} / {m['load_after']} |")
    one, many = r["runs"][0], r["runs"][-1]
    lines += ["", f"Speed-up on {many['processes']} processes: {many['tunes_per_second'] / one['tunes_per_second']:.2f}x."]
    if r.get("full_build"):
        f = r["full_build"]
        lines += ["", f"The full build (`{f['command']}`, datasets/folk/PROVENANCE.md): {f['tunes_converted']:,} tunes "
                  f"on {f['processes']} processes in {f['seconds']:,} s ({f['tunes_per_second']} tunes/s), "
                  f"{f['melodies']:,} melodies kept."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tunes", type=int, default=400)
    parser.add_argument("--refresh", action="store_true", help="no measuring: rewrite the results with the full "
                        "build's figures from datasets/folk/PROVENANCE.md")
    a = parser.parse_args()
    if a.refresh:
        result = json.loads((RESULTS / "datasets_build.json").read_text())
        result["full_build"] = full_build()
        (RESULTS / "datasets_build.json").write_text(json.dumps(result, indent=2) + "\n")
        (RESULTS / "datasets_build.md").write_text(markdown(result))
        print(markdown(result))
        return
    from genforge.domains.music.folk import jobs
    from genforge.domains.music.scores import need_music21

    music21 = need_music21("folk melodies")
    every = list(jobs(Path(music21.__file__).parent / "corpus"))
    step = max(1, len(every) // a.tunes)
    chosen = every[::step][:a.tunes]
    cores = os.cpu_count() or 1
    runs = [measure(chosen, 1), measure(chosen, cores)]
    result = {"tunes": len(chosen), "every": step, "of": len(every), "cores": cores, "runs": runs,
              "full_build": full_build()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "datasets_build.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "datasets_build.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
