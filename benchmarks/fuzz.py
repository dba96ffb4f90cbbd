"""Long fuzzing run of every reader a user can point at a file (project issue #13, part 1).

    python benchmarks/fuzz.py                       # 10,000 cases per reader, all six readers
    python benchmarks/fuzz.py --cases 2000 --readers midi,labels

Hypothesis draws the cases (tests/fuzz_cases.py, tests/fuzz_models.py: grammars of each format and
mutations of the real files, seeded from ../shared/datasets, datasets/chorales and copies of the
bundled models) in this process; each case is written to a fresh folder and read by a worker
process (tests/fuzz_targets.py), so that a case still running after --timeout seconds is a "hang"
(the worker is killed and replaced) and one whose peak memory grows more than --memory-mb over the
worker's resting size (Linux's VmHWM, reset before each case) is "memory". Outcomes per reader:
result / clean error (one GenforgeError naming the file) / traceback (anything else, a worker that
died included) / hang / memory. Counts go to benchmarks/results/fuzz.json and fuzz.md; a run of
some readers updates theirs and keeps the others'.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
RESULTS = ROOT / "benchmarks" / "results"
OUTCOMES = ("result", "clean error", "traceback", "hang", "memory")
NAMES = {"levels": "VGLC level text + legend JSON", "tiled": "Tiled map (.tmj)", "midi": "MIDI file",
         "labels": "label sidecars (labels.csv / labels.json)", "archive": "notes archive (.npz)",
         "model": "model folder (genforge.json, prior.npz, .onnx, .keras)"}


def _rss_kb(field: str) -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _worker(conn, memory_kb: int, keras: bool) -> None:
    """Read cases until the pipe closes: (reader, entry, options, root) -> (outcome, detail, peak kB).
    `keras`: import Keras (TensorFlow) first, as model cases with .keras files need it: an import of
    several seconds is the worker's start, not a case's time or memory."""
    import warnings

    from fuzz_targets import judge

    warnings.simplefilter("ignore")
    if keras:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras  # noqa: F401
    # A safety net under the measurement: a case that runs away fails to allocate long before the
    # machine runs out (MemoryError, reported as "memory").
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = (_rss_kb("VmSize") + 4 * memory_kb + (2 << 20)) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    conn.send("ready")
    while True:
        try:
            reader, entry, options, root = conn.recv()
        except EOFError:
            return
        try:
            Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM, the peak resident size
        except OSError:
            pass
        rest = _rss_kb("VmRSS")
        outcome, detail = judge(reader, Path(entry), options, Path(root))
        grown = _rss_kb("VmHWM") - rest
        if grown > memory_kb and outcome != "memory":
            outcome, detail = "memory", f"peak memory grew by {grown // 1024} MB ({outcome}: {detail[:200]})"
        conn.send((outcome, detail, grown))


class Worker:
    def __init__(self, memory_kb: int, keras: bool = False):
        self.memory_kb, self.keras = memory_kb, keras
        self.start()

    def start(self) -> None:
        ctx = mp.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, self.memory_kb, self.keras), daemon=True)
        self.proc.start()
        child.close()
        if not self.conn.poll(300) or self.conn.recv() != "ready":
            raise RuntimeError("a fuzzing worker did not start")

    def run(self, reader: str, entry: Path, options: dict, root: Path, timeout: float) -> tuple[str, str, int]:
        self.conn.send((reader, str(entry), options, str(root)))
        if self.conn.poll(timeout):
            try:
                return self.conn.recv()
            except EOFError:
                pass
        if self.proc.is_alive():  # still running: a hang
            self.proc.kill()
            self.proc.join()
            self.start()
            return "hang", f"still running after {timeout:g} s", 0
        code = self.proc.exitcode
        self.proc.join()
        self.start()
        return "traceback", f"the worker died (exit code {code}: a crash in native code, or killed)", 0

    def close(self) -> None:
        self.conn.close()
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()


def fuzz_reader(reader: str, cases: int, seed: int, timeout: float, memory_kb: int, work: Path) -> dict:
    from fuzz_cases import archive_cases, labels_cases, level_cases, materialize, midi_cases, tiled_cases
    from fuzz_models import model_cases
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fixed_seed

    strategy = {"levels": level_cases, "tiled": tiled_cases, "midi": midi_cases, "labels": labels_cases,
                "archive": archive_cases, "model": model_cases}[reader]()
    counts: Counter = Counter()
    problems: dict[str, dict] = {}
    errors: Counter = Counter()
    peak = [0]
    worker = Worker(memory_kb, keras=reader == "model")
    started = time.perf_counter()

    @fixed_seed(seed)
    @settings(max_examples=cases, phases=[Phase.generate], database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        root = Path(tempfile.mkdtemp(prefix="case-", dir=work))
        try:
            entry = materialize(case, root)
            outcome, detail, grown = worker.run(reader, entry, case.options, root, timeout)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        counts[outcome] += 1
        peak[0] = max(peak[0], grown)
        detail = detail.replace(str(root), "CASE")
        if outcome == "clean error":
            errors[detail.split(":")[1].strip()[:70] if ":" in detail else detail[:70]] += 1
        else:
            if outcome != "result":
                key = detail.strip().splitlines()[-1][:200] if detail.strip() else outcome
                problems.setdefault(key, {"outcome": outcome, "case": case.what, "detail": detail[-2000:], "n": 0})
                problems[key]["n"] += 1
        n = sum(counts.values())
        if n % 500 == 0:
            print(f"  {reader}: {n} cases, {dict(counts)}, {time.perf_counter() - started:.0f} s", flush=True)

    try:
        run()
    finally:
        worker.close()
    return {"reader": NAMES[reader], "cases": sum(counts.values()), "outcomes": {o: counts.get(o, 0) for o in OUTCOMES},
            "seconds": round(time.perf_counter() - started, 1), "peak_memory_growth_mb": round(peak[0] / 1024, 1),
            "problems": list(problems.values()), "common_errors": dict(errors.most_common(12))}


def markdown(results: dict) -> str:
    lines = ["# Fuzzing the readers (`python benchmarks/fuzz.py`)", "",
             "Each case is a file (or folder) Hypothesis drew from a grammar of the format or mutated from a real "
             "one, read in a worker process: a case must end in a result or one GenforgeError naming the file "
             "(the CLI's one-line `genforge: error:`, exit 2). Hang: still running after "
             f"{results['timeout_s']:g} s; memory: peak resident memory grew more than {results['memory_mb']} MB.", "",
             "| reader | cases | result | clean error | traceback | hang | memory | seconds |",
             "|---|---|---|---|---|---|---|---|"]
    for key, r in results["readers"].items():
        o = r["outcomes"]
        lines.append(f"| {r['reader']} | {r['cases']:,} | {o['result']:,} | {o['clean error']:,} | {o['traceback']} | "
                     f"{o['hang']} | {o['memory']} | {r['seconds']:.0f} |")
    lines += ["", f"Seeds: {results['seeds']}. Machine: {results['machine']}.", ""]
    for key, r in results["readers"].items():
        if r["problems"]:
            lines += [f"## {r['reader']}: cases that did not end cleanly", ""]
            for p in r["problems"]:
                lines += [f"- {p['n']} x {p['outcome']} ({p['case']}): `{p['detail'].strip().splitlines()[-1][:200]}`"]
            lines.append("")
    lines += ["## The clean errors seen most, per reader", ""]
    for key, r in results["readers"].items():
        lines.append(f"- {r['reader']}: " + "; ".join(f"{n} x \"{e}\"" for e, n in list(r["common_errors"].items())[:6]))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000, help="cases per reader")
    parser.add_argument("--readers", default=",".join(NAMES), help=f"comma-separated, of {', '.join(NAMES)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a case is a hang")
    parser.add_argument("--memory-mb", type=int, default=1024, help="peak memory growth that makes a case 'memory'")
    a = parser.parse_args()
    from fuzz_cases import missing_seeds

    readers = [r.strip() for r in a.readers.split(",") if r.strip()]
    unknown = set(readers) - set(NAMES)
    if unknown:
        parser.error(f"unknown readers {sorted(unknown)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "fuzz.json"
    results = json.loads(path.read_text()) if path.is_file() else {"readers": {}}
    absent = missing_seeds()
    results.update(timeout_s=a.timeout, memory_mb=a.memory_mb, machine=f"{platform.machine()}, {os.cpu_count()} CPUs "
                   f"(shared), Python {platform.python_version()}",
                   seeds="all present" if not absent else "; ".join(f"{k}: {v}" for k, v in absent.items()))
    work = Path(tempfile.mkdtemp(prefix="genforge-fuzz-"))
    try:
        for reader in readers:
            print(f"{reader}: {a.cases} cases", flush=True)
            r = fuzz_reader(reader, a.cases, a.seed, a.timeout, a.memory_mb * 1024, work)
            r["seed"] = a.seed
            results["readers"][reader] = r
            results["readers"] = {k: results["readers"][k] for k in NAMES if k in results["readers"]}
            path.write_text(json.dumps(results, indent=2) + "\n")
            (RESULTS / "fuzz.md").write_text(markdown(results))
            print(f"{reader}: {r['cases']} cases in {r['seconds']:.0f} s: {r['outcomes']}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
