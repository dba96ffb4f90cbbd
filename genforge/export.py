"""`genforge export`: a self-contained decoder package for a game engine.

    decoder.onnx             z (+ label one-hot) -> logits per cell
    latent-prior.bin         the Gaussian to draw z from, as raw float32 (any engine reads that)
    genforge-decoder.json    everything needed to feed it and read its output, no genforge required
    README.md                how to run it with onnxruntime alone
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from genforge import __version__
from genforge.atomic import atomic_path, write_bytes, write_json, write_text
from genforge.bundle import open_bundle
from genforge.errors import GenforgeError

SIDECAR = "genforge-decoder.json"
PRIOR_BIN = "latent-prior.bin"
PRIOR_ONNX = "prior.onnx"


def prior_bytes(prior: dict) -> bytes:
    """mean (D floats) then scale_tril (D x D, row-major), float32 little-endian, no header."""
    return np.concatenate([np.ravel(prior["mean"]), np.ravel(prior["scale_tril"])]).astype("<f4").tobytes()


def prior_doc(meta: dict, prior: dict | None) -> dict:
    """How an engine draws latents: the sidecar's `latent_prior`."""
    d = meta["latent_dim"]
    if not prior:
        return {"kind": "standard normal"}
    if prior.get("kind") == "mixture":
        from genforge.core.onnx_prior import label_ranges

        return {"kind": "mixture", "file": PRIOR_ONNX,
                "inputs": {"component": "int64 [batch]", "noise": f"float32 [batch, {d}]"}, "output": "z",
                "components": len(prior["labels"]),
                "components_per_label": label_ranges(prior["labels"]),
                "meaning": "the training windows' posteriors: pick a component uniformly among your label's "
                           "(`components_per_label[label]` = [first, count]; row 0 for an unconditional model), "
                           "draw noise ~ N(0, I), and run prior.onnx: z = means[component] + spreads[component] * "
                           "noise"}
    return {"kind": "gaussian", "file": PRIOR_BIN, "dtype": "float32", "byte_order": "little",
            "layout": f"mean ({d} values), then scale_tril ({d} x {d}, row-major, lower triangular); no header",
            "meaning": "draw u ~ N(0, I), then z = mean + scale_tril @ u (a Gaussian fitted to the training codes)"}


def sidecar(meta: dict, prior: dict | None, input_names: list[str], output_name: str, graph: dict) -> dict:
    """Everything an engine needs beside decoder.onnx. `graph`: its opset and operators, so an
    engine's runtime can be checked against them before loading it."""
    n_labels = len(meta["labels"])
    inputs = [{"name": input_names[0], "shape": ["batch", meta["latent_dim"]], "dtype": "float32",
               "meaning": "latent vector"}]
    if n_labels:
        inputs.append({"name": input_names[1], "shape": ["batch", n_labels], "dtype": "float32",
                       "meaning": "one-hot of the condition label, in the order of `labels`"})
    doc = {
        "format": "genforge-decoder", "format_version": 1, "genforge_version": __version__,
        "domain": meta["domain"], "onnx": graph, "inputs": inputs,
        "output": {"name": output_name, "shape": ["batch", *meta["shape"]], "dtype": "float32",
                   "meaning": "logits per cell: " + ("softmax over the last axis gives each tile's probability"
                                                      if meta["likelihood"] == "categorical" else
                                                      "sigmoid gives each cell's probability of being on") +
                   (" (but not in a voice `music.monophonic` marks: see `music.monophonic_decode`)"
                    if any(meta["codec"].get("monophonic") or ()) else "")},
        "latent_dim": meta["latent_dim"],
        "latent_prior": prior_doc(meta, prior),
        "labels": meta["labels"],
    }
    if meta.get("logit_bias") is not None:
        doc["logit_bias"] = {
            "values": meta["logit_bias"],
            "meaning": "calibrated decoding: before the argmax, add row `label index` (row 0 for an unconditional "
                       "model) to the logits of every cell; it gives samples the training data's tile frequencies"}
    if meta["domain"] == "levels":
        codec = meta["codec"]
        doc["levels"] = {
            "vocabulary": codec["vocabulary"],
            "decode": "tile index = argmax over the last axis of the output (after adding the label's `logit_bias` "
                      "row, when the sidecar has one); tile character = vocabulary[index]. For a label's game, "
                      "keep the bottom `window[0]` rows and the left `window[1]` columns.",
            "games": [{"name": g["name"], "window": g["window"], "layout": g["layout"], "empty": g["empty"],
                       "legend": {c: g["legend"].get(c, []) for c in codec["vocabulary"] if c in g["legend"]}}
                      for g in codec["games"]],
        }
    else:
        doc[meta["domain"]] = meta["codec"]
    return doc


