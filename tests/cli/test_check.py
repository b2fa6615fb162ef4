"""check, schema and gradcheck: configs checked before anything is trained."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from helpers.moons import moons_yaml

from nnctl import data
from nnctl.cli import main
from nnctl.data import images

CONFIG = moons_yaml(optimizer={"lr": 0.01}, training={"epochs": 5}, run={"output_dir": "OUT"})


@pytest.fixture()
def config_file(tmp_path):
    path = tmp_path / "moons.yaml"
    path.write_text(CONFIG.replace("OUT", str(tmp_path / "runs")))
    return path


def invoke(*args, **kwargs):
    result = CliRunner().invoke(main, [str(a) for a in args], **kwargs)
    assert "Traceback" not in result.output
    return result


def test_check_prints_the_resolved_config_and_trains_nothing(config_file, tmp_path):
    result = invoke("check", config_file, "--set", "optimizer.lr=0.5")
    assert result.exit_code == 0, result.output
    resolved = yaml.safe_load(result.stdout)
    assert resolved["optimizer"]["lr"] == 0.5 and resolved["model"]["layers"][0]["initializer"] == "he_uniform"
    assert "ok" in result.stderr and "moons.yaml is valid" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_check_json(config_file):
    out = json.loads(invoke("check", config_file, "--json").stdout)
    assert out["valid"] is True and out["total_params"] == 2 * 16 + 16 + 16 * 2 + 2
    assert out["resolved"]["data"]["scaling"] == "standard"


def test_check_refuses_an_output_layer_that_does_not_fit(config_file):
    config_file.write_text(config_file.read_text().replace("{units: 2, activation: softmax}",
                                                           "{units: 10, activation: softmax}"))
    result = invoke("check", config_file)
    assert result.exit_code == 3
    assert "model.layers[1].units" in result.stderr and "2 classes" in result.stderr


def test_check_of_mnist_loads_no_data(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("check must not load a data set")

    monkeypatch.setattr(data, "load", refuse)
    monkeypatch.setattr(images, "load_mnist_raw", refuse)
    result = invoke("check", "configs/mnist.yaml")
    assert result.exit_code == 0 and "784 features" in result.stderr


def test_schema_accepts_the_shipped_configs_and_refuses_bad_ones():
    schema = json.loads(invoke("schema").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for name in ("moons", "breast_cancer", "mnist"):
        jsonschema.validate(yaml.safe_load(Path(f"configs/{name}.yaml").read_text()), schema)
    good = yaml.safe_load(Path("configs/moons.yaml").read_text())
    # "crossentropy" is accepted, as nnctl does
    for key, bad in (("loss", "cross_entrophy"), ("seed", -1), ("extra", 1)):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**good, key: bad}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "optimizer": {"name": "adam", "lr": "fast"}}, schema)


@pytest.mark.slow
@pytest.mark.parametrize("shipped", ["moons", "breast_cancer", "mnist", "digits", "diabetes", "iris"])
def test_gradcheck_passes_on_the_shipped_configs(shipped, monkeypatch):
    """digits has dropout (one fixed mask per check), diabetes an l2 penalty and a regression target."""
    monkeypatch.setattr(data, "load", lambda *a, **k: pytest.fail("gradcheck must not load a data set"))
    result = invoke("gradcheck", f"configs/{shipped}.yaml", "--json", "--samples", "30")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["passed"] and out["max_relative_error"] < 1e-4
    assert all(r["checked"] == min(30, r["size"]) for r in out["parameters"].values())
    assert "layers.0.W" in out["parameters"]


@pytest.mark.slow
def test_gradcheck_table_and_set(config_file):
    result = invoke("gradcheck", config_file, "--set", "model.layers[0].activation=tanh", "--samples", "0")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["parameter", "checked", "max", "rel", "error"]
    assert lines[1].split()[:2] == ["layers.0.W", "32/32"] and lines[1].split()[-1] == "ok"
    assert "float64" in result.stderr


def test_gradcheck_catches_a_wrong_derivative(config_file, monkeypatch):
    from nnctl.engine.activations import ACTIVATIONS

    tanh = ACTIVATIONS["tanh"]
    monkeypatch.setitem(ACTIVATIONS, "tanh", tanh._replace(backward=lambda y, dy: dy * (1 - y)))  # should be 1 - y**2
    result = invoke("gradcheck", config_file, "--set", "model.layers[0].activation=tanh")
    assert result.exit_code == 7, result.output
    assert "FAIL" in result.stdout and "layers.0.W" in result.stderr and "above the tolerance" in result.stderr


def test_gradcheck_relative_error_has_a_floor():
    import numpy as np

    from nnctl.engine.gradcheck import relative_error

    assert relative_error(np.array([0.0]), np.array([1e-11]))[0] < 1e-4  # a dead unit's rounding noise
    assert relative_error(np.array([1.0]), np.array([1.1]))[0] > 1e-2


@pytest.mark.parametrize("tolerance", ["nan", "NaN", "inf", "-inf", "1e999", "0", "-1e-4"])
def test_gradcheck_refuses_a_tolerance_that_is_not_a_positive_finite_number(config_file, tolerance):
    """--tolerance nan made every comparison false: exit 7 for every tensor instead of a usage error."""
    result = invoke("gradcheck", config_file, "--tolerance", tolerance)
    assert result.exit_code == 2, result.output
    assert "--tolerance" in result.output
