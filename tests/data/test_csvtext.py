"""The one CSV reader (nnctl.data.csvtext): records, the header, long cells; and the columns a file
can name, as training, init and predict all read them."""

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl.cli import main
from nnctl.data import csvtext, features, infer, inputs, tabular
from nnctl.errors import DataError


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def table(path, header: str, rows: int = 60, extra: dict | None = None):
    """A CSV of two numeric features and a 0/1 label under `header`; `extra` replaces whole lines by number."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 2))
    lines = [header] + [f"{a:.4f},{b:.4f},{int(a > 0)}" for a, b in x]
    for number, line in (extra or {}).items():
        lines[number - 1] = line
    path.write_text("\n".join(lines) + "\n")
    return path


def test_records_start_lines_skip_blank_records_and_keep_quoted_newlines():
    text = 'a,b\r\n\r\n  ,\n1,2\r\n"3\r\n4",5\n6,7'
    assert list(csvtext.records(text)) == [(1, ["a", "b"]), (4, ["1", "2"]), (5, ["3\r\n4", "5"]), (7, ["6", "7"])]
    assert csvtext.header('\n"f\nx", g ,label\n1,2,3\n') == csvtext.Header(["f\nx", "g", "label"], 3)
    assert csvtext.header("\n \n") == csvtext.Header([], 0)


def test_read_header_reads_the_first_record_only(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b'\xef\xbb\xbf"a\nb",c\n1,2\n\xff\xfe')  # the rest is not even UTF-8
    assert csvtext.read_header(path) == csvtext.Header(["a\nb", "c"], 2)
    with pytest.raises(DataError, match="not a UTF-8 text file"):
        csvtext.read(path)


def test_a_header_with_a_quoted_newline_is_read_alike_by_training_init_and_predict(tmp_path, monkeypatch):
    path = table(tmp_path / "nl.csv", '"f\nx",g,label')
    read = tabular.read_csv(path)
    names = read.names
    assert names == ["f\nx", "g"] and read.target == "label"
    assert infer.describe(str(path)).n_features == 2
    x, notes = features.read_named(str(path), names, target="label")
    assert x.shape == (60, 2) and notes == []
    np.testing.assert_array_equal(x, np.array(read.cells, float).T)
    assert run("train", "--data", path, "--set", "training.epochs=1", "-q", "--no-plots",
               "--run-dir", tmp_path / "run").exit_code == 0
    predicted = run("predict", tmp_path / "run" / "checkpoint.json", path)  # the training file itself
    assert predicted.exit_code == 0, predicted.output
    assert len(predicted.stdout.splitlines()) == 61


def test_a_cell_longer_than_the_csv_modules_limit_is_read_everywhere(tmp_path):
    """128 KB is the csv module's default limit per cell: a number written out to 200,000 digits."""
    long = "0." + "0" * 200_000 + "1"
    path = table(tmp_path / "long.csv", "f1,f2,label", extra={7: f"{long},0.5,1"})
    rows = tmp_path / "rows.csv"
    rows.write_text(f"f1,f2\n{long},0.5\n1,2\n")
    assert run("init", "--data", path, "--print").exit_code == 0
    assert run("train", "--data", path, "--set", "training.epochs=1", "-q", "--no-plots",
               "--run-dir", tmp_path / "run").exit_code == 0
    checkpoint = tmp_path / "run" / "checkpoint.json"
    predicted = run("predict", checkpoint, rows)
    assert predicted.exit_code == 0, predicted.output
    bad = tmp_path / "bad.csv"
    bad.write_text(f"f1,f2\n{long},x\n")
    refused = run("predict", checkpoint, bad)  # the slow path, which names the cell, reads it too
    assert refused.exit_code == 5 and "bad.csv:2: feature column 'f2' holds 'x', not a number" in refused.stderr
    scored = run("eval", checkpoint, "--data", path, "--split", "all", "--json")
    assert scored.exit_code == 0, scored.output


@pytest.mark.parametrize("header, message", [
    ("f,f,label", "the header names the columns 1 and 2 alike, 'f'"),
    ("label,f,label", "the header names the columns 1 and 3 alike, 'label'"),  # a feature named like the target
    ("f, f ,label", "the header names the columns 1 and 2 alike, 'f'"),  # the spaces around a name are not part of it
    (",,label", "the header leaves the columns 1 and 2 unnamed"),
    (", ,label", "the header leaves the columns 1 and 2 unnamed"),
])
def test_columns_named_alike_are_refused_at_training(header, message, tmp_path):
    path = table(tmp_path / "t.csv", header)
    result = run("train", "--data", path, "--set", "training.epochs=1", "-q", "--no-plots", "--run-dir",
                 tmp_path / "run")
    assert result.exit_code == 5 and message in result.stderr, result.output
    assert "give each column its own name" in result.stderr
    assert not (tmp_path / "run").exists()
    assert run("init", "--data", path, "--print").exit_code == 5


def test_a_target_named_twice_is_refused_even_when_it_is_chosen_by_name(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("f1,label,label\n" + "".join(f"{i},{i % 2},{i % 3}\n" for i in range(30)))
    result = run("train", "--data", path, "--target", "label", "--set", "training.epochs=1", "-q", "--no-plots")
    assert result.exit_code == 5 and "columns 2 and 3 alike, 'label'" in result.stderr
    assert run("init", "--data", path, "--target", "label", "--print").exit_code == 5


def test_columns_read_are_distinct_but_an_unread_column_may_repeat_a_name(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,note,note,label\n" + "".join(f"{i},{i * 2},x,y,{i % 2}\n" for i in range(20)))
    table = tabular.read_csv(path, "label", ["a", "b"])
    assert table.names == ["a", "b"] and table.target == "label" and len(table) == 20


def test_one_unnamed_column_trains_and_predicts(tmp_path):
    """pandas writes its index as a first column without a name: one such column is still a name."""
    path = table(tmp_path / "t.csv", ",f,label")
    assert run("train", "--data", path, "--set", "training.epochs=1", "-q", "--no-plots",
               "--run-dir", tmp_path / "run").exit_code == 0
    assert run("predict", tmp_path / "run" / "checkpoint.json", path).exit_code == 0


def test_what_training_records_is_held_to_the_rule_checkpoints_are_read_by():
    with pytest.raises(DataError, match="distinct column names"):
        inputs.fit(np.zeros((3, 2)), ["f", "f"])
    assert inputs.fit(np.zeros((3, 2)), ["f", "g"])["names"] == ["f", "g"]


def test_a_header_of_thousands_of_columns_is_matched_in_one_pass():
    """Each column was looked up in the whole header (cells.count, names.index): 20,000 columns took
    12 s in predict; one pass takes milliseconds, so the bound below is generous."""
    import time

    names = [f"c{i}" for i in range(20_000)]
    reordered = ",".join([*reversed(names), "label"]) + "\n" + ",".join(["1"] * 20_000 + ["0"]) + "\n"
    started = time.perf_counter()
    x, notes = features.read_named("wide.csv", names, target="label", text=reordered)
    table = tabular.parse_csv(reordered + reordered.split("\n", 1)[1], "wide.csv", "label", names)
    assert time.perf_counter() - started < 3
    assert x.shape == (1, 20_000) and notes == [] and table.names == names
