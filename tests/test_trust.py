"""Model folders from strangers (project issue #13, part 4): loading never executes code and never
reads or writes outside the folder. Each hostile folder is refused with one clear error line, and
nothing is written outside --out (the folder's parent is unchanged, --out not even created)."""
from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from support import assert_user_error, invoke, write_level_folder

from genforge.bundle import default_model, open_bundle, write_prior
from genforge.core.keras_file import check_keras_file
from genforge.errors import GenforgeError
from genforge.onnx_check import ALLOWED_OPS, check_onnx
from genforge.trust import HASHES, changed_files, integrity_line


def stranger(tmp_path: Path, domain: str = "levels") -> Path:
    """A copy of a bundled model to spoil, and a copy of its decoder beside it (outside the folder)."""
    model = tmp_path / "model"
    shutil.copytree(default_model(domain), model)
    shutil.copyfile(model / "decoder.onnx", tmp_path / "outside.onnx")
    return model


def edit_meta(model: Path, change) -> None:
    meta = json.loads((model / "genforge.json").read_text())
    change(meta)
    (model / "genforge.json").write_text(json.dumps(meta))


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in root.rglob("*")}


def refused(tmp_path: Path, model: Path, *says: str, domain: str = "levels") -> str:
    """`genforge sample` on the spoiled model: one error line saying `says`, nothing written anywhere."""
    out = tmp_path / "out"
    before = snapshot(tmp_path)
    res = invoke("sample", domain, "--model", model, "-n", "2", "--seed", "1", "--out", out)
    line = assert_user_error(res, *says, out=out)
    assert not out.exists(), "--out was created for a model that could not load"
    assert snapshot(tmp_path) == before, "something was written outside --out"
    return line


def test_the_bundled_models_load_through_the_checks_and_are_intact():
    for domain in ("levels", "music"):
        bundle = open_bundle(default_model(domain))
        assert changed_files(bundle.path, bundle.meta) == []
        assert integrity_line(bundle.path, bundle.meta).startswith("integrity  intact")
        for name in ("decoder", "encoder"):
            check_onnx(bundle.file(name))


def test_a_pickled_prior_is_refused(tmp_path):
    model = stranger(tmp_path)
    with open(model / "prior.npz", "wb") as f:  # np.savez pickles object arrays
        np.savez(f, mean=np.array([{"__reduce__": "os.system"}, None], dtype=object), scale_tril=np.eye(2))
    refused(tmp_path, model, "prior.npz", "Python objects (pickled data)")


def test_a_prior_whose_shape_lies_about_latent_dim_is_refused(tmp_path):
    model = stranger(tmp_path)
    d = json.loads((model / "genforge.json").read_text())["latent_dim"]
    write_prior(model, {"kind": "gaussian", "mean": np.zeros(d + 1), "scale_tril": np.eye(d + 1)})
    refused(tmp_path, model, "prior.npz", f"mean of {d}", "latent_dim")


