"""A newcomer's config through the CLI: aliases, every error at once, YAML mistakes explained,
data.path relative to the config file, and layered configs (--config)."""

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from nnctl import config
from nnctl.cli import main
from nnctl.config import aliases

ROOT = Path(__file__).resolve().parents[2]

KERAS = """\
seed: 0
data:
  name: breast_cancer
model:
  layers:
    - {type: Dense, units: 16, activation: ReLU, kernel_initializer: HeNormal}
    - {type: Dense, units: 1, activation: Sigmoid}
optimizer:
  name: Adam
  learning_rate: 0.01
loss: binary_crossentropy
training:
  epochs: 2
  schedule: {name: StepLR}
"""


def invoke(*args, **kwargs):
    result = CliRunner().invoke(main, [str(a) for a in args], **kwargs)
    assert "Traceback" not in result.output
    return result


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def error_lines(result) -> list[str]:
    assert result.stderr.startswith("error: "), result.output
    return result.stderr.removeprefix("error: ").rstrip("\n").split("\n")


# ---------------------------------------------------------------- 1. a misspelt required key


def test_a_misspelt_required_key_is_reported_as_the_typo_at_its_own_line(tmp_path):
    path = write(tmp_path, "c.yaml", KERAS.replace("optimizer:", "optimiser:"))
    result = invoke("check", path)
    assert result.exit_code == 3
    lines = error_lines(result)
    assert lines == [(f"{path}:8: optimiser: unknown key; did you mean 'optimizer'? "
                     "(allowed: seed, data, model, loss, optimizer, training, run)")]


def test_a_missing_key_without_a_typo_is_still_missing(tmp_path):
    path = write(tmp_path, "c.yaml", KERAS.replace("loss: binary_crossentropy\n", ""))
    assert error_lines(invoke("check", path)) == [f"{path}:1: loss: is required but missing"]


# ---------------------------------------------------------------- 2. names from Keras and PyTorch


def test_keras_and_pytorch_names_are_written_canonically(tmp_path):
    result = invoke("check", write(tmp_path, "c.yaml", KERAS))
    assert result.exit_code == 0, result.output
    resolved = yaml.safe_load(result.stdout)
    assert resolved["loss"] == "binary_cross_entropy"
    assert resolved["optimizer"] == {**resolved["optimizer"], "name": "adam", "lr": 0.01}
    assert "learning_rate" not in resolved["optimizer"]
    assert [(l["type"], l["activation"], l["initializer"]) for l in resolved["model"]["layers"]] == [
        ("dense", "relu", "he_normal"), ("dense", "sigmoid", "glorot_uniform")]
    assert resolved["training"]["schedule"]["name"] == "step"


@pytest.mark.parametrize("word,canonical", [
    ("categorical_crossentropy", "cross_entropy"), ("CrossEntropyLoss", "cross_entropy"),
    ("sparse_categorical_crossentropy", "cross_entropy"), ("binary_crossentropy", "binary_cross_entropy"),
    ("BCEWithLogitsLoss", "binary_cross_entropy"), ("BCELoss", "binary_cross_entropy"),
    ("mean_squared_error", "mse"), ("MSELoss", "mse"), ("MSE", "mse"), ("L1Loss", "mae"), ("HuberLoss", "huber"),
])
def test_loss_aliases(word, canonical):
    assert aliases.LOSSES.lookup(word) == canonical


