"""The trained decoder written as an ONNX graph of plain matrix products, for fast generation.

Keras' ONNX export (tf2onnx) turns each channels-last convolution into a channels-first one wrapped
in layout transposes, and a 2 x 2 stride-2 transposed convolution into onnxruntime's ConvTranspose,
which rearranges its output pixel by pixel. On the level decoder those rearrangements, not the
arithmetic, took most of a batch. For decoders of the shape below this module writes the same
function as a few Gemms over channels-last rows:

- The front (z reshaped into the latent grid, the labels tiled beside it, the first 'same'
  convolution) is linear in (z, label) up to its ReLU, so it is one dense matrix. Its columns are
  the convolution applied to each basis vector: exact, whatever the kernel size.
- A 2 x 2 stride-2 transposed convolution gives every input pixel its own 2 x 2 output block. For
  each block row dy, one Gemm (pixels x channels) @ (channels, 2 x filters) computes that row of
  every block with its two columns already side by side, i.e. a whole output row in place; a Concat
  interleaves the dy = 0 and dy = 1 rows. Rows or columns past the grid are cut at the first level
  where whole ones overshoot (14 rows: 4 -> 8, cut to 7 -> 14), so later levels skip them.
- The 1 x 1 logits convolution is one MatMul straight into the (batch, H, W, C) output. Its bias
  rides on a constant channel of 1 that the last upsampling level appends (zero weights, bias 1,
  unchanged by ReLU), which spares a full pass over the output to add it.

Qualifying decoders: grid bottleneck without global latents, 2 x 2 upsampling kernels
(`ModelConfig.up_kernel`). Others keep Keras' export. Training checks either file against Keras.
"""
from __future__ import annotations

import math

import numpy as np

OPSET = 15  # what Keras' own export writes: old enough for the onnxruntime builds engines embed


def qualifies(config) -> bool:
    return config.bottleneck == "grid" and not config.global_dim and tuple(config.up_kernel) == (2, 2)


def decoder_graph(decoder, shape: tuple[int, int, int], n_labels: int, config):
    """An onnx.ModelProto computing `decoder` (a genforge Keras decoder, built by
    networks.build_decoder for a qualifying config) with inputs z [, label] and output logits."""
    import keras
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from genforge.core.networks import decoder_filters, grid_shape, latent_size

    h, w, c = shape
    hb, wb, kb = grid_shape(shape, config)
    levels = len(decoder_filters(config))
    front = next(layer for layer in decoder.layers
                 if type(layer) is keras.layers.Conv2D and layer.name != "logits")
    ups = [decoder.get_layer(f"up{i}") for i in range(levels)]
    logits_layer = decoder.get_layer("logits")
    n_in = latent_size(shape, config) + n_labels

    nodes, weights = [], []

    def const(name: str, value) -> str:
        weights.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def reshape(x: str, dims: list[int], output: str) -> str:
        return node("Reshape", [x, const(output + "/shape", np.array(dims, np.int64))], output)

    def dense_relu(x: str, kernel: np.ndarray, bias: np.ndarray, output: str) -> str:
        gemm = node("Gemm", [x, const(output + "/kernel", kernel.astype(np.float32)),
                             const(output + "/bias", bias.astype(np.float32))], output + "/gemm")
        return node("Relu", [gemm], output)  # onnxruntime fuses the pair into one kernel

    # front: basis vectors of (z, label) through the reshape, the label tiling and the convolution
    basis = np.eye(n_in, dtype=np.float32)
    grid = basis[:, :hb * wb * kb].reshape(n_in, hb, wb, kb)
    if n_labels:
        tiled = np.broadcast_to(basis[:, None, None, hb * wb * kb:], (n_in, hb, wb, n_labels))
        grid = np.concatenate([grid, tiled], axis=-1)
    kernel, bias = front.get_weights()
    front_matrix = keras.ops.convert_to_numpy(keras.ops.conv(grid, kernel, padding="same"))
    x = "z"
    if n_labels:
        x = node("Concat", ["z", "label"], "z_label", axis=1)
    x = dense_relu(x, front_matrix.reshape(n_in, -1), np.tile(bias, hb * wb), "front")
    x = reshape(x, [-1, kernel.shape[-1]], "front/pixels")

    rows, cols = hb, wb
    for i, layer in enumerate(ups):
        kernel, bias = layer.get_weights()  # (dy, dx, out, in)
        out_ch = kernel.shape[2]
        last = i == levels - 1
        halves = []
        for dy in range(2):
            k = kernel[dy].transpose(2, 0, 1)  # (in, dx, out): a row's two pixels side by side
            b = np.tile(bias, (2, 1))
            if last:  # the constant channel that carries the logits' bias
                k = np.concatenate([k, np.zeros((*k.shape[:2], 1), k.dtype)], axis=2)
                b = np.concatenate([b, np.ones((2, 1), b.dtype)], axis=1)
            half = dense_relu(x, k.reshape(k.shape[0], -1), b.reshape(-1), f"up{i}/row{dy}")
            halves.append(reshape(half, [-1, rows, 1, cols * b.size], f"up{i}/row{dy}/rows"))
        channels = out_ch + last
        x = node("Concat", halves, f"up{i}/rows", axis=2)  # (batch, rows, 2, ...) = rows 2r, 2r + 1
        rows, cols = 2 * rows, 2 * cols
        x = reshape(x, [-1, rows, cols, channels], f"up{i}/grid")
        keep_rows = math.ceil(h / 2 ** (levels - 1 - i))
        keep_cols = math.ceil(w / 2 ** (levels - 1 - i))
        if (keep_rows, keep_cols) != (rows, cols):
            x = node("Slice", [x, const(f"up{i}/crop/starts", np.array([0, 0], np.int64)),
                               const(f"up{i}/crop/ends", np.array([keep_rows, keep_cols], np.int64)),
                               const(f"up{i}/crop/axes", np.array([1, 2], np.int64))], f"up{i}/crop")
            rows, cols = keep_rows, keep_cols
        if not last:
            x = reshape(x, [-1, channels], f"up{i}/pixels")

    kernel, bias = logits_layer.get_weights()
    node("MatMul", [x, const("logits/kernel", np.concatenate([kernel[0, 0], bias[None]]).astype(np.float32))],
         "logits")

    inputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", n_in - n_labels])]
    if n_labels:
        inputs.append(helper.make_tensor_value_info("label", TensorProto.FLOAT, ["batch", n_labels]))
    output = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", h, w, c])
    model = helper.make_model(helper.make_graph(nodes, "decoder", inputs, [output], weights),
                              opset_imports=[helper.make_opsetid("", OPSET)], producer_name="genforge")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model
