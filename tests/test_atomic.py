"""Outputs under a full disk, in a read-only folder, and with two runs writing to one folder: a clear
error or success, and never a half-written or mixed output folder (genforge.atomic.atomic_folder)."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support import REPO, assert_user_error, file_hashes, invoke, run_cli

from genforge.atomic import atomic_folder, write_text
from genforge.errors import GenforgeError

NO_SPACE = os.strerror(errno.ENOSPC)


def everything_under(folder: Path) -> list[str]:
    """Every entry under `folder`, hidden ones and folders included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# ---------------------------------------------------------------- atomic_folder itself

def test_a_batch_that_fails_leaves_nothing_behind(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(GenforgeError, match=f"cannot write to {out}: {NO_SPACE}; nothing was written"):
        with atomic_folder(out) as staging:
            write_text(staging / "a.txt", "a")
            raise OSError(errno.ENOSPC, NO_SPACE)
    assert everything_under(tmp_path) == []


def test_a_batch_that_fails_leaves_an_existing_folder_as_it_was(tmp_path):
    write_text(tmp_path / "out" / "old.txt", "old")
    with pytest.raises(GenforgeError, match="nothing was written"):
        with atomic_folder(tmp_path / "out") as staging:
            write_text(staging / "old.txt", "new")
            raise OSError(errno.ENOSPC, NO_SPACE)
    assert everything_under(tmp_path) == ["out", "out/old.txt"] and (tmp_path / "out" / "old.txt").read_text() == "old"


def test_two_batches_racing_into_one_new_folder_each_land_whole(tmp_path):
    """Both start before either ends, so both stage beside `out`: the first to end is renamed into
    place, the second finds `out` there and moves its files in, replacing the names both wrote."""
    out = tmp_path / "out"
    with atomic_folder(out) as later:
        with atomic_folder(out) as earlier:
            for staging, run in ((earlier, "earlier"), (later, "later")):
                for name in ("a.txt", "b.txt", f"{run}.txt"):
                    write_text(staging / name, run)
    assert {p.name: p.read_text() for p in out.iterdir()} == {"a.txt": "later", "b.txt": "later",
                                                              "earlier.txt": "earlier", "later.txt": "later"}
    assert everything_under(tmp_path) == ["out", "out/a.txt", "out/b.txt", "out/earlier.txt", "out/later.txt"]


def test_files_wait_to_move_in_while_another_run_moves_its_own(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    out = tmp_path / "out"
    out.mkdir()
    other_run = os.open(out, os.O_RDONLY)
    fcntl.flock(other_run, fcntl.LOCK_EX)  # another run, moving its files in

    def publish():
        with atomic_folder(out) as staging:
            write_text(staging / "a.txt", "a")

    mover = threading.Thread(target=publish)
    mover.start()
    time.sleep(0.5)
    assert not (out / "a.txt").exists(), "moved in while the other run held the folder"
    os.close(other_run)
    mover.join(10)
    assert everything_under(out) == ["a.txt"]


# ---------------------------------------------------------------- a full disk

GENERATION_COMMANDS = {
    "sample levels": ["sample", "levels", "-n", "6", "--seed", "2"],
    "sample levels --length": ["sample", "levels", "-n", "3", "--seed", "2", "--length", "60"],
    "sample music": ["sample", "music", "-n", "3", "--seed", "2"],
    "interpolate levels": ["interpolate", "levels", "--from-seed", "1", "--to-seed", "2", "--steps", "4"],
    "interpolate music": ["interpolate", "music", "--from-seed", "1", "--to-seed", "2", "--steps", "4"],
}


def disk_full_after(monkeypatch, files: int) -> None:
    """Writes through Path.write_bytes (every output but MIDI, which mido writes) succeed for
    `files` files; the next gets half its bytes on disk, then 'No space left on device'."""
    real_write = Path.write_bytes
    written = []

    def write_bytes(path, data):
        if len(written) >= files:
            real_write(path, data[:len(data) // 2])
            raise OSError(errno.ENOSPC, NO_SPACE)
        written.append(path)
        return real_write(path, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


@pytest.mark.parametrize("name", GENERATION_COMMANDS)
def test_a_disk_that_fills_up_mid_run_leaves_no_output_folder(name, tmp_path, monkeypatch):
    out = tmp_path / "out"
    disk_full_after(monkeypatch, files=4)
    res = invoke(*GENERATION_COMMANDS[name], "--out", out)
    assert_user_error(res, f"cannot write to {out}: {NO_SPACE}; nothing was written")
    assert everything_under(tmp_path) == [], "a partial file or the staging folder was left"


@pytest.mark.parametrize("name", ["sample levels", "sample music"])
def test_a_disk_that_fills_up_mid_run_leaves_an_earlier_runs_folder_as_it_was(name, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert invoke(*GENERATION_COMMANDS[name], "--out", out).returncode == 0
    before = file_hashes(out)
    disk_full_after(monkeypatch, files=4)
    res = invoke(*GENERATION_COMMANDS[name], "--seed", "9", "--out", out)
    assert_user_error(res, NO_SPACE, "nothing was written")
    assert file_hashes(out) == before and everything_under(out) == sorted(before)


def mount_tmpfs(folder: Path, options: str) -> bool:
    """A fresh tmpfs on `folder` (needs root and a kernel that lets this process mount)."""
    folder.mkdir(exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MB file system: where a run really runs out of space."""
    disk = tmp_path / "disk"
    if not mount_tmpfs(disk, "size=1m"):
        pytest.skip("mounting a small tmpfs needs root (the simulated full disk above runs everywhere)")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_a_run_that_fills_a_real_disk_fails_clearly_and_frees_it(small_disk):
    """Three pieces need 1.6 MB (each .wav 0.5 MB): the third fills the disk."""
    res = run_cli("sample", "music", "-n", "3", "--out", small_disk / "music", timeout=120)
    assert_user_error(res, f"cannot write to {small_disk / 'music'}: {NO_SPACE}; nothing was written")
    assert everything_under(small_disk) == []
    res = run_cli("sample", "music", "-n", "1", "--out", small_disk / "music", timeout=120)
    assert res.returncode == 0, res.stderr  # the failed run's files are gone, so a run that fits still fits
    assert sorted(everything_under(small_disk / "music")) == ["music-0-000.mid", "music-0-000.png",
                                                               "music-0-000.wav", "sheet-0.png"]


# ---------------------------------------------------------------- a read-only folder

@pytest.fixture
def read_only_folder(tmp_path, monkeypatch):
    """A folder nobody can write into: chmod for a user; a read-only tmpfs for root, whom chmod does
    not stop; failing that, os.mkdir refusing new folders in it as a read-only file system would."""
    folder = tmp_path / "read-only"
    write_text(folder / "kept.txt", "kept")
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
    elif mount_tmpfs(folder, "ro,size=64k"):
        yield folder
        subprocess.run(["umount", str(folder)], check=True)
    else:
        real_mkdir = os.mkdir

        def mkdir(path, mode=0o777, *args, **kwargs):
            if Path(path).parent == folder:
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
            return real_mkdir(path, mode, *args, **kwargs)

        monkeypatch.setattr(os, "mkdir", mkdir)
        yield folder


@pytest.mark.parametrize("where", ["a new folder inside it", "the folder itself"])
def test_a_read_only_output_folder_is_one_clear_error(where, read_only_folder):
    out = read_only_folder / "levels" if where == "a new folder inside it" else read_only_folder
    before = everything_under(read_only_folder)
    line = assert_user_error(invoke("sample", "levels", "-n", "2", "--out", out), f"cannot write to {out}: ")
    assert line.endswith((os.strerror(errno.EROFS), os.strerror(errno.EACCES))), line
    assert everything_under(read_only_folder) == before


# ---------------------------------------------------------------- two runs at once

def run_together(*commands: list[str]) -> list[subprocess.CompletedProcess]:
    """`genforge COMMAND` for each command, all started at once, each in its own process."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [subprocess.Popen([sys.executable, "-m", "genforge", *map(str, c)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=REPO, env=env) for c in commands]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def solo_run(tmp_path: Path, name: str, *args: str) -> dict[str, str]:
    res = run_cli(*args, "--out", tmp_path / name)
    assert res.returncode == 0, res.stderr
    return file_hashes(tmp_path / name)


def assert_succeeded_or_one_clear_error(results: list[subprocess.CompletedProcess]) -> None:
    assert any(r.returncode == 0 for r in results), [r.stderr for r in results]
    for res in results:
        if res.returncode:
            assert_user_error(res)


# 200 levels take about a second to write: long enough that the second run is still writing when
# the first publishes (measured: the second found the folder made meanwhile, 3 times in 3).
RACE = ["sample", "levels", "-n", "200", "--seed", "3", "-q"]


def test_two_runs_of_one_command_into_one_new_folder_leave_one_runs_files(tmp_path):
    solo = solo_run(tmp_path, "solo", *RACE)
    for attempt in range(2):
        out = tmp_path / f"shared-{attempt}"
        assert_succeeded_or_one_clear_error(run_together([*RACE, "--out", out], [*RACE, "--out", out]))
        assert file_hashes(out) == solo
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "a staging folder was left"


def test_two_different_runs_into_one_new_folder_never_mix_their_files(tmp_path):
    """The same file names with other contents (other temperatures): the folder holds all of one
    run's files, never some of each."""
    cold, hot = RACE, [*RACE, "--temperature", "1.5"]
    solos = [solo_run(tmp_path, "cold", *cold), solo_run(tmp_path, "hot", *hot)]
    assert solos[0].keys() == solos[1].keys() and solos[0] != solos[1]
    for attempt in range(2):
        out = tmp_path / f"shared-{attempt}"
        assert_succeeded_or_one_clear_error(run_together([*cold, "--out", out], [*hot, "--out", out]))
        assert file_hashes(out) in solos
