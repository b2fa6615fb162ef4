"""The ONNX nodes that read a CSV model's columns as nnctl does (nnctl.data.encoding), before its
scaling and network: each column's cells in, the network's inputs out, in the checkpoint's order.

    numeric      a float (N, 1) input, NaN where missing: Where(IsNaN(x), fill, x), and the
                 indicator Cast(IsNaN(x)) when training added one
    binary       a string (N, 1) input: LabelEncoder (ai.onnx.ml) of the two values to 0 and 1,
                 anything else (missing, never seen) to the training share
    categorical  a string (N, 1) input: LabelEncoder of the categories to their place (a value never
                 seen: `other`'s, else -1), a second LabelEncoder telling the missing markers, then
                 one-hot by Equal against 0..width-1 (-1 matches none: all zeros)

The missing markers are matched in every mix of upper and lower case, listed (LabelEncoder keys)
rather than lower-cased by StringNormalizer, whose locale a runtime may lack; a marker longer than
CASED letters is matched as written, lower-cased or upper-cased. A table of numbers alone keeps the
one `features` input (N, columns), imputed the same way, column by column.
"""

from __future__ import annotations

import itertools

import numpy as np

ML_DOMAIN, ML_OPSET = "ai.onnx.ml", 2  # LabelEncoder with string keys and int64 values: ai.onnx.ml 2 (onnxruntime 1.2+)
CASED = 8  # letters of a missing marker up to which every mix of cases is listed


def spellings(markers: list[str]) -> list[str]:
    """Every spelling of the missing markers that nnctl (stripped, lower-cased) reads as missing."""
    out = set()
    for marker in markers:
        lowered = marker.strip().lower()
        letters = [c for c in lowered if c.upper() != c]
        if len(letters) > CASED:
            out.update({lowered, lowered.upper(), lowered.capitalize()})
            continue
        options = [(c, c.upper()) if c.upper() != c else (c,) for c in lowered]
        out.update("".join(p) for p in itertools.product(*options))
    return sorted(out)


def _label_encoder(g, x: str, keys: list[str], values: list[int], default: int) -> str:
    """(N,) int64: each string of x looked up in keys (values[i]), `default` when not there."""
    out = g.name("label_encoder")
    g.nodes.append(g.onnx.helper.make_node("LabelEncoder", [x], [out], domain=ML_DOMAIN, keys_strings=keys,
                                           values_int64s=values, default_int64=default))
    return out


def _strings(g, name: str) -> str:
    """A string (N, 1) input as (N,): what LabelEncoder maps element by element."""
    return g.op("Reshape", name, g.const([-1], "flat", dtype="int64"))


def _numeric(g, x: str, r: dict) -> list[str]:
    missing = g.op("IsNaN", x)
    pieces = [g.op("Where", missing, g.const(np.full((1, 1), r["fill"])), x)]
    if r["indicator"]:
        pieces.append(g.op("Cast", missing, to=g.elem))
    return pieces


def _binary(g, name: str, r: dict) -> list[str]:
    index = _label_encoder(g, _strings(g, name), list(r["values"]), [0, 1], -1)
    index = g.op("Unsqueeze", index, g.const([1], "axis", dtype="int64"))
    unknown = g.op("Less", index, g.const(np.zeros((1, 1), np.int64), dtype="int64"))
    return [g.op("Where", unknown, g.const(np.full((1, 1), r["fill"])), g.op("Cast", index, to=g.elem))]


def _categorical(g, name: str, r: dict, markers: list[str]) -> list[str]:
    flat = _strings(g, name)
    width = len(r["categories"]) + r["other"] + r["missing"]
    unknown_at = len(r["categories"]) if r["other"] else -1
    index = _label_encoder(g, flat, list(r["categories"]), list(range(len(r["categories"]))), unknown_at)
    words = spellings(markers)
    missing = g.op("Cast", _label_encoder(g, flat, words, [1] * len(words), 0), to=g.onnx.TensorProto.BOOL)
    index = g.op("Where", missing, g.const(width - 1 if r["missing"] else -1, dtype="int64"), index)
    index = g.op("Unsqueeze", index, g.const([1], "axis", dtype="int64"))
    hits = g.op("Equal", index, g.const(np.arange(width, dtype=np.int64)[None, :], "places", dtype="int64"))
    return [g.op("Cast", hits, to=g.elem)]


def by_column(g, records: list[dict], markers: list[str]) -> str:
    """The network's inputs (N, n_inputs) from one input per column, named as the column."""
    pieces = []
    for r in records:
        if r["type"] == "numeric":
            pieces += _numeric(g, r["name"], r)
        elif r["type"] == "binary":
            pieces += _binary(g, r["name"], r)
        else:
            pieces += _categorical(g, r["name"], r, markers)
    return g.op("Concat", *pieces, axis=1)


def from_features(g, x: str, records: list[dict]) -> str:
    """The network's inputs from `features` (N, columns) of numbers, NaN where missing: each column
    filled with its training statistic, followed by its indicator where training added one."""
    missing = g.op("IsNaN", x)
    filled = g.op("Where", missing, g.const(np.array([[r["fill"] for r in records]])), x)
    flagged = [i for i, r in enumerate(records) if r["indicator"]]
    if not flagged:
        return filled
    flags = g.op("Cast", g.op("Gather", missing, g.const(flagged, "flagged", dtype="int64"), axis=1), to=g.elem)
    order, place = [], len(records)  # the network's order: each column, then its indicator
    for i, r in enumerate(records):
        order.append(i)
        if r["indicator"]:
            order.append(place)
            place += 1
    return g.op("Gather", g.op("Concat", filled, flags, axis=1), g.const(order, "order", dtype="int64"), axis=1)


def inputs(helper, records: list[dict], elem: int, string: int, features: bool) -> list:
    """The graph's inputs: `features` (N, columns), or one (N, 1) per column, text as strings."""
    if features:
        return [helper.make_tensor_value_info("features", elem, ["N", len(records)])]
    return [helper.make_tensor_value_info(r["name"], elem if r["type"] == "numeric" else string, ["N", 1])
            for r in records]
