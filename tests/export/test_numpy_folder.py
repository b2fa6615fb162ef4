"""The NumPy export folder: predict.py as a command (columns by name, --proba, clear errors, safe
output) and as a Python API (arrays, dicts, records, DataFrames), two exports in one process, and
a folder the export did not write never replaced."""

import importlib.util
import json
import os
import uuid
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner
from helpers.export import random_checkpoint, run_numpy_only

from nnctl import api
from nnctl.cli import main
from nnctl.export import check, export, numpy_folder, predict as predict_template
from nnctl.printable import printable

NAMES = ["size", "weight (kg)", "age"]
CSV_DATA = {"name": "csv", "path": "/nowhere/train.csv", "target": "kind"}


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def import_folder(folder):
    """The folder's predict.py as a module of its own name (as nnctl's check imports it)."""
    spec = importlib.util.spec_from_file_location(f"exported_{uuid.uuid4().hex}", folder / "predict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def named(tmp_path):
    """An export of a model trained on three named CSV columns (target `kind`), classes with a
    newline and an escape sequence in them, and rows of its features (seed 3: both classes predicted)."""
    ckpt = random_checkpoint(tmp_path / "checkpoint.json", "relu", "binary_cross_entropy", seed=3, names=NAMES,
                             data=CSV_DATA, classes=["no\nway", "yes \x1b[31mred"])
    export(tmp_path / "checkpoint.json", "numpy", tmp_path / "model")
    x = check.synthetic(ckpt.preprocessing, ckpt.n_inputs, "float32", n=12).astype(np.float64)
    return ckpt, tmp_path / "model", x


def write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] * bool(header) + [",".join(map(str, r)) for r in rows]) + "\n")
    return path


