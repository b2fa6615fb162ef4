"""Reading files with a cap: at most cap + 1 bytes whatever the size says, regular files only, so
/dev/zero, a FIFO or an endless stdin is refused at once with the kind's exit code."""

import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl import files
from nnctl.cli import main
from nnctl.errors import CheckpointError, ConfigError, DataError

MEMORY_LIMIT = 3 * 1024**3  # an endless read would grow until this, then fail, instead of until the machine runs out


def nnctl(*args, cwd=None, timeout=60, stdin=subprocess.DEVNULL):
    """nnctl in its own process, under a memory limit and a timeout (a FIFO that blocked would hang)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return subprocess.run([sys.executable, "-m", "nnctl.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, stdin=stdin, preexec_fn=limit,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})


@pytest.fixture
def fifo(tmp_path):
    def make(name):
        path = tmp_path / name
        os.mkfifo(path)
        return path
    return make


def test_read_limited_reads_a_regular_file_and_refuses_one_over_the_cap(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert files.read_limited(path, 10, DataError, "a data", files.DATA_TOO_BIG) == b"x" * 10
    with pytest.raises(DataError, match="11 bytes is over the 10"):
        path.write_bytes(b"x" * 11)
        files.read_limited(path, 10, DataError, "a data", files.DATA_TOO_BIG)


@pytest.mark.parametrize("error", [ConfigError, CheckpointError, DataError])
def test_read_limited_refuses_devices_fifos_and_folders_with_the_kinds_error(tmp_path, fifo, error):
    for path, kind in ((Path("/dev/zero"), "character device"), (fifo("pipe"), "named pipe"), (tmp_path, "folder")):
        with pytest.raises(error, match=f"{path}: is a {kind}"):
            files.read_limited(path, 100, error, "a data", files.DATA_TOO_BIG)


def test_read_stream_stops_at_the_cap():
    import io

    assert files.read_stream(io.BytesIO(b"abc"), 3, DataError, "<stdin>") == b"abc"
    with pytest.raises(DataError, match="<stdin>: more than 3 bytes"):
        files.read_stream(io.BytesIO(b"abcd"), 3, DataError, "<stdin>")


MOONS = """\
seed: 0
data: {data}
model:
  layers:
    - {{units: 4, activation: relu}}
    - {{units: 2, activation: softmax}}
