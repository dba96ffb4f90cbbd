"""Fuzzing every reader a user can point at a file (project issue #13, part 1), short profile.

Hypothesis draws files from a grammar of each format and mutates real ones (tests/fuzz_cases.py,
tests/fuzz_models.py); each case must end in a result or one GenforgeError naming the file
(tests/fuzz_targets.py). This profile runs a few examples per reader, derandomized, so CI
is reproducible and the file takes seconds; `python benchmarks/fuzz.py` runs the long profile,
each case in a worker process that catches hangs and memory.

GENFORGE_FUZZ_PROFILE=fuzz-medium (or fuzz-long) runs more examples here.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from fuzz_cases import archive_cases, labels_cases, level_cases, materialize, midi_cases, missing_seeds, tiled_cases
from fuzz_models import model_cases
from fuzz_targets import judge
from hypothesis import HealthCheck, Phase, given, settings

COMMON = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck), print_blob=False)
settings.register_profile("fuzz-short", max_examples=12, derandomize=True,
                          **COMMON)
settings.register_profile("fuzz-medium", max_examples=300, derandomize=True, **COMMON)
settings.register_profile("fuzz-long", max_examples=10_000, phases=[Phase.generate], **COMMON)
PROFILE = settings.get_profile(os.environ.get("GENFORGE_FUZZ_PROFILE", "fuzz-short"))
ALARM_S = 10  # a case still running after this long is a hang


def check(case) -> None:
    root = Path(tempfile.mkdtemp(prefix="genforge-fuzz-"))
    try:
        outcome, detail = judge(case.reader, materialize(case, root), case.options, root, alarm_s=ALARM_S)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert outcome in ("result", "clean error"), f"{case.what}: {outcome}\n{detail}"


def test_the_seed_corpora_are_there_or_the_reason_is_said():
    """Mutation seeds are the real files; without ../shared the grammars still run (this says so)."""
    absent = missing_seeds()
    if absent:
        pytest.skip("mutation seeds absent, grammar only: " + "; ".join(f"{k}: {v}" for k, v in absent.items()))


@settings(PROFILE)
@given(case=level_cases())
def test_fuzz_vglc_text_and_legends(case):
    check(case)


@settings(PROFILE)
@given(case=tiled_cases())
def test_fuzz_tiled_maps(case):
    check(case)


@settings(PROFILE)
@given(case=midi_cases())
def test_fuzz_midi(case):
    check(case)


@settings(PROFILE)
@given(case=labels_cases())
def test_fuzz_label_sidecars(case):
    check(case)


@settings(PROFILE)
@given(case=archive_cases())
def test_fuzz_notes_archives(case):
    check(case)


@settings(PROFILE)
@given(case=model_cases())
def test_fuzz_model_folders(case):
    check(case)
