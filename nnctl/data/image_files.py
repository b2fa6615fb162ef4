"""Image files for predict (PNG, JPEG, BMP), made the rows a model trained on images takes.

Read with Pillow, matplotlib's own image library (matplotlib.image.imread is Pillow plus a
conversion of PNGs to 0..1 float32, which would lose the exact byte values); each file is turned
into the model's images (nnctl.data.image_arrays.ImageFormat) in this order:

    size        the model's H x W, or a whole multiple of it (k·H x k·W: each k x k block averaged
                into one pixel, e.g. a 280x280 drawing for MNIST); any other size is refused
    channels    gray to RGB by repeating it; RGB to gray by luminance (ITU-R 601: 0.299 R + 0.587 G
                + 0.114 B, as Pillow's "L"), unless R = G = B already; an alpha channel must be
                opaque (what lies under a transparent pixel is unknown), unless the model takes 4
    ground      a one-channel model trained on light-on-dark images (MNIST) given dark-on-light
                ones (ink on paper) inverts them, and the other way round (`invert`: auto; yes
                inverts always, no never); told by the median of the border pixels
    units       the file's 0..max (255, or 65535 for 16-bit) onto the training data's 0..pixel_max:
                an 8-bit PNG of an MNIST image gives back its exact bytes

The rows come back in the training data's raw units: the checkpoint's scaling applies to them as
to any rows.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from .. import files
from ..errors import DataError
from ..printable import excerpt
from .image_arrays import ImageFormat

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
MAX_PIXELS = 50_000_000  # an image larger than this is refused before it is decoded
LUMINANCE = np.array([0.299, 0.587, 0.114])  # ITU-R 601-2, Pillow's convert("L")
INVERT = ("auto", "yes", "no")
# Pillow's modes, by what nnctl reads them as: (the mode converted to, or None to keep it)
MODES = {"1": "L", "L": None, "P": "RGBA", "LA": None, "La": "LA", "RGB": None, "RGBA": None, "RGBa": "RGBA",
         "RGBX": "RGB", "CMYK": "RGB", "YCbCr": "RGB", "I;16": None, "I;16L": None, "I;16B": None, "I": None}


def is_image(path) -> bool:
    """Whether `path` names an image file by its suffix."""
    return Path(path).suffix.lower() in SUFFIXES


def expand(sources) -> list[Path]:
    """The image files of `sources` (files, and folders: their image files, by name, hidden ones
    left out); DataError for a folder without any, or a file that is not an image."""
    found = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if is_image(p) and not p.name.startswith("."))
            if not inside:
                raise DataError(f"{path}: a folder without image files ({', '.join(SUFFIXES)})")
            found += inside
        elif is_image(path):
            found.append(path)
        else:
            raise DataError(f"{path}: not an image file ({', '.join(SUFFIXES)}); several inputs are images or "
                            f"folders of images, and a CSV, .npy or .npz file is given alone")
    return found


def read(paths, image: ImageFormat, invert: str = "auto") -> tuple[np.ndarray, list[str]]:
    """(rows (n, H·W·C) float64 in the training data's raw units, notes for stderr) of the image
    files `paths`, for a model trained on images of `image`."""
    if image.pixel_max is None:
        raise DataError("the model's training images have no known white level (their values are neither "
                        "0..1 nor 0..255): nnctl cannot tell how an image file's pixels map onto them; give "
                        "predict an array of images in the training data's units instead")
    rows: list[np.ndarray] = []
    done: dict[str, list[str]] = {}  # a change made, and the files it was made to
    for path in paths:
        row, changes = _read_one(Path(path), image, invert)
        rows.append(row)
        for change in changes:
            done.setdefault(change, []).append(str(path))
    return np.stack(rows), [_note(change, names, len(rows)) for change, names in done.items()]


def _note(change: str, names: list[str], total: int) -> str:
    """One line of what was done to some of the images: the first few named, or `every image`."""
    if len(names) == total > 1:
        return f"every image: {change}"
    shown = ", ".join(_tail(n) for n in names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"{shown}: {change}"


def _tail(name: str, limit: int = 80) -> str:
    """A path for a message: its end, where the file's name is, when it is long."""
    return name if len(name) <= limit else "…" + name[-limit + 1:]


def _read_one(path: Path, image: ImageFormat, invert: str) -> tuple[np.ndarray, list[str]]:
    """One file as a row of the model's image in raw training units, and what was done to it."""
    values, depth, mode = _decoded(path, image)
    changes = []
    values, change = _channels(values, depth, mode, image.shape[2], path)
    changes += [change] if change else []
    scale = values.shape[0] // image.shape[0]
    if scale > 1:
        h, w, c = image.shape
        values = values.reshape(h, scale, w, scale, c).mean(axis=(1, 3))
        changes.append(f"averaged down {scale}x{scale} to {w}x{h}")
    if _inverted(values, depth, image, invert):
        values = values.astype(np.float64)
        values[..., :3] = depth - values[..., :3]  # never a fourth channel: alpha stays
        if invert == "auto":
            ground = "light on dark" if image.background == "dark" else "dark on light"
            changes.append(f"inverted, as the model's training images are {ground} (--invert no keeps them)")
    white = float(image.pixel_max)  # type: ignore[arg-type]  # known: a model without one was refused above
    return (values.astype(np.float64) * (white / depth)).reshape(-1), changes


def _decoded(path: Path, image: ImageFormat) -> tuple[np.ndarray, int, str]:
    """(the pixels (h, w, channels) as integers, the value of white, the mode), the size checked
    against the model's before anything is decoded."""
    from PIL import Image, UnidentifiedImageError

    h, w = image.shape[:2]
    with files.open_capped(path, files.MAX_DATA_BYTES, DataError, "an image", files.DATA_TOO_BIG) as handle:
        try:
            with warnings.catch_warnings():  # a large image is refused below, before it is decoded
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                picture = Image.open(handle)
            with picture:
                width, height = picture.size
                scale = height // h
                if width * height > MAX_PIXELS or scale < 1 or (height, width) != (scale * h, scale * w):
                    raise DataError(f"{path}: an image of {width}x{height} pixels (width x height); the model takes "
                                    f"{w}x{h}, or a whole multiple such as {2 * w}x{2 * h} (averaged down): resize "
                                    f"it to {w}x{h}")
                if picture.mode not in MODES:
                    raise DataError(f"{path}: its pixels are of Pillow's mode {picture.mode}, which nnctl does not "
                                    f"read; save it as 8-bit gray, RGB or RGBA")
                target = MODES[picture.mode]
                if picture.mode == "P" and "transparency" not in picture.info:
                    target = "RGB"
                converted = picture.convert(target) if target else picture
                mode = converted.mode
                values = np.asarray(converted)
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
            raise DataError(f"{path}: not an image file nnctl can read ({excerpt(e, 120)})") from None
    depth = 65535 if mode.startswith("I") else 255
    if mode == "I" and values.size and (values.min() < 0 or values.max() > 65535):
        raise DataError(f"{path}: 32-bit pixel values beyond 0..65535; save it as 8- or 16-bit")
    values = values.astype(np.int64)
    return (values[..., None] if values.ndim == 2 else values), depth, mode


def _channels(values: np.ndarray, depth: int, mode: str, wanted: int, path: Path) -> tuple[np.ndarray, str | None]:
    """The pixels with the model's `wanted` channels, and what was done (None: nothing)."""
    if wanted not in (1, 3, 4):
        raise DataError(f"{path}: the model takes images of {wanted} channels; an image file holds 1 (gray), "
                        f"3 (RGB) or 4 (RGBA): give predict an array instead")
    alpha = values[..., -1:] if values.shape[2] in (2, 4) else None
    if alpha is not None:
        values = values[..., :-1]
        if wanted != 4 and (alpha != depth).any():
            raise DataError(f"{path}: has transparent pixels, and the model takes images without transparency "
                            f"({'gray' if wanted == 1 else 'RGB'}): what lies under them is unknown; flatten the "
                            f"image onto its background (e.g. PIL's Image.alpha_composite) and save it without alpha")
    out, note = values, None
    if values.shape[2] == 3 and wanted == 1 and not (values[..., :1] == values[..., 1:]).all():
        out, note = values @ LUMINANCE[:, None], f"{mode} converted to gray by luminance (0.299 R + 0.587 G + 0.114 B)"
    elif values.shape[2] == 3 and wanted == 1:
        out = values[..., :1]  # gray saved as RGB: its values as they are
    elif values.shape[2] == 1 and wanted > 1:
        out, note = np.repeat(values, 3, axis=2), "gray repeated into the 3 channels R, G, B"
    if wanted == 4:  # the model's fourth channel is alpha: an image without one is opaque
        opaque = np.full(out.shape[:2] + (1,), depth, out.dtype)
        out = np.concatenate([out, opaque if alpha is None else alpha], axis=2)
    return out, note


def _inverted(values: np.ndarray, depth: int, image: ImageFormat, invert: str) -> bool:
    """Whether to invert the pixels: `invert` yes or no, or auto: a one-channel image whose ground
    (the median of its border) differs from the training images'."""
    if invert != "auto":
        return invert == "yes"
    if image.shape[2] != 1 or image.background is None:
        return False
    h, w = values.shape[:2]
    border = np.concatenate([values[0].ravel(), values[-1].ravel(), values[:, 0].ravel(), values[:, -1].ravel()]) \
        if h > 2 and w > 2 else values.ravel()
    light = float(np.median(border)) > depth / 2
    return light != (image.background == "light")


def is_image_input(path) -> bool:
    """Whether `path` is an input of images: an image file, or a folder that is not a run folder."""
    path = Path(path)
    if path.is_dir():
        return not any(os.path.lexists(path / name) for name in ("run.json", "checkpoint.json"))
    return is_image(path)