loss: cross_entropy
optimizer: {{name: adam, lr: 0.02}}
training: {{epochs: 1, batch_size: 32}}
"""


@pytest.mark.slow
def test_dev_zero_is_refused_at_once_by_every_reader(moons_run, tmp_path):
    zero = "/dev/zero"
    (tmp_path / "csv.yaml").write_text(MOONS.format(data=f"{{name: csv, path: {zero}}}"))
    (tmp_path / "npz.yaml").write_text(MOONS.format(data=f"{{name: npz, path: {zero}}}"))
    (tmp_path / "sweep.yaml").write_text("base: /dev/zero\nmethod: grid\nparameters: {optimizer.lr: [0.1]}\n")
    cases = [(("check", zero), 3), (("eval", zero), 4), (("summary", zero), 3),
             (("predict", moons_run["checkpoint"], zero), 5),
             (("train", tmp_path / "csv.yaml"), 5), (("train", tmp_path / "npz.yaml"), 5), (("sweep", zero), 3),
             (("sweep", tmp_path / "sweep.yaml"), 3)]
    for args, code in cases:
        result = nnctl(*args, cwd=tmp_path)
        assert result.returncode == code, (args, result.stderr)
        assert "/dev/zero: is a character device" in result.stderr and "internal error" not in result.stderr, args


@pytest.mark.slow
def test_a_fifo_is_refused_without_blocking(moons_run, tmp_path, fifo):
    (tmp_path / "csv.yaml").write_text(MOONS.format(data=f"{{name: csv, path: {fifo('data.csv')}}}"))
    (tmp_path / "npz.yaml").write_text(MOONS.format(data=f"{{name: npz, path: {fifo('data.npz')}}}"))
    images = tmp_path / "idx"
    images.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        os.mkfifo(images / name)
    (tmp_path / "mnist.yaml").write_text(MOONS.format(data=f"{{name: mnist, path: {images}}}").replace("units: 2,",
                                                                                                       "units: 10,"))
    cases = [(("check", fifo("c.yaml")), 3, "c.yaml"), (("eval", fifo("c.json")), 4, "c.json"),
             (("predict", moons_run["checkpoint"], fifo("x.csv")), 5, "x.csv"),
             (("predict", moons_run["checkpoint"], fifo("x.npy")), 5, "x.npy"),
             (("train", tmp_path / "csv.yaml"), 5, "data.csv"), (("train", tmp_path / "npz.yaml"), 5, "data.npz"),
             (("train", tmp_path / "mnist.yaml"), 5, "train-images-idx3-ubyte.gz")]
    for args, code, name in cases:
        result = nnctl(*args, cwd=tmp_path, timeout=30)  # a blocking open would raise TimeoutExpired
        assert result.returncode == code, (args, result.stderr)
        assert f"{name}: is a named pipe (FIFO)" in result.stderr, (args, result.stderr)


def test_stdin_over_the_cap_is_refused(moons_run, monkeypatch):
    monkeypatch.setattr(files, "MAX_DATA_BYTES", 1000)
    result = CliRunner().invoke(main, ["predict", moons_run["checkpoint"], "-"], input="0.5,0.25\n" * 200)
    assert result.exit_code == 5 and "<stdin>: more than 1,000 bytes" in result.output
    assert CliRunner().invoke(main, ["predict", moons_run["checkpoint"], "-"], input="0.5,0.25\n" * 100).exit_code == 0


def test_data_files_over_the_cap_are_refused(moons_run, tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_DATA_BYTES", 1000)
    np.save(tmp_path / "x.npy", np.zeros((100, 2)))
    result = CliRunner().invoke(main, ["predict", moons_run["checkpoint"], str(tmp_path / "x.npy")])
    assert result.exit_code == 5 and "x.npy: 1,728 bytes is over the 1,000" in result.output



def test_background_writer_writes_in_order_the_bytes_given_at_the_call(tmp_path, monkeypatch):
    order, real = [], files.atomic_write

    def slow_atomic_write(path, data):
        order.append(Path(path).name)
        real(path, data)

    monkeypatch.setattr(files, "atomic_write", slow_atomic_write)
    writer = files.BackgroundWriter()
    data = bytearray(b"first")
    writer.write(tmp_path / "a", bytes(data))
    data[:] = b"later"  # what the caller changes after asking is not what is written
    for name in "bcdefg":
        writer.write(tmp_path / name, name)
    writer.wait()
    assert order == list("abcdefg")
    assert (tmp_path / "a").read_bytes() == b"first" and (tmp_path / "g").read_text() == "g"


def test_background_writer_drops_what_follows_a_failure_and_raises_it(tmp_path):
    writer = files.BackgroundWriter()
    writer.write(tmp_path / "a", "a")
    writer.write(tmp_path / "missing" / "b", "b")  # its folder does not exist
    writer.write(tmp_path / "c", "c")
    with pytest.raises(files.WriteError, match="missing/b: cannot be written"):
        writer.wait()
    assert (tmp_path / "a").read_text() == "a" and not (tmp_path / "c").exists()
    with pytest.raises(files.WriteError, match="missing/b"):  # every later call says so again
        writer.write(tmp_path / "d", "d")
    assert not (tmp_path / "d").exists()


def test_background_writer_survives_an_unexpected_error(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "atomic_write", lambda path, data: 1 / 0)
    writer = files.BackgroundWriter()
    writer.write(tmp_path / "a", "a")
    with pytest.raises(files.WriteError, match="division by zero"):
        writer.wait()  # returns: the thread did not die with `busy` set


def test_background_writer_makes_a_fast_caller_wait_and_cancel_drops_what_waits(tmp_path, monkeypatch):
    import threading
    started, release, real = threading.Event(), threading.Event(), files.atomic_write

    def held(path, data):
        started.set()
        release.wait(10)
        real(path, data)

    monkeypatch.setattr(files, "atomic_write", held)
    writer = files.BackgroundWriter(limit=2)
    writer.write(tmp_path / "a", "a")
    started.wait(10)  # "a" is under way; two more may wait their turn
    writer.write(tmp_path / "b", "b")
    writer.write(tmp_path / "c", "c")
    blocked = threading.Thread(target=writer.write, args=(tmp_path / "d", "d"))
    blocked.start()
    blocked.join(0.2)
    assert blocked.is_alive()  # the fourth waits for room
    writer.cancel()  # drops b and c; d gets room and waits its turn
    blocked.join(10)
    release.set()
    writer.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "d"]


def invoke_before(seconds, args, unblock):
    """CliRunner().invoke(main, args), failed if it has not returned within `seconds` (then `unblock`
    opens the FIFO's other end, so that the reader stuck in it returns)."""
    import threading

    done = {}
    worker = threading.Thread(target=lambda: done.update(result=CliRunner().invoke(main, [str(a) for a in args])),
                              daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        unblock()
        worker.join(10)
        pytest.fail(f"nnctl {' '.join(map(str, args))} blocked on a FIFO")
    return done["result"]


@pytest.mark.parametrize("command", [["eval", "CKPT"], ["doctor", "RUN"], ["plot", "RUN"]])
def test_data_of_a_built_in_set_is_read_as_every_data_file(moons_run, fifo, command):
    """--data for a run of a built-in data set: a CSV of its features, read capped from a regular
    file; a FIFO blocked eval, doctor and plot forever (the first row was read to find a header)."""
    pipe = fifo("x.csv")
    args = [moons_run["checkpoint"] if a == "CKPT" else moons_run["run_dir"] if a == "RUN" else a for a in command]

    def unblock():
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))

    result = invoke_before(20, [*args, "--data", pipe], unblock)
    if command[0] == "doctor":  # advice: the data it cannot read is left out, as for a missing file
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 5 and "x.csv: is a named pipe (FIFO), not a CSV file" in result.output, result.output


