"""`genforge datasets build chorales`: the Bach chorales of the music21 corpus as one notes archive.

music21 (the optional `chorales` extra) is needed only here, to build the archive; training reads
the archive with numpy alone (`genforge train music --data datasets/chorales`).

What it does, per chorale of `music21.corpus.chorales.Iterator()` (Riemenschneider numbering):
the score file is parsed once even when several Riemenschneider numbers name it; the Soprano,
Alto, Tenor and Bass parts are kept in that order (scores without exactly one of each are
skipped and listed); tied notes are merged; a pickup bar is padded with rest in front, so bar
lines fall on whole bars from the start (as the shared MIDI conversion does); every time
signature is kept with its position, so 3/4, 3/2, 12/8 and changing metres survive. Times are in
ticks of 1/48 quarter note; tempo is a nominal 80 bpm (the scores carry none).
"""
from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genforge.domains.music.corpus import ArchivePiece, write_notes_archive
from genforge.domains.music.roll import Voice
from genforge.domains.music.scores import TICKS_PER_BEAT, need_music21, parts_notes
from genforge.errors import GenforgeError

TEMPO = 80.0
PROGRAM = 52                      # General MIDI "Choir Aahs"
SATB = ("Soprano", "Alto", "Tenor", "Bass")
ARCHIVE = "chorales.npz"
EXTRA_HINT = 'pip install "genforge[chorales]"'


def _music21():
    music21 = need_music21("chorales", EXTRA_HINT)
    from music21 import corpus

    return music21, corpus


def _satb_parts(score) -> list | None:
    """The S, A, T, B parts in order, or None when the score has no single SATB layout: exactly one
    part named each of Soprano, Alto, Tenor, Bass (instrument parts beside them are left out), or
    four unnamed Humdrum spines, taken from high to low."""
    parts = list(score.parts)
    named: dict[str, list] = {}
    for p in parts:
        name = (p.partName or p.id or "").strip().lower()
        if name.title() in SATB:
            named.setdefault(name.title(), []).append(p)
    if all(len(named.get(v, [])) == 1 for v in SATB):
        return [named[v][0] for v in SATB]
    spines = [p for p in parts if str(p.partName or p.id or "").startswith("spine_")]
    if len(parts) == 4 and len(spines) == 4:
        return sorted(parts, key=mean_pitch, reverse=True)
    return None


def mean_pitch(part) -> float:
    """The mean MIDI pitch of a part's notes (0 without notes): orders unnamed parts high to low."""
    return float(np.mean([x.midi for n in part.flatten().notes for x in n.pitches] or [0]))


def convert(score) -> tuple[np.ndarray, list[tuple[int, int, int]], dict] | None:
    """(notes (N, 4) voice, pitch, start tick, end tick; time signatures (tick, num, den); facts)
    of one chorale, or None without an SATB layout."""
    parts = _satb_parts(score)
    if parts is None:
        return None
    return parts_notes(parts)


@dataclass
class _Chorales:
    """What the iterator gave: the pieces taken, and what was left out and why."""

    pieces: list[ArchivePiece] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)                    # Riemenschneider number per piece
    duplicates: list[tuple[int, int, str]] = field(default_factory=list)   # number, number first taken, source
    skipped: list[tuple[int, str, str]] = field(default_factory=list)      # number, source, why
    metres: Counter = field(default_factory=Counter)                    # "3/4 -> 4/4" -> pieces
    graces_left_out: int = 0
    total: int = 0                                                      # Riemenschneider numbers seen


def _collect(corpus, limit: int | None) -> _Chorales:
    """Every chorale of music21's iterator (the first `limit` numbers), each score converted once."""
    found = _Chorales()
    seen: dict[str, int] = {}
    iterator = corpus.chorales.Iterator()
    catalogue = corpus.chorales.ChoraleList().byRiemenschneider
    for score in iterator:
        found.total += 1
        number = int(score.metadata.number) if score.metadata and score.metadata.number else found.total
        source = str(score.metadata.corpusFilePath or f"riemenschneider {number}")
        if source in seen:
            found.duplicates.append((number, seen[source], source))
        else:
            seen[source] = number
            converted = convert(score)
            if converted is None:
                names = ", ".join((p.partName or p.id or "?") for p in score.parts)
                found.skipped.append((number, source, f"no single S/A/T/B layout (parts: {names})"))
            else:
                notes, sigs, facts = converted
                found.graces_left_out += facts["grace_notes"]
                bwv = catalogue.get(number, {}).get("bwv") or Path(source).stem.removeprefix("bwv")
                found.pieces.append(ArchivePiece(f"riem{number:03d}_bwv{bwv}.mid", notes, sigs, source))
                found.numbers.append(number)
                found.metres[" -> ".join(f"{a}/{b}" for _, a, b in sigs)] += 1
        if limit and found.total >= limit:
            break
    return found


