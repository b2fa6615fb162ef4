"""Sequential: Keras' model class over nnctl's run machinery: summary, compile, fit, evaluate,
predict, save and load, and nnctl's errors (never a bare AttributeError) for every misuse."""

import numpy as np
import pytest
from sklearn.datasets import make_moons

import nnctl
from nnctl import Input, Sequential, layers, optimizers
from nnctl.engine.callbacks import Callback, EarlyStopping
from nnctl.errors import ConfigError, DataError, Interrupted

X, Y = make_moons(240, noise=0.2, random_state=0)


def mlp(seed=0, **compile_options) -> Sequential:
    model = Sequential([layers.Dense(16, activation="relu"), layers.Dropout(0.1), layers.BatchNormalization(),
                        layers.Dense(2, activation="softmax")], seed=seed)
    model.compile(**{"loss": "sparse_categorical_crossentropy", "optimizer": optimizers.Adam(lr=0.01),
                     "metrics": ["accuracy"], **compile_options})
    return model


def test_summary_before_and_after_the_input_shape_is_known(capsys):
    model = mlp()
    rows = model.summary()
    out = capsys.readouterr().out
    assert (
        'Model: "sequential"  (input: ?, float32)' in out
        and "Total params: ? (the input shape is not known yet)" in out
    )
    assert next((r["type"], r["output_shape"], r["params"]) for r in rows) == ("Dense", None, None)
    with pytest.raises(ConfigError, match="count_params: the input shape is not known yet"):
        model.count_params()
    model.build((None, 2))
    rows = model.summary()
    out = capsys.readouterr().out
    assert "│ layers.2 (BatchNormalization) │ (None, 16)   │ linear     │      64 │" in out
    assert " Non-trainable params: 32 (128.00 B)" in out  # the running statistics, as Keras counts them
    assert [r["params"] for r in rows] == [48, 0, 64, 34] and model.count_params() == 146


def test_a_layer_after_which_shapes_cannot_work_is_refused_where_it_is_added():
    model = Sequential([Input((8, 8, 1)), layers.Conv2D(4, 3)])
    with pytest.raises(
        ConfigError,
        match=r"^Sequential.add: model.layers\[1\]: dense: takes rows of features, \(None, n\), "
        r"and its input is \(None, 6, 6, 4\)",
    ):
        model.add(layers.Dense(10))
    assert len(model.layers) == 1  # left as it was
    with pytest.raises(
        ConfigError, match=r"model.layers\[1\].kernel_size: conv2d: kernel_size 5 is larger than its input"
    ):
        Sequential([layers.Conv2D(4, 3, input_shape=(6, 6, 1)), layers.Conv2D(4, 5)])
    with pytest.raises(ConfigError, match="an Input comes first"):
        Sequential([layers.Dense(3), Input(4)])
    with pytest.raises(ConfigError, match="input_shape is the model's, given to its first layer"):
        Sequential([layers.Dense(3), layers.Dense(3, input_shape=(4,))])
    with pytest.raises(ConfigError, match="a layer is a layers.. object or a config's layer dict, got int"):
        Sequential([3])


