"""`genforge datasets build palestrina`: the Palestrina mass movements of the music21 corpus
(Humdrum **kern, 4 to 6 voices) as notes archives, one per number of voices.

Each movement file is one job of genforge.domains.music.corpus_build (all cores, cached,
resumable). Voices keep the score's order, top to bottom ("Voice 1" the highest part as written);
a notes archive holds pieces of one voice layout, so the movements go to `palestrina-4v.npz`,
`palestrina-5v.npz`, `palestrina-6v.npz`...: `--data datasets/palestrina` trains on the most common
count (the others are skipped and counted), `--data datasets/palestrina/palestrina-4v.npz` on one.
"""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from genforge.domains.music.corpus import ArchivePiece, write_notes_archive
from genforge.domains.music.corpus_build import CACHE_FOLDER, BuildRun, Job, Result, job_key, run_jobs
from genforge.domains.music.roll import Voice
from genforge.domains.music.scores import TICKS_PER_BEAT, metre_problem, need_music21, parts_notes
from genforge.errors import GenforgeError

TEMPO = 80.0
PROGRAM = 52                     # General MIDI "Choir Aahs"
CONVERTER = "palestrina-1"
VOICES = range(2, 9)             # voice counts given an archive; others are skipped and counted


def jobs(corpus_root: Path, limit: int | None = None) -> list[Job]:
    """One job per movement file, sorted by name."""
    files = sorted((corpus_root / "palestrina").glob("*.krn"))[:limit or None]
    return [Job(job_key(CONVERTER, f.name, f.read_bytes().decode("latin-1")), f.stem + ".mid",
                f"palestrina/{f.name}", str(f)) for f in files]


def convert_movement(job: Job) -> Result:
    """One kern file -> the notes of its voices (voice 0 the top part), or why it is skipped."""
    from music21 import converter

    score = converter.parse(job.payload, format="humdrum")
    parts = list(score.parts)
    if len(parts) not in VOICES:
        return Result(None, [], {}, f"{len(parts)} voices")
    notes, sigs, facts = parts_notes(parts)
    facts["voices"] = len(parts)
    if facts.pop("no_time_signature"):
        return Result(None, [], facts, "no time signature")
    if not len(notes):
        return Result(None, [], facts, "no notes")
    return Result(notes, sigs, facts)


def build(out: str | Path = "datasets/palestrina", command: str = "genforge datasets build palestrina",
          processes: int = 1, limit: int | None = None, quiet: bool = False) -> list[Path]:
    """Write <out>/palestrina-<N>v.npz per voice count, the corpus licence and PROVENANCE.md;
    returns the written files. Per-movement results are cached in <out>/.cache."""
    music21 = need_music21("Palestrina masses")
    from genforge.atomic import write_text

    out = Path(out)
    root = Path(music21.__file__).parent / "corpus"
    todo = jobs(root, limit)
    if not todo:
        raise GenforgeError(f"{root / 'palestrina'}: no kern files in music21's corpus (a music21 without its corpus?)")
    started = time.perf_counter()
    run = run_jobs(todo, convert_movement, out / CACHE_FOLDER, processes, quiet, "converting movements")
    for _, r in run.results:            # checked here, not in the (cached) conversion: a rule the archive sets
        if r.skipped is None and metre_problem(r.sigs):
            r.skipped = metre_problem(r.sigs)
    ok = [(job, r) for job, r in run.results if r.skipped is None]
    written = []
    for n in sorted({r.facts["voices"] for _, r in ok}):
        pieces = [ArchivePiece(job.name, r.notes, r.sigs, job.source) for job, r in ok if r.facts["voices"] == n]
        voices = [Voice(f"Voice {i + 1}", PROGRAM, i) for i in range(n)]
        written.append(write_notes_archive(out / f"palestrina-{n}v.npz", pieces, voices, TICKS_PER_BEAT, TEMPO))
    if not written:
        raise GenforgeError(f"none of the {len(todo)} movements converted: {dict(run.skipped())}")
    licence = root / "license.txt"
    if licence.is_file():
        written.append(write_text(out / "LICENSE_music21_corpus.txt", licence.read_text(encoding="utf-8")))
    written.append(write_text(out / "PROVENANCE.md", "\n".join(
        _provenance(run, written, music21.__version__, command, time.perf_counter() - started))))
    for path in written:
        path.chmod(0o644)
    return written


def _provenance(run: BuildRun, archives: list[Path], version: str, command: str, seconds: float) -> list[str]:
    ok = [(job, r) for job, r in run.results if r.skipped is None]
    per_count = Counter(r.facts["voices"] for _, r in ok)
    metres = Counter(m for _, r in ok for m in {f"{a}/{b}" for _, a, b in r.sigs})
    rate = run.pieces_per_second()
    sizes = ", ".join(f"`{p.name}` {p.stat().st_size:,} bytes" for p in archives if p.suffix == ".npz")
    return [
        "# datasets/palestrina: Palestrina's masses from the music21 corpus", "",
        f"{len(ok):,} mass movements as genforge notes archives, one per number of voices: " +
        ", ".join(f"{n} voices {k:,}" for n, k in sorted(per_count.items())) + ".", "",
        "**Not committed to the repository**: every kern file says \"Copyright 2000, John Miller. Rights to all "
        "derivative electronic formats reserved\" (its `!!!YEC`/`!!!YEM` records; music21 distributes them by "
        "permission, `LICENSE_music21_corpus.txt`). Rebuild with `pip install \"genforge[corpora]\" && genforge "
        "datasets build palestrina` (the archives and `.cache` are git-ignored).", "",
        "## Provenance", "",
        f"- **Source**: `music21/corpus/palestrina/*.krn` of music21 {version} (Humdrum **kern, encoded by John "
        "Miller from Le Opere Complete).",
        f"- **Built by**: `{command}` (`genforge/domains/music/palestrina.py`) in {seconds:.0f} s: {run.converted:,} "
        f"movements converted on {run.processes} process(es) in {run.seconds:.0f} s" +
        (f" ({rate:.2f} movements/s)" if rate else "") + f", {run.cached:,} taken from the build's cache.",
        f"- **Archives**: {sizes}.", "",
        "## Contents", "",
        f"- {sum(len(r.notes) for _, r in ok):,} notes. Metres (movements with a section in it): " +
        ", ".join(f"{k} {v:,}" for k, v in metres.most_common()) + ".",
        "- Skipped movements: " + (", ".join(f"{why}: {n}" for why, n in run.skipped().most_common()) or "none") + ".",
        "",
        "## Conversion", "",
        "- Voices in the score's order, top to bottom (`Voice 1` the highest part as written); ties merged; grace "
        "notes left out; pickups padded with rest in front; every metre change kept. Ticks of 1/48 quarter note, "
        f"a nominal {TEMPO:g} bpm. Names: the kern file's stem + `.mid`.", "",
    ]