@pytest.mark.parametrize("table,word,canonical", [
    (aliases.ACTIVATIONS, "ReLU", "relu"), (aliases.ACTIVATIONS, "LeakyReLU", "leaky_relu"),
    (aliases.ACTIVATIONS, "Softmax", "softmax"), (aliases.ACTIVATIONS, "swish", "silu"),
    (aliases.OPTIMIZERS, "SGD", "sgd"), (aliases.OPTIMIZERS, "AdamW", "adamw"),
    (aliases.OPTIMIZERS, "RMSProp", "rmsprop"),
    (aliases.LAYER_TYPES, "Linear", "dense"), (aliases.LAYER_TYPES, "BatchNormalization", "batchnorm"),
    (aliases.LAYER_TYPES, "Conv2D", "conv2d"), (aliases.LAYER_TYPES, "Conv2d", "conv2d"),
    (aliases.LAYER_TYPES, "MaxPooling2D", "maxpool2d"), (aliases.LAYER_TYPES, "MaxPool2d", "maxpool2d"),
    (aliases.LAYER_TYPES, "AveragePooling2D", "avgpool2d"), (aliases.LAYER_TYPES, "AvgPool2d", "avgpool2d"),
    (aliases.LAYER_TYPES, "Flatten", "flatten"), (aliases.LAYER_TYPES, "GlobalAveragePooling2D", "global_avgpool2d"),
    (aliases.LAYER_TYPES, "BatchNorm2d", "batchnorm"),
    (aliases.SCHEDULES, "ReduceLROnPlateau", "reduce_on_plateau"), (aliases.SCHEDULES, "CosineAnnealingLR", "cosine"),
    (aliases.INITIALIZERS, "xavier_uniform", "glorot_uniform"), (aliases.DATA_SETS, "MNIST", "mnist"),
])
def test_word_aliases(table, word, canonical):
    assert table.lookup(word) == canonical


def test_every_alias_names_a_valid_word_and_no_alias_hides_a_name():
    for table in aliases.WORDS:
        assert set(table.aliases.values()) <= set(table.names), table.key
        names = {aliases.fold(n): n for n in table.names}
        assert len(names) == len(table.names), table.key
        # an alias may spell a name out (binary_crossentropy), never hide another
        for alias, name in table.aliases.items():
            assert names.get(aliases.fold(alias), name) == name, alias
            assert table.lookup(alias) == name


def test_an_unknown_word_is_suggested_by_its_alias_first(tmp_path):
    path = write(tmp_path, "c.yaml", KERAS.replace("binary_crossentropy", "categorical_crossentropyy"))
    lines = error_lines(invoke("check", path))
    assert lines == [(f"{path}:11: loss: expected one of cross_entropy, binary_cross_entropy, mse, mae, huber, "
                     "got 'categorical_crossentropyy'; did you mean 'cross_entropy'?")]
    path = write(tmp_path, "c.yaml", KERAS.replace("learning_rate", "learnin_rate"))
    assert "optimizer.learnin_rate: unknown key; did you mean 'lr'?" in invoke("check", path).stderr


def test_a_key_given_twice_under_two_names_is_refused(tmp_path):
    path = write(tmp_path, "c.yaml", KERAS.replace("  learning_rate: 0.01\n", "  learning_rate: 0.01\n  lr: 0.1\n"))
    result = invoke("check", path)
    assert result.exit_code == 3
    assert error_lines(result) == [f"{path}:11: optimizer.lr: learning_rate and lr are the same key: give it once"]


def test_a_layer_type_that_names_an_activation_is_an_activation_layer(tmp_path):
    """Keras' ReLU layer and PyTorch's nn.Tanh are written {type: ReLU}; each layer type's keys
    have their other names (out_features, p, eps) and only that type's."""
    text = KERAS.replace("    - {type: Dense, units: 16, activation: ReLU, kernel_initializer: HeNormal}\n",
                         "    - {type: Linear, out_features: 16}\n    - {type: ReLU}\n    - {type: Dropout, p: 0.2}\n")
    result = invoke("check", write(tmp_path, "c.yaml", text))
    assert result.exit_code == 0, result.output
    layers = yaml.safe_load(result.stdout)["model"]["layers"]
    assert layers[:3] == [{"type": "dense", "units": 16, "activation": "linear", "initializer": "glorot_uniform",
                           "l1": 0.0, "l2": 0.0}, {"type": "activation", "activation": "relu"},
                          {"type": "dropout", "rate": 0.2}]
    twice = write(tmp_path, "twice.yaml",
                  KERAS.replace("{type: Dense, units: 16, activation: ReLU, kernel_initializer: HeNormal}",
                                                        "{type: Tanh, activation: relu}"))
    assert error_lines(invoke("check", twice)) == [
        (f"{twice}:6: model.layers[0].activation: the layer's type, Tanh, is an activation already: give "
        "{type: activation, activation: ...} or the type alone")]
    elsewhere = write(tmp_path, "p.yaml",
                      KERAS.replace("activation: ReLU, kernel_initializer", "p: 0.2, kernel_initializer"))
    assert "model.layers[0].p: unknown key" in invoke("check", elsewhere).stderr


