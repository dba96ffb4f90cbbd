"""`genforge datasets build folk`: the folk melodies of the music21 corpus as notes archives.

Three collections of ABC tunes ship with music21: the Essen folksong collection (European songs,
mostly German), O'Neill's Music of Ireland (1850) and Ryan's Mammoth Collection (1883, American
fiddle tunes). Each tune (an `X:` record of an ABC file, with the file's header fields) is one
job of genforge.domains.music.corpus_build: parsed by music21 on all cores, cached, resumable.

A melody is one voice: the tune's first part (a tune written in several voices keeps its first),
a chord (a fiddle's double stop) gives its highest pitch, chord symbols are left out. Metres are
kept as the tune gives them, changes included (6/8, 2/4, 3/4, 4/4, 9/8...); a tune without a
metre (free rhythm) is skipped and counted, as is a tune music21 cannot parse.

One archive per collection (`essen.npz`, `oneills.npz`, `ryans.npz`), so `--data datasets/folk`
trains on all three and `--data datasets/folk/oneills.npz` on one.
"""
from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

from genforge.domains.music.corpus import ArchivePiece, write_notes_archive
from genforge.domains.music.corpus_build import CACHE_FOLDER, BuildRun, Job, Result, job_key, run_jobs
from genforge.domains.music.roll import Voice
from genforge.domains.music.scores import TICKS_PER_BEAT, metre_problem, need_music21, parts_notes
from genforge.errors import GenforgeError

# music21 corpus folder -> (archive stem, what it is)
COLLECTIONS = {
    "essenFolksong": ("essen", "the Essen folksong collection (EsAC; ABC encodings by Seymour Schlien)"),
    "oneills1850": ("oneills", "O'Neill's Music of Ireland, 1850 (ABC transcriptions by Norbert Paap)"),
    "ryansMammoth": ("ryans", "Ryan's Mammoth Collection, 1883 (ABC contributed by John Chambers)"),
}
TEMPO = 100.0
PROGRAM = 73                     # General MIDI "Flute": one program for every melody
CONVERTER = "folk-1"             # changes when a tune would convert differently: the cache is redone
_X = re.compile(r"^X:\s*(\d*)", re.M)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")          # older ABC files: every byte a character


def tunes_of(text: str) -> list[tuple[int, str]]:
    """(X number, text) of each tune in an ABC file, the file header's fields (before the first
    `X:`, applying to every tune) put in front of each."""
    starts = [m.start() for m in _X.finditer(text)]
    if not starts:
        return []
    header = "\n".join(line for line in text[:starts[0]].splitlines() if re.match(r"^[A-Za-z]:", line))
    out = []
    for i, s in enumerate(starts):
        body = text[s:starts[i + 1] if i + 1 < len(starts) else len(text)]
        number = _X.match(body).group(1)
        first, _, rest = body.partition("\n")
        out.append((int(number) if number else i + 1, first + "\n" + (header + "\n" if header else "") + rest))
    return out


def jobs(corpus_root: Path, limit: int | None = None) -> list[Job]:
    """One job per tune of every collection, in a fixed order (collection, file, position)."""
    out = []
    for folder, (stem, _) in COLLECTIONS.items():
        names: Counter = Counter()
        for path in sorted((corpus_root / folder).glob("*.abc")):
            for number, tune in tunes_of(_read_text(path)):
                base = f"{stem}-{path.stem}-{number:04d}"
                names[base] += 1
                name = base + (f"_{names[base]}" if names[base] > 1 else "") + ".mid"
                source = f"{folder}/{path.name} X:{number}"
                out.append(Job(job_key(CONVERTER, source, tune), name, source, tune, stem))
    return out[:limit] if limit else out


def convert_tune(job: Job) -> Result:
    """One ABC tune -> its melody's notes (voice 0), or the reason it is skipped."""
    from music21 import converter, stream

    score = converter.parse(job.payload, format="abc")
    if isinstance(score, stream.Opus):
        score = score.scores[0] if score.scores else None
    parts = list(score.parts) if score is not None and score.parts else ([score] if score is not None else [])
    if not parts:
        return Result(None, [], {}, "no music")
    notes, sigs, facts = parts_notes(parts[:1], top_only=True)
    facts["voices"] = len(parts)
    if facts.pop("no_time_signature"):
        return Result(None, [], facts, "no time signature (free metre)")
    if not len(notes):
        return Result(None, [], facts, "no notes")
    return Result(notes, sigs, facts)


