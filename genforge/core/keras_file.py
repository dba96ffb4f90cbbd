"""Loading a `.keras` file from a model folder that may be a stranger's (`--init-from`, train's
re-export): never executing code it carries.

A `.keras` file is a zip of config.json (the layers, by class and module), metadata.json and the
weights. Keras' safe mode already refuses a Lambda layer's pickled bytecode; this module refuses
more, before Keras reads anything: members that are not those files, sizes the file cannot hold,
and any class outside Keras' own modules (a custom object would be looked up, and its module
imported, by name). Then Keras loads the file in safe mode.
"""
from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path

from genforge.errors import GenforgeError, brief

MEMBERS = ("config.json", "metadata.json", "model.weights.h5", "model.weights.npz")
MAX_BYTES = 2 << 30          # uncompressed, all members; genforge's networks are under 1 MB
MAX_CONFIG_BYTES = 16 << 20
# Keras' internal tags for values that are not layers (tensors, tuples) and have no module.
INTERNAL = frozenset({"__keras_tensor__", "__tuple__", "__numpy__", "__bytes__", "__slice__", "__ellipsis__",
                      "__tensor__", "__typespec__"})


def check_keras_file(path: str | Path) -> None:
    """A GenforgeError naming the file unless it is a plain Keras archive of Keras' own classes."""
    path = Path(path)
    try:
        disk = path.stat().st_size
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            names = [i.filename for i in infos]
            odd = [n for n in names if n not in MEMBERS and not n.startswith("assets/")]
            if odd or "config.json" not in names:
                raise GenforgeError(f"{path}: not a Keras model file as Keras writes it (members: "
                                    f"{brief(', '.join(names), 160)})")
            total = sum(i.file_size for i in infos)
            if total > MAX_BYTES or any(i.compress_size > disk or i.file_size > 1100 * i.compress_size + 1024
                                        for i in infos):
                raise GenforgeError(f"{path}: its members declare {total:,} bytes, more than the file can hold or "
                                    "genforge reads; refused")
            if z.getinfo("config.json").file_size > MAX_CONFIG_BYTES:
                raise GenforgeError(f"{path}: config.json of {z.getinfo('config.json').file_size:,} bytes; refused")
            config = json.loads(z.read("config.json").decode("utf-8"))
    except GenforgeError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
            OSError, ValueError, KeyError) as e:  # RuntimeError: encrypted members, or JSON nested too deep
        raise GenforgeError(f"{path}: not a readable Keras model file ({type(e).__name__}: {brief(e, 160)})") from None
    foreign = sorted(set(_foreign_classes(config)))
    if foreign:
        raise GenforgeError(f"{path}: the model uses {', '.join(foreign[:4])}" + (" and more" if len(foreign) > 4 else "")
                            + "; genforge loads only Keras' own layers (no Lambda layers, no custom objects: they "
                              "would run code from the file)")


def _foreign_classes(node, depth: int = 0):
    """Every class a Keras config names that is not Keras' own, or a Lambda layer (its code travels
    in the file), as 'module.Class'."""
    if depth > 200:
        yield "a config nested more than 200 levels deep"
        return
    if isinstance(node, dict):
        cls, module = node.get("class_name"), node.get("module")
        if cls is not None:
            if not isinstance(cls, str) or (module is not None and not isinstance(module, str)):
                yield f"a class named {brief(cls, 40)!r}"
            elif "lambda" in cls.lower():
                yield f"a {brief(cls, 40)} layer"
            elif module is None and cls not in INTERNAL:
                yield f"the unregistered class {brief(cls, 40)!r}"
            elif module is not None and not (module == "keras" or module.startswith("keras.")):
                yield f"{brief(module, 60)}.{brief(cls, 40)}"
            elif isinstance(node.get("registered_name"), str) and ">" in node["registered_name"]:
                yield f"the custom object {brief(node['registered_name'], 60)!r}"
        for value in node.values():
            yield from _foreign_classes(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            yield from _foreign_classes(value, depth + 1)


def load_keras(path: str | Path):
    """A Keras model from a `.keras` file of a model folder: checked (check_keras_file), then loaded
    in Keras' safe mode, uncompiled. Anything Keras refuses is a GenforgeError naming the file."""
    import keras

    check_keras_file(path)
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # Keras raises ValueError, TypeError, OSError, h5py's errors...: all mean "this file"
        raise GenforgeError(f"{path}: cannot load the Keras model: {brief(e, 200)}") from None
