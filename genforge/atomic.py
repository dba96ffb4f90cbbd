"""Atomic file writes: a crash, a full disk or a bad input never leaves a half-written output
behind, and a batch of outputs (atomic_folder) appears whole or not at all."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

from genforge.errors import GenforgeError

try:
    import fcntl  # POSIX only
except ImportError:
    fcntl = None

# mkstemp creates files readable by their owner only; outputs get the mode a plain open() would
# give them. The umask can only be read by setting it: once, at import, before any thread starts.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK
_FRESH_FOLDERS: set[Path] = set()  # staging folders being filled (atomic_folder): published when done


@contextlib.contextmanager
def atomic_folder(out: str | Path):
    """Yield a hidden staging folder to write a batch of outputs into. When the block succeeds, its
    files are published to `out` together; when the block fails (a full disk, a read-only folder,
    Ctrl-C), the staging folder goes and `out` is as it was. A file system's error (no space, no
    permission, read-only) ends as one GenforgeError naming `out`.

    Why stage the batch rather than write each file atomically: a run that dies at file 40 of 300
    would leave 39 of them behind, a half-written folder; and giving each file a temporary name of
    its own, then renaming it, was half the cost of writing 301 small files.

    Publishing. A new `out` is the staging folder itself, renamed into place: one step, so nobody
    sees it half-filled. Into an `out` that exists (before the run, or made meanwhile by another
    run) the staged files are moved by rename, under a lock on `out`, so two runs writing to one
    folder never interleave: each run's files land together, and where both write a name, the
    later run's file stands, whole. A rename on one disk copies no data, so it does not fail for
    want of space. The staging folder sits beside a new `out` and inside an existing one: on the
    disk the files end up on, where renames work."""
    out = Path(out)
    try:
        if out.exists():
            staging = Path(tempfile.mkdtemp(prefix=".genforge-", suffix=".tmp", dir=out))
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
        os.chmod(staging, 0o777 & ~_UMASK)
    except OSError as e:
        raise GenforgeError(f"cannot write to {out}: {e.strerror or e}") from None
    _FRESH_FOLDERS.add(staging)
    try:
        try:
            yield staging
        except OSError as e:
            raise GenforgeError(f"cannot write to {out}: {e.strerror or e}; nothing was written") from None
        _publish(staging, out)
    finally:
        _FRESH_FOLDERS.discard(staging)
        shutil.rmtree(staging, ignore_errors=True)


def published(written: list[Path], staging: Path, out: str | Path) -> list[Path]:
    """Where files written into atomic_folder's `staging` folder are once it is published to `out`."""
    return [Path(out) / p.relative_to(staging) for p in written]


def _publish(staging: Path, out: Path) -> None:
    if staging.parent != out:
        try:
            os.rename(staging, out)  # replaces `out` only if it is an empty folder
            return
        except OSError as e:
            if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise GenforgeError(f"cannot write to {out}: {e.strerror or e}; nothing was written") from None
    names = sorted(p.name for p in staging.iterdir())
    moved = 0
    try:
        with _locked(out):
            for name in names:
                os.replace(staging / name, out / name)
                moved += 1
    except OSError as e:
        raise GenforgeError(f"cannot write to {out}: {e.strerror or e}; {moved} of this run's {len(names)} files "
                            f"were moved in before it") from None


@contextlib.contextmanager
def _locked(folder: Path):
    """An exclusive lock on `folder` while runs move files into it (flock: released when the process
    ends, however it ends). Without fcntl (Windows) runs are not serialised."""
    if fcntl is None:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Written through the temporary file's own descriptor: creating files is the slow part of
    writing hundreds of small outputs, so each is created once."""
    path = Path(path)
    if path.parent in _FRESH_FOLDERS:  # its files are published together: plain writes suffice
        path.write_bytes(data)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj, compact: bool = False) -> Path:
    """Indented for files people read; compact (C-speed encoder) for bulk outputs such as maps."""
    text = json.dumps(obj, separators=(",", ":")) if compact else json.dumps(obj, indent=2)
    return write_text(path, text + "\n")