@pytest.mark.parametrize("name", ["a" * 255, "é" * 127 + "a", "é" * 125 + ".yaml"],
                         ids=["ascii", "two-byte", "cut-mid"])
def test_a_name_near_the_limit_gets_a_temporary_name_that_fits(tmp_path, name):
    """The temporary name was `.NAME.XXXXXXXX.tmp`, 14 bytes longer than the name: a name of 242
    bytes and more could not be written at all (an internal error)."""
    files.atomic_write(tmp_path / name, "x")
    assert [p.name for p in tmp_path.iterdir()] == [name] and (tmp_path / name).read_text() == "x"
    assert len(files.temporary_prefix(name, 12).encode()) + 12 <= files.NAME_MAX
    with pytest.raises(files.WriteError, match="File name too long"):
        files.atomic_write(tmp_path / ("b" * 256), "x")
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_commands_write_outputs_named_near_the_limit(moons_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["init", "--data", "iris", "-o", "a" * 250 + ".yaml"],
                 ["export", moons_run["checkpoint"], "--format", "numpy", "-o", "b" * 255],
                 ["init", "--data", "iris", "-o", "c" * 256]):
        result = CliRunner().invoke(main, [str(a) for a in args])
        assert "internal error" not in result.output, result.output
        assert (result.exit_code == 0) == (len(args[-1]) <= 255), result.output
    assert sorted(len(p.name) for p in tmp_path.iterdir()) == [255, 255]
