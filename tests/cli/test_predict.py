"""predict: CSV / .npy / .npz / stdin in, classes and probabilities out in input order; bad input exits 5."""

import csv
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl import api
from nnctl.cli import main
from nnctl.data import features
from nnctl.errors import DataError


def invoke(*args, input=None):
    result = CliRunner().invoke(main, [str(a) for a in args], input=input)
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def raw_test(moons_run):
    """The test split of the moons run in raw (unscaled) features, with its labels."""
    ckpt = api.load_checkpoint(moons_run["checkpoint"])
    dataset = api.load_data(ckpt.config, preprocessing=ckpt.preprocessing)
    p = ckpt.preprocessing
    return dataset.x_test.astype(np.float64) * np.array(p["std"]) + np.array(p["mean"]), dataset.y_test


def parse_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def test_csv_predictions_apply_the_stored_scaling(moons_run, raw_test, tmp_path):
    x, y = raw_test
    path = tmp_path / "in.csv"
    np.savetxt(path, x, delimiter=",", fmt="%.17g")
    result = invoke("predict", moons_run["checkpoint"], path)
    assert result.exit_code == 0, result.output
    head, rows = parse_csv(result.stdout)
    assert head == ["class", "p_0", "p_1"] and len(rows) == len(x)
    predicted = np.array([int(r[0]) for r in rows])
    probabilities = np.array([[float(v) for v in r[1:]] for r in rows])
    # raw rows in, the run's own test accuracy out: the scaling was applied
    assert (predicted == y).mean() == pytest.approx(moons_run["test"]["accuracy"])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert (predicted == probabilities.argmax(axis=1)).all()


def test_every_input_form_gives_the_same_rows(moons_run, raw_test, tmp_path):
    x = raw_test[0][:25]
    text = "\n".join(",".join(f"{v:.17g}" for v in row) for row in x) + "\n"
    np.save(tmp_path / "in.npy", x)
    np.savez(tmp_path / "in.npz", x=x)
    np.savez(tmp_path / "one.npz", features=x)
    (tmp_path / "in.csv").write_text(text)
    (tmp_path / "head.csv").write_text('"first feature",second\n' + text)
    outputs = [invoke("predict", moons_run["checkpoint"], tmp_path / name).stdout
               for name in ("in.npy", "in.npz", "one.npz", "in.csv", "head.csv")]
    outputs.append(invoke("predict", moons_run["checkpoint"], "-", input=text).stdout)
    assert all(out == outputs[0] for out in outputs)
    ckpt = api.load_checkpoint(moons_run["checkpoint"])
    expected = api.predict(ckpt, x)
    _, rows = parse_csv(outputs[0])
    np.testing.assert_allclose([[float(v) for v in r[1:]] for r in rows], expected, rtol=1e-5)


def test_json_lines(moons_run, raw_test):
    x = raw_test[0][:3]
    text = "\n".join(",".join(map(str, row)) for row in x)
    result = invoke("predict", moons_run["checkpoint"], "-", "--json", input=text)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3 and set(lines[0]) == {"class", "probabilities"}
    assert set(lines[0]["probabilities"]) == {"0", "1"}
    assert lines[0]["class"] == int(max(lines[0]["probabilities"], key=lines[0]["probabilities"].get))


def test_header_detection_and_override():
    assert features.read_csv("a,b\n1,2\n", 2).tolist() == [[1, 2]]
    assert features.read_csv("1,2\n3,4\n", 2).tolist() == [[1, 2], [3, 4]]
    assert features.read_csv("0,1\n3,4\n", 2, header=True).tolist() == [[3, 4]]  # pandas' numbered columns
    with pytest.raises(DataError, match="row 1, column 1: 'a' is not a number"):
        features.read_csv("a,b\n1,2\n", 2, header=False)


@pytest.mark.parametrize("text,message", [
    ("1,2\n3,x\n", "row 2, column 2: 'x' is not a number"),
    ("x,y\n1,2\n3,abc\n", "row 3, column 2: 'abc' is not a number"),
    ("1,2\n\n3\n", "row 3, column 2: missing; the row has 1 value and the model takes 2"),
    ("1,2,3\n", "row 1, column 3: one value too many; the row has 3 values"),
    ("1,2\n3,nan\n", "row 2, column 2: nan is not a finite number"),
    ("1,inf\n", "row 1, column 2: inf is not a finite number"),
    ("1,1e39\n", "row 1, column 2: 1e39 is too large for the model's floats"),  # the model is float32
    ("", "empty input"),
    ("x,y\n", "empty input"),
    ("\n\n", "empty input"),
])
def test_bad_csv_exits_5_with_row_and_column(moons_run, text, message):
    result = invoke("predict", moons_run["checkpoint"], "-", input=text)
    assert result.exit_code == 5, result.output
    assert message in result.stderr and "<stdin>" in result.stderr


