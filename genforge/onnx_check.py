"""What an .onnx file holds, read before onnxruntime ever sees it: the operators of its graph, the
opsets it imports, and whether it points at data outside itself.

genforge runs only graphs made of the operators it writes itself (its own decoder graph, Keras'
export of its networks, the mixture prior's graph): a model folder from a stranger cannot smuggle
in an operator that reads files, runs a custom kernel or a subgraph. The file is read with a small
protobuf wire-format reader (importing the `onnx` package costs a second at start-up), which
refuses anything it does not understand rather than guessing.

No numpy, no onnxruntime here: this runs before either touches the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from genforge.errors import GenforgeError

# The operators genforge's graphs use: genforge/core/onnx_decoder.py (Gemm, MatMul, Relu, Reshape,
# Concat, Slice), Keras 3's export of genforge's encoders and decoders (read from the bundled models
# and from exports of dense, grid, conditional and unconditional networks: Conv, ConvTranspose,
# Transpose, Cast, Shape, Gather, Tile, Unsqueeze...), genforge/core/onnx_prior.py (Gather, Mul,
# Add), and a few plain shape operators other exporter versions write in their place.
ALLOWED_OPS = frozenset({
    "Add", "Cast", "Concat", "Conv", "ConvTranspose", "Flatten", "Gather", "Gemm", "Identity", "MatMul", "Mul",
    "Relu", "Reshape", "Shape", "Slice", "Squeeze", "Tile", "Transpose", "Unsqueeze",
})
NODE_DOMAINS = frozenset({"", "ai.onnx"})      # where an allowed operator may come from
OPSET_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})  # Keras' export declares ai.onnx.ml, uses none of it
MAX_ONNX_BYTES = 1 << 30                       # genforge's decoders are under 1 MB
MAX_FIELDS = 2_000_000                         # protobuf fields walked (a graph of tiny nodes is not a model)

# protobuf field numbers (onnx/onnx.proto)
_MODEL_GRAPH, _MODEL_OPSET, _MODEL_TRAINING, _MODEL_FUNCTIONS = 7, 8, 20, 25
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_SPARSE = 1, 5, 15
_NODE_OP, _NODE_ATTRIBUTE, _NODE_DOMAIN = 4, 5, 7
_ATTR_T, _ATTR_G, _ATTR_TENSORS, _ATTR_GRAPHS, _ATTR_SPARSE, _ATTR_SPARSES = 5, 6, 10, 11, 22, 23
_TENSOR_EXTERNAL, _TENSOR_LOCATION = 13, 14
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2


@dataclass
class GraphInfo:
    """What an ONNX file's graph is made of."""

    ops: set[tuple[str, str]] = field(default_factory=set)      # (domain, op_type)
    opsets: set[tuple[str, int]] = field(default_factory=set)   # (domain, version)
    external_data: bool = False                                  # a tensor stored in another file
    subgraphs: bool = False                                      # an attribute holding a graph
    functions: bool = False                                      # model-local functions (custom ops)


class _Malformed(Exception):
    pass


