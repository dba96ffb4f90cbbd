"""Fuzz cases for model folders: a bundled model (copied to a temporary folder first, read-only,
never mutated in place) with one to three hostile changes: genforge.json's values, file names that
point out of the folder, symlinks, a prior.npz whose arrays lie (shapes, pickled objects, sizes
their headers claim), decoder/encoder .onnx files cut, flipped or given foreign operators, and
.keras files (what `--init-from` loads) cut, flipped, or whose config.json names a Lambda layer, a
custom object or a module outside Keras.
See fuzz_cases.py for the Case these strategies draw."""
from __future__ import annotations

import atexit
import io
import json
import shutil
import struct
import tempfile
import zipfile
from functools import cache
from pathlib import Path

import numpy as np
from fuzz_cases import MODEL_SEEDS, Case, Link, Symlink, dumps, json_values, mutated, mutated_json, small_arrays
from hypothesis import strategies as st

META_KEYS = ["shape", "latent_dim", "labels", "files", "logit_bias", "codec", "label_counts", "metrics", "format_version",
             "domain", "hashes", "split", "options", "history", "notes", "warnings", "command", "prior", "attributes"]
FILE_NAMES = ["../outside.onnx", "/etc/hostname", "..\\outside.onnx", "sub/../../outside.onnx", "", "decoder.onnx\x00x",
              "C:\\model\\decoder.onnx", "missing.onnx", "encoder.onnx", "decoder.onnx", "prior.npz", "genforge.json", ".",
              "samples.png", "decoder.keras", "//server/share/x.onnx", "~/x.onnx", "a/" * 600 + "x"]
LINK_TARGETS = ["../outside.onnx", "/etc/hostname", "encoder.onnx", "decoder.onnx", "prior.npz", "missing", "/", ".."]
KERAS_CLASSES = [{"class_name": "Lambda", "module": "keras.layers", "config": {"function": "x"}},
                 {"class_name": "Evil", "module": "os", "config": {}},
                 {"class_name": "Dense", "module": "builtins", "config": {}},
                 {"class_name": "Custom", "module": None, "registered_name": "my>Custom", "config": {}},
                 {"class_name": "Dense", "module": "keras.layers", "registered_name": "pkg>Dense", "config": {}}]
FOREIGN_OPS = ["Loop", "If", "Scan", "RandomNormal", "Resize", "Einsum", "CustomOp", "Upsample", "Softmax", "Conv"]


@cache
def model_store() -> dict[str, Path]:
    """Read-only copies of the bundled models in a temporary folder: cases link to these, never to
    the package's own files."""
    root = Path(tempfile.mkdtemp(prefix="genforge-fuzz-models-"))
    atexit.register(shutil.rmtree, root, True)
    out = {}
    for domain, src in MODEL_SEEDS.items():
        if (src / "genforge.json").is_file():
            dst = root / domain
            shutil.copytree(src, dst)
            for f in dst.iterdir():
                f.chmod(0o444)
            out[domain] = dst
    return out


