"""A user's own data: CSV and .npz files and OpenML sets, their target mapping, and their errors."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl import api, config, data
from nnctl.cli import main
from nnctl.data import tabular
from nnctl.errors import ConfigError, DataError

CSV = """sepal,petal,kind
5.1,1.4,setosa
7.0,4.7,versicolor
6.3,6.0,virginica
"""


def write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_by_header_names_and_default_target(tmp_path):
    table = tabular.read_csv(write(tmp_path, CSV))
    assert table.cells == [["5.1", "7.0", "6.3"], ["1.4", "4.7", "6.0"]] and table.lines == [2, 3, 4]
    assert table.y == ["setosa", "versicolor", "virginica"] and table.names == ["sepal",
                                                                                "petal"] and table.target == "kind"
    table = tabular.read_csv(write(tmp_path, CSV), target="sepal", features=["petal"])
    assert table.names == ["petal"] and table.y == ["5.1", "7.0", "6.3"]


def test_csv_without_header_and_with_semicolons(tmp_path):
    path = write(tmp_path, "a;1;2\nb;3;4\n\na;5;6\n")  # a blank line is skipped
    table = tabular.read_csv(path, target=0, header=False, delimiter=";")
    assert table.cells == [["1", "3", "5"], ["2", "4", "6"]] and table.lines == [1, 2, 4]
    assert table.y == ["a", "b", "a"] and table.names == ["1", "2"] and table.target == "0"
    assert tabular.read_csv(path, target=0, header=False).delimiter == ";"  # sniffed
    with pytest.raises(DataError, match="header: false, so columns are named by their 0-based index"):
        tabular.read_csv(path, target="kind", header=False, delimiter=";")


@pytest.mark.parametrize("text,options,fragments", [
    (CSV, {"target": "knd"}, ["t.csv", "no target column 'knd'", "did you mean 'kind'"]),
    (CSV, {"features": ["sepal", "width"]}, ["no feature column 'width'"]),
    (CSV, {"target": 7}, ["target column 7 does not exist: the file has 3 columns"]),
    ("a,b\n1,2\n3,4,5\n", {}, ["t.csv:3: 3 fields, but the header has 2"]),
    ("a;b\n1;2\n3;4\n", {"delimiter": ","}, ["no feature columns besides the target", "set data.delimiter"]),
    ("", {}, ["holds no rows"]),
    (CSV, {"features": ["kind"], "target": "kind"}, ["also listed as a feature"]),
])
def test_csv_errors_name_the_file_line_and_column(tmp_path, text, options, fragments):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as e:
        tabular.read_csv(path, **options)
    for fragment in fragments:
        assert fragment in str(e.value), str(e.value)


def test_missing_or_unreadable_files(tmp_path):
    with pytest.raises(DataError, match="nope.csv: no such file"):
        tabular.read_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        tabular.read_csv(tmp_path)
    (tmp_path / "bin.csv").write_bytes(b"a,b\n\xff\x80\x00")
    with pytest.raises(DataError, match="not a UTF-8 text file"):
        tabular.read_csv(tmp_path / "bin.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00")  # a UTF-16 byte-order mark, and half a character
    with pytest.raises(DataError, match="not a UTF-16 text file"):
        tabular.read_csv(tmp_path / "bin.csv")
    with pytest.raises(DataError, match="nope.npz: no such file"):
        tabular.read_npz(tmp_path / "nope.npz")


def test_targets_map_labels_to_sorted_classes():
    y, classes = tabular.targets(["b", "a", "c", "a"], "classification", "here")
    assert classes == ["a", "b", "c"] and y.tolist() == [1, 0, 2, 0]
    y, classes = tabular.targets(["10", "2", "2", "10"], "classification", "here")
    assert classes == [2, 10] and y.tolist() == [1, 0, 0, 1]  # numeric order: 2 before 10
    y, classes = tabular.targets(["1.5", "2"], "regression", "here")
    assert classes == [] and y.tolist() == [1.5, 2.0]
    with pytest.raises(DataError, match="here: the target holds 'x', not a number"):
        tabular.targets(["1", "x"], "regression", "here")
    with pytest.raises(DataError, match="at least 2"):
        tabular.targets(["a", "a"], "classification", "here")


def test_npz_with_string_labels_and_its_errors(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.arange(12.0).reshape(6, 2), y=np.array(["no", "yes"] * 3), other=np.zeros(6))
    x, y = tabular.read_npz(path)
    assert x.shape == (6, 2) and y.tolist()[:2] == ["no", "yes"]
    with pytest.raises(DataError, match="no array 'features' \\(arrays: x, y, other\\)"):
        tabular.read_npz(path, x_key="features")
    with pytest.raises(DataError, match="'other' must be a 2-D array"):
        tabular.read_npz(path, x_key="other")
    np.savez(path, x=np.zeros((3, 2)), y=np.zeros(4))
    with pytest.raises(DataError, match="one target per row"):
        tabular.read_npz(path)
    np.savez(path, x=np.array([{"a": 1}], dtype=object), y=np.zeros(1))
    with pytest.raises(DataError, match="without pickle"):
        tabular.read_npz(path)


def test_openml_by_name_and_id_goes_through_fetch_openml_with_our_cache(monkeypatch, tmp_path):
    from sklearn.utils import Bunch

    calls = []

    def fake_fetch(**kwargs):
        calls.append(kwargs)
        return Bunch(data=np.arange(80.0).reshape(40, 2), target=np.array(["1", "2"] * 20),
                     details={"name": "blood", "id": "1464"})

    import sklearn.datasets
    monkeypatch.setattr(sklearn.datasets, "fetch_openml", fake_fetch)
    monkeypatch.setenv("NNCTL_CACHE_DIR", str(tmp_path))
    ds = data.load(config.OpenMLData(name="openml", dataset="blood", target="Class"), seed=0)
    assert ds.classes == [1, 2] and ds.source == "openml:blood (id 1464)"
    assert calls[0]["name"] == "blood" and calls[0]["version"] == "active" and calls[0]["target_column"] == "Class"
    assert calls[0]["data_home"] == str(tmp_path) and calls[0]["as_frame"] is False
    data.load(config.OpenMLData(name="openml", dataset=1464), seed=0)
    assert calls[1]["data_id"] == 1464 and "name" not in calls[1]


def test_openml_failures_are_data_errors(monkeypatch, tmp_path):
    import sklearn.datasets
    from sklearn.utils import Bunch

    def offline(**kwargs):
        raise OSError("no network")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    with pytest.raises(DataError, match="OpenML data set 'blood' is not available \\(OSError: no network\\)"):
        tabular.fetch_openml("blood", None, None, tmp_path)
    monkeypatch.setattr(sklearn.datasets, "fetch_openml",
                        lambda **k: Bunch(data=np.array([["a", 1]], dtype=object), target=np.array(["x"]), details={}))
    with pytest.raises(DataError, match="not numbers"):
        tabular.fetch_openml(3, None, None, tmp_path)


# ---------------------------------------------------------------- end to end


CSV_CONFIG = """\
seed: 0
data: {{name: csv, path: {path}, target: kind, test_fraction: 0.25, val_fraction: 0.2}}
model:
  layers:
    - {{units: 8, activation: relu}}
    - {{units: {units}, activation: softmax}}
