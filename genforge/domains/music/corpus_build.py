"""Converting many pieces on all cores, resumably: the engine of `genforge datasets build folk` and
`palestrina`.

Each piece is one job (its source text or file, and a key hashed from the converter's version and
that source). Jobs run in a process pool (`processes`; 1 runs them in this process) and each result,
a note list or the reason the piece was skipped, is written to a cache folder under its key as
soon as it arrives. A build that is interrupted (Ctrl-C, a kill, a full disk) therefore loses only
the pieces in flight: the same command again takes every finished piece from the cache and
converts the rest. A piece music21 cannot parse is skipped with its reason and counted, never the
end of the build.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from genforge.errors import GenforgeError, brief

CACHE_FOLDER = ".cache"          # hidden: `genforge train --data` skips it when reading the folder


@dataclass(frozen=True)
class Job:
    """One piece to convert."""

    key: str                     # cache key (see job_key)
    name: str                    # the piece's name in the archive, e.g. "essen-erk5-0012.mid"
    source: str                  # where it comes from, e.g. "essenFolksong/erk5.abc X:12"
    payload: str                 # what the converter reads: the tune's text, or a file path
    group: str = ""              # which archive it goes to


@dataclass
class Result:
    """A converted piece, or why it was skipped."""

    notes: np.ndarray | None     # (N, 4) voice, pitch, start tick, end tick
    sigs: list                   # (tick, numerator, denominator)
    facts: dict = field(default_factory=dict)
    skipped: str | None = None   # the reason, for a piece left out


@dataclass
class BuildRun:
    """What a build did: each job's result, in job order, and how long converting took."""

    results: list[tuple[Job, Result]]
    converted: int               # pieces converted by this run (the others came from the cache)
    cached: int
    seconds: float               # converting only: from the first job started to the last result
    processes: int

    def skipped(self) -> Counter:
        return Counter(r.skipped for _, r in self.results if r.skipped)

    def pieces_per_second(self) -> float | None:
        return self.converted / self.seconds if self.converted and self.seconds > 0 else None


def job_key(version: str, *parts: str) -> str:
    """The cache key of a job: its converter's version and its source, hashed."""
    digest = hashlib.sha256(version.encode())
    for part in parts:
        digest.update(b"\0" + part.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


def _cache_file(cache: Path, key: str) -> Path:
    return cache / f"{key}.npz"


def _write_cached(cache: Path, key: str, result: Result) -> None:
    from genforge.atomic import atomic_path

    notes = np.zeros((0, 4), np.int32) if result.notes is None else np.asarray(result.notes, np.int32)
    meta = json.dumps({"facts": result.facts, "skipped": result.skipped})
    with atomic_path(_cache_file(cache, key)) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, notes=notes, sigs=np.asarray(result.sigs, np.int32).reshape(-1, 3), meta=np.array(meta))


def _read_cached(cache: Path, key: str) -> Result | None:
    """The cached result of a job, or None (absent or unreadable: converted again)."""
    path = _cache_file(cache, key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            notes, sigs = z["notes"].astype(np.int64), [tuple(int(v) for v in row) for row in z["sigs"]]
    except Exception:                # a file cut short by a kill mid-write is simply done again
        return None
    return Result(None if meta["skipped"] else notes, sigs, meta["facts"], meta["skipped"])


def _run_one(task: tuple[Callable[[Job], Result], Job]) -> tuple[str, Result]:
    """Convert one job in a worker; any exception is the piece's skip reason, never the build's end."""
    convert, job = task
    try:
        return job.key, convert(job)
    except Exception as e:           # music21 raises many kinds on a malformed tune: each is one skip
        return job.key, Result(None, [], {}, f"unparseable ({type(e).__name__}: {brief(e, 80)})")


def _progress(total: int, done: int, quiet: bool, what: str):
    if quiet:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    bar = Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                   TextColumn("{task.description}"))
    bar.start()
    bar.add_task("", total=total, completed=done)
    return bar


def run_jobs(jobs: list[Job], convert: Callable[[Job], Result], cache: Path | None, processes: int = 1,
             quiet: bool = False, what: str = "converting") -> BuildRun:
    """Every job's result: from the cache where present, else converted by `convert` (a module-level
    function, so worker processes can import it) on `processes` processes, each result cached as it
    arrives. Shows a progress bar unless `quiet`."""
    if processes < 1:
        raise GenforgeError(f"--jobs must be at least 1, got {processes}")
    if len({j.key for j in jobs}) != len(jobs):
        raise GenforgeError("two pieces of the build have the same source: the cache cannot tell them apart")
    results: dict[str, Result] = {}
    if cache is not None:
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise GenforgeError(f"{cache}: cannot create the build's cache folder: {e.strerror or e}") from None
        for job in jobs:
            found = _read_cached(cache, job.key)
            if found is not None:
                results[job.key] = found
    todo = [job for job in jobs if job.key not in results]
    bar = _progress(len(jobs), len(results), quiet, what)
    started = time.perf_counter()
    try:
        for now, (key, result) in enumerate(_results(todo, convert, processes), 1):
            results[key] = result
            if cache is not None:
                _write_cached(cache, key, result)
            if bar is not None:
                rate = now / max(time.perf_counter() - started, 1e-9)
                bar.update(bar.task_ids[0], advance=1, description=f"{rate:.1f} pieces/s")
    finally:
        if bar is not None:
            bar.stop()
    seconds = time.perf_counter() - started
    return BuildRun([(job, results[job.key]) for job in jobs], len(todo), len(jobs) - len(todo), seconds, processes)


def _results(todo: list[Job], convert, processes: int):
    """(key, result) of each job as it finishes: in this process, or from a pool of `processes`."""
    if processes == 1 or len(todo) < 2:
        for job in todo:
            yield _run_one((convert, job))
        return
    import multiprocessing

    # spawn, not fork: the parent may hold threads (the progress bar's) that a forked child would inherit
    # half-locked; each worker imports music21 once.
    with multiprocessing.get_context("spawn").Pool(min(processes, len(todo))) as pool:
        yield from pool.imap_unordered(_run_one, [(convert, job) for job in todo], chunksize=4)
