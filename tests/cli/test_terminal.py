"""The terminal: a live bar only on a terminal, --quiet, NO_COLOR, shell completion for bash, zsh and fish."""

import io
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from helpers.moons import moons_yaml

from nnctl import cli, errors
from nnctl.cli import main
from nnctl.engine.train import Position
from nnctl.runs.progress import Progress

RECORD = {"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.75, "lr": 0.01,
          "seconds": 0.1}
INFO = {"run_dir": "runs/moons-1", "data": "moons", "source": "moons", "task": "classification", "n_features": 2,
        "n_classes": 2, "sizes": {"train": 300, "val": 40, "test": 100}, "params": 354, "dtype": "float32",
        "optimizer": "adam", "lr": 0.01, "epochs": 2, "batch_size": 32, "checkpoint": "best", "target_scale": 1.0,
        "start": {"epoch": 0, "rows_done": 0}}
HEADER = ("run folder:  runs/moons-1\n"
          "data:        moons, 2 features, 2 classes: 300 train / 40 val / 100 test rows\n"
          "model:       354 parameters (float32)\n"
          "training:    adam, lr 0.01; 2 epochs, batch size 32 (10 steps an epoch); checkpoint.json keeps the best "
          "epoch\n")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run_progress(monkeypatch, stream, quiet=False, slow=False, columns=120) -> str:
    """One epoch of ten batches through the callback's hooks, as fit calls them, `columns` wide."""
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setenv("COLUMNS", str(columns))
    if slow:  # every batch redrawn
        monkeypatch.setattr(Progress, "REDRAW", 0.0)
    progress = Progress(quiet=quiet)
    progress.on_train_begin(INFO)
    progress.on_epoch_begin(1)
    for done in range(32, 321, 32):
        rows = min(done, 300)
        progress.on_batch_end(1, rows, 300, Position(0, rows, 0.5 * rows, rows * 3 // 4))
    progress.on_epoch_end(RECORD)
    return stream.getvalue()


def test_a_header_a_live_line_then_aligned_epoch_rows_on_a_terminal(monkeypatch):
    out = run_progress(monkeypatch, Terminal(), slow=True)
    assert out.startswith(HEADER)
    live = [part for part in out[len(HEADER):].split("\r\033[K") if part]
    # the live line, redrawn in place: steps (not rows), a bar, the ETA, steps per second, the running scores
    assert re.fullmatch(r"epoch 1/2   1/10 \[=>\.{18}\]  ETA \d+\.\d\ds  [\d,]+ steps/s  loss 0\.5000  acc "
                        r"0\.7500", live[0])
    assert live[8].startswith("epoch 1/2   9/10 [=================>..]  ETA ")
    assert len(live) == 10  # nine redraws (the last batch's line is the epoch's row at once), then the row
    assert live[-1] == ("epoch      loss       acc  val_loss   val_acc        lr     time\n"
                        "  1/2    0.5000    0.8000    0.6000    0.7500      0.01    0.10s\n")


def test_the_live_line_is_redrawn_at_most_ten_times_a_second(monkeypatch):
    out = run_progress(monkeypatch, Terminal())
    assert out.count("epoch 1/2  ") == 1  # ten fast batches: drawn once


def test_plain_lines_off_a_terminal_and_nothing_when_quiet(monkeypatch):
    out = run_progress(monkeypatch, io.StringIO())
    assert out == HEADER + "epoch 1/2  loss 0.5000  acc 0.8000  val_loss 0.6000  val_acc 0.7500  lr 0.01  0.10s\n"
    assert run_progress(monkeypatch, Terminal(), quiet=True) == ""


def on_terminal(tmp_path, columns: int, env=None, epochs=3) -> str:
    """`nnctl train` in a real process on a pseudo-terminal `columns` wide: what it drew, as bytes decoded."""
    import fcntl
    import pty
    import struct
    import termios

    config = tmp_path / "moons.yaml"
    config.write_text(moons_yaml(training={"epochs": epochs, "batch_size": 8},
                                 run={"output_dir": str(tmp_path / "runs")}))
    code = f"import sys; from nnctl.cli import main; main(['train', {str(config)!r}, '--no-plots'], prog_name='nnctl')"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")} | {"TERM": "xterm"} | (env or {})
    process = subprocess.Popen([sys.executable, "-c", code], stdin=slave, stdout=slave, stderr=slave, env=environ)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert process.wait() == 0, b"".join(chunks).decode()
    return b"".join(chunks).decode().replace("\r\n", "\n")


def live_lines(out: str) -> list[str]:
    """Each drawing of the live line: what an erase-line starts, when no newline ends it (an epoch's row)."""
    return [part for part in out.split("\r\033[K")[1:] if part and "\n" not in part]


@pytest.mark.slow
def test_train_on_a_pseudo_terminal_shows_the_whole_screen(tmp_path):
    """A real process on a wide pseudo-terminal: header, live lines, aligned rows, the closing line."""
    out = on_terminal(tmp_path, 160)
    out = re.sub(r"\r\033\[K", "\n", out)  # each redraw on a line
    assert re.search(r"^run folder:  .*/runs/moons-", out,
                     re.MULTILINE) and "data:        moons, 2 features, 2 classes: " in out
    assert re.search(r"model:       [\d,]+ parameters \(float32\)", out)
    assert "training:    adam, lr 0.02; 3 epochs, batch size 8 (" in out
    assert re.search(r"epoch 1/3 +\d+/\d+ \[[=>.]{20}\]  ETA \S+  [\d,]+ steps/s  loss \d\.\d{4}  acc \d\.\d{4}", out)
    assert re.search(r"^epoch +loss +acc +val_loss +val_acc +lr +time$", out, re.MULTILINE)
    assert len(re.findall(r"^\s+[123]/3(  +\S+){6}$", out, re.MULTILINE)) == 3
    assert re.search(r"^done in \S+: test loss \d\.\d{4}  accuracy \d\.\d{4} \(n=\d+\); best epoch \d of 3; "
                     r".*/checkpoint\.json holds epoch \d$", out, re.MULTILINE)


@pytest.mark.slow
@pytest.mark.parametrize("columns", [80, 40])
def test_the_live_line_fits_a_narrow_terminal(tmp_path, columns):
    """Every redraw fits in the terminal's width less the cursor's cell (a longer line would wrap,
    and each redraw would leave its first rows behind); shortened, its epoch and loss stay."""
    lines = live_lines(on_terminal(tmp_path, columns, epochs=2))
    assert lines and max(len(line) for line in lines) <= columns - 1, lines
    assert all(re.match(r"(epoch )?[12]/2 ", line) and re.search(r" loss \d\.\d{3}", line) for line in lines), lines
    if columns == 80:  # shortened only as far as needed: the bar stays
        assert all(re.search(r"\[[=>.]+\]  ETA ", line) for line in lines), lines


@pytest.mark.slow
def test_a_dumb_terminal_gets_plain_lines(tmp_path):
    out = on_terminal(tmp_path, 80, env={"TERM": "dumb"}, epochs=2)
    assert "\033[" not in out and "\r" not in out
    assert re.search(r"^epoch 2/2  loss \d\.\d{4}  acc ", out, re.MULTILINE)


class Notebook(io.StringIO):
    def isatty(self):
        return False  # as ipykernel's output streams


def test_a_notebook_gets_a_live_line_without_escape_codes(monkeypatch):
    """Jupyter redraws a line on \\r but shows escape codes as text: padding covers a longer line."""
    monkeypatch.setitem(sys.modules, "ipykernel", type(sys)("ipykernel"))
    out = run_progress(monkeypatch, Notebook(), slow=True)
    assert "\033" not in out
    redraws = out[len(HEADER):].split("\r")
    assert len([r for r in redraws if r.startswith("epoch 1/2 ")]) == 9
    assert out.endswith("  1/2    0.5000    0.8000    0.6000    0.7500      0.01    0.10s\n")
    assert max(len(line) for r in redraws for line in r.split("\n")) <= 100


@pytest.mark.parametrize("columns", [80, 40, 20])
def test_fields_are_shortened_before_they_are_dropped(monkeypatch, columns):
    out = run_progress(monkeypatch, Terminal(), slow=True, columns=columns)
    lines = [part for part in out[len(HEADER):].split("\r\033[K") if part and not part.startswith("epoch  ")]
    assert max(len(line) for line in lines) <= columns - 1
    first = lines[0]
    if columns == 80:  # the bar halved and the rate as N/s, the scores whole
        assert re.fullmatch(r"epoch 1/2   1/10 \[>\.{9}\]  ETA \S+  [\d,]+/s  loss 0\.5000  acc 0\.7500", first)
    elif columns == 40:
        assert re.fullmatch(r"1/2  ETA \S+  loss 0\.500 acc 0\.750", first)
    else:
        assert re.fullmatch(r"1/2  loss 0\.500", first)


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
    for name in main.commands:
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
