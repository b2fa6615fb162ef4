"""What both export formats say about a model besides its numbers: the config without the training
machine's paths and tracker, the feature columns' names, the target's, and the class values.

An exported model travels: it is sent to other people and machines, checked into repositories,
logged to model registries. So what it embeds describes the model and nothing of where it was
trained: a data file keeps its name, not its folder; a run folder's place and an MLflow server's
URI (which may hold a user name, a host or a file path) are left out.
"""

from __future__ import annotations

import os
from pathlib import PurePath


def portable_config(cfg) -> dict:
    """The resolved config as data, with every absolute path reduced to its last part and the
    tracker's URI and parent run left out (None)."""
    data = cfg.model_dump(mode="json")
    section = data["data"]
    if isinstance(section.get("path"), str):
        section["path"] = PurePath(section["path"]).name  # the training file's name: what it was, not where
    run = data["run"]
    if os.path.isabs(run["output_dir"]):
        run["output_dir"] = PurePath(run["output_dir"]).name
    mlflow = run["tracking"].get("mlflow")
    if mlflow is not None:
        mlflow.update(uri=None, parent_run_id=None)
    return data


def feature_names(ckpt) -> list[str] | None:
    """The feature columns' names in the order the model reads them, as the training CSV's header
    gave them (a model of a CSV since nnctl typed columns: the columns it reads, not the network's
    inputs they become); None when the data had no names (built-in data sets, .npz files)."""
    table = ckpt.preprocessing.get("table")
    if table is not None and getattr(ckpt.config.data, "header", True):
        return [r["name"] for r in table["columns"] if r["type"] != "ignore"]
    names = (ckpt.preprocessing.get("inputs") or {}).get("names")
    return list(names) if names else None


def columns(ckpt) -> list[dict]:
    """What an export says of each column it reads (a model of a CSV): its name and type, and a
    text column's values (a binary one's two, a categorical one's categories)."""
    out = []
    for r in ckpt.preprocessing["table"]["columns"]:
        if r["type"] == "ignore":
            continue
        entry = {"name": r["name"], "type": r["type"]}
        if r["type"] != "numeric":
            entry["values"] = list(r["values"] if r["type"] == "binary" else r["categories"])
        out.append(entry)
    return out


def ignored(ckpt) -> list[str]:
    """The columns of the training CSV that the model leaves out (data.columns: ignore)."""
    table = ckpt.preprocessing.get("table")
    return [r["name"] for r in table["columns"] if r["type"] == "ignore"] if table is not None else []


def target_name(ckpt) -> str | None:
    """The target column's name, when the config names it (a CSV's `data.target` given as text)."""
    target = getattr(ckpt.config.data, "target", None)
    return target if isinstance(target, str) else None


def target_is_last(ckpt) -> bool:
    """Whether the target was the training CSV's last column by default (data.target not given)."""
    data = ckpt.config.data
    return data.name == "csv" and getattr(data, "target", None) is None and getattr(data, "header", False)


def class_values(classes: list) -> tuple[list, str]:
    """The class labels as one ONNX element type: ("int64" and the integers) when every class is an
    integer, else ("string" and each label as text), as skl2onnx writes `label`."""
    if all(type(c) is int for c in classes):
        return list(classes), "int64"
    return [str(c) for c in classes], "string"
