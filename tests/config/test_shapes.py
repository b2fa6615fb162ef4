"""Layers that cannot take the shape they are given are config errors (exit 3) naming the file,
the line, the layer and the shapes, from check, summary, gradcheck and train alike, never a
traceback; a data file's width is checked once it is loaded."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from nnctl.cli import main

ROOT = Path(__file__).resolve().parents[2]

HEAD = "data: {name: DATA}\nmodel:\n  layers:\n"
TAIL = "loss: cross_entropy\noptimizer: {name: adam}\nrun: {output_dir: OUT}\n"

CASES = {
    "kernel larger than its input": ("digits", [
        "{type: conv2d, filters: 4, kernel_size: 3}", "{type: maxpool2d}", "{type: conv2d, filters: 4, kernel_size: 5}",
        "{type: flatten}", "{units: 10, activation: softmax}"],
        (":6: model.layers[2].kernel_size: conv2d: kernel_size 5 is larger than its input (None, 3, 3, 4), 3 x 3 per "
        "channel; use a smaller kernel_size or padding: same")),
    "dense after images": ("digits", ["{type: Conv2D, filters: 4, kernel_size: 3}", "{units: 10, activation: softmax}"],
                           (":5: model.layers[1]: dense: takes rows of features, (None, n), and its input is "
                           "(None, 6, 6, 4): put {type: flatten} (or global_avgpool2d) before it")),
    "conv on tabular data": ("iris", ["{type: conv2d, filters: 4, kernel_size: 3}", "{type: flatten}",
                                      "{units: 3, activation: softmax}"],
                             (":4: model.layers[0]: conv2d: takes images, (None, height, width, channels), and its "
                              "input "
                             "is (None, 4) (iris is not a set of images: its rows of 4 features have no height and "
                             "width)")),
    "shapes that collapse": ("digits", ["{type: maxpool2d}", "{type: maxpool2d}", "{type: maxpool2d}",
                                        "{type: maxpool2d}", "{type: flatten}", "{units: 10, activation: softmax}"],
                             (":7: model.layers[3].pool_size: maxpool2d: pool_size 2 is larger than its input "
                             "(None, 1, 1, 1), 1 x 1 per channel; use a smaller pool_size or padding: same")),
    "PyTorch's in_channels": ("digits", ["{type: Conv2d, in_channels: 3, out_channels: 4, kernel_size: 3}",
                                         "{type: Flatten}", "{units: 10, activation: softmax}"],
                              (":4: model.layers[0].in_channels: conv2d: in_channels is 3, and its input (None, 8, 8, "
                               "1) "
                              "has 1 channel")),
    "pool padding beyond half": ("digits",
                                 ["{type: MaxPool2d, kernel_size: 2, stride: 2, padding: 2}", "{type: flatten}",
                                            "{units: 10, activation: softmax}"],
                                 (":4: model.layers[0].padding: maxpool2d: padding 2 is more than half of pool_size 2: "
                                 "a window could hold padding alone")),
}


def write(tmp_path, data, layers) -> Path:
    text = HEAD.replace("DATA", data) + "".join(f"    - {layer}\n" for layer in layers) + TAIL
    path = tmp_path / "c.yaml"
    path.write_text(text.replace("OUT", str(tmp_path / "runs")))
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_layer_that_cannot_take_its_input_is_exit_3_with_the_shapes(tmp_path, case):
    data, layers, message = CASES[case]
    path = write(tmp_path, data, layers)
    for command in ("check", "summary", "gradcheck", "train"):
        result = CliRunner().invoke(main, [command, str(path)])
        assert result.exit_code == 3, (command, result.output)
        assert result.stderr == f"error: {path}{message}\n", command
    assert not (tmp_path / "runs").exists()


def test_a_convolution_on_a_csv_files_rows_is_refused_once_the_file_is_read(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(f"data: {{name: csv, path: {ROOT / 'configs' / 'data' / 'wine_cultivars.csv'}}}\n"
                    "model:\n  layers:\n    - {type: conv2d, filters: 2, kernel_size: 2}\n    - {type: flatten}\n"
                    "    - {units: 3, activation: softmax}\n" + TAIL.replace("OUT", str(tmp_path / "runs")))
    assert CliRunner().invoke(main, ["check", str(path)]).exit_code == 0  # the width is the file's: unknown yet
    for command in ("train", "summary"):
        result = CliRunner().invoke(main, [command, str(path)])
        assert result.exit_code == 3, result.output
        assert "model.layers[0]: conv2d: takes images, (None, height, width, channels), and its input is (None, 13)" \
            in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("given,message", [
    ("kernel_size: [3, 0]",
     "kernel_size: expected an integer ≥ 1, ≤ 10,000 or a pair [height, width] of them, got [3, 0]"),
    ("kernel_size: 3, padding: Same",
     ("padding: expected valid, same, an integer ≥ 0, ≤ 10,000 or a pair [height, width] "
                                      "of them, got 'Same'; did you mean 'same'?")),
    ("kernel_size: 3, dilation: yes", ("dilation: expected an integer ≥ 1, ≤ 10,000 or a pair [height, width] of them, "
                                      "got True (YAML reads an unquoted yes, no, on, off, true or false as a boolean: "
                                      "quote it)")),
])
def test_a_key_of_several_kinds_fails_with_one_error_saying_them_all(tmp_path, given, message):
    path = write(tmp_path, "digits", [f"{{type: conv2d, filters: 4, {given}}}", "{type: flatten}",
                                      "{units: 10, activation: softmax}"])
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 3 and result.stderr == f"error: {path}:4: model.layers[0].{message}\n"