def npz_of(arrays: dict, pickle_ok: bool = False) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays) if pickle_ok else np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def lying_npz(name: str, shape: tuple, dtype: str = "<f4", data: bytes = b"\0" * 64) -> bytes:
    """An .npz whose one array's header claims `shape` over a few bytes of data."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode("latin1")
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{name}.npy", npy)
    return buf.getvalue()


@st.composite
def prior_files(draw, meta: dict, seed: bytes) -> bytes:
    d = meta["latent_dim"]
    n_labels = len(meta["labels"])
    dims = st.sampled_from([d, d, d - 1, d + 1, 0, 1])
    kind = draw(st.sampled_from(["gaussian", "mixture", "pickled", "random", "seed bytes", "npy", "lying", "bytes"]))
    if kind == "gaussian":
        return npz_of({"mean": np.zeros(draw(dims), np.float32),
                       "scale_tril": np.eye(draw(dims), draw(dims), dtype=draw(st.sampled_from(["f4", "f8", "i4"])))})
    if kind == "mixture":
        k = draw(st.integers(0, 4))
        return npz_of({"means": np.zeros((draw(st.just(k) | st.integers(0, 4)), draw(dims)), np.float16),
                       "spreads": np.ones((draw(st.just(k) | st.integers(0, 4)), draw(dims)), np.float16),
                       "labels": np.array(draw(st.lists(st.integers(-1, n_labels + 1), min_size=k, max_size=k)),
                                          np.int64).astype(draw(st.sampled_from(["i4", "f4", "u1"])))})
    if kind == "pickled":
        return npz_of({"mean": np.array([{"__reduce__": "os.system"}] * 2, dtype=object),
                       "scale_tril": np.eye(d, dtype=np.float32)}, pickle_ok=True)
    if kind == "random":
        names = st.sampled_from(["mean", "scale_tril", "means", "spreads", "labels", "x"])
        return npz_of(draw(st.dictionaries(names, small_arrays(), max_size=4)), pickle_ok=True)
    if kind == "seed bytes":
        return draw(mutated(seed, 4))
    if kind == "npy":
        buf = io.BytesIO()
        np.save(buf, np.zeros(d, np.float32))
        return buf.getvalue()
    if kind == "lying":
        return lying_npz(draw(st.sampled_from(["mean", "scale_tril", "means"])),
                         draw(st.sampled_from([(10 ** 6, 10 ** 6), (d, d), (2 ** 40,), (d,), (-1, d)])))
    return draw(st.binary(max_size=64))


@cache
def _onnx():
    import onnx

    return onnx


@st.composite
def onnx_graph_mutation(draw, data: bytes) -> bytes:
    """A structural change to an ONNX graph: a foreign operator or domain, a tensor stored outside
    the file, inputs of another size, a subgraph attribute, a model-local function."""
    onnx = _onnx()
    from onnx import helper

    model = onnx.ModelProto.FromString(data)
    nodes = model.graph.node
    op = draw(st.sampled_from(["op", "domain", "external", "dims", "subgraph", "function", "opset"]))
    if op == "op" and nodes:
        nodes[draw(st.integers(0, len(nodes) - 1))].op_type = draw(st.sampled_from(FOREIGN_OPS))
    elif op == "domain" and nodes:
        nodes[draw(st.integers(0, len(nodes) - 1))].domain = draw(st.sampled_from(["com.microsoft", "evil", "ai.onnx.ml"]))
    elif op == "external" and model.graph.initializer:
        t = model.graph.initializer[draw(st.integers(0, len(model.graph.initializer) - 1))]
        t.data_location = onnx.TensorProto.EXTERNAL
        entry = t.external_data.add()
        entry.key, entry.value = "location", draw(st.sampled_from(["../../../etc/passwd", "/etc/hostname", "w.bin"]))
        t.ClearField("raw_data")
    elif op == "dims":
        for value_info in list(model.graph.input) + list(model.graph.output):
            for dim in value_info.type.tensor_type.shape.dim[1:]:
                if draw(st.booleans()):
                    dim.dim_value = draw(st.integers(1, 2000))
    elif op == "subgraph" and nodes:
        sub = helper.make_graph([], "g", [], [])
        nodes[0].attribute.append(helper.make_attribute("body", sub))
    elif op == "function":
        model.functions.append(helper.make_function("evil", "F", ["x"], ["y"], [helper.make_node("Relu", ["x"], ["y"])],
                                                    [helper.make_opsetid("", 15)]))
    elif op == "opset":
        model.opset_import.append(helper.make_opsetid(draw(st.sampled_from(["com.microsoft", "evil"])), 1))
    return model.SerializeToString()


@st.composite
def keras_file_mutation(draw, data: bytes) -> bytes:
    """A .keras zip whose config.json is mutated (values, or a layer swapped for a foreign class),
    or whose bytes are."""
    if draw(st.booleans()):
        return draw(mutated(data, 6))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    config = json.loads(members["config.json"])
    if draw(st.booleans()):
        layers = config.get("config", {}).get("layers") or [{}]
        layers[draw(st.integers(0, len(layers) - 1))].update(draw(st.sampled_from(KERAS_CLASSES)))
    else:
        config = draw(mutated_json(config, None, 3))
    members["config.json"] = dumps(config)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, content in members.items():
            z.writestr(name, content)
    return out.getvalue()


@st.composite
def model_cases(draw) -> Case:
    store = model_store()
    if not store:  # no bundled model: a folder of a made-up genforge.json alone
        doc = draw(st.fixed_dictionaries({"format": st.just("genforge-run"), "format_version": st.just(1)},
                                         optional={k: json_values for k in META_KEYS}))
        return Case("model", "model", {"model/genforge.json": dumps(doc)}, {"domain": None}, "model grammar")
    domain = draw(st.sampled_from(sorted(store)))
    src = store[domain]
    meta = json.loads((src / "genforge.json").read_text())
    files: dict = {f"model/{p.name}": Link(p) for p in src.iterdir() if p.is_file()}
    files["outside.onnx"] = Link(src / "decoder.onnx")  # what links and `../` names would reach
    ops = draw(st.lists(st.sampled_from(["meta", "meta", "meta any", "meta bytes", "file name", "symlink", "delete",
                                         "prior", "prior", "onnx bytes", "onnx graph", "onnx graph", "hashes", "keras"]),
                        min_size=1, max_size=3))
    meta_bytes = keras = False
    for op in ops:
        if op == "meta":
            meta = draw(mutated_json(meta, META_KEYS, 2))
        elif op == "meta any":
            meta = draw(mutated_json(meta, None, 2))
        elif op == "meta bytes":
            meta_bytes = True
        elif op == "file name" and isinstance(meta.get("files"), dict) and meta["files"]:
            meta["files"][draw(st.sampled_from(sorted(meta["files"])))] = draw(st.sampled_from(FILE_NAMES))
        elif op == "symlink":
            name = draw(st.sampled_from(["decoder.onnx", "prior.npz", "encoder.onnx", "genforge.json", "loop"]))
            target = draw(st.sampled_from(LINK_TARGETS + ["loop"]))
            files[f"model/{name}"] = Symlink(target)
            if name == "loop" and isinstance(meta.get("files"), dict):
                meta["files"]["decoder"] = "loop"
        elif op == "delete":
            files.pop(draw(st.sampled_from(sorted(files))), None)
        elif op == "prior":
            sane = isinstance(meta.get("latent_dim"), int) and 0 < meta["latent_dim"] <= 4096 \
                and isinstance(meta.get("labels"), list)
            files["model/prior.npz"] = draw(prior_files(meta if sane else json.loads((src / "genforge.json").read_text()),
                                                        (src / "prior.npz").read_bytes()))
        elif op in ("onnx bytes", "onnx graph"):
            name = draw(st.sampled_from(["decoder.onnx", "encoder.onnx"]))
            data = (src / name).read_bytes()
            files[f"model/{name}"] = draw(mutated(data, 6)) if op == "onnx bytes" else draw(onnx_graph_mutation(data))
        elif op == "keras":
            name = draw(st.sampled_from(["decoder.keras", "encoder.keras"]))
            files[f"model/{name}"] = draw(keras_file_mutation((src / name).read_bytes()))
            keras = True
        elif op == "hashes" and isinstance(meta.get("hashes"), dict) and meta["hashes"]:
            meta["hashes"][draw(st.sampled_from(sorted(meta["hashes"])))] = draw(st.sampled_from(["0" * 64, "", "x"]))
    if not isinstance(files.get("model/genforge.json"), Symlink):
        text = dumps(meta)
        files["model/genforge.json"] = draw(mutated(text, 4)) if meta_bytes else text
    return Case("model", "model", files, {"domain": domain, "keras": keras}, f"{domain} model: {' + '.join(ops)}")