def test_conv_words_are_suggested_from_their_keras_and_pytorch_names(tmp_path):
    text = KERAS.replace("data:\n  name: breast_cancer", "data:\n  name: digits").replace(
        "    - {type: Dense, units: 16, activation: ReLU, kernel_initializer: HeNormal}\n",
        "    - {type: Conv2DD, out_channels: 4, kernel_size: 3}\n    - {type: MaxPool2d, strid: 2}\n")
    lines = error_lines(invoke("check", write(tmp_path, "c.yaml", text)))
    assert any("model.layers[0].type: expected one of dense, activation, dropout, batchnorm, conv2d" in line
               and "did you mean 'conv2d'?" in line for line in lines), lines
    assert any("model.layers[1].strid: unknown key; did you mean 'strides'?" in line for line in lines), lines


def test_the_aliases_are_listed_in_the_config_reference():
    text = (ROOT / "docs" / "config.md").read_text()
    assert "`categorical_crossentropy` → `cross_entropy`" in text and "`learning_rate` → `lr`" in text


# ---------------------------------------------------------------- 3. every error at once


def test_every_config_error_is_reported_at_once_in_line_order(tmp_path):
    text = KERAS.replace("units: 16, activation: ReLU", "units: 0, activation: relux").replace(
        "  epochs: 2\n", "  epochs: 2\n  batch_size: -1\n").replace("optimizer:", "optimiser:")
    path = write(tmp_path, "c.yaml", text)
    result = invoke("check", path)
    assert result.exit_code == 3
    assert error_lines(result) == [
        f"{path}:6: model.layers[0].units: input should be greater than or equal to 1, got 0",
        (f"{path}:6: model.layers[0].activation: expected one of relu, leaky_relu, sigmoid, tanh, softmax, linear, "
         "elu, selu, gelu, softplus, silu, got 'relux'; did you mean 'relu'?"),
        (f"{path}:8: optimiser: unknown key; did you mean 'optimizer'? (allowed: seed, data, model, loss, optimizer, "
         "training, run)"),
        f"{path}:14: training.batch_size: input should be greater than or equal to 1, got -1",
    ]
    assert invoke("train", path).exit_code == 3


def test_the_output_layer_and_the_training_keys_are_checked_together(tmp_path):
    text = KERAS.replace("{type: Dense, units: 16, activation: ReLU",
                         "{type: Dense, units: 16, activation: softmax").replace(
        "units: 1, activation: Sigmoid", "units: 3, activation: Sigmoid").replace(
        "  epochs: 2\n", "  epochs: 2\n  early_stopping: {monitor: val_mae}\n")
    path = write(tmp_path, "c.yaml", text)
    result = invoke("check", path)
    assert result.exit_code == 3
    assert error_lines(result) == [
        f"{path}:6: model.layers[0].activation: softmax belongs on the output layer only",
        f"{path}:7: model.layers[1].units: binary_cross_entropy needs 1 output unit, got 3",
        (f"{path}:14: training.early_stopping.monitor: val_mae is a regression metric; breast_cancer is a "
        "classification task (use val_loss or val_accuracy)")]


# ---------------------------------------------------------------- 4. data.path relative to the config


def test_the_shipped_csv_config_trains_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("train", ROOT / "configs" / "wine_csv.yaml", "--run-dir", tmp_path / "run", "-q", "--no-plots",
                    "--set", "training.epochs=1")
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert written["data"]["path"] == str(ROOT / "configs" / "data" / "wine_cultivars.csv")