def test_bad_arrays_exit_5(moons_run, tmp_path):
    np.save(tmp_path / "wide.npy", np.zeros((4, 3)))
    bad = np.zeros((4, 2))
    bad[2, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    np.save(tmp_path / "empty.npy", np.zeros((0, 2)))
    np.savez(tmp_path / "two.npz", a=np.zeros((1, 2)), b=np.zeros((1, 2)))
    np.save(tmp_path / "text.npy", np.array([["a", "b"]]))
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    for name, message in (("wide.npy", "shape (4, 3)"), ("nan.npy", "row 3, column 2: nan"),
                          ("empty.npy", "empty input"),
                          ("two.npz", "holds the arrays a, b"), ("text.npy", "not real numbers"),
                          ("junk.npy", "not a NumPy"),
                          ("missing.csv", "no such file")):
        result = invoke("predict", moons_run["checkpoint"], tmp_path / name)
        assert result.exit_code == 5 and message in result.stderr, (name, result.output)


def test_square_images_are_flattened(tmp_path):
    np.save(tmp_path / "img.npy", np.arange(2 * 4 * 4).reshape(2, 4, 4))
    x = features.read(str(tmp_path / "img.npy"), 16, image_shape=(4, 4))
    assert x.shape == (2, 16) and x[1, 0] == 16


@pytest.mark.slow
def test_a_sigmoid_output_gives_both_class_probabilities(tmp_path):
    from nnctl import config

    path = tmp_path / "bc.yaml"
    path.write_text("data: {name: breast_cancer}\nmodel: {layers: [{units: 1, activation: sigmoid}]}\n"
                    "loss: binary_cross_entropy\noptimizer: {name: adam, lr: 0.01}\ntraining: {epochs: 2}\n")
    run = api.train(config.load(path), run_dir=tmp_path / "run")
    from sklearn.datasets import load_breast_cancer

    x = load_breast_cancer().data[:5]
    np.save(tmp_path / "x.npy", x)
    result = invoke("predict", run["checkpoint"], tmp_path / "x.npy")
    head, rows = parse_csv(result.stdout)
    assert head == ["class", "p_malignant", "p_benign"] and len(rows) == 5
    ckpt = api.load_checkpoint(run["checkpoint"])
    p1 = api.predict(ckpt, x)[:, 0]
    np.testing.assert_allclose([float(r[2]) for r in rows], p1, rtol=1e-5)
    assert [r[0] for r in rows] == [ckpt.classes[int(p > 0.5)] for p in p1]


def test_a_mixed_first_row_suggests_header():
    with pytest.raises(DataError,
                       match=r"row 1, column 1: 'x' is not a number \(if row 1 is a header, pass --header\)"):
        features.read_csv("x,1\n0.5,0.2\n", 2)
    assert features.read_csv("x,1\r\n0.5,0.2\r\n", 2, header=True).tolist() == [[0.5, 0.2]]


def test_a_reader_that_leaves_early_gets_no_error(moons_run, monkeypatch):
    from nnctl.cli import predict as cli_predict

    def closed_pipe(*args, **kwargs):  # what `nnctl predict ... | head -1` meets once head has exited
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli_predict.click, "echo", closed_pipe)
    result = invoke("predict", moons_run["checkpoint"], "-", input="1,2\n")
    assert result.exit_code == 1 and result.output == ""


def test_a_run_folder_predicts_with_its_checkpoint(moons_run, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("x,y\n0.5,0.25\n-1,0.5\n")
    runner = CliRunner()
    from_folder = runner.invoke(main, ["predict", moons_run["run_dir"], str(rows)])
    from_file = runner.invoke(main, ["predict", moons_run["checkpoint"], str(rows)])
    assert from_folder.exit_code == 0 and from_folder.stdout == from_file.stdout
    assert runner.invoke(main, ["predict", str(tmp_path / "missing-run"), str(rows)]).exit_code == 4
