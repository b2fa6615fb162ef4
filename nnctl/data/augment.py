"""Random shifts and rotations of training images, a batch at a time (`data.augment`).

    Augment((28, 28, 1), shift=2, rotate=10, seed=0)(rows, epoch, batch) -> new rows

Each image turns about its centre by an angle drawn from -rotate..rotate degrees, then moves by
whole pixels (dy, dx), each drawn from -shift..shift. An output pixel is the bilinear mix of the
four pixels around the point it comes from (without rotation that point is a pixel, so a shift
copies values exactly); a point beyond the image's edge takes the image's background, the median
of its border pixels (per channel): black around an MNIST digit, white around ink on paper.

The draws of a batch come from a generator seeded with (seed, epoch, batch) alone, so the same
batch of the same epoch is augmented alike whether the run was left alone or resumed in the
middle of the epoch; the arithmetic is NumPy's, in the rows' dtype, the same with or without
NNCTL_JIT. The work is one set of index maps per batch and four gathers (one without rotation):
a few milliseconds for a batch of 128 MNIST images.
"""

from __future__ import annotations

import numpy as np

from .image_arrays import border_values

STREAM = 0x617567  # "aug": the generator's last seed word, apart from the epoch's shuffle ([seed, epoch])


class Augment:
    """The batch transform of images of `shape` (H, W, C) given as rows, channels last."""

    def __init__(self, shape: tuple, shift: int, rotate: float, seed: int):
        self.shape, self.shift, self.rotate, self.seed = tuple(shape), int(shift), float(rotate), int(seed)
        h, w, _ = self.shape
        # each output pixel's offset from the centre, the rotation's fixed point
        self.dy, self.dx = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2, indexing="ij")

    def __call__(self, x: np.ndarray, epoch: int, batch: int) -> np.ndarray:
        """The rows x: (m, H·W·C) of batch `batch` (0-based) of epoch `epoch`, shifted and turned: a new array."""
        m = len(x)
        rng = np.random.default_rng([self.seed, epoch, batch, STREAM])
        angles = rng.uniform(-self.rotate, self.rotate, m) if self.rotate else None
        moves = rng.integers(-self.shift, self.shift + 1, (m, 2)) if self.shift else np.zeros((m, 2), np.int64)
        return self.apply(x, angles, moves)

    def apply(self, x: np.ndarray, angles: np.ndarray | None, moves: np.ndarray) -> np.ndarray:
        """The rows x: (m, H·W·C) turned by `angles` (m,) degrees (None: not turned) and moved by
        `moves` (m, 2) whole pixels (down, right): a new array of x's dtype."""
        m, (h, w, c) = len(x), self.shape
        # The images in a frame of their background, one pixel wide above and left, two below and
        # right (where a point's next row and column may lie): every point outside reads the frame.
        framed = np.empty((m, h + 3, w + 3, c), x.dtype)
        framed[...] = np.median(border_values(x, self.shape), axis=1).astype(x.dtype)[:, None, None, :]
        framed[:, 1:h + 1, 1:w + 1] = x.reshape(m, h, w, c)
        pixels, stride = framed.reshape(-1, c), w + 3
        first = (np.arange(m, dtype=np.intp) * ((h + 3) * stride))[:, None, None]  # each image's first pixel
        if angles is None:  # whole pixels: one gather, exact values
            rows = np.clip(np.arange(h)[:, None] - moves[:, :1, None], -1, h) + 1
            columns = np.clip(np.arange(w)[None, :] - moves[:, 1:, None], -1, w) + 1
            return np.take(pixels, first + rows * stride + columns, axis=0).reshape(m, -1)
        sy, sx = self._sources(np.deg2rad(angles), moves, x.dtype)
        y0, x0 = np.floor(sy), np.floor(sx)
        fy, fx = (sy - y0)[..., None], (sx - x0)[..., None]
        at = first + (y0.astype(np.intp) + 1) * stride + (x0.astype(np.intp) + 1)  # the pixel up and left
        up_left, up_right = np.take(pixels, at, axis=0), np.take(pixels, at + 1, axis=0)
        down_left, down_right = np.take(pixels, at + stride, axis=0), np.take(pixels, at + stride + 1, axis=0)
        upper = up_left + (up_right - up_left) * fx
        lower = down_left + (down_right - down_left) * fx
        return (upper + (lower - upper) * fy).reshape(m, -1)

    def _sources(self, angles, moves, dtype) -> tuple[np.ndarray, np.ndarray]:
        """Where each output pixel comes from, (row, column) each (m, H, W) in the rows' float type
        (a float32 network stays float32): its offset from the centre, less the move, turned back
        by the angle, clipped to the frame."""
        h, w, _ = self.shape
        cos, sin = np.cos(angles).astype(dtype)[:, None, None], np.sin(angles).astype(dtype)[:, None, None]
        ty = self.dy.astype(dtype) - moves[:, :1, None].astype(dtype)
        tx = self.dx.astype(dtype) - moves[:, 1:, None].astype(dtype)
        sy = np.clip(cos * ty - sin * tx + dtype.type((h - 1) / 2), -1, h)
        sx = np.clip(sin * ty + cos * tx + dtype.type((w - 1) / 2), -1, w)
        return sy, sx
