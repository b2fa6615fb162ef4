"""Naming a run: a run folder for its checkpoint, runs/latest and runs/NAME-latest for the newest,
and a glob that matches several runs refused with the newest's name, the same for every command."""

import json
import os
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from nnctl.cli import main
from nnctl.runs import lookup

REPO = Path(__file__).resolve().parents[2]


def invoke(*args, input=None):
    result = CliRunner().invoke(main, [str(a) for a in args], input=input)
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result


@pytest.fixture(scope="module")
def trained_twice(tmp_path_factory):
    """The README's tour trains moons more than once: an older short run, then the shipped config."""
    folder = tmp_path_factory.mktemp("tour")
    config = REPO / "configs" / "moons.yaml"
    for more in (["--set", "training.epochs=1"], []):
        assert invoke("train", config, "-q", "--no-plots", "--set", f"run.output_dir={folder / 'runs'}",
                      *more).exit_code == 0
    return folder


@pytest.fixture
def two_moons(trained_twice, tmp_path, monkeypatch):
    """(older, newer) run folders of a copy of the module's runs/, the current folder holding it."""
    import shutil

    shutil.copytree(trained_twice / "runs", tmp_path / "runs")
    monkeypatch.chdir(tmp_path)
    older, newer = sorted(Path("runs").iterdir(), key=lambda p: json.loads((p / "run.json").read_text())["epochs"])
    return older, newer


def readme_commands():
    """The tour's commands that read a moons run, as the README spells them: (argv, stdin)."""
    readme = (REPO / "README.md").read_text()
    found = []
    for line in re.findall(r"^(?:printf '([^']*)' \| )?(nnctl (?:eval|predict|summary) runs/\S+.*?)(?:\s+#.*)?$",
                           readme + "\n" + "\n".join(re.findall(r"`(nnctl summary runs/[^`]+)`", readme)),
                           re.MULTILINE):
        stdin, command = line
        found.append((shlex.split(command)[1:], stdin.encode().decode("unicode_escape") if stdin else None))
    return found


def test_the_readme_tour_reads_the_newest_run_typed_twice(two_moons):
    commands = readme_commands()
    assert {argv[0] for argv, _ in commands} == {"eval", "predict", "summary"}
    for _ in range(2):
        for argv, stdin in commands:
            result = invoke(*argv, input=stdin)
            assert result.exit_code == 0, (argv, result.output)
            assert f"{two_moons[1]}" in result.stderr  # the run `moons-latest` named, on stderr


@pytest.mark.parametrize("argv", [["eval", "GLOB"], ["predict", "GLOB", "-"], ["summary", "GLOB"],
                                  ["export", "GLOB", "--format", "numpy", "-o", "out"], ["doctor", "DIRS"],
                                  ["plot", "DIRS"]])
def test_several_matches_are_refused_with_the_newest(two_moons, argv):
    older, newer = two_moons
    args = []
    for a in argv:
        args += [older / "checkpoint.json",
                 newer / "checkpoint.json"] if a == "GLOB" else [older, newer] if a == "DIRS" else [a]
    result = invoke(*args, input="0.5,0.25\n")
    assert result.exit_code == 2, result.output
    what = "run folders" if "DIRS" in argv else "checkpoints"
    newest = newer if "DIRS" in argv else newer / "checkpoint.json"
    assert f"2 {what} matched: pass one (the newest is {newest}, also named runs/moons-latest)" in result.output
    assert "unexpected extra argument" not in result.output


def test_latest_names_the_newest_run_and_a_real_name_wins(tmp_path):
    runs = tmp_path / "runs"
    for name, started in (("moons-20260101-000000-aaaaaa", "2026-01-01T00:00:00+00:00"),
                          ("moons-20260101-000000-bbbbbb", "2026-01-01T00:00:00+00:00"),
                          ("iris-20250101-000000-cccccc", "2025-01-01T00:00:00+00:00"),
                          ("mine", "2024-01-01T00:00:00+00:00")):
        (runs / name).mkdir(parents=True)
        (runs / name / "run.json").write_text(json.dumps({"started": started}))
        (runs / name / "config.yaml").write_text("")
    # the same second: the one whose config.yaml was written last is the newer
    os.utime(runs / "moons-20260101-000000-aaaaaa" / "config.yaml", ns=(2, 2))
    os.utime(runs / "moons-20260101-000000-bbbbbb" / "config.yaml", ns=(1, 1))
    assert lookup.resolve(runs / "latest") == runs / "moons-20260101-000000-aaaaaa"
    assert lookup.resolve(runs / "iris-latest" / "last.json") == runs / "iris-20250101-000000-cccccc" / "last.json"
    assert [r["name"] for r in lookup.list_runs(runs)][:2] == ["moons-20260101-000000-aaaaaa",
                                                               "moons-20260101-000000-bbbbbb"]
    assert lookup.resolve(runs / "elsewhere" / "x.json") == runs / "elsewhere" / "x.json"  # missing: said later
    (runs / "latest").mkdir()  # a folder of that name is used as it is
    assert lookup.resolve(runs / "latest") == runs / "latest"
    result = invoke("eval", runs / "wine-latest")
    assert result.exit_code == 4 and "holds no run named wine to be the latest" in result.stderr
    assert lookup.latest_spelling(runs / "mine") is None


def test_resume_of_runs_latest(two_moons):
    result = invoke("train", "--resume", "runs/latest", "-q", "--no-plots", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run_dir"] == str(two_moons[1])
