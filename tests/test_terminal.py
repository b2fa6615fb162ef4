"""The terminal: a live bar only on a terminal, --quiet, NO_COLOR, shell completion for bash, zsh and fish."""

import io
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from nnctl import cli, errors
from nnctl.cli import main
from nnctl.cli.train import Progress

RECORD = {"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.75, "lr": 0.01,
          "seconds": 0.1}


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run_progress(monkeypatch, stream, quiet=False) -> str:
    monkeypatch.setattr(sys, "stderr", stream)
    progress = Progress(epochs=2, quiet=quiet)
    for done in range(32, 321, 32):
        progress.batch(1, min(done, 300), 300)
    progress.epoch(RECORD)
    return stream.getvalue()


def test_a_live_bar_on_a_terminal_then_the_epoch_line(monkeypatch):
    out = run_progress(monkeypatch, Terminal())
    assert "epoch 1/2  [" in out and "300/300" in out  # click's bar, drawn as batches finish
    tail = out.rsplit("\r\033[K", 1)[1]
    assert tail.startswith("\033[?25h")  # the cursor the bar hid is shown again
    assert tail.endswith("epoch 1/2  loss 0.5000  acc 0.8000  val_loss 0.6000  val_acc 0.7500  lr 0.01  0.10s\n")


def test_no_bar_when_stderr_is_not_a_terminal_and_nothing_when_quiet(monkeypatch):
    out = run_progress(monkeypatch, io.StringIO())
    assert out == "epoch 1/2  loss 0.5000  acc 0.8000  val_loss 0.6000  val_acc 0.7500  lr 0.01  0.10s\n"
    assert run_progress(monkeypatch, Terminal(), quiet=True) == ""


def test_colour_on_a_terminal_unless_no_color(moons_run, monkeypatch):
    args = ["eval", moons_run["checkpoint"], "--assert", "accuracy>0"]
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = CliRunner().invoke(main, args, color=True).stdout
    assert "\033[32mPASS\033[0m" in coloured
    plain = CliRunner().invoke(main, args, color=True, env={"NO_COLOR": "1"}).stdout
    assert "PASS" in plain and "\033[" not in plain
    piped = CliRunner().invoke(main, args).stdout  # not a terminal: click drops the colour itself
    assert "PASS" in piped and "\033[" not in piped


def complete(env: dict) -> str:
    code = "from nnctl.cli import main; main(prog_name='nnctl')"
    return subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.parametrize("shell,marker", [("bash", "complete -o nosort -F _nnctl_completion nnctl"),
                                          ("zsh", "#compdef nnctl"), ("fish", "complete --no-files --command nnctl")])
def test_completion_scripts_generate(shell, marker):
    script = complete({"_NNCTL_COMPLETE": f"{shell}_source"})
    assert marker in script and "_NNCTL_COMPLETE" in script


@pytest.mark.slow
def test_completion_knows_commands_data_sets_and_config_keys():
    words = complete({"_NNCTL_COMPLETE": "bash_complete", "COMP_WORDS": "nnctl gr", "COMP_CWORD": "1"})
    assert words.split() == ["plain,gradcheck"]
    words = complete({"_NNCTL_COMPLETE": "bash_complete", "COMP_WORDS": "nnctl data fetch mn", "COMP_CWORD": "3"})
    assert words.split() == ["plain,mnist"]
    words = complete({"_NNCTL_COMPLETE": "bash_complete", "COMP_WORDS": "nnctl train c.yaml --set training.ep",
                      "COMP_CWORD": "4"})
    assert words.split() == ["plain,training.epochs="]


def test_every_command_has_help():
    for name, command in main.commands.items():
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, name
    assert cli.EXIT_CODES is errors.EXIT_CODES


def test_exit_codes_come_from_the_one_table():
    """Every error class exits with a code of nnctl.errors.EXIT_CODES, and `nnctl --help` lists them all."""
    classes, todo = [], [errors.NnctlError]
    while todo:
        classes.append(todo.pop())
        todo += classes[-1].__subclasses__()
    for cls in classes:
        if cls is not errors.Interrupted:  # 128 + the signal: 130 or 143
            assert cls.exit_code in errors.EXIT_CODES, cls
    assert {128 + 2, 128 + 15} <= set(errors.EXIT_CODES)
    help_text = " ".join(CliRunner().invoke(main, ["--help"]).output.split())
    listed = re.search(r"Exit codes: (.*?)\.", help_text).group(1)
    assert [int(code) for code in re.findall(r"(?:^|, )(\d+) ", listed)] == list(errors.EXIT_CODES)
