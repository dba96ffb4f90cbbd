"""Atomic file writes: a crash or a bad input never leaves a half-written output behind."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

# mkstemp creates files readable by their owner only; outputs get the mode a plain open() would
# give them. The umask can only be read by setting it: once, at import, before any thread starts.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK
_FRESH_FOLDERS: set[Path] = set()  # hidden folders being filled, renamed into place when done


@contextlib.contextmanager
def atomic_folder(out: str | Path):
    """Yield the folder to write a batch of outputs into. A new `out` is filled as a hidden sibling
    and renamed into place in one step when the block succeeds: nobody sees it half-filled, and
    its files need no temporary names of their own (the renames were half the cost of writing
    301 small files). An existing `out` is written in place, each file atomically."""
    out = Path(out)
    if out.exists() or out.name in ("", ".", ".."):
        yield out
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    os.chmod(tmp, 0o777 & ~_UMASK)
    _FRESH_FOLDERS.add(tmp)
    try:
        yield tmp
        os.rename(tmp, out)  # fails, and cleans up, if someone made `out` meanwhile
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _FRESH_FOLDERS.discard(tmp)


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
    if path.parent in _FRESH_FOLDERS:  # the whole folder appears at once: plain writes suffice
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
