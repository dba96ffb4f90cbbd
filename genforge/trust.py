"""Model folders from strangers: what genforge checks before it believes a file of one.

Loading a model never executes code and never reads outside the folder: file names in
genforge.json stay inside it (no `../`, no absolute path, no symlink out), `.npz` files are read
without pickle and their arrays' sizes checked from their headers before anything is allocated,
the sizes the metadata states are bounded and checked against the files, ONNX graphs are checked
against genforge's own operators (genforge.onnx_check), and `.keras` files load in Keras' safe mode
(genforge.core.keras_file). Training records the sha256 of every file it writes, so `genforge info`
can say whether a folder is as training left it.

numpy only: this module is on the sampling path.
"""
from __future__ import annotations

import hashlib
import os
import tokenize
import zipfile
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from genforge.errors import GenforgeError, brief

MAX_META_BYTES = 64 << 20       # genforge.json; the bundled ones are under 100 KB (older runs kept priors inline)
MAX_LATENT = 1 << 14            # latents; the bundled models have 112 and 768
MAX_CELLS = 1 << 22             # cells of one window (rows x columns x channels); the bundled: 5,096 and 23,552
MAX_LABELS = 10_000
MAX_PRIOR_BYTES = 1 << 30       # the arrays of prior.npz; a 768-d Gaussian is 2.4 MB
MAX_NPZ_MEMBERS = 1000
DEFLATE_MOST = 1100             # deflate cannot expand data more than ~1032 times
HASHES = "hashes"               # genforge.json: {file name: sha256 hex digest}


# ---------------------------------------------------------------- paths

def inside(folder: Path, name, where: str | Path) -> Path:
    """The file `name` (as genforge.json's "files" give it) inside `folder`, or a GenforgeError:
    not a relative path of plain parts, or resolving (through symlinks) outside the folder.
    `where`: what names the entry in the message."""
    if not isinstance(name, str) or not name or "\x00" in name or len(name) > 1000:
        raise GenforgeError(f"{where}: file name {str(name)[:80]!r} is not a file name")
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or name.startswith(("/", "\\")):
        raise GenforgeError(f"{where}: file name {name[:80]!r} is an absolute path; a model folder names only "
                            "files inside itself")
    if any(part == ".." for part in (*posix.parts, *windows.parts)):
        raise GenforgeError(f"{where}: file name {name[:80]!r} points outside the model folder ('..')")
    path = folder / name
    try:
        real_folder = folder.resolve()
        real = path.resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop
        raise GenforgeError(f"{where}: file name {name[:80]!r} cannot be resolved: {e}") from None
    if real != real_folder and real_folder not in real.parents:
        raise GenforgeError(f"{where}: {name[:80]!r} is a link to {str(real)[:120]}, outside the model folder; refused")
    return path


# ---------------------------------------------------------------- .npz without pickle

def npz_arrays(path: Path, most_bytes: int) -> dict[str, tuple[np.dtype, tuple[int, ...]]]:
    """Each array of an .npz file: name -> (dtype, shape), read from the .npy headers alone.
    ValueError for a file that is not a plain .npz of numeric or text arrays (pickled objects,
    structured types, members that are not arrays), or whose arrays would take more than
    `most_bytes` or more than the file holds."""
    try:
        disk = path.stat().st_size
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_NPZ_MEMBERS:
                raise ValueError(f"{len(infos)} members")
            out, total = {}, 0
            for info in infos:
                dtype, shape = _npy_header(z, info, disk)
                nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if nbytes > info.file_size:
                    raise ValueError(f"array {info.filename[:-4]!r} ({'x'.join(map(str, shape)) or 'scalar'} "
                                     f"{dtype}) is larger than its stored data: truncated")
                total += nbytes
                if total > most_bytes:
                    raise ValueError(f"its arrays take more than {most_bytes:,} bytes")
                out[info.filename[:-4]] = (dtype, shape)
            return out
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
            OSError, UnicodeDecodeError, OverflowError, SyntaxError, TypeError, KeyError, MemoryError,
            tokenize.TokenError) as e:
        # RuntimeError: an encrypted member (RecursionError too); MemoryError: a header nested past the
        # parser; TokenError: a header numpy's tokenizer cannot finish
        raise ValueError(f"not a readable .npz file ({type(e).__name__}: {brief(e, 120)})") from None