def test_a_prior_header_claiming_terabytes_is_refused_before_reading(tmp_path):
    model = stranger(tmp_path)
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }"
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    with zipfile.ZipFile(model / "prior.npz", "w") as z:
        z.writestr("mean.npy", b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\0" * 64)
    refused(tmp_path, model, "prior.npz", "larger than its stored data")


@pytest.mark.parametrize("name, says", [("../outside.onnx", "points outside the model folder"),
                                        ("sub/../../outside.onnx", "points outside the model folder"),
                                        ("ABSOLUTE", "is an absolute path"),
                                        ("C:\\models\\decoder.onnx", "is an absolute path")])
def test_file_names_cannot_leave_the_folder(tmp_path, name, says):
    model = stranger(tmp_path)
    name = str(tmp_path / "outside.onnx") if name == "ABSOLUTE" else name
    edit_meta(model, lambda m: m["files"].__setitem__("decoder", name))
    refused(tmp_path, model, "genforge.json", "files.decoder", says)


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    model = stranger(tmp_path)
    (model / "decoder.onnx").unlink()
    (model / "decoder.onnx").symlink_to("../outside.onnx")
    refused(tmp_path, model, "decoder.onnx", "outside the model folder")
    (model / "decoder.onnx").unlink()
    (model / "decoder.onnx").symlink_to("encoder.onnx")  # a link inside the folder is no escape (and is the wrong net)
    refused(tmp_path, model, "decoder.onnx")


def test_genforge_json_may_not_be_a_link_out(tmp_path):
    model = stranger(tmp_path)
    shutil.move(model / "genforge.json", tmp_path / "meta.json")
    (model / "genforge.json").symlink_to(tmp_path / "meta.json")
    refused(tmp_path, model, "genforge.json", "outside the model folder")


def test_a_truncated_onnx_is_refused(tmp_path):
    model = stranger(tmp_path)
    data = (model / "decoder.onnx").read_bytes()
    (model / "decoder.onnx").write_bytes(data[:len(data) // 2])
    refused(tmp_path, model, "decoder.onnx", "cannot load the ONNX model")


def foreign(model: Path, change) -> None:
    import onnx

    proto = onnx.load(str(model / "decoder.onnx"))
    change(proto, onnx)
    (model / "decoder.onnx").write_bytes(proto.SerializeToString())


def test_an_onnx_with_a_foreign_operator_is_refused(tmp_path):
    model = stranger(tmp_path)
    foreign(model, lambda p, onnx: setattr(p.graph.node[0], "op_type", "Einsum"))
    refused(tmp_path, model, "decoder.onnx", "operator(s) genforge never writes", "Einsum")
    foreign(model, lambda p, onnx: (setattr(p.graph.node[0], "op_type", "Relu"),
                                    setattr(p.graph.node[0], "domain", "com.microsoft")))
    refused(tmp_path, model, "decoder.onnx", "com.microsoft.Relu")


def test_an_onnx_reading_data_from_other_files_is_refused(tmp_path):
    model = stranger(tmp_path)

    def external(p, onnx):
        t = p.graph.initializer[0]
        t.data_location = onnx.TensorProto.EXTERNAL
        entry = t.external_data.add()
        entry.key, entry.value = "location", "../../../etc/passwd"
        t.ClearField("raw_data")

    foreign(model, external)
    refused(tmp_path, model, "decoder.onnx", "external data")


def test_sizes_in_the_metadata_are_checked_against_the_decoder(tmp_path):
    model = stranger(tmp_path, "music")
    n = len(open_bundle(model).labels)

    def one_more_label(m):  # a label the decoder was not built for, its metre given so the codec accepts it
        m["labels"].append("phrygian 4/4")
        m["codec"]["label_metres"].append({**m["codec"]["label_metres"][0], "label": "phrygian 4/4"})
        if m.get("label_counts"):
            m["label_counts"]["phrygian 4/4"] = 1
    edit_meta(model, one_more_label)
    refused(tmp_path, model, "decoder.onnx", "label", f"[batch, {n + 1}]", domain="music")
    model = stranger(tmp_path / "b", "levels")
    edit_meta(model, lambda m: m.__setitem__("shape", [14, 28, 12]))
    line = refused(tmp_path / "b", model, "genforge.json")
    assert "logit_bias" in line or "codec" in line
    edit_meta(model, lambda m: m.__setitem__("latent_dim", 10 ** 9))
    refused(tmp_path / "b", model, "genforge.json", "latent_dim")


def keras_archive(path: Path, config: dict) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", b"")
    return path


def test_keras_files_with_custom_objects_or_odd_members_are_refused(tmp_path):
    for config, says in [({"module": "evil.payload", "class_name": "Boom", "config": {}}, "evil.payload.Boom"),
                         ({"module": "keras.layers", "class_name": "Lambda", "config": {}}, "a Lambda layer"),
                         ({"class_name": "Boom", "config": {}}, "unregistered class 'Boom'")]:
        with pytest.raises(GenforgeError, match="genforge loads only Keras' own layers") as e:
            check_keras_file(keras_archive(tmp_path / "m.keras", config))
        assert says in str(e.value) and str(tmp_path / "m.keras") in str(e.value)
    with zipfile.ZipFile(tmp_path / "odd.keras", "w") as z:
        z.writestr("config.json", "{}")
        z.writestr("../../evil.py", "import os")
    with pytest.raises(GenforgeError, match="not a Keras model file as Keras writes it"):
        check_keras_file(tmp_path / "odd.keras")
    for name in ("decoder", "encoder"):  # genforge's own pass
        check_keras_file(default_model("levels") / f"{name}.keras")


SMB_LEGEND = {"-": ["passable", "empty"], "X": ["solid", "ground"], "o": ["coin", "passable"], "E": ["enemy"]}


def test_a_lambda_layer_in_init_from_is_refused_before_anything_is_written(tmp_path):
    """`--init-from` reads a stranger's .keras files: a Lambda layer (code in the file) is refused,
    by genforge's own check and, behind it, by Keras' safe mode."""
    import keras

    from genforge.core import keras_file

    model = stranger(tmp_path)
    inp = keras.Input((4,))
    keras.Model(inp, keras.layers.Lambda(lambda x: x * 2)(inp)).save(model / "decoder.keras")
    levels = {n: ["-" * 30] * 10 + ["--E---o-------XX----------o---", "X" * 30] for n in ("a", "b", "c", "d", "e")}
    data = write_level_folder(tmp_path / "data", "mygame", levels, SMB_LEGEND)
    out = tmp_path / "runs" / "x"
    before = snapshot(tmp_path)
    res = invoke("train", "levels", "--data", data, "--init-from", model, "--epochs", "1", "--out", out)
    assert_user_error(res, str(model / "decoder.keras"), "Lambda", out=out)
    assert not out.exists() and snapshot(tmp_path) == before
    # Keras' safe mode refuses it too, were genforge's own check ever to let it through
    original = keras_file.check_keras_file
    keras_file.check_keras_file = lambda path: None
    try:
        with pytest.raises(GenforgeError, match="safe_mode|Lambda|lambda"):
            keras_file.load_keras(model / "decoder.keras")
    finally:
        keras_file.check_keras_file = original


def test_info_says_whether_a_folder_is_intact(tmp_path):
    model = stranger(tmp_path)
    res = invoke("info", model)
    assert res.returncode == 0 and "integrity  intact" in res.stdout, res.stdout
    (model / "samples.png").write_bytes(b"not the picture training drew")
    (model / "encoder.onnx").unlink()
    res = invoke("info", model)
    assert res.returncode == 0 and "CHANGED since training: encoder.onnx (missing), samples.png (changed)" in res.stdout
    edit_meta(model, lambda m: m.pop(HASHES))
    assert "integrity  not recorded" in invoke("info", model).stdout


def test_training_records_the_hashes_of_what_it_wrote(tiny_model):
    meta = json.loads((tiny_model / "genforge.json").read_text())
    assert set(meta[HASHES]) == {*meta["files"].values(), "samples.png"}
    assert changed_files(tiny_model, meta) == []
    for name in ("decoder", "encoder"):  # a freshly trained model's graphs use only allowed operators
        info = check_onnx(tiny_model / meta["files"][name])
        assert {op for _, op in info.ops} <= ALLOWED_OPS