README = """# {name}: a genforge decoder

Exported by genforge {version} from `{model}`. Domain: {domain}.

- `decoder.onnx`: the generator. Inputs and output are described in `genforge-decoder.json`.
- `genforge-decoder.json`: input names and shapes, latent size, condition labels, how to read
  the latent prior, how to turn the output into {what}, and the ONNX opset and operators your
  runtime must support (`onnx`).
- `prior.onnx` (when the sidecar's `latent_prior` is a mixture): draws latents from the training
  windows' posteriors: give it a component (uniformly among your label's) and standard-normal noise.
- `latent-prior.bin` (when the sidecar's `latent_prior` names it): the Gaussian to draw latents
  from, raw float32 little-endian: the mean, then the lower-triangular scale, row-major.

## Run it with onnxruntime alone (Python)

```python
import json, numpy as np, onnxruntime as ort
meta = json.load(open("genforge-decoder.json"))
session = ort.InferenceSession("decoder.onnx")
rng = np.random.default_rng(0)
u = rng.standard_normal((4, meta["latent_dim"]))
prior = meta["latent_prior"]
if prior["kind"] == "standard normal":
    z = u
elif prior["kind"] == "mixture":          # a component of label 0's, and noise, through prior.onnx
    first, count = prior["components_per_label"][0]
    component = first + rng.integers(0, count, 4)
    z = ort.InferenceSession(prior["file"]).run(None, {{"component": component, "noise": u.astype(np.float32)}})[0]
else:                                     # z = mean + scale_tril @ u
    d = meta["latent_dim"]
    raw = np.fromfile(prior["file"], dtype="<f4")
    mean, scale_tril = raw[:d], raw[d:].reshape(d, d)
    z = mean + u @ scale_tril.T
z = z.astype(np.float32)
feed = {{meta["inputs"][0]["name"]: z}}
if meta["labels"]:                        # conditional model: one-hot of the label you want
    label = np.zeros((4, len(meta["labels"])), np.float32); label[:, 0] = 1
    feed[meta["inputs"][1]["name"]] = label
logits = session.run(None, feed)[0]       # shape: batch x {shape}
{decode}
```

Sampling from `latent_prior` (the training windows' posteriors, or a Gaussian fitted to their
codes) rather than from N(0, I) keeps the correlations between latent cells that make levels
coherent, and the rare structures the data has.

## In an engine

Any ONNX runtime loads `decoder.onnx` (opset from Keras' exporter): onnxruntime's C, C#, C++ and
Java APIs, Unity Sentis, Godot through an onnxruntime GDExtension. Feed a float32 latent of the
size above; read the float32 output in row-major order.
"""

LEVEL_DECODE = """if "logit_bias" in meta:                    # calibrated decoding: the offsets of label 0
    logits = logits + np.array(meta["logit_bias"]["values"][0], np.float32)
tiles = logits.argmax(-1)                 # index into meta["levels"]["vocabulary"]
game = meta["levels"]["games"][0]
h, w = game["window"]
rows = ["".join(meta["levels"]["vocabulary"][i] for i in row) for row in tiles[0, -h:, :w]]
print("\\n".join(rows))                    # the level as VGLC text"""


def export(model: str | Path, out: str | Path) -> list[Path]:
    bundle = open_bundle(model)
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / SIDECAR).is_file():
        raise GenforgeError(f"{out}: exists and is not an earlier genforge export; choose an empty folder")
    import onnx  # reading the graph's own input names, opset and operators; onnx ships with genforge

    from genforge.onnx_check import check_onnx

    check_onnx(bundle.file("decoder"))  # genforge's own operators, no data read from other files
    model_proto = onnx.load(str(bundle.file("decoder")), load_external_data=False)
    graph = model_proto.graph
    inputs = [i.name for i in graph.input]
    output = graph.output[0].name
    graph_info = {"opset": next(o.version for o in model_proto.opset_import if o.domain in ("", "ai.onnx")),
                  "operators": sorted({n.op_type for n in graph.node})}
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "decoder.onnx") as tmp:
        shutil.copyfile(bundle.file("decoder"), tmp)
    meta = bundle.meta
    decode = LEVEL_DECODE if meta["domain"] == "levels" else \
        "probs = 0.5 * (1 + np.tanh(logits / 2))  # the sigmoid, without overflow"
    what = "tiles" if meta["domain"] == "levels" else "notes"
    prior = bundle.prior
    written = [out / "decoder.onnx"]
    if prior and prior.get("kind") == "mixture":
        from genforge.core.onnx_prior import mixture_graph

        written.append(write_bytes(out / PRIOR_ONNX, mixture_graph(prior["means"], prior["spreads"]).SerializeToString()))
    elif prior:
        written.append(write_bytes(out / PRIOR_BIN, prior_bytes(prior)))
    return written + [
        write_json(out / SIDECAR, sidecar(meta, prior, inputs, output, graph_info)),
        write_text(out / "README.md", README.format(
            name=Path(bundle.path).name, version=__version__, model=bundle.path, domain=meta["domain"],
            what=what, shape=" x ".join(map(str, meta["shape"])), decode=decode)),
    ]
