"""A file's images: the layout told from the channel axis (or data.layout), rows channels last in
every layout, what a model records of them (ImageFormat), and the arrays predict takes."""

import numpy as np
import pytest

from nnctl.data import image_arrays
from nnctl.data.image_arrays import ImageFormat
from nnctl.errors import DataError

RNG = np.random.default_rng(0)
NHWC = RNG.integers(0, 256, (5, 6, 7, 3)).astype(np.uint8)  # 5 images 6x7, RGB


@pytest.mark.parametrize(
    "shape, layout",
    [
        ((9, 28, 28, 1), "nhwc"),
        ((9, 32, 32, 3), "nhwc"),
        ((9, 8, 8, 4), "nhwc"),
        ((9, 1, 28, 28), "nchw"),
        ((9, 3, 32, 32), "nchw"),
        ((9, 4, 5, 6), "nchw"),
    ],
)
def test_the_layout_is_told_by_the_axis_of_1_3_or_4_channels(shape, layout):
    assert image_arrays.infer_layout(shape, "x.npz") == layout


@pytest.mark.parametrize(
    "shape, why",
    [
        ((9, 4, 4, 3), "both its second axis (4) and its last (3) could hold"),
        ((9, 28, 28, 2), "neither its second axis (28) nor its last (2) holds"),
    ],
)
def test_a_layout_the_sizes_cannot_tell_is_refused_naming_data_layout(shape, why):
    with pytest.raises(DataError, match="data.layout: nhwc") as e:
        image_arrays.infer_layout(shape, "x.npz")
    assert str(e.value).startswith(f"x.npz: an array of images of shape {shape}: {why}")


def test_every_layout_gives_the_same_channels_last_rows():
    expected = NHWC.reshape(5, -1)
    for x, layout, held in (
        (NHWC, None, "nhwc"),
        (NHWC.transpose(0, 3, 1, 2), None, "nchw"),
        (NHWC.transpose(0, 3, 1, 2), "nchw", "nchw"),
        (expected, None, "rows"),
    ):
        rows, image = image_arrays.as_images(x, [6, 7, 3] if x.ndim == 2 else None, layout, "x.npz")
        assert rows.dtype == np.uint8 and rows.flags.c_contiguous and np.array_equal(rows, expected)
        assert image == ImageFormat((6, 7, 3), held)
    gray = NHWC[..., 0]
    rows, image = image_arrays.as_images(gray, [6, 7], None, "x.npz")  # [H, W]: one channel
    assert np.array_equal(rows, gray.reshape(5, -1)) and image == ImageFormat((6, 7, 1), "nhw")
    features = gray.reshape(5, -1).astype(float)
    assert image_arrays.as_images(features, None, None, "x.csv") == (features, None)  # rows, no image_shape: features


def test_data_layout_decides_what_the_sizes_cannot():
    x = RNG.random((3, 4, 4, 3))
    rows, image = image_arrays.as_images(x, None, "nchw", "x.npz")
    assert image.shape == (4, 3, 4) and np.array_equal(rows, x.transpose(0, 2, 3, 1).reshape(3, -1))
    assert image_arrays.as_images(x, None, "nhwc", "x.npz")[1].shape == (4, 4, 3)


@pytest.mark.parametrize(
    "x, image_shape, message",
    [
        (np.zeros((4, 63)), [8, 8], "rows of 63 values, but data.image_shape [8, 8, 1] holds 64"),
        (
            np.zeros((4, 8, 8)),
            [8, 8, 3],
            ("images of shape (8, 8, 1) (height, width, channels; read as nhw), but data.image_shape says [8, 8, 3]"),
        ),
        (np.zeros((4, 2, 2, 2, 2)), None, "an array of shape (4, 2, 2, 2, 2): expected rows"),
        (np.array([[[np.nan]]]), None, "image 1, value 1: nan is not a finite number"),
        (np.zeros((2, 2, 2), complex), None, "holds complex128 values, not real numbers"),
    ],
)
def test_what_cannot_be_images_is_a_data_error(x, image_shape, message):
    with pytest.raises(DataError, match="^x.npz: ") as e:
        image_arrays.as_images(x, image_shape, None, "x.npz")
    assert message in str(e.value)


def test_booleans_become_bytes():
    rows, _ = image_arrays.as_images(np.eye(3, dtype=bool)[None], None, None, "x.npz")
    assert rows.dtype == np.uint8 and rows.tolist() == [[1, 0, 0, 0, 1, 0, 0, 0, 1]]


@pytest.mark.parametrize(
    "values, dtype, white",
    [
        ([0, 200], np.uint8, 255.0),
        ([0, 3], np.uint16, 65535.0),
        ([0.0, 0.7], np.float32, 1.0),
        ([0.0, 17.0], np.float64, 255.0),
        ([0, 255], np.int64, 255.0),
        ([0, 4000], np.int32, 65535.0),
        ([-1.0, 0.5], np.float64, None),
        ([0.0, 1e6], np.float64, None),
        ([0, 1], bool, 1.0),
    ],
)
def test_the_white_level_is_the_dtype_s_or_the_smallest_range_the_values_fit(values, dtype, white):
    assert image_arrays.pixel_max(np.array([values], dtype), np.dtype(dtype)) == white