def _npy_header(z: zipfile.ZipFile, info: zipfile.ZipInfo, disk: int) -> tuple[np.dtype, tuple[int, ...]]:
    name = info.filename
    if not name.endswith(".npy") or info.is_dir():
        raise ValueError(f"member {name[:80]!r} is not a .npy array")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ValueError(f"member {name[:80]!r} uses compression method {info.compress_type}")
    if info.compress_size > disk or info.file_size > DEFLATE_MOST * info.compress_size + 1024:
        raise ValueError(f"member {name[:80]!r} declares more data than the file holds")
    with z.open(info) as f:
        version = np.lib.format.read_magic(f)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise ValueError(f"member {name[:80]!r}: .npy format {version}")
        shape, _, dtype = reader(f)
    if dtype.hasobject:
        raise ValueError(f"array {name[:-4][:80]!r} holds Python objects (pickled data), which genforge never "
                         "writes and never loads")
    if dtype.kind not in "biufcSU" or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"array {name[:-4][:80]!r} has type {str(dtype)[:60]}, not a plain number or text type")
    if any(not isinstance(n, int) or n < 0 for n in shape):
        raise ValueError(f"array {name[:-4][:80]!r} has shape {str(shape)[:80]}")
    return dtype, tuple(shape)


# ---------------------------------------------------------------- genforge.json

def _positive_int(value, most: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= most


def check_meta(path: Path, meta: dict) -> None:
    """The fields loading relies on have the types and bounded sizes it relies on, and every file
    named stays inside the folder. `path`: the model folder."""
    where = path / "genforge.json"

    def bad(what: str) -> GenforgeError:
        return GenforgeError(f"{where}: {what}")

    if not isinstance(meta.get("domain"), str):
        raise bad("\"domain\" is missing or not a string")
    shape, latent = meta.get("shape", [1, 1, 1]), meta.get("latent_dim")  # shape: absent only in hand-made stubs
    if not (isinstance(shape, list) and len(shape) == 3 and all(_positive_int(n, MAX_CELLS) for n in shape)):
        raise bad(f"\"shape\" must be three positive whole numbers (rows, columns, channels), got {str(shape)[:80]}")
    if int(np.prod(shape, dtype=object)) > MAX_CELLS:
        raise bad(f"a window of {' x '.join(map(str, shape))} cells is more than {MAX_CELLS:,}")
    if not _positive_int(latent, MAX_LATENT):
        raise bad(f"\"latent_dim\" must be a whole number from 1 to {MAX_LATENT}, got {str(latent)[:40]}")
    labels = meta.get("labels")
    if not (isinstance(labels, list) and len(labels) <= MAX_LABELS and all(isinstance(x, str) for x in labels)):
        raise bad("\"labels\" must be a list of strings")
    files = meta.get("files")
    if not (isinstance(files, dict) and all(isinstance(v, str) for v in files.values())):
        raise bad("\"files\" must be an object of file names")
    for key, name in files.items():
        inside(path, name, f"{where}: files.{key[:40]}")
    for key, kind in (("codec", dict), ("metrics", dict), ("options", dict), ("split", dict), ("history", dict), ("notes", list),
                      ("warnings", list), ("command", str), ("label_counts", dict), (HASHES, dict)):
        if key in meta and not isinstance(meta[key], kind):
            raise bad(f"\"{key}\" must be {'an object' if kind is dict else 'a list' if kind is list else 'a string'}")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (meta.get("label_counts") or {}).values()):
        raise bad("\"label_counts\" must give a whole number per label")
    bias = meta.get("logit_bias")
    if bias is not None:
        rows, found = max(len(labels), 1), _array_shape(bias)
        columns = shape[2] if "shape" in meta else (found[1] if found and len(found) == 2 else "C")
        if found != (rows, columns):
            raise bad(f"\"logit_bias\" must be {rows} x {columns} numbers (labels x classes)")
    if meta.get("prior") is not None and "prior" not in files:  # runs before prior.npz kept it inline
        prior = meta["prior"]
        if not (isinstance(prior, dict) and _array_shape(prior.get("mean")) == (latent,)
                and _array_shape(prior.get("scale_tril")) == (latent, latent)):
            raise bad(f"the inline \"prior\" must hold a mean of {latent} numbers and a {latent} x {latent} "
                      "scale_tril, as latent_dim says")