class _Reader:
    """Protobuf wire format over one bytes object: (field, wire type, value) of a message's fields,
    a length-delimited value as its (start, end) span."""

    def __init__(self, data: bytes):
        self.data = data
        self.walked = 0

    def varint(self, i: int, end: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            if i >= end or shift > 63:
                raise _Malformed("a truncated or overlong varint")
            b = self.data[i]
            i += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                return value, i
            shift += 7

    def fields(self, start: int, end: int):
        i = start
        while i < end:
            self.walked += 1
            if self.walked > MAX_FIELDS:
                raise _Malformed(f"more than {MAX_FIELDS:,} protobuf fields")
            key, i = self.varint(i, end)
            number, wire = key >> 3, key & 7
            if number == 0:
                raise _Malformed("field number 0")
            if wire == 0:
                value, i = self.varint(i, end)
            elif wire == 1 or wire == 5:
                i += 8 if wire == 1 else 4
                value = None
            elif wire == 2:
                n, i = self.varint(i, end)
                value = (i, i + n)
                i += n
            else:  # groups (3, 4) are not in onnx.proto; 6, 7 do not exist
                raise _Malformed(f"wire type {wire}")
            if i > end:
                raise _Malformed("a field runs past the end of its message")
            yield number, wire, value

    def text(self, span) -> str:
        try:
            return self.data[span[0]:span[1]].decode("utf-8")
        except UnicodeDecodeError:
            raise _Malformed("a name that is not UTF-8") from None


def _tensor(r: _Reader, span, info: GraphInfo) -> None:
    for number, wire, value in r.fields(*span):
        if (number == _TENSOR_EXTERNAL and wire == 2) or (number == _TENSOR_LOCATION and wire == 0 and value):
            info.external_data = True


def _sparse(r: _Reader, span, info: GraphInfo) -> None:
    for number, wire, value in r.fields(*span):
        if number in (_SPARSE_VALUES, _SPARSE_INDICES) and wire == 2:
            _tensor(r, value, info)


def _node(r: _Reader, span, info: GraphInfo) -> None:
    op, domain = "", ""
    for number, wire, value in r.fields(*span):
        if wire != 2:
            continue
        if number == _NODE_OP:
            op = r.text(value)
        elif number == _NODE_DOMAIN:
            domain = r.text(value)
        elif number == _NODE_ATTRIBUTE:
            for a_number, a_wire, a_value in r.fields(*value):
                if a_wire != 2:
                    continue
                if a_number in (_ATTR_G, _ATTR_GRAPHS):
                    info.subgraphs = True
                elif a_number in (_ATTR_T, _ATTR_TENSORS):
                    _tensor(r, a_value, info)
                elif a_number in (_ATTR_SPARSE, _ATTR_SPARSES):
                    _sparse(r, a_value, info)
    info.ops.add((domain, op))


def _graph(r: _Reader, span, info: GraphInfo) -> None:
    for number, wire, value in r.fields(*span):
        if wire != 2:
            continue
        if number == _GRAPH_NODE:
            _node(r, value, info)
        elif number == _GRAPH_INITIALIZER:
            _tensor(r, value, info)
        elif number == _GRAPH_SPARSE:
            _sparse(r, value, info)


def read_graph(data: bytes) -> GraphInfo:
    """The operators, opsets and outside references of a serialized ONNX ModelProto; ValueError
    for bytes that are not one."""
    r, info = _Reader(data), GraphInfo()
    graphs = 0
    try:
        for number, wire, value in r.fields(0, len(data)):
            if number == _MODEL_GRAPH and wire == 2:
                graphs += 1
                _graph(r, value, info)
            elif number == _MODEL_OPSET and wire == 2:
                domain, version = "", 0
                for o_number, o_wire, o_value in r.fields(*value):
                    if o_number == 1 and o_wire == 2:
                        domain = r.text(o_value)
                    elif o_number == 2 and o_wire == 0:
                        version = o_value
                info.opsets.add((domain, version))
            elif number == _MODEL_FUNCTIONS:
                info.functions = True
            elif number == _MODEL_TRAINING:
                info.subgraphs = True
    except _Malformed as e:
        raise ValueError(f"not an ONNX model ({e})") from None
    if graphs != 1 or not info.opsets:
        raise ValueError("not an ONNX model (no graph or no opset)" if not graphs else
                         "not an ONNX model (several graphs)" if graphs > 1 else "not an ONNX model (no opset)")
    return info


def check_onnx(path: str | Path) -> GraphInfo:
    """Refuse an .onnx file genforge did not write the kind of: unreadable, too large, with an
    operator outside ALLOWED_OPS, a custom domain, model-local functions, subgraphs, or tensors
    stored in other files (which onnxruntime would read from wherever they point)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_ONNX_BYTES:
            raise GenforgeError(f"{path}: {size:,} bytes, more than any genforge model ({MAX_ONNX_BYTES:,}); refused")
        data = path.read_bytes()
    except OSError as e:
        raise GenforgeError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        info = read_graph(data)
    except ValueError as e:
        raise GenforgeError(f"{path}: cannot load the ONNX model: {e}; truncated or not an ONNX file") from None
    foreign = sorted(f"{d}.{op}" if d else op for d, op in info.ops if d not in NODE_DOMAINS or op not in ALLOWED_OPS)
    if foreign:
        shown = ", ".join(repr(f[:40]) for f in foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise GenforgeError(f"{path}: the graph uses operator(s) genforge never writes ({shown}); refused: a model "
                            "folder may run only genforge's own operators")
    odd_opsets = sorted(d for d, _ in info.opsets if d not in OPSET_DOMAINS)
    if odd_opsets:
        raise GenforgeError(f"{path}: the graph imports operator set(s) {', '.join(repr(d[:40]) for d in odd_opsets)}, "
                            "which genforge never writes; refused")
    if info.functions or info.subgraphs:
        raise GenforgeError(f"{path}: the graph holds {'model-local functions' if info.functions else 'subgraphs'}, "
                            "which genforge never writes; refused")
    if info.external_data:
        raise GenforgeError(f"{path}: the graph keeps tensors in other files (ONNX external data), which genforge "
                            "never writes; refused")
    return info