def build(out: str | Path = "datasets/folk", command: str = "genforge datasets build folk", processes: int = 1,
          limit: int | None = None, quiet: bool = False) -> list[Path]:
    """Write <out>/essen.npz, oneills.npz, ryans.npz (each collection with a tune), the corpus
    licences and PROVENANCE.md; returns the written files. Per-tune results are cached in
    <out>/.cache, so an interrupted build continues. `limit`: the first tunes only (tests)."""
    music21 = need_music21("folk melodies")
    from genforge.atomic import write_text

    out = Path(out)
    root = Path(music21.__file__).parent / "corpus"
    todo = jobs(root, limit)
    if not todo:
        raise GenforgeError(f"{root}: no ABC tunes in music21's corpus (a music21 without its corpus?)")
    started = time.perf_counter()
    run = run_jobs(todo, convert_tune, out / CACHE_FOLDER, processes, quiet, "converting tunes")
    for _, r in run.results:            # checked here, not in the (cached) conversion: a rule the archive sets
        if r.skipped is None and metre_problem(r.sigs):
            r.skipped = metre_problem(r.sigs)
    voice = [Voice("Melody", PROGRAM, 0)]
    written = []
    for folder, (stem, _) in COLLECTIONS.items():
        pieces = [ArchivePiece(job.name, r.notes, r.sigs, job.source) for job, r in run.results
                  if job.group == stem and r.skipped is None]
        if pieces:
            written.append(write_notes_archive(out / f"{stem}.npz", pieces, voice, TICKS_PER_BEAT, TEMPO))
    if not written:
        raise GenforgeError(f"none of the {len(todo)} tunes converted: {dict(run.skipped())}")
    for name, src in (("LICENSE_music21_corpus.txt", root / "license.txt"),
                      ("LICENSE_essen.txt", root / "essenFolksong" / "license.txt")):
        if src.is_file():
            written.append(write_text(out / name, src.read_text(encoding="utf-8", errors="replace")))
    written.append(write_text(out / "PROVENANCE.md", "\n".join(
        _provenance(run, written, music21.__version__, command, time.perf_counter() - started))))
    for path in written:
        path.chmod(0o644)
    return written


def _provenance(run: BuildRun, archives: list[Path], version: str, command: str, seconds: float) -> list[str]:
    ok = [(job, r) for job, r in run.results if r.skipped is None]
    per_group = Counter(job.group for job, _ in ok)
    total_group = Counter(job.group for job, _ in run.results)
    metres = Counter(m for _, r in ok for m in {f"{a}/{b}" for _, a, b in r.sigs})
    changing = sum(len(r.sigs) > 1 for _, r in ok)
    n_notes = sum(len(r.notes) for _, r in ok)
    lo = min(int(r.notes[:, 1].min()) for _, r in ok)
    hi = max(int(r.notes[:, 1].max()) for _, r in ok)
    chords = sum(r.facts.get("chords", 0) for _, r in ok)
    graces = sum(r.facts.get("grace_notes", 0) for _, r in ok)
    several = sum(r.facts.get("voices", 1) > 1 for _, r in ok)
    rate = run.pieces_per_second()
    sizes = ", ".join(f"`{p.name}` {p.stat().st_size:,} bytes" for p in archives if p.suffix == ".npz")
    lines = [
        "# datasets/folk: folk melodies from the music21 corpus", "",
        f"{len(ok):,} melodies (one voice each) as genforge notes archives, one per collection. Read by "
        "`genforge train music --data datasets/folk` (all) or `--data datasets/folk/oneills.npz` (one "
        "collection) with numpy alone; music21 is needed only to build them.", "",
        "**Not committed to the repository**: rebuild with `pip install \"genforge[corpora]\" && "
        "genforge datasets build folk` (the archives and the `.cache` folder are git-ignored). The Essen "
        "encodings may be distributed for non-commercial use only, by permission given to music21 "
        "(`LICENSE_essen.txt`); the O'Neill and Ryan transcriptions carry no licence of their own beyond "
        "music21's corpus licence (`LICENSE_music21_corpus.txt`). So genforge ships the converter, not the "
        "notes.", "",
        "## Provenance", "",
        f"- **Source**: the ABC files of the corpus bundled with music21 {version}: " +
        "; ".join(f"`music21/corpus/{folder}/` ({what})" for folder, (_, what) in COLLECTIONS.items()) + ".",
        f"- **Built by**: `{command}` (`genforge/domains/music/folk.py`) in {seconds:.0f} s: {run.converted:,} tunes "
        f"converted on {run.processes} process(es) in {run.seconds:.0f} s"
        + (f" ({rate:.1f} tunes/s)" if rate else "") + f", {run.cached:,} taken from the build's cache.",
        f"- **Archives**: {sizes}.", "",
        "## Contents", "",
        "- Tunes per collection (converted of found): " +
        ", ".join(f"{stem} {per_group[stem]:,} of {total_group[stem]:,}" for stem, _ in COLLECTIONS.values()) + ".",
        f"- {n_notes:,} notes; pitches MIDI {lo}-{hi}; {chords:,} chords reduced to their top note, {graces:,} "
        f"grace notes left out; {several} tunes written in several voices kept their first.",
        "- Metres (tunes with a section in it): " + ", ".join(f"{k} {v:,}" for k, v in metres.most_common(25)) +
        (f", and {len(metres) - 25} rarer ones" if len(metres) > 25 else "") + f"; {changing:,} tunes change metre.",
        "- Skipped tunes: " + (", ".join(f"{why}: {n}" for why, n in run.skipped().most_common()) or "none") + ".", "",
        "## Conversion", "",
        "- One melody per tune: the first part (ABC voice); ties merged; chords to their highest pitch; chord "
        "symbols and grace notes left out. Repeats are not expanded.",
        "- Pickup bars padded with rest in front, so every bar line falls on a whole number of bars; every "
        "metre change kept at its position. Times in ticks of 1/48 quarter note; a nominal tempo of "
        f"{TEMPO:g} bpm.",
        "- Piece names `COLLECTION-FILE-XXXX.mid` (XXXX: the tune's `X:` number) work as file names in labels "
        "files.", "",
    ]
    return lines
