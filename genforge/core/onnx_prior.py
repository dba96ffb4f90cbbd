"""A mixture prior (genforge.core.latent.fit_mixture) written as an ONNX graph, so an engine samples
latents with the same runtime that runs the decoder:

    inputs   component  int64 [batch]       which component to draw from (uniformly among a label's)
             noise      float32 [batch, D]  standard-normal draws
    output   z          float32 [batch, D]  means[component] + spreads[component] * noise

Two Gathers, a Mul and an Add: operators every ONNX runtime has. numpy-built weights; imports onnx
only to write the file.
"""
from __future__ import annotations

import numpy as np

OPSET = 15


def mixture_graph(means: np.ndarray, spreads: np.ndarray):
    """An onnx.ModelProto drawing z from the mixture's chosen components."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    k, d = np.shape(means)
    weights = [numpy_helper.from_array(np.asarray(means, np.float32), "means"),
               numpy_helper.from_array(np.asarray(spreads, np.float32), "spreads")]
    nodes = [helper.make_node("Gather", ["means", "component"], ["centre"], axis=0),
             helper.make_node("Gather", ["spreads", "component"], ["scale"], axis=0),
             helper.make_node("Mul", ["scale", "noise"], ["offset"]),
             helper.make_node("Add", ["centre", "offset"], ["z"])]
    graph = helper.make_graph(
        nodes, "genforge_mixture_prior",
        [helper.make_tensor_value_info("component", TensorProto.INT64, ["batch"]),
         helper.make_tensor_value_info("noise", TensorProto.FLOAT, ["batch", d])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", d])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="genforge")
    model.ir_version = 8  # readable by onnxruntime builds of the last few years
    onnx.checker.check_model(model)
    return model


def label_ranges(labels: np.ndarray) -> list[list[int]]:
    """[first component, count] per label 0..max: a mixture's components are stored label by label."""
    labels = np.asarray(labels)
    return [[int(np.argmax(labels == lab)) if (labels == lab).any() else 0, int((labels == lab).sum())]
            for lab in range(int(labels.max()) + 1 if len(labels) else 0)]