def test_compile_takes_the_configs_words_and_keras_names():
    model = mlp(optimizer="sgd")
    assert model._compiled["optimizer"] == {"name": "sgd"}
    model.compile(loss="cross_entropy", optimizer={"name": "adam", "learning_rate": 0.1}, metrics="acc")
    assert model._compiled == {
        "loss": "cross_entropy",
        "optimizer": {"name": "adam", "lr": 0.1},
        "metrics": ["accuracy"],
    }
    with pytest.raises(
        ConfigError,
        match=r"compile: loss: expected one of cross_entropy, .*got 'mean_squared_eror'; "
        r"did you mean 'mse'\?",
    ):
        model.compile(loss="mean_squared_eror")
    with pytest.raises(ConfigError, match="compile: loss: expected one of .* got 'function'"):
        model.compile(loss=lambda y, p: 0)
    with pytest.raises(
        ConfigError, match=r"compile: optimizer.name: expected one of sgd, .*got 'adm'; did you mean 'adam'"
    ):
        model.compile(loss="mse", optimizer="adm")
    with pytest.raises(
        ConfigError, match="compile: metrics: 'accuracy' is not a score nnctl computes for a regression"
    ):
        model.compile(loss="mse", metrics=["accuracy"])
    with pytest.raises(ConfigError, match="compile: optimizer: expected a name"):
        model.compile(loss="mse", optimizer=object())


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda m: m.fit(X, Y[:10]), DataError, r"^x has 240 rows and y has 10 targets: give one target per row$"),
        (
            lambda m: m.fit(X, Y + 0.5),
            DataError,
            r"^y holds 0.5, not a class label: a classifier's labels are whole numbers",
        ),
        (
            lambda m: m.fit(X, Y, epochs=0),
            ConfigError,
            r"^Sequential: training.epochs: input should be greater than or equal to 1",
        ),
        (
            lambda m: m.fit(X, Y, epoch=3),
            ConfigError,
            r"^Sequential: training.epoch: unknown key; did you mean 'epochs'\?",
        ),
        (lambda m: m.fit(X, None), ConfigError, r"x is given without y"),
        (lambda m: m.fit(), ConfigError, r"^fit: no data: give x and y"),
        (lambda m: m.fit(X, Y, data="moons"), ConfigError, r"give the data as x and y, or as data=, not both"),
        (lambda m: m.fit(X, Y, validation_split=0.1, validation_data=(X, Y)), ConfigError, "give one"),
        (
            lambda m: m.fit(X, Y, validation_data=(X, np.full(len(X), 7))),
            DataError,
            r"validation_data's y holds the class 7, which the model does not know",
        ),
        (lambda m: m.fit(X, Y, validation_split=1.5), ConfigError, r"data.val_fraction: input should be less than 1"),
        (lambda m: m.fit(X[:, :1].astype(str), Y), DataError, r"^x must hold numbers"),
        (lambda m: m.fit(X, np.where(Y == 1, 2, Y) + np.arange(len(Y)) % 2 * 0), ConfigError, None),
        (lambda m: m.fit(X, Y, verbose=3), ConfigError, r"verbose: expected 0, 1, 2 or 'auto'"),
        (lambda m: m.fit(X, Y, callbacks=[print]), ConfigError, r"callbacks are nnctl.callbacks.Callback objects"),
        (lambda m: m.fit(X, Y, data=3), ConfigError, r"give the data as x and y, or as data=, not both"),
        (lambda m: m.fit(data="mooons"), ConfigError, r"data='mooons' is neither a data set nnctl knows"),
        (
            lambda m: m.fit(X, Y, callbacks=EarlyStopping()),
            ConfigError,
            r"^fit: callbacks: expected a list of callbacks",
        ),
        (lambda m: m.fit(X, Y, run_dir=3), ConfigError, r"^fit: run_dir: expected a folder's path, got int"),
        (lambda m: m.fit(X[:0], Y[:0]), DataError, r"^x has shape \(0, 2\): no values to learn from"),
    ],
)
def test_bad_arguments_to_fit_are_nnctls_errors(call, error, message):
    model = mlp()
    if message is None:  # three classes for a two-unit softmax: the config's own check, naming the layer
        with pytest.raises(
            ConfigError, match=r"model.layers\[3\].units: fit\(x, y\) has 3 classes, so the softmax output"
        ):
            model.fit(X, np.arange(len(Y)) % 3, verbose=0)
        return
    with pytest.raises(error, match=message):
        call(model)


def test_fit_before_compile_and_without_layers(capsys):
    with pytest.raises(ConfigError, match=r"^fit before compile: call model.compile\(loss=..., optimizer=...\) first"):
        Sequential([layers.Dense(2, activation="softmax")]).fit(X, Y)
    with pytest.raises(ConfigError, match=r"^Sequential: layers: expected a list of layers .* got Dense"):
        Sequential(layers.Dense(2))
    empty = Sequential()
    assert empty.summary() == [] and "Total params: ?" in capsys.readouterr().out
    empty.compile(loss="cross_entropy")
    with pytest.raises(ConfigError, match="the model has no layers"):
        empty.fit(X, Y)
    for call in (lambda m: m.predict(X), lambda m: m.evaluate(X, Y), lambda m: m.save("x.json"), lambda m: m.weights):
        with pytest.raises(ConfigError, match="before fit: the model has no trained weights"):
            call(mlp())


