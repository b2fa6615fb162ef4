"""A Sequential model and its YAML config are twins: the same architecture, seed and data trained
by Sequential.fit, by api.train of the config as a dict and by `nnctl train` give the same bits;
to_yaml and from_yaml go both ways; a saved model is an ordinary checkpoint for the CLI."""

import json

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from sklearn.datasets import make_moons

import nnctl
from nnctl import Sequential, api, layers, optimizers
from nnctl.cli import main
from nnctl.errors import ConfigError, DataError
from nnctl.runs import checkpoint

X, Y = make_moons(240, noise=0.2, random_state=0)


def model(seed=3) -> Sequential:
    net = Sequential([layers.Dense(16, activation="relu"), layers.Dropout(0.2), layers.BatchNormalization(),
                      layers.Dense(8, activation="tanh"), layers.Dense(2, activation="softmax")], seed=seed)
    net.compile(loss="sparse_categorical_crossentropy", optimizer=optimizers.Adam(lr=0.01), metrics=["accuracy"])
    return net


def same(weights: dict, state: dict) -> bool:
    return set(weights) == set(state) and all(np.array_equal(weights[k], state[k]) for k in weights)


def test_fit_api_train_of_the_dict_and_nnctl_train_give_the_same_bits(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    np.savez("moons.npz", x=X, y=Y)
    net = model()
    net.fit(X, Y, epochs=4, batch_size=32, validation_split=0.2, verbose=0)
    text = net.to_yaml("twin.yaml", data="moons.npz")
    net.summary()
    table = capsys.readouterr().out
    assert "layers.2 (BatchNormalization)" in table and CliRunner().invoke(main,
                                                                           ["summary", "twin.yaml"]).output == table
    as_dict = api.train(yaml.safe_load(text), run_dir="dict", plots=False)
    assert same(net.weights, checkpoint.load(as_dict["checkpoint"]).model.state())
    result = CliRunner().invoke(main, ["train", "twin.yaml", "--run-dir", "cli", "-q", "--no-plots"])
    assert result.exit_code == 0, result.output
    assert same(net.weights, checkpoint.load("cli/checkpoint.json").model.state())
    assert [r["val_loss"] for r in as_dict["history"]] == net.history.history["val_loss"]
    again = Sequential.from_yaml("twin.yaml")  # and back: fit() trains the config's own data
    again.fit(verbose=0)
    assert same(net.weights, again.weights)


def test_a_data_set_fit_is_nnctl_trains_run_also_for_a_cnn(tmp_path):
    cnn = Sequential([layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
                      layers.Dense(10, activation="softmax")], seed=1)
    cnn.compile(loss="cross_entropy", optimizer="adam")
    cnn.fit(data={"name": "digits", "scaling": "none"}, epochs=1, batch_size=64, verbose=0, checkpoint="best")
    run = api.train(cnn.get_config() | {"run": {"output_dir": str(tmp_path)}}, plots=False)
    assert same(cnn.weights, checkpoint.load(run["checkpoint"]).model.state())
    assert cnn.input_shape == (8, 8, 1)


def test_to_yaml_and_from_yaml_round_trip(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net = model()
    text = net.to_yaml()  # before any fit: arrays' defaults, their placeholder path and how to replace it
    assert text.startswith("# The config of a Sequential model") and "numpy.savez" in text
    assert "path: fit(X, y).npz" in text and "scaling: none" in text and "checkpoint: last" in text
    back = Sequential.from_yaml(text)
    assert back.to_yaml() == text and back.seed == 3
    assert [(layer.type, layer.options.get("units")) for layer in back.layers] == \
        [(layer.type, layer.options.get("units")) for layer in net.layers]
    net.fit(X, Y, epochs=2, verbose=0, validation_split=0.1, schedule={"name": "cosine"})
    text = net.to_yaml("fitted.yaml", data="data/moons.npz")
    cfg = yaml.safe_load(text)
    assert cfg["data"] == {"target_scaling": "none", "val_fraction": 0.1, "scaling": "none", "test_fraction": 0.0,
                           "task": "classification", "name": "npz", "path": "data/moons.npz", "x_key": "x",
                           "y_key": "y"}
    assert cfg["training"]["schedule"] == {"name": "cosine", "epochs": 2, "warmup_epochs": 0, "min_lr": 0.0}
    loaded = Sequential.from_yaml(tmp_path / "fitted.yaml")  # a file: its relative path from its own folder
    assert loaded._data["path"] == str(tmp_path / "data" / "moons.npz")
    assert (
        Sequential.from_config(net.get_config(data="data/moons.npz")).to_yaml() == Sequential.from_yaml(text).to_yaml()
    )
    with pytest.raises(
        ConfigError, match=r"^<yaml>:1: data: is required but missing\n.*\n<yaml>:3: model: expected a mapping"
    ):
        Sequential.from_yaml("seed: 0\nloss: mse\nmodel: 3\n")


def test_what_a_config_cannot_say_is_refused_by_to_yaml(tmp_path):
    with pytest.raises(ConfigError, match="to_yaml: compile the model first"):
        Sequential([layers.Dense(2)]).to_yaml()
    net = model()
    net.fit(X, Y, epochs=1, verbose=0, validation_data=(X[:20], Y[:20]))
    with pytest.raises(ConfigError, match="the last fit took validation_data"):
        net.to_yaml(data="moons.npz")
    assert "name: moons" in net.to_yaml(data={"name": "moons"})
    images = Sequential([layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(2, activation="softmax")])
    images.compile(loss="cross_entropy")
    images.fit(np.random.default_rng(0).random((20, 5, 5, 1)), np.arange(20) % 2, epochs=1, verbose=0)
    with pytest.raises(ConfigError, match="the model takes images, and a config's .npz file holds rows"):
        images.to_yaml()


def test_a_saved_model_is_a_checkpoint_for_eval_predict_and_export(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net = model()
    net.fit(X, Y, epochs=2, verbose=0)
    net.save("model.json")
    x_test, y_test = make_moons(100, noise=0.2, random_state=5)
    np.savez("test.npz", x=x_test, y=y_test)
    runner = CliRunner()
    result = runner.invoke(main, ["eval", "model.json"])
    assert (
        result.exit_code == 5
        and "trained on arrays given in memory" in result.output
        and "--data FILE" in result.output
    )
    result = runner.invoke(main, ["eval", "model.json", "--data", "test.npz", "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["split"] == "all" and scores["n"] == 100  # no test split held out: the file, whole
    assert [scores["loss"], scores["accuracy"]] == pytest.approx(net.evaluate(x_test, y_test), rel=1e-6)
    result = runner.invoke(main, ["predict", "model.json", "test.npz"])
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 101
    exported = net.export(tmp_path / "numpy_model", format="numpy")
    assert exported["max_difference"] <= exported["bound"] and (tmp_path / "numpy_model" / "predict.py").is_file()


def test_fit_writes_a_run_folder_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net = model()
    net.fit(X, Y, epochs=2, verbose=0)
    assert list(tmp_path.iterdir()) == []
    history = net.fit(X, Y, epochs=2, verbose=0, runs=True)  # a further fit, into runs/sequential-...
    run = history.run
    assert run["run_dir"].startswith("runs/sequential-") and run["test"]["n"] == 0
    assert same(net.weights, checkpoint.load(run["checkpoint"]).model.state())
    assert nnctl.load("runs/latest").evaluate(X, Y) == net.evaluate(X, Y)
    net.fit(X, Y, epochs=1, verbose=0, run_dir=tmp_path / "mine")
    assert (tmp_path / "mine" / "metrics.jsonl").is_file()
    result = CliRunner().invoke(main, ["train", "--resume", "mine"])
    assert result.exit_code == 5 and "names the arrays a model was fit on in memory" in result.output


def test_a_model_fit_on_a_file_and_saved_is_scored_on_it_while_it_is_unchanged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    side = np.where(X[:, 0] > 0.5, "right", "left")
    rows = "\n".join(f"{a:.6f},{b:.6f},{s},{'yes' if c else 'no'}" for (a, b), s, c in zip(X, side, Y))
    (tmp_path / "moons.csv").write_text("a,b,side,label\n" + rows + "\n")
    net = model()
    net.fit(data="moons.csv", epochs=1, verbose=0)
    net.save("model.json")
    assert checkpoint.load("model.json").data_file["size"] == (tmp_path / "moons.csv").stat().st_size
    result = CliRunner().invoke(main, ["eval", "model.json", "--json"])  # no --data: the file it was fit on
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["split"] == "test" and scores["n"] == 48  # the file's test split, as nnctl train's run holds out
    columns = {"a": X[:5, 0], "b": X[:5, 1], "side": side[:5]}  # by name, the text column as the file holds it
    assert np.array_equal(net.predict(columns), api.predict(checkpoint.load("model.json"), columns))
    assert net.predict(columns).shape == (5, 2) and net.evaluate(columns, np.where(Y[:5], "yes", "no"))[0] > 0
    with pytest.raises(DataError, match="predict: no column 'side', which the model was trained on"):
        net.predict({"a": X[:5, 0], "b": X[:5, 1]})
    on_arrays = model()
    on_arrays.fit(X, Y, epochs=1, verbose=0)
    with pytest.raises(
        DataError, match="x by column name is for a model fit on a CSV's columns; this one takes an array of 2"
    ):
        on_arrays.predict(columns)
    (tmp_path / "moons.csv").write_text("a,b,side,label\n" + rows.replace("yes", "no", 1) + "\n")
    result = CliRunner().invoke(main, ["eval", "model.json"])
    assert result.exit_code == 5 and "--data" in result.output
