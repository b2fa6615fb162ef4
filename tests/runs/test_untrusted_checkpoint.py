"""A checkpoint is untrusted input: anyone can edit one and compute its sha256 again. eval and plot
never open a file it names outside its run folder, messages quote no file content, and what it
holds reaches the terminal escaped and the JSON strict."""

import base64
import builtins
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl.cli import main
from nnctl.runs import checkpoint

SECRET = "root:$6$s3cr3tHASHs3cr3t:19000:0:99999:7:::\n"


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def resign(source, target, change) -> Path:
    """A copy of the checkpoint `source` at `target`, edited by `change(doc)` and signed again,
    as checkpoint.save signs: the file is whole and consistent, only its content is hostile."""
    doc = json.loads(Path(source).read_text())
    change(doc)
    doc["sha256"] = checkpoint._digest(doc)
    Path(target).write_text(json.dumps(doc))
    return Path(target)


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "shadow"
    path.write_text(SECRET)
    return path


@pytest.fixture
def opened(monkeypatch):
    """Every path nnctl opens while the test runs, resolved."""
    seen = []

    def spy(real):
        def wrapper(file, *args, **kwargs):
            if isinstance(file, (str, bytes, os.PathLike)):
                seen.append(os.path.realpath(file))
            return real(file, *args, **kwargs)
        return wrapper

    monkeypatch.setattr(builtins, "open", spy(builtins.open))
    monkeypatch.setattr(io, "open", spy(io.open))
    monkeypatch.setattr(os, "open", spy(os.open))
    return seen


def names_csv(doc, path):
    doc["config"]["data"] = {"name": "csv", "path": str(path)}


def assert_refused_unread(result, secret, opened):
    assert result.exit_code == 5, result.output
    assert "names a data file outside its run folder" in result.output and "--data FILE" in result.output
    assert "s3cr3t" not in result.output and "99999" not in result.output
    assert os.path.realpath(secret) not in opened


def test_eval_never_opens_a_file_a_resigned_checkpoint_names(moons_run, tmp_path, secret, opened):
    evil = resign(moons_run["checkpoint"], tmp_path / "evil.json", lambda d: names_csv(d, secret))
    assert_refused_unread(invoke("eval", evil), secret, opened)
    assert_refused_unread(invoke("eval", evil, "--json"), secret, opened)


def test_a_run_folder_does_not_make_an_outside_path_or_a_symlink_inside_trusted(moons_run, tmp_path, secret, opened):
    run = tmp_path / "run"
    shutil.copytree(moons_run["run_dir"], run)
    (run / "data.csv").symlink_to(secret)  # inside by name, outside in fact
    for path in (secret, run / "data.csv", run / ".." / "shadow"):
        resign(moons_run["checkpoint"], run / "checkpoint.json", lambda d, path=path: names_csv(d, path))
        assert_refused_unread(invoke("eval", run / "checkpoint.json"), secret, opened)
        assert_refused_unread(invoke("plot", run), secret, opened)


