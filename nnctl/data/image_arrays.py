"""A user's images as arrays: their layout told or inferred, turned into the rows nnctl keeps, and
described (ImageFormat) so that a trained model takes new images as it took these.

A batch of images comes as (N, H, W) (one channel), (N, H, W, C) channels last (`nhwc`: Keras'
and nnctl's own order) or (N, C, H, W) channels first (`nchw`: PyTorch's). Without `data.layout`
the channel axis is told by its size, 1, 3 or 4 (gray, RGB, RGBA):

    (N, 28, 28, 1), (N, 32, 32, 3)    the last axis holds 1, 3 or 4 and the second does not: nhwc
    (N, 1, 28, 28), (N, 3, 32, 32)    the second holds 1, 3 or 4 and the last does not: nchw
    (N, 4, 4, 3), (N, 28, 28, 2)      both, or neither: refused, `data.layout` says which

Rows of H·W·C values (a CSV's, or a 2-D array's) are images in channels-last order once
`data.image_shape` gives their shape. Whatever the layout, the kept rows are channels last.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import DataError

CHANNELS = (1, 3, 4)  # what a channel axis holds: gray, RGB, RGBA
LAYOUTS = ("nhwc", "nchw")  # what data.layout takes
# How the training file held its images (ImageFormat.layout): LAYOUTS, one channel as (N, H, W),
# or flat rows viewed through data.image_shape (and the built-in sets' rows).
HELD = (*LAYOUTS, "nhw", "rows")
BACKGROUNDS = ("dark", "light")
WHITE_LEVELS = (1.0, 255.0, 65535.0)  # the white levels told from the values: 0..1 floats, bytes, 16-bit
MAX_VALUE = 1e38  # as nnctl.data.tabular.MAX_FEATURE: beyond it a scaled float32 overflows


@dataclass(frozen=True)
class ImageFormat:
    """What a model trained on images knows of them: the shape (H, W, C) its rows hold, channels
    last; how the training file held them (`layout`: HELD); the value of white in the raw data
    (`pixel_max`: 255 for bytes, 1.0 for 0..1 floats, 16 for scikit-learn's digits; None when the
    values say nothing of it), and whether the images are light on `dark` ground or dark on
    `light` ground (None: unknown). The last two are what turns a PNG file into the model's units."""

    shape: tuple
    layout: str = "rows"
    pixel_max: float | None = None
    background: str | None = None

    def to_json(self) -> dict:
        return {"shape": list(self.shape), "layout": self.layout, "pixel_max": self.pixel_max,
                "background": self.background}

    @classmethod
    def from_json(cls, value) -> ImageFormat:
        """The ImageFormat a checkpoint's preprocessing.image holds, checked (DataError)."""
        keys = {"shape", "layout", "pixel_max", "background"}
        if not isinstance(value, dict) or set(value) != keys:
            raise DataError(f"image: expected an object with keys {', '.join(sorted(keys))}")
        shape, layout, white, ground = value["shape"], value["layout"], value["pixel_max"], value["background"]
        if not (isinstance(shape, list) and len(shape) == 3
                and all(type(d) is int and 1 <= d <= 10**6 for d in shape) and math.prod(shape) <= 10**9):
            raise DataError(f"image.shape: expected [height, width, channels], got {shape!r}")
        if layout not in HELD:
            raise DataError(f"image.layout: expected one of {', '.join(HELD)}, got {layout!r}")
        if white is not None and not (type(white) in (int, float) and math.isfinite(white) and white > 0):
            raise DataError(f"image.pixel_max: expected null or a positive number, got {white!r}")
        if ground is not None and ground not in BACKGROUNDS:
            raise DataError(f"image.background: expected null, dark or light, got {ground!r}")
        return cls(tuple(shape), layout, None if white is None else float(white), ground)