def test_the_ground_is_the_median_of_the_borders():
    ink = np.zeros((4, 5, 5, 1))
    ink[:, 1:4, 1:4] = 255  # light squares on black
    assert image_arrays.background(ink.reshape(4, -1), (5, 5, 1), 255.0) == "dark"
    assert image_arrays.background(255 - ink.reshape(4, -1), (5, 5, 1), 255.0) == "light"
    fitted = image_arrays.fit(ink.reshape(4, -1), ImageFormat((5, 5, 1), "nhw"), np.dtype(np.uint8))
    assert fitted == ImageFormat((5, 5, 1), "nhw", 255.0, "dark")
    assert ImageFormat.from_json(fitted.to_json()) == fitted


def test_predict_takes_the_images_in_every_layout_and_as_rows():
    image = ImageFormat((6, 7, 3), "nhwc", 255.0, "dark")
    expected = NHWC.reshape(5, -1)
    for x in (NHWC, NHWC.transpose(0, 3, 1, 2), expected):
        assert np.array_equal(image_arrays.predict_rows(x, image, "p.npy"), expected)
    gray = ImageFormat((6, 7, 1), "nhw")
    assert np.array_equal(image_arrays.predict_rows(NHWC[..., 0], gray, "p.npy"), NHWC[..., 0].reshape(5, -1))
    with pytest.raises(
        DataError,
        match=r"p.npy: an array of shape \(5, 7, 6, 3\); the model takes images 6x7 with 3 "
        r"channels: \(rows, 126\), \(rows, 6, 7, 3\), \(rows, 3, 6, 7\)",
    ):
        image_arrays.predict_rows(NHWC.transpose(0, 2, 1, 3), image, "p.npy")


def test_an_array_both_layouts_fit_is_read_as_the_training_file_held_its_images():
    x = RNG.random((2, 3, 3, 3))
    for layout, rows in (("nchw", x.transpose(0, 2, 3, 1)), ("nhwc", x)):
        assert np.array_equal(image_arrays.predict_rows(x, ImageFormat((3, 3, 3), layout), "p"), rows.reshape(2, -1))


@pytest.mark.parametrize(
    "record, message",
    [
        ({"shape": [8, 8], "layout": "rows", "pixel_max": 1, "background": None}, "image.shape"),
        ({"shape": [8, 8, 1], "layout": "chw", "pixel_max": 1, "background": None}, "image.layout"),
        ({"shape": [8, 8, 1], "layout": "rows", "pixel_max": -1, "background": None}, "image.pixel_max"),
        ({"shape": [8, 8, 1], "layout": "rows", "pixel_max": 1, "background": "grey"}, "image.background"),
        ({"shape": [8, 8, 1]}, "expected an object with keys"),
    ],
)
def test_a_malformed_record_is_refused(record, message):
    with pytest.raises(DataError, match=message):
        ImageFormat.from_json(record)


@pytest.mark.parametrize(
    "shape, image_shape, layout, expected",
    [
        ((9, 28, 28), None, None, (28, 28, 1)),
        ((9, 6, 7, 3), None, None, (6, 7, 3)),
        ((9, 3, 6, 7), None, None, (6, 7, 3)),
        ((9, 4, 4, 3), None, "nchw", (4, 3, 4)),
        ((9, 4, 4, 3), None, None, None),
        ((9, 784), [28, 28], None, (28, 28, 1)),
        ((9, 784), None, None, None),
        ((9, 785), [28, 28], None, None),
        ((9, 28, 28), [28, 28, 3], None, None),
    ],
)
def test_the_shape_a_header_declares_gives_the_images_that_loading_reads(shape, image_shape, layout, expected):
    assert image_arrays.declared_shape(shape, image_shape, layout) == expected
    if expected is not None:  # as the loader reads the array itself
        x = np.zeros(shape, np.uint8)
        assert image_arrays.as_images(x, image_shape, layout, "x.npz")[1].shape == expected


def test_a_header_s_shape_is_read_without_the_data(tmp_path):
    from nnctl.data import npyfile

    np.save(tmp_path / "x.npy", NHWC)
    np.savez_compressed(tmp_path / "x.npz", x=NHWC, y=np.arange(5))
    assert npyfile.header_shape(tmp_path / "x.npy") == npyfile.header_shape(tmp_path / "x.npz", "x") == NHWC.shape
    assert (
        npyfile.header_shape(tmp_path / "x.npz", "images") is None and npyfile.header_shape(tmp_path / "no.npy") is None
    )