def moons_csv(path, moons_run) -> Path:
    """The moons run's data set as a CSV file of two features and a label."""
    from nnctl import api

    ckpt = api.load_checkpoint(moons_run["checkpoint"])
    dataset = api.load_data(ckpt.config)
    from nnctl.runs.report import unscale

    rows = [unscale(dataset.x_train, dataset.preprocessing), unscale(dataset.x_val, dataset.preprocessing),
            unscale(dataset.x_test, dataset.preprocessing)]
    labels = np.concatenate([dataset.y_train, dataset.y_val, dataset.y_test])
    lines = ["a,b,label"] + [f"{p!r},{q!r},{k}" for (p, q), k in zip(np.vstack(rows).tolist(), labels)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_file_inside_the_run_folder_or_named_with_data_is_read(moons_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(moons_run["run_dir"], run)
    inside = moons_csv(run / "moons.csv", moons_run)
    resign(moons_run["checkpoint"], run / "checkpoint.json", lambda d: names_csv(d, inside))
    result = invoke("eval", run / "checkpoint.json", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] > 0
    assert invoke("plot", run).exit_code == 0

    outside = moons_csv(tmp_path / "moons.csv", moons_run)
    evil = resign(moons_run["checkpoint"], tmp_path / "evil.json", lambda d: names_csv(d, tmp_path / "elsewhere.csv"))
    named = invoke("eval", evil, "--data", outside, "--json")
    assert named.exit_code == 0, named.output
    assert json.loads(named.stdout)["classes"] == [0, 1]


def test_data_for_a_built_in_set_is_a_file_of_its_features_not_a_folder(moons_run, tmp_path):
    result = invoke("eval", moons_run["checkpoint"], "--data", tmp_path)
    assert result.exit_code == 2 and "--data" in result.output and "moons" in result.output
    missing = invoke("eval", moons_run["checkpoint"], "--data", tmp_path / "x.csv")
    assert missing.exit_code == 5 and "x.csv" in missing.output


def test_a_data_file_of_some_of_the_classes_keeps_the_checkpoints_numbering(tmp_path):
    from nnctl import api, config

    rng = np.random.default_rng(0)
    kinds = np.array(["ant", "bee", "cat"])[np.arange(90) % 3]
    x = rng.normal(size=(90, 2)) + (np.arange(90) % 3)[:, None]
    (tmp_path / "all.csv").write_text("a,b,kind\n" + "".join(f"{p},{q},{k}\n" for (p, q), k in zip(x, kinds)))
    raw = {"seed": 0, "data": {"name": "csv", "path": str(tmp_path / "all.csv"), "target": "kind"},
           "model": {"layers": [{"units": 3, "activation": "softmax"}]}, "loss": "cross_entropy",
           "optimizer": {"name": "adam", "lr": 0.05}, "training": {"epochs": 5}}
    result = api.train(config.from_dict(raw), run_dir=tmp_path / "run", plots=False)
    keep = kinds != "ant"  # without ants, 'bee' would be class 0 of the file
    (tmp_path / "some.csv").write_text("a,b,kind\n" + "".join(f"{p},{q},{k}\n" for (p, q),
                                                              k in zip(x[keep], kinds[keep])))
    scores = api.evaluate_checkpoint(result["checkpoint"], data=tmp_path / "some.csv")
    assert scores["classes"] == ["ant", "bee", "cat"] and scores["per_class"]["support"][0] == 0
    (tmp_path / "other.csv").write_text("a,b,kind\n" + "".join(f"{p},{q},eel\n" for p, q in x[:30])
                                        + "".join(f"{p},{q},bee\n" for p, q in x[30:60]))
    from nnctl.errors import DataError

    with pytest.raises(DataError, match="the class 'eel', which the checkpoint does not know"):
        api.evaluate_checkpoint(result["checkpoint"], data=tmp_path / "other.csv")


def scaled_weights(doc):
    """Weights so large that the outputs overflow: the loss is NaN."""
    for name, record in doc["state"].items():
        a = np.frombuffer(base64.b64decode(record["data"]), "<f4").copy()
        a[:] = 3e38 if name.endswith("W") else 0
        record["data"] = base64.b64encode(a.tobytes()).decode()


def test_eval_json_is_strict_when_the_loss_is_nan(moons_run, tmp_path):
    path = resign(moons_run["checkpoint"], tmp_path / "nan.json", scaled_weights)
    result = invoke("eval", path, "--json")
    assert result.exit_code == 0, result.output
    assert "NaN" not in result.stdout
    scores = json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
    assert scores["loss"] is None


TITLE = "\x1b]0;pwned\x07"  # an xterm escape that sets the window title


def test_class_names_reach_the_terminal_escaped(moons_run, tmp_path):
    path = resign(moons_run["checkpoint"], tmp_path / "odd.json", lambda d: d.update(classes=[TITLE, "b\u202e"]))
    for args in (("eval", path), ("predict", path, "-")):
        result = CliRunner().invoke(main, [str(a) for a in args], input="0.5,0.25\n")
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output and "\u202e" not in result.output
        assert "\\x1b]0;pwned\\x07" in result.output and "b\\u202e" in result.output
    json_lines = CliRunner().invoke(main, ["predict", str(path), "-", "--json"], input="0.5,0.25\n")
    assert json.loads(json_lines.stdout)["class"] in (TITLE, "b\u202e")  # JSON keeps the label, escaped by JSON


def test_a_negative_running_variance_is_refused_where_the_checkpoint_is_read(tmp_path):
    """A re-signed batchnorm checkpoint whose running_var is negative: NaN predictions (and export
    stopped by a NumPy warning) before; now every command refuses it, exit 4."""
    from nnctl import api

    (tmp_path / "bn.yaml").write_text(MOONS_BN)
    run = api.train(api.load_config(tmp_path / "bn.yaml"), run_dir=tmp_path / "run", plots=False)

    def negative(doc):
        record = doc["state"]["layers.1.running_var"]
        values = np.frombuffer(base64.b64decode(record["data"]), "<f4").copy()
        values[1] = -0.5
        record["data"] = base64.b64encode(values.tobytes()).decode("ascii")

    evil = resign(run["checkpoint"], tmp_path / "evil.json", negative)
    (tmp_path / "rows.csv").write_text("0.5,0.25\n")
    for args in (["eval", evil], ["predict", evil, tmp_path / "rows.csv"], ["summary", evil],
                 ["export", evil, "--format", "numpy", "-o", tmp_path / "out"]):
        result = invoke(*args)
        assert result.exit_code == 4, result.output
        assert "state.layers.1.running_var: holds -0.5, but a variance is never negative" in result.stderr


MOONS_BN = """\
seed: 0
data: {name: moons, n_samples: 200}
model:
  layers:
    - {units: 4, activation: relu}
    - {type: batchnorm}
    - {units: 2, activation: softmax}
loss: cross_entropy
optimizer: {name: adam, lr: 0.02}
training: {epochs: 2}
"""