def test_a_set_path_is_relative_to_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "here").mkdir()
    shutil.copy(ROOT / "configs" / "data" / "wine_cultivars.csv", tmp_path / "here" / "w.csv")
    monkeypatch.chdir(tmp_path / "here")
    result = invoke("check", ROOT / "configs" / "wine_csv.yaml", "--set", "data.path=w.csv")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["data"]["path"] == str(tmp_path / "here" / "w.csv")


def test_a_sweeps_base_config_path_is_relative_to_the_base_config(tmp_path, monkeypatch):
    from nnctl.sweep import spec

    (tmp_path / "sweeps").mkdir()
    spec_path = write(tmp_path / "sweeps", "s.yaml", f"base: {ROOT / 'configs' / 'wine_csv.yaml'}\nmetric: val_loss\n"
                      "parameters:\n  optimizer.lr: [0.01, 0.02]\n")
    monkeypatch.chdir(tmp_path)
    sweep = spec.load(spec_path)
    assert sweep.base["data"]["path"] == str(ROOT / "configs" / "data" / "wine_cultivars.csv")


# ---------------------------------------------------------------- 5. YAML mistakes explained


@pytest.mark.parametrize("text,line,message,shown", [
    ("seed: 0\noptimizer:\n  name: adam\n    lr: 0.1\n", 4,
     ("this line is indented more than the key above it: line it up with that key, or, to nest it, leave the key above "
     "without a value"), "    lr: 0.1"),
    ("seed: 0\noptimizer:\n    name: adam\n  lr: 0.1\n", 4,
     ("this line's indentation matches no key above it: indent it as the keys of the mapping it belongs to (the same "
     "number of spaces)"), "  lr: 0.1"),
    ("seed: 0\noptimizer\n  name: adam\n", 2,
     "this line has no colon after its key: write `key: value` (or `key:` above what it holds)", "optimizer"),
    ("seed: 0\nmodel:\n  layers:\n    - {units: 3, activation: relu\n    - {units: 2}\n", 4,
     "the { opened on this line is never closed: close it with }", "    - {units: 3, activation: relu"),
    ("seed: 0\nrun:\n  name: \"abc\n", 3, "the quote opened on this line is never closed", '  name: "abc'),
    ("seed:\t0\n", 1, "a tab on this line; YAML needs spaces, to indent and after a colon", "seed:\t0"),
    ("seed: 0\nrun:\n  name: a: b\n", 3, "a value that holds ': ' must be quoted (\"a: b\")", "  name: a: b"),
])
def test_yaml_mistakes_are_one_sentence_at_their_line(tmp_path, text, line, message, shown):
    path = write(tmp_path, "c.yaml", text)
    result = invoke("check", path)
    assert result.exit_code == 3
    assert error_lines(result) == [f"{path}:{line}: {message}", f"  {line} | {shown}".replace("\t", "\\x09")]
    assert "expected <block end>" not in result.stderr and "mapping values" not in result.stderr


# ---------------------------------------------------------------- 6. layered configs


def test_config_files_are_merged_in_order(tmp_path):
    base = write(tmp_path, "base.yaml", KERAS)
    first = write(tmp_path, "o1.yaml", "optimizer:\n  lr: 0.5\ntraining:\n  epochs: 3\n")
    second = write(tmp_path, "o2.yaml",
                   "training:\n  epochs: 4\nmodel:\n  layers:\n    - {units: 1, activation: sigmoid}\n")
    result = invoke("check", base, "--config", first, "--config", second, "--set", "seed=3")
    assert result.exit_code == 0, result.output
    resolved = yaml.safe_load(result.stdout)
    assert resolved["optimizer"]["name"] == "adam" and resolved["optimizer"]["lr"] == 0.5  # merged key by key
    assert resolved["training"]["epochs"] == 4 and resolved["training"]["schedule"]["name"] == "step"
    assert len(resolved["model"]["layers"]) == 1  # a list is replaced
    assert resolved["seed"] == 3
    assert result.stdout.startswith(f"# --config {first}\n# --config {second}\n# --set seed=3\n")