def _array_shape(value) -> tuple[int, ...] | None:
    """The shape of a JSON list of numbers (nested), None when it is not one."""
    try:
        a = np.asarray(value, np.float64)
    except (ValueError, TypeError, OverflowError):
        return None
    return a.shape if a.dtype == np.float64 else None


def check_prior_file(path: Path, meta: dict) -> None:
    """prior.npz: a Gaussian's mean (D) and scale_tril (D x D), or a mixture's means and spreads
    (K x D) and labels (K, ids of the model's labels), D the metadata's latent_dim; checked from the
    array headers before a byte of data is read, then the few label ids."""
    d, n_labels = meta["latent_dim"], len(meta["labels"])
    file = inside(path, meta["files"]["prior"], path / "genforge.json")
    if not file.is_file():
        return  # Bundle.file says what is missing when something needs it
    try:
        arrays = npz_arrays(file, MAX_PRIOR_BYTES)
    except ValueError as e:
        raise GenforgeError(f"{path}: unreadable {file.name}: {e}") from None

    def shape(name: str, kinds: str = "fc"):
        dtype, s = arrays.get(name, (None, None))
        return s if dtype is not None and dtype.kind in kinds else None

    if "means" in arrays:
        k = (shape("means") or (0,))[0]
        if not (k > 0 and shape("means") == (k, d) and shape("spreads") == (k, d) and shape("labels", "iu") == (k,)):
            raise GenforgeError(f"{file}: a mixture prior needs means and spreads of K x {d} (latent_dim {d} in "
                                f"genforge.json) and K label ids; it has {_shapes(arrays)}")
        try:
            with np.load(file, allow_pickle=False) as f:
                ids = f["labels"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as e:  # damaged data
            raise GenforgeError(f"{file}: unreadable label ids: {brief(e, 120)}") from None
        if len(ids) and (ids.min() < 0 or ids.max() >= max(n_labels, 1)):
            raise GenforgeError(f"{file}: mixture components name label {int(ids.max())}, but the model has "
                                f"{n_labels} label(s)")
    elif shape("mean") != (d,) or shape("scale_tril") != (d, d):
        raise GenforgeError(f"{file}: a Gaussian prior needs a mean of {d} and a {d} x {d} scale_tril (latent_dim "
                            f"{d} in genforge.json); it has {_shapes(arrays)}")


def _shapes(arrays: dict) -> str:
    return ", ".join(f"{k[:30]} {'x'.join(map(str, s)) or 'scalar'} {dt}" for k, (dt, s) in list(arrays.items())[:6]) \
        or "no arrays"


# ---------------------------------------------------------------- integrity

def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_hashes(folder: Path, names) -> dict[str, str]:
    """{name: sha256} of the files `names` in `folder` that exist: what training records in genforge.json."""
    return {name: sha256(Path(folder) / name) for name in names if (Path(folder) / name).is_file()}


def changed_files(folder: Path, meta: dict) -> list[str] | None:
    """The recorded files whose contents differ from training's record (or are missing), as
    `name (why)`; [] when all are intact; None when the run recorded no hashes."""
    recorded = meta.get(HASHES)
    if not recorded:
        return None
    changed = []
    for name, digest in recorded.items():
        try:
            path = inside(folder, name, folder / "genforge.json")
        except GenforgeError:
            changed.append(f"{str(name)[:80]} (outside the folder)")
            continue
        if not path.is_file():
            changed.append(f"{name} (missing)")
        elif not os.access(path, os.R_OK):
            changed.append(f"{name} (unreadable)")
        elif sha256(path) != digest:
            changed.append(f"{name} (changed)")
    return changed


def integrity_line(folder: Path, meta: dict) -> str:
    """`genforge info`'s account of whether the folder is as training wrote it."""
    changed = changed_files(folder, meta)
    if changed is None:
        return "integrity  not recorded (trained before genforge recorded its files' sha256)"
    if not changed:
        return f"integrity  intact ({len(meta[HASHES])} files match the sha256 training recorded)"
    return f"integrity  CHANGED since training: {', '.join(changed)}"
