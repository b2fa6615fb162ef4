"""The README and docs/ stay current: every config key, command, option and exit code a user can reach is
documented, and docs/config.md is what the schema renders today."""

import re
from pathlib import Path

import click

from nnctl import config
from nnctl.cli import main
from nnctl.config import reference
from nnctl.errors import EXIT_CODES
from nnctl.sweep import distributions, spec as sweep_spec

REPO = Path(__file__).parent.parent
README = (REPO / "README.md").read_text()
CONFIG_MD = (REPO / "docs" / "config.md").read_text()
COMMANDS_MD = (REPO / "docs" / "commands.md").read_text()


def test_docs_config_md_is_generated_from_the_schema():
    # stale: regenerate with `python -m nnctl.config.reference > docs/config.md`
    assert CONFIG_MD == reference.render()


def _fields(model):
    for name, field in model.model_fields.items():
        yield name
        for arg in getattr(field.annotation, "__args__", ()) + (field.annotation,):
            if isinstance(arg, type) and issubclass(arg, config.BaseModel):
                yield from _fields(arg)


def test_every_config_key_is_documented():
    missing = {name for name in _fields(config.Config) if f"`{name}`" not in CONFIG_MD}
    for variants in (config.Config.model_fields["data"], config.Config.model_fields["optimizer"],
                     config.ModelConfig.model_fields["layers"], config.TrainingConfig.model_fields["schedule"]):
        missing |= {name for model in reference._variants(variants.annotation) for name in _fields(model)
                    if f"`{name}`" not in CONFIG_MD}
    assert not missing


def test_every_sweep_spec_key_is_documented():
    models = [sweep_spec.SweepSpec, *distributions.DISTRIBUTIONS.values()]
    assert not {name for model in models for name in _fields(model) if f"`{name}`" not in COMMANDS_MD}


def _commands(group, prefix="nnctl"):
    for name, command in group.commands.items():
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix} {name}")


def test_every_command_and_option_is_documented():
    for name, command in _commands(main):
        assert name in COMMANDS_MD, name
        if not isinstance(command, click.Group):
            assert f"| `{name}" in README, name  # the README's command list has a line for it
        for param in command.params:
            if isinstance(param, click.Option):
                assert any(f"`{opt}" in COMMANDS_MD for opt in param.opts), (name, param.opts)


def test_every_exit_code_table_lists_exactly_the_codes_of_nnctl_errors():
    """Each table under a heading 'Exit codes' (the README's short one, docs/commands.md's full one)
    holds the codes of nnctl.errors.EXIT_CODES, in its order."""
    pages = {"README.md": README, "docs/commands.md": COMMANDS_MD}
    for name, page in pages.items():
        sections = [s for s in re.split(r"^#+ ", page, flags=re.MULTILINE) if s.lower().startswith("exit codes")]
        assert len(sections) == 1, f"{name}: one section 'Exit codes' holds the table"
        documented = [int(code) for code in re.findall(r"^\| (\d+) \|", sections[0], re.MULTILINE)]
        assert documented == list(EXIT_CODES), name


def test_readme_gives_the_test_command_that_ci_runs():
    ci = (REPO / ".ci" / "run").read_text()
    command = re.search(r"pip install -e '\.\[test\]' && (python -m pytest[^`\n]*)", README).group(1)
    assert re.search(rf"^{re.escape(command)}$", ci, re.MULTILINE), command
    assert re.search(r"^ruff check \.$", ci, re.MULTILINE) and re.search(r"^mypy$", ci, re.MULTILINE)


def test_every_sweep_distribution_is_documented():
    for name in distributions.DISTRIBUTIONS:
        assert f"| `{name}` |" in COMMANDS_MD, name


def test_the_readme_shows_the_moons_config_in_full_and_stays_short():
    assert (REPO / "configs" / "moons.yaml").read_text().rstrip() in README
    assert len(README.splitlines()) < 300


def test_every_link_into_docs_resolves():
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "benchmarks" / "README.md"]:
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), (page.name, target)