def test_fit_evaluate_predict_as_keras(capsys):
    model = mlp()
    history = model.fit(X, Y, epochs=3, batch_size=32, validation_split=0.25)
    out = capsys.readouterr().out  # the training screen, on stdout as Keras prints it
    assert "data:        fit(x, y), 2 features, 2 classes: 180 train / 60 val / 0 test rows" in out
    assert "the model keeps the last epoch" in out and out.count("epoch 3/3  loss") == 1
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"]
    assert history.epoch == [0, 1, 2] and history.params == {"epochs": 3, "batch_size": 32, "steps": 6}
    assert history.history["val_loss"] == [r["val_loss"] for r in history.records] and history.run is None
    assert "layers.0.grad_norm" in history.records[0]  # the run's own records, diagnostics included
    loss, accuracy = model.evaluate(X, Y)
    scores = model.evaluate(X, Y, return_dict=True)
    assert scores == {"loss": loss, "accuracy": accuracy} and 0.5 < accuracy <= 1
    probabilities = model.predict(X)
    assert probabilities.shape == (240, 2) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-6)
    assert np.mean(probabilities.argmax(axis=1) == Y) == pytest.approx(accuracy)
    assert np.array_equal(model.predict_proba(X), probabilities) and model.classes == [0, 1]
    model.fit(X, Y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""
    with pytest.raises(DataError, match="evaluate: x has 3 values a row, and the model takes 2"):
        model.evaluate(np.ones((4, 3)), Y[:4])
    with pytest.raises(DataError, match="y holds the class 5, which the model does not know"):
        model.evaluate(X[:2], [0, 5])


def test_text_labels_one_hot_targets_a_sigmoid_output_and_a_regression():
    names = np.array(["left", "right"])[Y]
    model = mlp()
    model.fit(X, names, epochs=2, verbose=0)
    numbered = mlp()
    numbered.fit(X, Y, epochs=2, verbose=0)
    assert model.classes == ["left", "right"] and model.evaluate(X, names) == numbered.evaluate(X, Y)
    one_hot = mlp()
    one_hot.compile(loss="categorical_crossentropy", optimizer=optimizers.Adam(lr=0.01))
    one_hot.fit(X, np.eye(2)[Y], epochs=2, verbose=0)
    assert np.array_equal(one_hot.weights["layers.0.W"], numbered.weights["layers.0.W"])
    binary = Sequential([layers.Dense(8, activation="tanh"), layers.Dense(1, activation="sigmoid")])
    binary.compile(loss="binary_crossentropy", optimizer="adam")
    binary.fit(X, Y, epochs=2, verbose=0)
    assert binary.predict(X).shape == (240, 1) and binary.predict_proba(X).shape == (240, 2)
    regression = Sequential([layers.Dense(8, activation="relu"), layers.Dense(1)])
    regression.compile(loss="mse", optimizer="adam", metrics=["mae", "r2"])
    regression.fit(X, X[:, 0] * 3.0, epochs=2, verbose=0)
    _loss, _mae, _r2 = regression.evaluate(X, X[:, 0] * 3.0)
    assert set(regression.evaluate(X, X[:, 0], return_dict=True)) == {"loss", "mae", "rmse", "r2"}
    assert regression.predict(X).shape == (240, 1) and regression.classes == []
    with pytest.raises(ConfigError, match="a regression has no class probabilities"):
        regression.predict_proba(X)


def test_a_further_fit_continues_from_the_weights_and_the_optimizer(tmp_path):
    first, twice = mlp(), mlp()
    first.fit(X, Y, epochs=2, verbose=0)
    twice.fit(X, Y, epochs=2, verbose=0)
    assert all(np.array_equal(first.weights[k], v) for k, v in twice.weights.items())
    again = twice.fit(X, Y, epochs=2, verbose=0)
    fresh = mlp().fit(X, Y, epochs=2, verbose=0)
    assert again.records[0]["train_loss"] < fresh.records[0]["train_loss"]  # it started trained
    repeat = mlp()
    repeat.fit(X, Y, epochs=2, verbose=0)
    repeat.fit(X, Y, epochs=2, verbose=0)
    assert all(np.array_equal(repeat.weights[k], v) for k, v in twice.weights.items())  # the same bits again
    recompiled = mlp()
    recompiled.fit(X, Y, epochs=2, verbose=0)
    recompiled.compile(loss="sparse_categorical_crossentropy", optimizer=optimizers.Adam(lr=0.01))  # a fresh optimizer
    recompiled.fit(X, Y, epochs=2, verbose=0)
    assert not np.array_equal(recompiled.weights["layers.0.W"], twice.weights["layers.0.W"])
    recompiled.add(layers.Dense(2, activation="softmax"))  # a new architecture starts from the seed again
    assert recompiled._fitted is None


def test_save_and_load_give_the_same_model(tmp_path):
    model = mlp()
    model.fit(X, Y, epochs=2, verbose=0)
    model.save(tmp_path / "model.json")
    loaded = nnctl.load(tmp_path / "model.json")
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert loaded.evaluate(X, Y) == model.evaluate(X, Y) and loaded.summary() == model.summary()
    assert [layer.get_config()["type"] for layer in loaded.layers] == ["dense", "dropout", "batchnorm", "dense"]
    loaded.fit(X, Y, epochs=1, verbose=0)  # trainable further
    assert not np.array_equal(loaded.weights["layers.0.W"], model.weights["layers.0.W"])


def test_callbacks_see_every_epoch_and_early_stopping_becomes_the_configs():
    seen = []

    class Watch(Callback):
        def on_epoch_end(self, record):
            seen.append(record["epoch"])
            return False

    model = mlp()
    model.fit(
        X,
        Y,
        epochs=30,
        validation_split=0.25,
        verbose=0,
        callbacks=[Watch(), EarlyStopping(monitor="val_loss", patience=1, min_delta=0.5)],
    )
    assert seen == [1, 2] and model._fitted.config.training.early_stopping.patience == 1
    assert model._fitted.epoch == 1  # restore_best: the best epoch's weights, as the config's early stopping keeps


def test_an_interrupted_fit_keeps_what_it_learnt():
    class Stop(Callback):
        def on_batch_end(self, epoch, rows_done, n_rows, position=None):
            if epoch == 2 and rows_done >= 64:
                raise Interrupted(2)

    model = mlp()
    with pytest.raises(Interrupted, match="after 1 epochs and part of the next: the model keeps the weights"):
        model.fit(X, Y, epochs=5, verbose=0, callbacks=[Stop()])
    assert len(model.history.records) == 1 and model.predict(X).shape == (240, 2)