RUNS = """
import contextlib, io, json, runpy, sys
results = []
for script, args, stdin in json.loads(sys.stdin.read()):
    out, err, code = io.StringIO(), io.StringIO(), 0
    sys.argv, sys.stdin = [script, *args], io.TextIOWrapper(io.BytesIO((stdin or "").encode()))
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


def predict_py(*runs) -> list[SimpleNamespace]:
    """Each run (folder, args, stdin=None) of `python FOLDER/predict.py ARGS`, all in one fresh
    interpreter that has NumPy alone (one start-up for them all); returncode, stdout, stderr each."""
    todo = [[str(run[0] / "predict.py"), [str(a) for a in run[1]], run[2] if len(run) > 2 else None] for run in runs]
    done = json.loads(run_numpy_only(RUNS, stdin=json.dumps(todo)))
    return [SimpleNamespace(returncode=code, stdout=out, stderr=err) for code, out, err in done]


def test_predict_py_prints_the_classes_and_needs_only_numpy(moons_run, tmp_path):
    folder = tmp_path / "folder"
    assert invoke("export", moons_run["run_dir"], "--format", "numpy", "-o", folder).exit_code == 0
    ckpt = api.load_checkpoint(moons_run["checkpoint"])
    x = check.synthetic(ckpt.preprocessing, ckpt.n_inputs, "float32", n=20).astype(np.float64)
    done, = predict_py((folder, [write_csv(tmp_path / "in.csv", ["x0", "x1"], x.tolist())]))  # no names: by position
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(ckpt.classes[k]) for k in api.predictions(ckpt, x)["predicted"]]
    with np.load(folder / "model.npz", allow_pickle=False) as npz:  # no object arrays: no pickle needed
        assert "spec" in npz.files and "layers.0.W" in npz.files


def test_proba_and_class_names_escaped_as_nnctl_predict_prints_them(named, tmp_path):
    ckpt, folder, x = named
    rows = write_csv(tmp_path / "in.csv", NAMES, x.tolist())
    proba, plain = predict_py((folder, ["--proba", rows]), (folder, [rows]))
    assert proba.returncode == plain.returncode == 0, proba.stderr + plain.stderr
    assert proba.stdout == invoke("predict", tmp_path / "checkpoint.json", rows).stdout  # escaped and quoted alike
    assert "\x1b" not in proba.stdout and proba.stdout.count("\n") == len(x) + 1
    printed = plain.stdout.splitlines()
    assert len(printed) == len(x) and "\x1b" not in plain.stdout  # one line per row: the newline is escaped too
    assert printed == [printable(ckpt.classes[k]) for k in api.predictions(ckpt, x)["predicted"]]
    assert set(printed) == {"no\\x0away", "yes \\x1b[31mred"}


def test_columns_are_matched_by_name_and_the_target_is_left_out(named, tmp_path):
    _ckpt, folder, x = named
    order = [2, 0, 1]
    shuffled = [["yes"] + [row[i] for i in order] for row in x.tolist()]  # the training file: target first
    ordered, done, headless = predict_py(
        (folder, [write_csv(tmp_path / "a.csv", NAMES, x.tolist())]),
        (folder, [write_csv(tmp_path / "b.csv", ["kind"] + [NAMES[i] for i in order], shuffled)]),
        (folder, ["-"], "\n".join(",".join(map(str, r)) for r in x.tolist())))  # no header: by position
    assert done.returncode == 0, done.stderr
    assert done.stdout == headless.stdout == ordered.stdout


def test_the_default_target_the_last_column_is_left_out_with_a_note(tmp_path):
    """A model trained with data.target left to its default (the last column) predicts its own
    training file: the last column, not a feature, is left out, and the command says so."""
    ckpt = random_checkpoint(tmp_path / "checkpoint.json", "relu", "binary_cross_entropy", seed=3, names=NAMES,
                             data={"name": "csv", "path": "/nowhere/train.csv"})
    export(tmp_path / "checkpoint.json", "numpy", tmp_path / "model")
    x = check.synthetic(ckpt.preprocessing, ckpt.n_inputs, "float32", n=12).astype(np.float64)
    plain, training, elsewhere = predict_py(
        (tmp_path / "model", [write_csv(tmp_path / "a.csv", NAMES, x.tolist())]),
        (tmp_path / "model", [write_csv(tmp_path / "b.csv", NAMES + ["label"], [row + ["yes"] for row in x.tolist()])]),
        (tmp_path / "model", [write_csv(tmp_path / "c.csv", ["label"] + NAMES, [[1] * 4])]))
    assert training.returncode == plain.returncode == 0 and training.stdout == plain.stdout
    assert training.stderr == "note: leaving out the last column 'label', the target's place in training\n"
    assert elsewhere.returncode == 5 and "unknown 'label'" in elsewhere.stderr


COLUMN_ERRORS = [
    (["size", "age"], ("missing 'weight (kg)': the model was trained on the columns 'size', 'weight (kg)', 'age', "
                      "matched by name in any order")),
    (["size", "weight (kg)", "age", "id"], "unknown 'id': the model was trained on the columns"),
    (["size", "size", "weight (kg)", "age"], "the column 'size' is given more than once"),
]
ROW_ERRORS = [
    ("1,2,3\n4,abc,6\n", "row 3, column 'weight (kg)': 'abc' is not a finite number"),
    ("1,2,3\n4,nan,6\n", "row 3, column 'weight (kg)': 'nan' is not a finite number"),
    ("1,2,3\n4,5\n", "row 3: 2 values, expected 3"),
    ("", "no rows to predict"),
]


def test_a_bad_column_or_row_is_one_clear_line_naming_it(named, tmp_path):
    _, folder, _ = named
    files = [write_csv(tmp_path / f"c{i}.csv", header, [[1] * len(header)]) for i,
             (header, _) in enumerate(COLUMN_ERRORS)]
    for i, (body, _) in enumerate(ROW_ERRORS):
        files.append(tmp_path / f"r{i}.csv")
        files[-1].write_text(",".join(NAMES) + "\n" + body)
    done = predict_py(*((folder, [path]) for path in files))
    for path, run, (_, message) in zip(files, done, COLUMN_ERRORS + ROW_ERRORS):
        assert run.returncode == 5 and not run.stdout, run
        assert run.stderr.startswith(f"error: {path}: {message}") and run.stderr.count("\n") == 1, run.stderr
        assert "Traceback" not in run.stderr


def test_usage_errors_exit_2(named, tmp_path):
    _, folder, _ = named
    ckpt = random_checkpoint(tmp_path / "regression.json", "relu", "mse")
    export(tmp_path / "regression.json", "numpy", tmp_path / "regression")
    rows = write_csv(tmp_path / "r.csv", [], check.synthetic(ckpt.preprocessing, 10, "float64", n=3).tolist())
    bare, missing, proba, values = predict_py((folder, []), (folder, [tmp_path / "nothing.csv"]),
                                              (tmp_path / "regression", ["--proba", rows]),
                                              (tmp_path / "regression", [rows]))
    assert bare.returncode == 2 and "usage: predict.py" in bare.stderr
    assert missing.returncode == 5 and "No such file" in missing.stderr and "Traceback" not in missing.stderr
    assert proba.returncode == 2 and "a regression model has no class probabilities" in proba.stderr
    assert values.returncode == 0 and [float(v) for v in values.stdout.split()] == \
        pytest.approx(api.predictions(ckpt, np.loadtxt(rows, delimiter=",", ndmin=2))["values"][:, 0].tolist())


def test_the_python_api_takes_arrays_dicts_records_and_dataframes(named):
    pd = pytest.importorskip("pandas")
    ckpt, folder, x = named
    module = import_folder(folder)
    model = module.load(folder)
    assert model.feature_names == NAMES and model.classes == ckpt.classes and model.target == "kind"
    expected = model.predict_proba(x)
    np.testing.assert_array_equal(expected, api.predictions(ckpt, x)["probabilities"].astype(np.float32))
    columns = {name: x[:, i] for i, name in reversed(list(enumerate(NAMES)))}  # reordered
    np.testing.assert_array_equal(model.predict_proba(columns), expected)
    np.testing.assert_array_equal(model.predict_proba({**columns, "kind": ["?"] * len(x)}), expected)
    records = [dict(zip(NAMES[::-1], row[::-1])) for row in x.tolist()]
    np.testing.assert_array_equal(model.predict_proba(records), expected)
    np.testing.assert_array_equal(model.predict_proba(pd.DataFrame(columns)), expected)
    assert model.predict(pd.DataFrame(columns).iloc[0]).tolist() == model.predict(x[:1]).tolist()  # a Series: one row
    for bad, message in (({"size": [1.0]}, "missing 'weight \\(kg\\)', 'age'"), (x[0], "for one row, pass \\[row\\]"),
                         (x[:, :2], "expected rows of 3 features"),
                         ([{"size": 1}, {"age": 2}], "record 1 has no 'age'"),
                         ({**columns, "size": ["a"] * len(x)}, "row 1, column 'size': 'a' is not a finite number")):
        with pytest.raises(module.InputError, match=message):
            model.predict(bad)


def test_two_exports_side_by_side_are_two_packages_in_one_process(named, tmp_path):
    """Each export folder is a package named after itself: importing two never gives one's model
    for the other's (as two `from predict import ...` would: one module name for both)."""
    ckpt, _folder, x = named
    other = random_checkpoint(tmp_path / "other.json", "tanh", "cross_entropy", seed=2, classes=[7, -3])
    export(tmp_path / "other.json", "numpy", tmp_path / "other_model")
    x_other = check.synthetic(other.preprocessing, other.n_inputs, "float32", n=64).astype(np.float64)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "x_other.npy", x_other)
    out = run_numpy_only(f"import sys, numpy as np\nsys.path.insert(0, {str(tmp_path)!r})\n"
                         "import model, other_model\n"
                         f"print(model.predict(np.load({str(tmp_path / 'x.npy')!r})).tolist())\n"
                         f"print(other_model.predict(np.load({str(tmp_path / 'x_other.npy')!r})).tolist())\n"
                         "print(model.classes(), other_model.classes(), other_model.load(model.__path__[0]).classes)\n")
    first, second, third = out.splitlines()
    assert first == repr([ckpt.classes[k] for k in api.predictions(ckpt, x)["predicted"]])
    assert second == repr([other.classes[k] for k in api.predictions(other, x_other)["predicted"]])
    assert third == f"{ckpt.classes!r} [7, -3] {ckpt.classes!r}"