loss: cross_entropy
optimizer: {{name: adam, lr: 0.05}}
training: {{epochs: 5, batch_size: 8}}
run: {{output_dir: {out}}}
"""


def table(tmp_path, n=60):
    rng = np.random.default_rng(0)
    kinds = np.array(["cat", "dog", "eel"])[np.arange(n) % 3]
    x = rng.normal(size=(n, 2)) + (np.arange(n) % 3)[:, None]
    lines = ["a,b,kind"] + [f"{p:.4f},{q:.4f},{k}" for (p, q), k in zip(x, kinds)]
    return write(tmp_path, "\n".join(lines) + "\n", "animals.csv")


@pytest.mark.slow
def test_csv_classification_end_to_end_keeps_the_label_mapping(tmp_path):
    path = table(tmp_path)
    cfg_path = write(tmp_path, CSV_CONFIG.format(path=path, units=3, out=tmp_path / "runs"), "c.yaml")
    runner = CliRunner()
    result = runner.invoke(main, ["train", str(cfg_path), "--json", "-q", "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    ckpt = api.load_checkpoint(tmp_path / "run" / "checkpoint.json")
    assert ckpt.classes == ["cat", "dog", "eel"]
    scored = runner.invoke(main, ["eval", str(tmp_path / "run" / "checkpoint.json")])  # the file is as it was
    assert scored.exit_code == 0 and "eel" in scored.output, scored.output
    path.write_text(path.read_text() + "1.0,2.0,cat\n")
    refused = runner.invoke(main, ["eval", str(tmp_path / "run" / "checkpoint.json")])
    assert refused.exit_code == 5 and "changed since training" in refused.output and "--data" in refused.output
    evaluated = runner.invoke(main, ["eval", str(tmp_path / "run" / "checkpoint.json"), "--data", str(path)])
    assert evaluated.exit_code == 0 and "eel" in evaluated.output and "macro F1" in evaluated.output
    summary = runner.invoke(main, ["summary", str(cfg_path)])
    assert summary.exit_code == 0 and "(None, 2)" in summary.output


def test_csv_with_the_wrong_output_width_is_a_config_error(tmp_path):
    cfg_path = write(tmp_path, CSV_CONFIG.format(path=table(tmp_path), units=2, out=tmp_path / "runs"), "c.yaml")
    with pytest.raises(ConfigError,
                       match=r"animals.csv\): model.layers\[1\].units: \S*animals.csv has 3 classes, so the softmax"):
        api.train(api.load_config(cfg_path), run_dir=tmp_path / "run")


def test_data_errors_exit_5_naming_file_and_column(tmp_path):
    runner = CliRunner()
    cfg_path = write(tmp_path, CSV_CONFIG.format(path=tmp_path / "gone.csv", units=3, out=tmp_path / "runs"), "c.yaml")
    result = runner.invoke(main, ["train", str(cfg_path)])
    assert result.exit_code == 5 and "gone.csv: no such file" in result.output
    cfg_path.write_text(CSV_CONFIG.format(path=table(tmp_path), units=3, out=tmp_path / "runs").replace("kind", "knd"))
    result = runner.invoke(main, ["train", str(cfg_path)])
    assert result.exit_code == 5 and "animals.csv: no target column 'knd'" in result.output
    cfg_path.write_text(CSV_CONFIG.format(path=table(tmp_path, n=6), units=3, out=tmp_path / "runs"))
    result = runner.invoke(main, ["train", str(cfg_path)])
    assert result.exit_code == 5 and "cannot split" in result.output


@pytest.mark.slow
def test_regression_end_to_end_on_an_npz_file(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 3))
    y = 50 + 20 * (x @ [1.0, -2.0, 0.5]) + rng.normal(size=300)
    np.savez(tmp_path / "r.npz", x=x, y=y)
    raw = {"seed": 0, "data": {"name": "npz", "path": str(tmp_path / "r.npz"), "task": "regression"},
           "model": {"layers": [{"units": 16, "activation": "tanh"}, {"units": 1}]}, "loss": "huber",
           "optimizer": {"name": "adam", "lr": 0.02}, "training": {"epochs": 40}}
    result = api.train(config.from_dict(raw), run_dir=tmp_path / "run")
    assert {k for k in result["history"][0] if not k.startswith("layers.")} == {"epoch", "train_loss", "train_mae",
                                                                                "val_loss", "val_mae", "val_rmse",
                                         "val_r2", "lr", "seconds"}
    assert result["test"]["r2"] > 0.95 and result["test"]["mae"] < 10  # in the target's units
    ckpt = api.load_checkpoint(result["checkpoint"])
    assert ckpt.classes == [] and ckpt.preprocessing["target"]["mean"] == pytest.approx(y.mean(), rel=0.1)
    prediction = api.predict(ckpt, x[:5])
    np.testing.assert_allclose(prediction[:, 0], y[:5], atol=15)
    scores = api.evaluate_checkpoint(result["checkpoint"], data=tmp_path / "r.npz")
    assert scores["task"] == "regression" and scores["r2"] == pytest.approx(result["test"]["r2"])
    header = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0]
    assert header.startswith("epoch,train_loss,train_mae,val_loss,val_mae,val_rmse,val_r2,lr,seconds,"
                             "layers.0.grad_norm,")


@pytest.mark.parametrize("change,fragment", [
    ({"loss": "cross_entropy"}, "loss: diabetes is a regression task: use mse, mae or huber"),
    ({"model": {"layers": [{"units": 2}]}}, "needs 1 unit"),
    ({"model": {"layers": [{"units": 1, "activation": "sigmoid"}]}}, "a regression output layer is linear"),
    ({"training": {"early_stopping": {"monitor": "val_accuracy"}}}, "val_accuracy is a classification metric"),
])
def test_regression_config_errors(change, fragment):
    raw = {"data": {"name": "diabetes"}, "model": {"layers": [{"units": 1}]}, "loss": "mse",
           "optimizer": {"name": "adam"}, **change}
    with pytest.raises(ConfigError, match=fragment.replace("(", "\\(")):
        config.from_dict(raw)


@pytest.mark.slow
def test_binary_eval_reports_roc_auc(tmp_path):
    raw = {"seed": 0, "data": {"name": "breast_cancer"}, "model": {"layers": [{"units": 1, "activation": "sigmoid"}]},
           "loss": "binary_cross_entropy", "optimizer": {"name": "adam", "lr": 0.01}, "training": {"epochs": 3}}
    result = api.train(config.from_dict(raw), run_dir=tmp_path / "run")
    scores = api.evaluate_checkpoint(result["checkpoint"])
    assert 0.9 < scores["roc_auc"] <= 1 and 0.8 < scores["macro_f1"] <= 1
    assert json.dumps(scores)


def test_cli_shows_regression_scores(tmp_path):
    path = write(tmp_path, "seed: 0\ndata: {name: diabetes}\nmodel:\n  layers:\n    - {units: 8, activation: relu}\n"
                           "    - {units: 1}\nloss: mae\noptimizer: {name: adam, lr: 0.01}\ntraining: {epochs: 3}\n",
                 "d.yaml")
    runner = CliRunner()
    result = runner.invoke(main, ["train", str(path), "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "epoch 3/3  loss" in result.output and "val_rmse" in result.output and "val_r2" in result.output
    assert "done in " in result.output and "test loss" in result.output and " r2 " in result.output
    assert "accuracy" not in result.output
    evaluated = runner.invoke(main, ["eval", str(tmp_path / "run" / "checkpoint.json")])
    assert evaluated.exit_code == 0 and "mae" in evaluated.output and "rmse" in evaluated.output
    assert "confusion" not in evaluated.output
    as_json = json.loads(runner.invoke(main, ["eval", str(tmp_path / "run" / "checkpoint.json"), "--json"]).output)
    assert as_json["task"] == "regression" and set(as_json) >= {"mae", "rmse", "r2", "loss", "n"}


@pytest.mark.parametrize("damage", [lambda d: d["preprocessing"].pop("target"),
                                    lambda d: d["preprocessing"]["target"].update(std=0.0),
                                    lambda d: d.update(classes=["a", "b"])])
@pytest.mark.slow
def test_a_regression_checkpoint_needs_its_target_scaling(tmp_path, damage):
    from nnctl.errors import CheckpointError
    from nnctl.runs import checkpoint

    raw = {"data": {"name": "diabetes"}, "model": {"layers": [{"units": 1}]}, "loss": "mse",
           "optimizer": {"name": "adam"}, "training": {"epochs": 1}}
    result = api.train(config.from_dict(raw), run_dir=tmp_path / "run")
    doc = json.loads(Path(result["checkpoint"]).read_text())
    damage(doc)
    doc["sha256"] = checkpoint._digest(doc)  # a consistent file, edited on purpose
    (tmp_path / "edited.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="target scaling"):
        api.load_checkpoint(tmp_path / "edited.json")


def test_empty_target_cells_are_a_data_error_naming_the_rows(tmp_path):
    lines = ["a,b,kind"] + [f"{i},{i % 3},{'' if i in (2, 5, 6, 7, 9, 11, 12) else 'xy'[i % 2]}" for i in range(1, 30)]
    path = write(tmp_path, "\n".join(lines) + "\n", "holes.csv")
    with pytest.raises(DataError,
                       match=r"holes.csv: the target column 'kind' is empty in rows 3, 6, 7, 8, 10 and 2 more"):
        tabular.read_csv(path, "kind")
    path.write_text("a,b,kind\n1,2,x\n3,4, \n5,6,y\n")
    with pytest.raises(DataError, match=r"holes.csv: the target column 'kind' is empty in row 3 \(counting the header"):
        tabular.read_csv(path, "kind")


@pytest.mark.parametrize("value", ["1e308", "-1e308", "1e39"])
def test_huge_features_are_a_data_error_naming_file_and_column_without_warnings(tmp_path, value):
    rows = "".join(f"{i},{value if i == 4 else i},{'ab'[i % 2]}\n" for i in range(40))
    path = write(tmp_path, "a,big,kind\n" + rows, "huge.csv")
    cfg_path = write(tmp_path, CSV_CONFIG.format(path=path, units=2, out=tmp_path / "runs"), "c.yaml")
    result = CliRunner().invoke(main, ["train", str(cfg_path)])
    assert result.exit_code == 5, result.output
    assert "huge.csv:6: feature column 'big' holds" in result.output and "too large" in result.output
    assert "Warning" not in result.output


def test_values_that_overflow_only_once_scaled_are_a_data_error(tmp_path):
    """A stored scaling of a tiny spread (a checkpoint's) and a value far out: scaled, it overflows float32."""
    from nnctl import data

    rows = "".join(f"{i},{1e30 if i == 5 else 0},{'ab'[i % 2]}\n" for i in range(40))
    path = write(tmp_path, "a,tiny,kind\n" + rows, "spread.csv")
    cfg = api.load_config(write(tmp_path, CSV_CONFIG.format(path=path, units=2, out=tmp_path / "runs"), "c.yaml"))
    stored = {"scaling": "standard", "mean": [0.0, 0.0], "std": [1.0, 1e-30]}
    with pytest.raises(DataError, match=r"csv:\S*spread.csv: feature column 2 holds values up to 1e\+30 in size, "
                                        r"too large to scale in float32"):
        data.load(cfg.data, 0, "float32", preprocessing=stored)


def test_messages_quote_no_more_than_a_short_escaped_excerpt(tmp_path):
    long_name = "secret-" + "x" * 200
    path = write(tmp_path, f"{long_name}\x1b[2J\n1\n2\n", "one.csv")
    with pytest.raises(DataError) as info:
        tabular.read_csv(path)
    message = str(info.value)
    assert "no feature columns besides the target 'secret-xxx" in message
    assert "x" * 60 not in message and "\x1b" not in message
    path.write_text("a,kind\n" + "y" * 300 + ",k\n2,j\n")
    with pytest.raises(DataError, match=r"feature column 'a' holds 'y{20}…', not a number"):
        data.load(config.CsvData(name="csv", path=str(path), columns={"a": "numeric"}), 0)