def build(out: str | Path = "datasets/chorales", command: str = "genforge datasets build chorales",
          limit: int | None = None) -> list[Path]:
    """Write <out>/chorales.npz and <out>/PROVENANCE.md; returns the written files.
    `limit`: stop after this many Riemenschneider numbers (for tests)."""
    music21, corpus = _music21()
    from genforge.atomic import write_text

    out = Path(out)
    started = time.perf_counter()
    found = _collect(corpus, limit)
    if not found.pieces:
        raise GenforgeError("music21's chorale iterator gave no usable chorale")
    voices = [Voice(name, PROGRAM, i) for i, name in enumerate(SATB)]
    archive = write_notes_archive(out / ARCHIVE, found.pieces, voices, TICKS_PER_BEAT, TEMPO,
                                  extra={"riemenschneider": np.array(found.numbers, np.int16)})
    lines = _provenance(found, archive, music21.__version__, command, time.perf_counter() - started)
    written = [archive]
    licence = Path(music21.__file__).parent / "corpus" / "license.txt"
    if licence.is_file():
        written.append(write_text(out / "LICENSE_music21_corpus.txt", licence.read_text(encoding="utf-8")))
    written.append(write_text(out / "PROVENANCE.md", "\n".join(lines)))
    for path in written:          # files to commit and share: readable by all, as a plain write would leave them
        path.chmod(0o644)
    return written


def _provenance(found: _Chorales, archive: Path, music21_version: str, command: str, seconds: float) -> list[str]:
    """The lines of PROVENANCE.md: source, licence, contents, comparison and conversion notes."""
    pieces, duplicates, skipped = found.pieces, found.duplicates, found.skipped
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    n_notes = sum(len(p.notes) for p in pieces)
    quarters = sum(int(p.notes[:, 3].max()) for p in pieces) / TICKS_PER_BEAT
    lo = min(int(p.notes[:, 1].min()) for p in pieces)
    hi = max(int(p.notes[:, 1].max()) for p in pieces)
    lines = [
        "# datasets/chorales: Bach chorales from the music21 corpus",
        "",
        f"`{ARCHIVE}` holds {len(pieces)} four-part chorales by J. S. Bach as note lists (genforge notes archive, "
        "read by `genforge train music --data datasets/chorales` with numpy alone; music21 is not needed to use it).",
        "",
        "## Provenance",
        "",
        f"- **Source**: the corpus bundled with the music21 package, version {music21_version} "
        "(`music21/corpus/bach/`), through `music21.corpus.chorales.Iterator()` (Riemenschneider numbering).",
        f"- **Built by**: `{command}` (genforge's `genforge/domains/music/chorales.py`), in {seconds:.0f} s.",
        f"- **Archive**: {archive.stat().st_size:,} bytes, sha256 `{digest}`.",
        "- **Licence**: the compositions are in the public domain. The encodings are distributed with music21 "
        "under its corpus licence, `music21/corpus/license.txt` in the music21 package (copied here as "
        "`LICENSE_music21_corpus.txt`): they are \"distributed with the permission of the encoders\"; some corpus "
        "items may restrict commercial use, so check each work's own licence (no Bach chorale encoding carries a "
        "separate one). music21 itself is BSD-3-Clause.",
        "",
        "## Contents",
        "",
        f"- {len(pieces)} chorales from {found.total} Riemenschneider numbers: {len(duplicates)} numbers repeat a "
        f"score already taken, {len(skipped)} scores have no single S/A/T/B layout.",
        f"- {n_notes:,} notes, {quarters:,.0f} quarter notes ({quarters / TEMPO / 60:.2f} h at {TEMPO:g} bpm); "
        f"pitches MIDI {lo}-{hi}.",
        "- Metres (pieces): " + ", ".join(f"{k} {v}" for k, v in found.metres.most_common()) + ".",
        "",
        "## Compared with the MIDI conversion in `../shared/datasets/midi/bach_chorales_music21`",
        "",
        "That set (348 files) was converted from the same music21 version by another route. The notes agree "
        "piece for piece, except: (1) here the Iterator's own file is taken for each number, so Riemenschneider "
        "126, 313 and 327 come from `bwv18.5-lz`, `bwv112.5-sc` and `bwv190.7-inst` and 333 repeats 293's "
        "`bwv69.6-a` (skipped as a repeat: 347 pieces, not 348); (2) bwv362 (riem252) and bwv304 (riem280) change "
        "from 4/4 to 3/4 part-way, which this archive keeps and the MIDI set writes as 4/4 throughout.",
        "",
        "## Conversion",
        "",
        "- Parts Soprano, Alto, Tenor, Bass in that order (voices 0-3; channel = voice, program 52 Choir Aahs when "
        "written as MIDI); instrumental parts beside them are left out. Scores of four unnamed Humdrum parts "
        "(`spine_N`) take them from high to low by mean pitch.",
        "- Tied notes merged (`stripTies`); chords, if any, become one note per pitch; grace notes (no duration "
        f"of their own) left out ({found.graces_left_out}). Repeats are not expanded; fermatas are not encoded.",
        "- **Pickup bars are padded with rest** in front (music21's `paddingLeft` of the first measure), so every "
        "bar line falls on a whole number of bars from the start; a later time signature starts a bar at its "
        "position.",
        f"- Times in ticks of 1/{TICKS_PER_BEAT} quarter note; genforge reads them onto its grid (4 steps per "
        "quarter by default), snapping and counting any note off the grid. Tempo: a nominal "
        f"{TEMPO:g} bpm for every piece.",
        "- Piece names `riemNNN_bwvX.mid` (Riemenschneider number, BWV number as music21's chorale list gives "
        "it) work as file names in labels files (labels.csv/.json).",
        "",
    ]
    if skipped:
        lines += ["## Skipped scores", ""] + [f"- Riemenschneider {n}, `{src}`: {why}" for n, src, why in skipped]
        lines.append("")
    if duplicates:
        lines += ["## Repeated scores", "",
                  "Riemenschneider numbers naming a score already taken: " +
                  ", ".join(f"{n} (= {first}, `{src}`)" for n, first, src in duplicates) + ".", ""]
    return lines