def test_a_folder_the_export_did_not_write_is_never_replaced(moons_run, tmp_path):
    """Issue 20 item 7: a user's own model.npz in the folder was deleted by the export."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "model.npz").write_bytes(b"my weights")
    result = invoke("export", moons_run["checkpoint"], "--format", "numpy", "-o", mine)
    assert result.exit_code == 1 and "no nnctl-export.json: nnctl export did not write it" in result.output
    assert os.listdir(mine) == ["model.npz"] and (mine / "model.npz").read_bytes() == b"my weights"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    assert invoke("export", moons_run["checkpoint"], "--format", "numpy", "-o", tmp_path / "other").exit_code == 1
    assert os.listdir(tmp_path / "other") == ["notes.txt"]
    (tmp_path / "link").symlink_to(mine)
    assert invoke("export", moons_run["checkpoint"], "--format", "numpy", "-o", tmp_path / "link").exit_code == 1
    assert sorted(os.listdir(tmp_path)) == ["link", "mine", "other"]  # no temporary left behind


def test_an_earlier_export_is_replaced_unless_changed_or_added_to(moons_run, tmp_path):
    folder = tmp_path / "folder"
    (folder).mkdir()  # an empty folder is fine
    assert invoke("export", moons_run["checkpoint"], "--format", "numpy", "-o", folder).exit_code == 0
    (folder / "__pycache__").mkdir()  # as Python leaves it once the package was imported
    (folder / "__pycache__" / "predict.cpython-311.pyc").write_bytes(b"compiled")
    assert invoke("export", moons_run["checkpoint"], "--format", "numpy", "-o", folder).exit_code == 0
    assert sorted(os.listdir(folder)) == ["__init__.py", "model.npz", "nnctl-export.json", "predict.py"]
    marker = json.loads((folder / "nnctl-export.json").read_text())
    assert set(marker["files"]) == set(numpy_folder.FILES)
    with open(folder / "predict.py", "a") as f:
        f.write("# my change\n")
    result = invoke("export", moons_run["checkpoint"], "--format", "numpy", "-o", folder)
    assert result.exit_code == 1 and "'predict.py' was changed after nnctl export wrote it" in result.output
    assert (folder / "predict.py").read_text().endswith("# my change\n")
    (folder / "predict.py").write_bytes(predict_template.__loader__.get_data(predict_template.__file__))
    (folder / "notes.txt").write_text("mine")
    result = invoke("export", moons_run["checkpoint"], "--format", "numpy", "-o", folder)
    assert result.exit_code == 1 and "also holds 'notes.txt'" in result.output and (folder / "notes.txt").exists()


def test_the_escape_rule_is_nnctls():
    every = "".join(chr(c) for c in range(0x250)) + "\u061c\u200e\u200f\u202a\u202e\u2066\u2069"
    assert predict_template.printable(every) == printable(every, newlines=False)
