"""The README stays current: every config key, command and option a user can reach is in it."""

import re
from pathlib import Path

import click

from nnctl import config
from nnctl.sweep import distributions, spec as sweep_spec
from nnctl.cli import EXIT_CODES, main

README = (Path(__file__).parent.parent / "README.md").read_text()
# a command may be documented on its own page of docs/ (linked from the README)
DOCS = README + "".join(p.read_text() for p in sorted((Path(__file__).parent.parent / "docs").glob("*.md")))


def _fields(model):
    for name, field in model.model_fields.items():
        yield name
        for arg in getattr(field.annotation, "__args__", ()) + (field.annotation,):
            if isinstance(arg, type) and issubclass(arg, config.BaseModel):
                yield from _fields(arg)


def test_every_config_key_is_documented():
    models = [config.Config, config.MoonsData, config.BreastCancerData, config.MnistData, config.CirclesData,
              config.BlobsData, config.IrisData, config.WineData, config.DigitsData, config.DiabetesData,
              config.FashionMnistData, config.OpenMLData, config.CsvData, config.NpzData, config.DenseLayer,
              config.DropoutLayer, config.BatchNormLayer, config.SGDConfig, config.AdamConfig, config.RMSpropConfig,
              config.AdagradConfig, config.AdadeltaConfig, config.AdamWConfig, config.AdamaxConfig, config.NadamConfig,
              config.TrainingConfig, config.RunConfig, config.StepSchedule, config.ExponentialSchedule,
              config.InverseTimeSchedule, config.CosineSchedule, config.ReduceOnPlateauSchedule, config.EarlyStoppingConfig,
              sweep_spec.SweepSpec, *distributions.DISTRIBUTIONS.values()]
    missing = {name for model in models for name in _fields(model) if f"`{name}`" not in README}
    assert not missing


def _commands(group, prefix="nnctl"):
    for name, command in group.commands.items():
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix} {name}")


def test_every_command_and_option_is_documented():
    for name, command in _commands(main):
        assert name in DOCS
        for param in command.params:
            if isinstance(param, click.Option):
                assert any(f"`{opt}" in DOCS for opt in param.opts), (name, param.opts)


def test_every_exit_code_is_documented():
    for code in EXIT_CODES:
        assert re.search(rf"^\| {code} \|", README, re.M), code


def test_readme_gives_the_test_command_that_ci_runs():
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert "pip install -e '.[test]' && python -m pytest -q" in README
    assert "pip install -q -e '.[test]' && python -m pytest -q" in ci


def test_every_sweep_distribution_is_documented():
    for name in distributions.DISTRIBUTIONS:
        assert f"| `{name}` |" in README, name
