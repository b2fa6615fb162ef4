"""Augmentation: shifts copy pixels exactly, rotations are bilinear about the centre, the outside
takes the image's background, and every batch's draws depend on (seed, epoch, batch) alone."""

import numpy as np
import pytest

from nnctl.data.augment import Augment

RNG = np.random.default_rng(0)


def framed(n, h, w, c=1, ground=0.0, dtype=np.float32):
    """n random images with a border of `ground`, as rows."""
    images = np.full((n, h, w, c), ground, dtype)
    images[:, 1:-1, 1:-1] = RNG.random((n, h - 2, w - 2, c))
    return images.reshape(n, -1)


def shifted(images, dy, dx, fill):
    """The reference: each image (H, W) moved dy down and dx right, the uncovered pixels `fill`."""
    out = np.full_like(images, fill)
    h, w = images.shape[:2]
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = images[
        max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)
    ]
    return out


@pytest.mark.parametrize("ground", [0.0, 0.75])
def test_a_shift_copies_pixels_exactly_and_fills_with_the_background(ground):
    x = framed(6, 7, 9, ground=ground)
    moves = np.array([[0, 0], [1, 0], [0, -2], [-3, 2], [2, 2], [-1, -1]])
    out = Augment((7, 9, 1), 3, 0.0, 0).apply(x, None, moves)
    for image, got, (dy, dx) in zip(x.reshape(6, 7, 9), out.reshape(6, 7, 9), moves):
        assert got.tobytes() == shifted(image, dy, dx, np.float32(ground)).tobytes()
    turned_by_nothing = Augment((7, 9, 1), 3, 10.0, 0).apply(x, np.zeros(6), moves)  # the bilinear path agrees
    np.testing.assert_array_equal(turned_by_nothing, out)


def test_quarter_and_half_turns_are_the_image_turned():
    x = framed(3, 9, 9)
    augment = Augment((9, 9, 1), 0, 180.0, 0)
    images = x.reshape(3, 9, 9)
    np.testing.assert_allclose(
        augment.apply(x, np.full(3, 90.0), np.zeros((3, 2), int)).reshape(3, 9, 9),
        np.rot90(images, k=-1, axes=(1, 2)),
        atol=1e-6,
    )
    np.testing.assert_allclose(
        augment.apply(x, np.full(3, -90.0), np.zeros((3, 2), int)).reshape(3, 9, 9),
        np.rot90(images, k=1, axes=(1, 2)),
        atol=1e-6,
    )
    np.testing.assert_allclose(
        augment.apply(x, np.full(3, 180.0), np.zeros((3, 2), int)).reshape(3, 9, 9), images[:, ::-1, ::-1], atol=1e-6
    )


def test_a_turn_is_bilinear_about_the_centre():
    """A 45 degree turn of a 3x3 image whose centre is 1: the point a corner comes from lies on a
    diagonal, sqrt(2) from the centre, outside the image (the background, 0); the centre stays."""
    x = np.zeros((1, 9), np.float64)
    x[0, 4] = 1.0
    x[0, 1] = 0.5  # the top middle pixel
    out = Augment((3, 3, 1), 0, 45.0, 0).apply(x, np.array([45.0]), np.zeros((1, 2), int)).reshape(3, 3)
    assert out[1, 1] == pytest.approx(1.0)
    # the output pixel at the top right comes from (0 - 1, 2 - 1) turned back by 45 degrees: (-sqrt 2, 0) from the
    # centre, i.e. row 1 - sqrt(2), column 1: bilinear between the top middle pixel (0.5) and the frame (0)
    weight = 1 - (np.sqrt(2) - 1)
    assert out[0, 2] == pytest.approx(0.5 * weight)


def test_channels_turn_together_and_never_mix():
    x = framed(4, 8, 8, c=1).reshape(4, 8, 8, 1)
    rgb = np.concatenate([x, 2 * x, 3 * x], axis=3).reshape(4, -1)
    out = Augment((8, 8, 3), 2, 20.0, 5)(rgb, 3, 1).reshape(4, 8, 8, 3)
    np.testing.assert_allclose(out[..., 1], 2 * out[..., 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[..., 2], 3 * out[..., 0], rtol=1e-5, atol=1e-6)


def test_draws_depend_on_seed_epoch_and_batch_alone():
    x = framed(16, 10, 10)
    kept = x.copy()
    augment = Augment((10, 10, 1), 2, 15.0, 7)
    first = augment(x, 2, 3)
    assert first.dtype == np.float32 and first.shape == x.shape and first.flags.c_contiguous
    assert np.array_equal(x, kept)  # the batch itself (a view of the training data) is never written
    assert first.tobytes() == augment(x, 2, 3).tobytes() == Augment((10, 10, 1), 2, 15.0, 7)(x, 2, 3).tobytes()
    for other in (augment(x, 2, 4), augment(x, 3, 3), Augment((10, 10, 1), 2, 15.0, 8)(x, 2, 3)):
        assert other.tobytes() != first.tobytes()


def test_float64_stays_float64():
    x = framed(2, 5, 5, dtype=np.float64)
    assert Augment((5, 5, 1), 1, 10.0, 0)(x, 1, 0).dtype == np.float64