def full_shape(image_shape) -> tuple:
    """data.image_shape as (H, W, C): [H, W] is one channel."""
    shape = tuple(int(d) for d in image_shape)
    return shape if len(shape) == 3 else (*shape, 1)


def infer_layout(shape: tuple, where: str) -> str:
    """The layout of an array of images of `shape` (N, a, b, c), told by its channel axis (the rule
    atop this module); DataError when the sizes cannot tell."""
    last, second = shape[3] in CHANNELS, shape[1] in CHANNELS
    if last != second:
        return "nhwc" if last else "nchw"
    _n, a, _b, c = shape
    if last:
        why = f"both its second axis ({a}) and its last ({c}) could hold the channels"
    else:
        why = f"neither its second axis ({a}) nor its last ({c}) holds 1, 3 or 4 channels"
    raise DataError(f"{where}: an array of images of shape {shape}: {why}; say which with data.layout: nhwc "
                    f"(images (N, height, width, channels)) or nchw (images (N, channels, height, width))")


def declared_shape(shape: tuple, image_shape, layout: str | None) -> tuple | None:
    """The (H, W, C) of each image in an array of `shape` (as its header declares it), or of
    `image_shape` (data.image_shape) for rows of its size; None for rows of features, or when the
    sizes do not agree or cannot tell (loading the file says why)."""
    given = None if image_shape is None else full_shape(image_shape)
    if len(shape) == 2:
        return given if given is not None and shape[1] == math.prod(given) else None
    if len(shape) == 3:
        found = (*shape[1:], 1)
    elif len(shape) == 4 and (layout or (shape[3] in CHANNELS) != (shape[1] in CHANNELS)):
        held = layout or ("nhwc" if shape[3] in CHANNELS else "nchw")
        found = shape[1:] if held == "nhwc" else (*shape[2:], shape[1])
    else:
        return None
    return tuple(int(d) for d in found) if given in (None, tuple(found)) else None


def as_images(x: np.ndarray, image_shape, layout: str | None, where: str) -> tuple[np.ndarray, ImageFormat | None]:
    """(rows, format) of a data file's features x: an array of images of any layout (rows of their
    values, channels last), or rows viewed as images of `image_shape` (data.image_shape; None: rows
    of features, format None). `layout` is data.layout (None: inferred). The rows keep x's dtype
    (bytes stay bytes); DataError for what cannot be images of that shape."""
    given = None if image_shape is None else full_shape(image_shape)
    if x.ndim == 2:
        if given is None:
            return x, None
        if x.shape[1] != math.prod(given):
            raise DataError(f"{where}: rows of {x.shape[1]} values, but data.image_shape {list(given)} holds "
                            f"{math.prod(given)} (height x width x channels) per image")
        return _checked(x, where), ImageFormat(given, "rows")
    if x.ndim == 3:
        images, held = x[..., None], "nhw"
    elif x.ndim == 4:
        held = layout or infer_layout(x.shape, where)
        images = x if held == "nhwc" else x.transpose(0, 2, 3, 1)
    else:
        raise DataError(f"{where}: an array of shape {x.shape}: expected rows (N, features) or images "
                        f"(N, height, width), (N, height, width, channels) or (N, channels, height, width)")
    shape = tuple(int(d) for d in images.shape[1:])
    if given is not None and shape != given:
        raise DataError(f"{where}: images of shape {shape} (height, width, channels; read as {held}), but "
                        f"data.image_shape says {list(given)}")
    if 0 in images.shape:
        raise DataError(f"{where}: an array of shape {x.shape} holds no pixels")
    rows = np.ascontiguousarray(images).reshape(len(images), -1)
    return _checked(rows, where), ImageFormat(shape, held)


