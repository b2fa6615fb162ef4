"""Tables as people have them, through init -> train -> eval -> predict -> export: text categories,
missing cells of every kind, semicolon and tab files, a byte-order mark, quoted delimiters, an ID
column, a category predict never saw, columns reordered; and a run folder that scores itself."""

import csv
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from nnctl.cli import main
from nnctl.runs import checkpoint

MISSING = ["", "NA", "N/A", "NaN", "?", "null"]
REGIONS = ["North, East", "South; West", "Centre"]  # quoted: each holds a delimiter


def run(*args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def churn_rows(n: int, seed: int = 0, missing: bool = True) -> tuple[list[str], list[list[str]]]:
    """A customer table: an ID, a plan (text), a region (text holding delimiters, some missing), a
    tenure (numbers, missing in every spelling), a fee, a senior flag (yes/no); churned (yes/no)
    mostly follows the plan and the tenure."""
    rng = np.random.default_rng(seed)
    header = ["customer_id", "plan", "region", "tenure", "monthly_fee", "senior", "churned"]
    rows = []
    for i in range(n):
        plan = ["basic", "plus", "pro"][rng.integers(3)]
        tenure = int(rng.integers(1, 72))
        fee = {"basic": 20, "plus": 35, "pro": 55}[plan] + rng.normal()
        churn = (plan == "basic") + (tenure < 24) + rng.normal() * 0.3 > 0.9
        region = REGIONS[rng.integers(3)] if not (missing and i % 17 == 5) else ""
        shown = str(tenure) if not (missing and i % 7 == 3) else MISSING[i // 7 % len(MISSING)]
        rows.append([f"C{i:05d}", plan, region, shown, f"{fee:.2f}", ["no", "yes"][rng.integers(2)],
                     ["no", "yes"][churn]])
    return header, rows


def write_table(path: Path, header, rows, delimiter=",", bom=False, decimal="."):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([c.replace(".", decimal) if c[:1].isdigit() else c for c in row])
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8"))
    return path


@pytest.fixture(scope="module", params=[(",", False, "."), (";", True, ","), ("\t", False, ".")],
                ids=["comma", "semicolon-bom-decimal-comma", "tab"])
def trained(request, tmp_path_factory):
    """A churn table in one of three dialects, its starter config (init), and a run trained on it."""
    delimiter, bom, decimal = request.param
    folder = tmp_path_factory.mktemp("tables")
    header, rows = churn_rows(160)
    data = write_table(folder / "churn.csv", header, rows, delimiter, bom, decimal)
    sets = ["--set", 'data.decimal=","'] if decimal == "," else []
    made = run("init", "--data", data, "-o", folder / "churn.yaml", *sets)
    assert made.exit_code == 0, made.output
    result = run("train", folder / "churn.yaml", "--set", "training.epochs=30", "--set", "optimizer.lr=0.01",
                 "--no-plots", "--run-dir", folder / "run")
    assert result.exit_code == 0, result.output
    return {"folder": folder, "data": data, "header": header, "rows": rows, "delimiter": delimiter,
            "decimal": decimal, "init": made, "train": result, "run": folder / "run"}


def test_init_infers_and_writes_each_columns_type(trained):
    config = yaml.safe_load((trained["folder"] / "churn.yaml").read_text())["data"]
    assert config["delimiter"] == trained["delimiter"] and config["target"] == "churned"
    assert config["columns"] == {"customer_id": "ignore", "plan": "categorical", "region": "categorical",
                                 "tenure": "numeric", "monthly_fee": "numeric", "senior": "binary"}
    told = trained["init"].stderr
    assert "left out:    'customer_id': a different text in each of the 160 rows: an identifier" in told
    assert "missing:     'tenure': 23 cells read as the training median" in told


def test_training_says_what_it_read_and_run_json_keeps_it(trained):
    header = trained["train"].stderr
    assert "columns:     11 inputs from 2 numeric, 2 categorical ('plan' 3, 'region' 4), 1 binary ('senior')" in header
    status = json.loads((trained["run"] / "run.json").read_text())["data"]
    assert status["table"]["missing"]["tenure"]["cells"] == 23 and status["table"]["missing"]["region"]["cells"] == 10
    assert status["file"]["size"] == trained["data"].stat().st_size
    saved = json.loads((trained["run"] / "checkpoint.json").read_text())
    assert saved["data_file"] == status["file"] and saved["preprocessing"]["table"]["delimiter"] == trained["delimiter"]
    assert saved["preprocessing"]["inputs"]["names"][:5] == ["plan=basic", "plan=plus", "plan=pro", "region=Centre",
                                                             "region=North, East"]


@pytest.mark.slow
def test_the_run_scores_itself_and_learnt_something(trained):
    scored = run("eval", trained["run"], "--json")
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout)["accuracy"] >= 0.75  # the plan and the tenure decide most rows
    if trained["delimiter"] == ";":  # drawing costs a second (matplotlib): once is enough
        assert run("plot", trained["run"]).exit_code == 0


def predict_rows(trained, path: Path, order: list[str], rows: list[list[str]]):
    header = trained["header"]
    picked = [[row[header.index(name)] for name in order] for row in rows]
    write_table(path, order, picked, trained["delimiter"], decimal=trained["decimal"])
    return run("predict", trained["run"], path)


def test_predict_matches_columns_by_name_in_any_order(trained, tmp_path):
    rows = trained["rows"][:40]
    as_trained = predict_rows(trained, tmp_path / "a.csv", trained["header"], rows)
    shuffled = predict_rows(trained, tmp_path / "b.csv", ["senior", "tenure", "monthly_fee", "region", "plan"], rows)
    assert as_trained.exit_code == 0 and shuffled.exit_code == 0, shuffled.output
    assert as_trained.stdout == shuffled.stdout and len(shuffled.stdout.splitlines()) == 41
    assert "note:" in shuffled.stderr and "'tenure': 6 missing values, read as the training median" in shuffled.stderr
    missing = predict_rows(trained, tmp_path / "c.csv", ["senior", "tenure", "plan"], rows)
    assert missing.exit_code == 5 and "missing the columns 'region', 'monthly_fee'" in missing.stderr


def test_a_category_never_seen_is_no_category_and_a_warning(trained, tmp_path):
    rows = [list(r) for r in trained["rows"][:3]]
    rows[1][1] = "platinum"
    result = predict_rows(trained, tmp_path / "new.csv", trained["header"], rows)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 4
    assert "warning: " in result.stderr and "column 'plan': 1 value the model never saw in training, such as " \
                                            "'platinum': read as no category (all zeros)" in result.stderr


def test_one_row_on_stdin_in_the_training_files_dialect(trained):
    header, row = trained["header"], trained["rows"][0]
    text = write_table(trained["folder"] / "one.csv", header, [row], trained["delimiter"],
                       decimal=trained["decimal"]).read_text()
    result = run("predict", trained["run"], "-", input=text)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2, result.output


def test_a_changed_moved_or_replaced_data_file_is_not_read_on_the_checkpoints_word(trained, tmp_path):
    data, original = trained["data"], trained["data"].read_bytes()
    try:
        data.write_bytes(original.replace(b"basic", b"BASIC", 1))  # same size, other content
        for command in (["eval", trained["run"]], ["plot", trained["run"]]):
            refused = run(*command)
            assert refused.exit_code == 5 and "changed since training" in refused.stderr and "--data" in refused.stderr
        doctor = run("doctor", trained["run"], "--json")
        assert doctor.exit_code == 0 and "data_not_seen" in doctor.stdout
        data.unlink()
        refused = run("eval", trained["run"])
        assert refused.exit_code == 5 and "moved or is gone" in refused.stderr
        os.symlink("/dev/zero", data)  # never read: not a regular file
        refused = run("eval", trained["run"])
        assert refused.exit_code == 5 and "not a data file" in refused.stderr
        data.unlink()
        os.mkfifo(data)  # opening it must not block
        assert run("eval", trained["run"]).exit_code == 5
        data.unlink()
        moved = tmp_path / "moved.csv"
        moved.write_bytes(original)
        assert run("eval", trained["run"], "--data", moved).exit_code == 0
    finally:
        if data.exists() or data.is_symlink():
            data.unlink()
        data.write_bytes(original)
    assert run("eval", trained["run"]).exit_code == 0


def test_inspect_shows_what_training_will_do(trained):
    shown = run("data", "inspect", trained["data"], "--target", "churned",
                *(["--set", 'data.decimal=","'] if trained["decimal"] == "," else []))
    assert shown.exit_code == 0, shown.output
    assert "160 rows" in shown.stdout and "one-hot, 3 categories" in shown.stdout
    assert "target 'churned': classification" in shown.stdout
    report = json.loads(run("data", "inspect", trained["data"], "--json",
                            *(["--set", 'data.decimal=","'] if trained["decimal"] == "," else [])).stdout)
    by_name = {c["name"]: c for c in report["columns"]}
    assert by_name["tenure"]["missing"] == 23 and by_name["region"]["type"] == "categorical"
    assert by_name["customer_id"]["inputs"] == 0 and report["inputs"] == 11
    assert sum(report["target"]["classes"].values()) == 160


def test_set_applies_before_the_file_is_read(tmp_path):
    header, rows = churn_rows(80)
    data = write_table(tmp_path / "t.csv", header, rows, ";")
    result = run("init", "--data", data, "--print", "--set", "data.columns.plan=ignore",
                 "--set", "data.columns.tenure={type: numeric, impute: mean}", "--set", "training.epochs=7")
    assert result.exit_code == 0, result.output
    written = yaml.safe_load(result.stdout)
    assert written["data"]["columns"]["plan"] == "ignore" and written["training"]["epochs"] == 7
    assert written["data"]["columns"]["tenure"] == {"type": "numeric", "impute": "mean"}
    assert "plan: ignore  # --set data.columns.plan=ignore" in result.stdout
    trained = run("train", "--data", data, "--set", "data.features=[plan, tenure, senior]", "--set",
                  "training.epochs=1",
                  "-q", "--no-plots", "--run-dir", tmp_path / "run")
    assert trained.exit_code == 0, trained.output
    saved = json.loads((tmp_path / "run" / "checkpoint.json").read_text())["preprocessing"]["table"]["columns"]
    assert [c["name"] for c in saved] == ["plan", "tenure", "senior"]
    wrong = run("train", "--data", data, "--set", "data.delimiter=','", "-q")
    assert wrong.exit_code == 5 and "set data.delimiter" in wrong.stderr


@pytest.mark.parametrize("text, message", [
    ("a,b,y\n" + "".join(f"{i},NA,{i % 2}\n" for i in range(30)), "'b': every cell is missing"),
    ("a,b,y\n" + "".join(f"{i},{i * 2},x\n" for i in range(30)), "the target has 1 distinct value(s)"),
    ("a,b,a\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(30)), "the header names the columns 1 and 3 alike"),
])
def test_bad_tables_exit_5_with_one_line(tmp_path, text, message):
    data = tmp_path / "bad.csv"
    data.write_text(text)
    for command in (["init", "--data", data, "--print"], ["train", "--data", data, "-q"]):
        result = run(*command)
        assert result.exit_code == 5 and message in result.stderr and "Traceback" not in result.output


def test_a_categorical_column_with_as_many_values_as_rows_is_refused(tmp_path):
    data = tmp_path / "t.csv"
    data.write_text("name,x,y\n" + "".join(f"n{i},{i},{i % 2}\n" for i in range(30)))
    assert "left out" in run("init", "--data", data, "--print").stderr  # inferred: an identifier
    result = run("train", "--data", data, "--set", "data.columns.name=categorical", "-q")
    assert result.exit_code == 5 and "as many categories as rows" in result.stderr


def test_a_format_3_checkpoint_still_loads_and_predicts(tmp_path):
    data = tmp_path / "n.csv"
    data.write_text("a,b,y\n" + "".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(60)))
    assert run("train", "--data", data, "--set", "training.epochs=2", "-q", "--no-plots",
               "--run-dir", tmp_path / "run").exit_code == 0
    path = tmp_path / "run" / "checkpoint.json"
    doc = json.loads(path.read_text())
    del doc["data_file"], doc["preprocessing"]["table"]
    doc["version"] = 3
    doc["sha256"] = checkpoint._digest(doc)
    path.write_text(json.dumps(doc))
    old = checkpoint.load(path)
    assert old.version == 3 and old.data_file is None
    assert run("predict", path, data).exit_code == 0
    assert run("eval", path, "--data", data).exit_code == 0
    refused = run("eval", path)  # no SHA-256 recorded: the file is not opened on the checkpoint's word
    assert refused.exit_code == 5 and "outside its run folder" in refused.stderr


def test_both_exports_read_the_columns_as_nnctl_does_and_keep_no_path(trained, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    for fmt, out in (("onnx", tmp_path / "m.onnx"), ("numpy", tmp_path / "m")):
        result = run("export", trained["run"], "--format", fmt, "-o", out, "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["rows_from"] == "test split"
    folder = str(trained["folder"]).encode()
    assert folder not in (tmp_path / "m.onnx").read_bytes()
    assert folder not in (tmp_path / "m" / "model.npz").read_bytes()
    rows = [list(r) for r in trained["rows"][:12]]
    rows[0][1], rows[1][2], rows[2][3] = "platinum", "", "?"  # a plan never seen, a missing region and tenure
    order = ["monthly_fee", "senior", "plan", "churned", "tenure", "region", "customer_id"]
    path = tmp_path / "new.csv"
    by_nnctl = predict_rows(trained, path, order, rows)
    assert by_nnctl.exit_code == 0, by_nnctl.output
    expected = [line.split(",") for line in by_nnctl.stdout.splitlines()[1:]]
    exported = run_predict_py(tmp_path / "m", path)
    assert exported.returncode == 0, exported.stderr
    assert [line.split(",")[0] for line in exported.stdout.splitlines()[1:]] == [e[0] for e in expected]
    assert "column 'plan': 1 value the model never saw in training, such as 'platinum'" in exported.stderr
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["feature_names"]) == ["plan", "region", "tenure", "monthly_fee", "senior"]
    assert {i.name: i.type for i in session.get_inputs()} == {
        "plan": "tensor(string)", "region": "tensor(string)", "tenure": "tensor(float)",
        "monthly_fee": "tensor(float)", "senior": "tensor(string)"}
    header = trained["header"]
    feeds = {}
    for name in reversed(["plan", "region", "tenure", "monthly_fee", "senior"]):  # by name: any order
        cells = [row[header.index(name)] for row in rows]
        feeds[name] = (np.array([[float(c) if c not in MISSING else np.nan] for c in cells], np.float32)
                       if name in ("tenure", "monthly_fee") else np.array(cells, dtype=object).reshape(-1, 1))
    label, probabilities = session.run(None, feeds)
    assert label.tolist() == [e[0] for e in expected]
    np.testing.assert_allclose(probabilities, np.array([e[1:] for e in expected], float), atol=2e-6)


def run_predict_py(folder: Path, data: Path):
    import subprocess
    import sys

    return subprocess.run([sys.executable, str(folder / "predict.py"), "--proba", str(data)], capture_output=True,
                          text=True, timeout=60)


def test_a_table_of_numbers_keeps_one_features_input_with_missing_values_filled_in(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(80, 2))
    data = tmp_path / "n.csv"
    data.write_text("a,b,y\n" + "".join(f"{'NA' if i % 9 == 0 else f'{a:.3f}'},{b:.3f},{int(a + b > 0)}\n"
                                        for i, (a, b) in enumerate(x)))
    assert run("train", "--data", data, "--set", "training.epochs=3", "-q", "--no-plots",
               "--run-dir", tmp_path / "run").exit_code == 0
    exported = run("export", tmp_path / "run", "--format", "onnx", "-o", tmp_path / "m.onnx")
    assert exported.exit_code == 0, exported.output
    rows = tmp_path / "rows.csv"
    rows.write_text("b,a\n0.5,\n-1,2\n")
    by_nnctl = run("predict", tmp_path / "run", rows)
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["features"]
    label, probabilities = session.run(None, {"features": np.array([[np.nan, 0.5], [2, -1]], np.float32)})
    expected = [line.split(",") for line in by_nnctl.stdout.splitlines()[1:]]
    assert label.tolist() == [int(e[0]) for e in expected]
    np.testing.assert_allclose(probabilities, np.array([e[1:] for e in expected], float), atol=2e-6)


def test_a_tampered_column_record_is_a_bad_checkpoint(trained, tmp_path):
    doc = json.loads((trained["run"] / "checkpoint.json").read_text())
    doc["preprocessing"]["table"]["columns"][1]["categories"] = "basic"  # a text, not a list
    doc["sha256"] = checkpoint._digest(doc)
    path = tmp_path / "checkpoint.json"
    path.write_text(json.dumps(doc))
    refused = run("predict", path, trained["data"])
    assert refused.exit_code == 4 and "preprocessing: table.columns" in refused.stderr


def test_a_format_3_run_of_a_csv_resumes(tmp_path):
    data = tmp_path / "n.csv"
    data.write_text("a,b,y\n" + "".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(60)))
    assert run("train", "--data", data, "--set", "training.epochs=2", "-q", "--no-plots",
               "--run-dir", tmp_path / "run").exit_code == 0
    for name in ("checkpoint.json", "last.json"):
        path = tmp_path / "run" / name
        doc = json.loads(path.read_text())
        del doc["data_file"], doc["preprocessing"]["table"]
        doc["version"] = 3
        doc["sha256"] = checkpoint._digest(doc)
        path.write_text(json.dumps(doc))
    resumed = run("train", "--resume", tmp_path / "run", "-q", "--no-plots")
    assert resumed.exit_code == 0, resumed.output


def test_a_npz_run_folder_scores_itself_while_its_file_is_unchanged(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype(int))
    assert run("train", "--data", tmp_path / "d.npz", "--set", "training.epochs=2", "-q", "--no-plots",
               "--run-dir", tmp_path / "run").exit_code == 0
    assert run("eval", tmp_path / "run").exit_code == 0
    np.savez(tmp_path / "d.npz", x=x + 1, y=(x[:, 0] > 0).astype(int))
    refused = run("eval", tmp_path / "run")
    assert refused.exit_code == 5 and "changed since training" in refused.stderr


def test_data_keys_of_a_built_in_set_are_not_read_as_a_csvs(tmp_path):
    """--set data.* is applied before reading only for a CSV; a built-in set's keys are its own."""
    result = run("train", "--data", "moons", "--set", "data.n_samples=100", "--set", "training.epochs=1", "-q",
                 "--no-plots", "--run-dir", tmp_path / "run")
    assert result.exit_code == 0, result.output
    written = run("init", "--data", "iris", "--print", "--set", "training.epochs=5")
    assert written.exit_code == 0 and yaml.safe_load(written.stdout)["training"]["epochs"] == 5


def test_a_table_without_a_header_is_read_by_position_everywhere(tmp_path):
    data = tmp_path / "nohead.csv"
    colours = ["red", "blue", "green"]
    data.write_text("".join(f"{colours[i % 3]},{i % 7},{'NA' if i % 9 == 0 else i % 4},{(i // 3) % 2}\n"
                            for i in range(90)))
    assert run("train", "--data", data, "--set", "training.epochs=2", "-q", "--no-plots",
               "--run-dir", tmp_path / "run").exit_code == 0
    rows = tmp_path / "rows.csv"
    rows.write_text("blue,0,1\nred,1,NA\n")  # '0' and '1' are also the columns' names: still rows
    by_nnctl = run("predict", tmp_path / "run", rows)
    assert by_nnctl.exit_code == 0 and len(by_nnctl.stdout.splitlines()) == 3, by_nnctl.output
    assert run("export", tmp_path / "run", "--format", "numpy", "-o", tmp_path / "np").exit_code == 0
    exported = run_predict_py(tmp_path / "np", rows)
    assert exported.returncode == 0 and exported.stdout == by_nnctl.stdout, exported.stderr


@pytest.mark.slow
def test_the_mlflow_model_of_a_table_takes_its_columns_by_name(tmp_path):
    """The MLflow model (python_function over the NumPy export) of a CSV model reads text columns."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("mlflow")
    import warnings

    from nnctl import api
    from nnctl.export import mlflow_model

    header, rows = churn_rows(80)
    data = write_table(tmp_path / "t.csv", header, rows)
    assert run("train", "--data", data, "--set", "training.epochs=2", "-q", "--no-plots",
               "--run-dir", tmp_path / "run").exit_code == 0
    frame = pd.DataFrame({"senior": ["no", "yes"], "plan": ["basic", "platinum"], "region": ["Centre", None],
                          "tenure": [12.0, float("nan")], "monthly_fee": [20.5, 30.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow.pyfunc

        # (pandas deprecations inside MLflow)
        mlflow_model.write(tmp_path / "run" / "checkpoint.json", tmp_path / "model")
        model = mlflow.pyfunc.load_model(str(tmp_path / "model"))
        got = model.predict(frame)
    assert {c.name: c.type.name for c in model.metadata.signature.inputs.inputs} == {
        "plan": "string", "region": "string", "tenure": "double", "monthly_fee": "double", "senior": "string"}
    want = api.predict(api.load_checkpoint(tmp_path / "run" / "checkpoint.json"), frame)[:, 0]
    np.testing.assert_allclose(got["probability_yes"].to_numpy(), want, atol=1e-6)
