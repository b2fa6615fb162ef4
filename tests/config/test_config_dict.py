"""A config given as a dict is validated exactly as a YAML file is, its errors naming dotted keys
where a file's name lines: api.load_config, check, summary, train and gradcheck take one."""

import copy

import numpy as np
import pytest
import yaml
from helpers.moons import STANDARD_MOONS

from nnctl import api
from nnctl.errors import ConfigError
from nnctl.runs import checkpoint


def moons(**changes) -> dict:
    cfg = copy.deepcopy(STANDARD_MOONS)
    cfg.update(changes)
    return cfg


def test_a_dict_loads_as_its_yaml_would(tmp_path):
    path = tmp_path / "moons.yaml"
    path.write_text(yaml.safe_dump(STANDARD_MOONS))
    from_dict, from_file = api.load_config(moons()), api.load_config(path)
    assert from_dict.model_dump() == from_file.model_dump() | {"run": from_dict.run.model_dump()}
    assert from_dict.run.name == "moons"  # named after its data, as a config on stdin is
    assert api.load_config(moons(), ["training.epochs=3"]).training.epochs == 3


def test_python_values_are_read_as_yaml_gives_them(tmp_path):
    given = moons(seed=np.int64(2), model={"layers": [{"units": np.int32(8), "activation": "relu"},
                                                      {"units": 2, "activation": "softmax"}]},
                  optimizer={"name": "Adam", "learning_rate": np.float32(0.5)})
    cfg = api.load_config(given)
    assert (cfg.seed, cfg.model.layers[0].units, cfg.optimizer.name, cfg.optimizer.lr) == (2, 8, "adam", 0.5)
    image = {"type": "conv2d", "filters": 2, "kernel_size": (3, 3)}  # a tuple is YAML's list
    cfg = api.load_config(moons(data={"name": "digits"}, model={"layers": [image, {"type": "flatten"},
                                                                          {"units": 10, "activation": "softmax"}]}))
    assert cfg.model.layers[0].kernel_size == [3, 3]


@pytest.mark.parametrize("changes, message", [
    ({"model": {"layers": [{"units": 0}]}},
     r"^<dict>: model.layers\[0\].units: input should be greater than or equal to 1"),
    ({"optimizer": {"name": "adm"}}, r"^<dict>: optimizer.name: expected one of sgd, .*did you mean 'adam'\?$"),
    ({"trainig": {}}, r"^<dict>: trainig: unknown key; did you mean 'training'\?"),
    ({"training": {"epochs": "ten"}}, r"^<dict>: training.epochs: input should be a valid integer, got 'ten'$"),
    ({"data": {"name": "moons", 3: 1}}, r"^<dict>: data: keys must be text, got 3$"),
    ({"model": {"layers": [{"units": 3, "activation": "softmax"}]}},
     r"^<dict>: model.layers\[0\].units: moons has 2 classes, so the softmax output layer needs 2 units, got 3$"),
])
def test_errors_name_the_dotted_key(changes, message):
    with pytest.raises(ConfigError, match=message):
        api.load_config(moons(**changes))


def test_check_summary_gradcheck_and_train_take_a_dict(tmp_path):
    report = api.check(moons())
    assert report["config"] == "<dict>" and report["valid"] and report["total_params"] == 82
    info = api.summary(moons())
    assert info["name"] == "moons" and [r["params"] for r in info["layers"]] == [48, 34]
    assert api.gradcheck(moons(), samples=5)["passed"]
    with pytest.raises(ConfigError, match=r"^<dict>: model.layers\[0\].units"):
        api.check(moons(model={"layers": [{"units": -1}]}))
    run = api.train(moons(training={"epochs": 2, "batch_size": 32}), run_dir=tmp_path / "run", plots=False)
    from_file = tmp_path / "moons.yaml"
    from_file.write_text(yaml.safe_dump(moons(training={"epochs": 2, "batch_size": 32})))
    again = api.train(str(from_file), run_dir=tmp_path / "again", plots=False)  # a path, too
    first, second = (checkpoint.load(r["checkpoint"]).model.state() for r in (run, again))
    assert all(np.array_equal(first[k], second[k]) for k in first)