def _checked(rows: np.ndarray, where: str) -> np.ndarray:
    """Image rows of real numbers, finite and within ±MAX_VALUE (bool becomes bytes); DataError
    naming the first bad pixel otherwise."""
    if rows.dtype == bool:
        return rows.astype(np.uint8)
    if rows.dtype.kind not in "iuf":
        raise DataError(f"{where}: holds {rows.dtype} values, not real numbers")
    if rows.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~(np.abs(rows) <= MAX_VALUE)
        if bad.any():
            image, value = np.argwhere(bad)[0]
            raise DataError(f"{where}: image {image + 1}, value {value + 1}: {rows[image, value]} is not a finite "
                            f"number nnctl can scale")
    return rows


def fit(rows: np.ndarray, held: ImageFormat, dtype: np.dtype) -> ImageFormat:
    """`held` (the shape and layout) with the white level and background read from the training
    images `rows` (raw values, channels last) of the file's `dtype`."""
    white = pixel_max(rows, dtype)
    return ImageFormat(held.shape, held.layout, white, background(rows, held.shape, white))


def pixel_max(rows: np.ndarray, dtype: np.dtype) -> float | None:
    """The raw value of white: the dtype's for bytes and 16-bit integers, else the smallest of
    WHITE_LEVELS the values fit in (none: None, a scale nnctl cannot tell)."""
    dtype = np.dtype(dtype)
    if dtype == bool:
        return 1.0
    if dtype.kind == "u" and dtype.itemsize <= 2:
        return float(np.iinfo(dtype).max)
    if rows.size == 0:
        return None
    low, high = float(rows.min()), float(rows.max())
    if low < 0:
        return None
    return next((level for level in WHITE_LEVELS if high <= level), None)


def background(rows: np.ndarray, shape: tuple, white: float | None) -> str | None:
    """`dark` or `light`: the median of the images' border pixels (their channels' mean) against
    the middle of the range, 0..white (or the values' own range)."""
    if rows.size == 0:
        return None
    border = border_values(rows, shape).mean(axis=2)
    low, high = (0.0, white) if white is not None else (float(rows.min()), float(rows.max()))
    if high <= low:
        return None
    return "light" if float(np.median(border)) > (low + high) / 2 else "dark"


def border_values(rows: np.ndarray, shape: tuple) -> np.ndarray:
    """The pixels on the edge of each image: (N, 2H + 2W - 4, C) from rows (N, H·W·C) channels last."""
    images = rows.reshape(len(rows), *shape)
    h, w = shape[:2]
    if h <= 2 or w <= 2:
        return images.reshape(len(rows), h * w, shape[2])
    edges = (images[:, 0], images[:, -1], images[:, 1:-1, 0], images[:, 1:-1, -1])
    return np.concatenate(edges, axis=1)


def predict_rows(x: np.ndarray, image: ImageFormat, where: str) -> np.ndarray:
    """The rows a model trained on images of `image` takes from an array given to predict: rows of
    H·W·C values (channels last), (N, H, W) for one channel, or (N, H, W, C) / (N, C, H, W) (when
    both fit, as the training file held them). DataError naming the shapes it takes otherwise."""
    h, w, c = image.shape
    if x.ndim == 2 and x.shape[1] == h * w * c:
        return x
    if x.ndim == 3 and x.shape[1:] == (h, w) and c == 1:
        return x.reshape(len(x), -1)
    if x.ndim == 4:
        nhwc, nchw = x.shape[1:] == (h, w, c), x.shape[1:] == (c, h, w)
        if nhwc or nchw:
            channels_first = nchw and (not nhwc or image.layout == "nchw")
            images = x.transpose(0, 2, 3, 1) if channels_first else x
            return np.ascontiguousarray(images).reshape(len(x), -1)
    shapes = [(h * w * c,), *([(h, w)] if c == 1 else []), (h, w, c), (c, h, w)]
    taken = ", ".join("(rows, " + ", ".join(map(str, s)) + ")" for s in shapes)
    raise DataError(f"{where}: an array of shape {x.shape}; the model takes images {h}x{w} with {c} "
                    f"channel{'s' if c > 1 else ''}: {taken}")