def test_each_error_names_its_own_file_and_line(tmp_path):
    base = write(tmp_path, "base.yaml", KERAS.replace("units: 16", "units: 0"))
    over = write(tmp_path, "over.yaml", "seed: 0\ntraining:\n  epochs: 3\n  batch_size: 0\n")
    result = invoke("check", base, "--config", over)
    assert result.exit_code == 3
    assert error_lines(result) == [
        f"{base}:6: model.layers[0].units: input should be greater than or equal to 1, got 0",
        f"{over}:4: training.batch_size: input should be greater than or equal to 1, got 0"]
    broken = write(tmp_path, "broken.yaml", "training:\n  epochs 3\n  batch_size: 2\n")
    assert error_lines(invoke("check", write(tmp_path, "ok.yaml", KERAS), "--config", broken)) == [
        f"{broken}:2: this line has no colon after its key: write `key: value`", "  2 |   epochs 3"]


def test_a_merged_data_path_is_relative_to_its_own_file(tmp_path):
    (tmp_path / "other").mkdir()
    shutil.copy(ROOT / "configs" / "data" / "wine_cultivars.csv", tmp_path / "other" / "w.csv")
    over = write(tmp_path / "other", "over.yaml", "data:\n  path: w.csv\n")
    result = invoke("check", ROOT / "configs" / "wine_csv.yaml", "--config", over)
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout.split("\n", 1)[1])["data"]["path"] == str(tmp_path / "other" / "w.csv")


def test_train_saves_the_merged_config(tmp_path):
    base = write(tmp_path, "base.yaml", KERAS)
    over = write(tmp_path, "over.yaml", "training:\n  epochs: 1\n")
    result = invoke("train", base, "--config", over, "--run-dir", tmp_path / "run", "-q", "--no-plots", "--json")
    assert result.exit_code == 0, result.output
    written = (tmp_path / "run" / "config.yaml").read_text()
    assert written.startswith(f"# --config {over}\n")
    assert yaml.safe_load(written)["training"]["epochs"] == 1 and json.loads(result.stdout)["epochs"] == 1


@pytest.mark.parametrize("command", [("summary",), ("gradcheck", "--samples", "2"), ("lr-find", "--steps", "20")])
def test_every_command_that_reads_a_config_takes_config(tmp_path, command):
    base = write(tmp_path, "base.yaml", KERAS)
    over = write(tmp_path, "over.yaml", "model:\n  layers:\n    - {units: 1, activation: sigmoid, l2: -1}\n")
    result = invoke(command[0], base, "--config", over, *command[1:])
    assert result.exit_code == 3, result.output
    assert error_lines(result) == [f"{over}:3: model.layers[0].l2: input should be greater than or equal to 0, got -1"]


def test_config_needs_a_config_to_merge_into(tmp_path):
    over = write(tmp_path, "over.yaml", "seed: 1\n")
    result = invoke("train", "--resume", tmp_path, "--config", over)
    assert result.exit_code == 2 and "--config changes a CONFIG" in result.output


@pytest.mark.slow
def test_a_run_written_with_a_relative_data_path_still_resumes_and_evaluates(tmp_path, monkeypatch):
    """Runs and checkpoints from before paths were anchored hold data.path relative to the folder
    nnctl ran in: they are read from the current folder, as they were written, and the same file
    given by a config (now anchored to its folder) still matches the run."""
    from nnctl.runs import checkpoint

    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "configs" / "data" / "wine_cultivars.csv", tmp_path / "w.csv")
    text = (ROOT / "configs" / "wine_csv.yaml").read_text().replace("data/wine_cultivars.csv", "w.csv")
    config_path = write(tmp_path, "c.yaml", text)
    run = tmp_path / "run"
    assert invoke("train", config_path, "--run-dir", run, "-q", "--no-plots", "--set",
                  "training.epochs=2").exit_code == 0
    absolute = str(tmp_path / "w.csv")
    written = run / "config.yaml"
    written.write_text(written.read_text().replace(absolute, "w.csv"))
    for name in ("checkpoint.json", "last.json"):
        doc = json.loads((run / name).read_text())
        doc["config"]["data"]["path"] = "w.csv"
        doc["sha256"] = checkpoint._digest(doc)
        (run / name).write_text(json.dumps(doc))
    for args in (("train", "--resume", run), ("train", config_path, "--set", "training.epochs=2", "--resume", run),
                 ("summary", run / "checkpoint.json")):
        result = invoke(*args, "-q") if args[0] == "train" else invoke(*args)
        assert result.exit_code == 0, (args, result.output)


# ---------------------------------------------------------------- 7. many keys: linear work, a bounded message


def test_thousands_of_unknown_keys_describe_the_first_and_count_the_rest(tmp_path, monkeypatch):
    """The closest word is looked for only in the errors shown (it was 2 difflib searches an error)."""
    from nnctl.config import messages

    calls = []
    suggest = messages.suggest
    monkeypatch.setattr(messages, "suggest", lambda *args: calls.append(args) or suggest(*args))
    text = KERAS.replace("optimizer:", "optimiser:") + "".join(f"unknown_{i}: {i}\n" for i in range(3_000))
    lines = error_lines(invoke("check", write(tmp_path, "many.yaml", text)))
    assert len(lines) == messages.MAX_ERRORS + 1 and lines[-1] == "… and 2,981 more errors"
    assert lines[0] == (f"{tmp_path / 'many.yaml'}:8: optimiser: unknown key; did you mean 'optimizer'? "
                        f"(allowed: seed, data, model, loss, optimizer, training, run)")  # and not 'optimizer: missing'
    assert lines[1].startswith(f"{tmp_path / 'many.yaml'}:15: unknown_0: unknown key")
    assert len(calls) <= 2 * messages.MAX_ERRORS


def test_a_merged_file_of_many_keys_is_merged_in_one_pass_over_the_lines():
    """Each replaced key once scanned every line recorded so far: a layer of 20,000 keys took minutes."""
    from nnctl import config

    class Counted(dict):
        scans = 0

        def __iter__(self):
            Counted.scans += 1
            return super().__iter__()

        def items(self):
            Counted.scans += 1
            return super().items()

    data = {"seed": 0, "training": {"epochs": 1, "batch_size": 2}}
    lines = Counted({("seed",): 1, ("training",): 2, ("training", "epochs"): 3, ("training", "batch_size"): 4})
    more = {"training": {"epochs": 5}, **{f"k{i}": i for i in range(2_000)}}
    more_lines = {("training",): 1, ("training", "epochs"): 2, **{(f"k{i}",): i + 3 for i in range(2_000)}}
    merged = config.merge(data, more, lines, more_lines, "over.yaml")
    assert merged["training"] == {"epochs": 5, "batch_size": 2} and merged["k1999"] == 1999
    assert lines[("training", "epochs")] == "over.yaml:2" and lines[("training", "batch_size")] == 4
    assert lines[("k0",)] == "over.yaml:3" and lines[("seed",)] == 1
    assert Counted.scans <= 2


# ---------------------------------------------------------------- 8. PyTorch's and Keras' words, as they mean them

MOONS = "seed: 0\ndata: {name: moons, n_samples: 200}\nmodel:\n  layers:\n    - {units: 8, activation: relu}\n" \
        "    - %s\nloss: %s\noptimizer: {name: adam}\ntraining: {epochs: 1}\n"


@pytest.mark.parametrize("output, loss, same_as", [
    ("{units: 2}", "CrossEntropyLoss", ("{units: 2, activation: softmax}", "cross_entropy")),
    ("{units: 2, activation: linear}", "CrossEntropyLoss", ("{units: 2, activation: softmax}", "cross_entropy")),
    ("{type: Linear, out_features: 2, activation: identity}", "cross_entropy_loss",
     ("{units: 2, activation: softmax}", "cross_entropy")),
    ("{units: 1}", "BCEWithLogitsLoss", ("{units: 1, activation: sigmoid}", "binary_cross_entropy")),
])
def test_pytorch_logits_losses_take_a_linear_output_layer(output, loss, same_as, tmp_path):
    """Their output layer is linear in PyTorch, the softmax or sigmoid applied by the loss: the resolved
    config is the nnctl config with that activation on the output layer, so training gives its bits."""
    from nnctl import config

    pytorch = config.load(write(tmp_path, "pytorch.yaml", MOONS % (output, loss)))
    nnctl = config.load(write(tmp_path, "nnctl.yaml", MOONS % same_as))
    assert pytorch.model_dump() == {**nnctl.model_dump(), "run": pytorch.model_dump()["run"]}


@pytest.mark.parametrize("loss, activation", [("categorical_crossentropy", "softmax"), ("BCELoss", "sigmoid"),
                                              ("binary_crossentropy", "sigmoid")])
def test_losses_that_take_probabilities_still_want_their_output_activation(loss, activation, tmp_path):
    units = 2 if activation == "softmax" else 1
    result = invoke("check", write(tmp_path, "c.yaml", MOONS % (f"{{units: {units}}}", loss)))
    assert result.exit_code == 3 and f"needs a {activation} output layer, got activation 'linear'" in result.stderr


def test_a_pytorch_style_model_predicts_probabilities(tmp_path):
    path = write(tmp_path, "c.yaml", MOONS % ("{units: 2}", "CrossEntropyLoss"))
    assert invoke("train", path, "--run-dir", tmp_path / "run", "-q", "--no-plots").exit_code == 0
    result = invoke("predict", tmp_path / "run" / "checkpoint.json", "-", input="0.5,0.25\n-1,0.5\n")
    assert result.exit_code == 0, result.output
    rows = [[float(v) for v in line.split(",")[1:]] for line in result.stdout.splitlines()[1:]]
    assert len(rows) == 2 and all(abs(sum(p) - 1) < 1e-5 and min(p) >= 0 for p in rows)


def test_in_features_suggests_units_and_says_why(tmp_path):
    result = invoke("check", write(tmp_path, "c.yaml", MOONS % ("{in_features: 8, units: 2, activation: softmax}",
                                                                "cross_entropy")))
    assert error_lines(result) == [
        (f"{tmp_path / 'c.yaml'}:6: model.layers[1].in_features: unknown key; did you mean 'units'? nnctl infers a "
        f"layer's inputs from the layer before it (the data's width for the first): units is its outputs, PyTorch's "
        f"out_features (allowed: type, units, activation, initializer, l1, l2)")]


@pytest.mark.parametrize("layer_type, activation", [("ReLU", "relu"), ("relu", "relu"), ("LeakyReLU", "leaky_relu"),
                                                    ("Sigmoid", "sigmoid"), ("GELU", "gelu")])
def test_an_activation_as_a_layer_type_is_an_activation_layer(layer_type, activation, tmp_path):
    """Keras' ReLU layer, PyTorch's nn.ReLU: {type: ReLU} is {type: activation, activation: relu},
    and the summary says which activation it applies."""
    text = MOONS.replace("    - %s\n",
                         f"    - {{type: {layer_type}}}\n    - %s\n") % ("{units: 2, activation: softmax}",
                                                                                      "cross_entropy")
    path = write(tmp_path, "c.yaml", text)
    layer = config.plain(config.load(path).model.layers)[1]
    assert layer["type"] == "activation" and layer["activation"] == activation
    rows = json.loads(invoke("summary", str(path), "--json").stdout)["layers"]
    assert rows[1]["type"] == "Activation" and rows[1]["activation"] == activation


def test_keras_activation_layer_without_its_activation_says_it_is_missing(tmp_path):
    text = MOONS.replace("    - %s\n", "    - {type: Activation}\n    - %s\n") % ("{units: 2, activation: softmax}",
                                                                                 "cross_entropy")
    assert error_lines(invoke("check", write(tmp_path, "c.yaml", text))) == [
        f"{tmp_path / 'c.yaml'}:6: model.layers[1].activation: is required but missing"]
