"""A sweep spec: a base config plus a search space over dotted config keys, expanded into trials.

    base: moons.yaml                      # a path (relative to this file) or an inline mapping
    method: random                        # grid (every combination of the lists) or random
    trials: 20                            # random only
    parameters:
      optimizer.lr: {distribution: log_uniform, low: 1.0e-4, high: 0.1}
      model.layers[0].units: [16, 32, 64]

Every error is a ConfigError that names the file, the line and the dotted key, like a config's.
A trial's id is a hash of its resolved config, so the same trial always has the same folder.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import Field, ValidationError, field_validator, model_validator

from .. import config
from ..config import STDIN, Strict, _closest, _describe, _dotted, _where as _file_line, line_of, read_yaml, source_name
from ..config.json_schema import SCHEMA_KEY, document
from ..config.keys import KEY_PATTERN, parse_key, set_key
from ..engine import metric_names
from ..errors import ConfigError
from .distributions import DISTRIBUTIONS

MAX_TRIALS = 10_000
METRIC_MODES = {m: metric_names.better(m) for m in metric_names.names("val")}  # every validation score ranks trials
MAXIMISED_METRICS = " and ".join(m for m, mode in METRIC_MODES.items() if mode == "max")
MODE_HELP = f"min or max; default max for {MAXIMISED_METRICS}, min otherwise"


# ---------------------------------------------------------------- the spec


class SweepSpec(Strict):
    base: Any = Field(description="the base config: a path relative to the sweep file, or an inline mapping")
    method: Literal["grid", "random"] = Field(
        "grid", description="grid: every combination of the lists; random: `trials` draws")
    parameters: dict[str, Any] = Field(description="dotted config key -> list of values or distribution")
    trials: int | None = Field(None, ge=1, le=MAX_TRIALS, description="random only: number of draws")
    seed: int = Field(0, ge=0, lt=2**63, description="random only: seeds the draws")
    metric: Literal[tuple(METRIC_MODES)] = Field("val_loss", description="what ranks the trials")
    mode: Literal["min", "max"] | None = Field(None, description=MODE_HELP)
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$",
                             description="the sweep folder's name; default the file's stem")
    output_dir: str = Field("sweeps", description="folder that holds the sweep folder")

    @field_validator("name")
    @classmethod
    def _not_dots_only(cls, name):
        if name is not None and not name.strip("."):  # the whole folder name, unlike a run's prefix
            raise ValueError(f"{name!r} names output_dir itself or the folder above it: a sweep folder's name "
                             f"needs a letter, a digit, _ or -")
        return name

    @model_validator(mode="after")
    def _trials_fit_method(self):
        if self.method == "random" and self.trials is None:
            raise ValueError("method: random needs trials: the number of draws")
        if self.method == "grid" and self.trials is not None:
            raise ValueError("trials is for method: random; a grid runs every combination of its lists")
        return self


@dataclass(frozen=True)
class Trial:
    """One point of the search space: its id, the values it sets, and its whole config as data."""

    id: str
    index: int
    params: dict
    config: dict


@dataclass(frozen=True)
class Sweep:
    """A validated spec, ready to run."""

    spec: SweepSpec
    source: str
    base: dict
    space: dict  # dotted key -> a list of values, or a distribution
    folder: Path
    lines: dict  # key path -> line, in the sweep file
    base_source: str  # the file the base config comes from, and its lines
    base_lines: dict

    def trials(self) -> tuple[list[Trial], list[dict]]:
        """The distinct trials in spec order, and the combinations whose config is invalid."""
        return expand(self)


def json_schema() -> dict:
    """The JSON Schema of a sweep spec (`nnctl schema --sweep`): the spec's keys, a parameter as a
    list of values or a distribution, and the rules between method, trials and distributions."""
    from pydantic import TypeAdapter

    one = Union[tuple(DISTRIBUTIONS.values())]  # noqa: UP007  (built from a tuple)
    distribution = TypeAdapter(Annotated[one, Field(discriminator="distribution")])
    one_of = distribution.json_schema(ref_template="#/$defs/{model}")
    schema = SweepSpec.model_json_schema()
    schema["$defs"] = {**schema.get("$defs", {}), **one_of.pop("$defs")}
    one_of.pop("discriminator", None)
    values = {"type": "array", "minItems": 1, "description": "the values to try (grid or random)"}
    props = schema["properties"]
    props["base"] = {"description": props["base"]["description"], "anyOf": [{"type": "string"}, {"type": "object"}]}
    props["parameters"].update(propertyNames={"pattern": f"^{KEY_PATTERN}$"}, minProperties=1,
                               additionalProperties={"anyOf": [values, one_of]})
    random = {"properties": {"method": {"const": "random"}}, "required": ["method"]}
    schema["allOf"] = [  # as _trials_fit_method and _parameter refuse it
        {"if": random, "then": {"required": ["trials"], "properties": {"trials": {"type": "integer"}}},
         "else": {"properties": {"trials": {"type": "null"}, "parameters": {"additionalProperties": values}}}}]
    return document(schema, "nnctl sweep spec")


# ---------------------------------------------------------------- loading


def load(path: str | Path) -> Sweep:
    """Read and validate a sweep spec file, or `-`: stdin (raises ConfigError)."""
    path = Path(path)
    source = source_name(path)
    data, lines = read_yaml(path, "a sweep spec")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}:{lines.get((), 1)}: a sweep spec is a mapping with base and parameters")
    data = {k: v for k, v in data.items() if k != SCHEMA_KEY}  # for editors: nnctl ignores it
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_describe(_first(e), data, source, lines, root=SweepSpec)) from None
    if spec.name is None:
        spec = spec.model_copy(update={"name": _default_name(path, data)})
    if spec.mode is None:
        spec = spec.model_copy(update={"mode": METRIC_MODES[spec.metric]})
    if not spec.parameters:
        raise ConfigError(f"{source}:{lines.get(('parameters',))}: parameters: give at least one dotted config key "
                          "to vary")
    if not isinstance(spec.base, (str, dict)):
        raise ConfigError(f"{source}:{lines.get(('base',))}: base: expected the path of a config file or an inline "
                          f"config mapping, got a {config._yaml_type(spec.base)}")
    if isinstance(spec.base, str):
        base_path = path.parent / spec.base
        base, base_lines = read_yaml(base_path)
        if not isinstance(base, dict):
            raise ConfigError(f"{base_path}: the base config must be a mapping of keys to values")
        base_source = str(base_path)
        base = config.anchor_path(base, base_path.parent)  # data.path: relative to the base config's folder
    else:
        base, base_source = spec.base, source
        base_lines = {key[1:]: line for key, line in lines.items() if key[:1] == ("base",)}
        base = config.anchor_path(base, path.parent)
    space = {key: _parameter(spec, key, value, source, lines) for key, value in spec.parameters.items()}
    folder = Path(spec.output_dir) / spec.name
    return Sweep(spec, source, base, space, folder.resolve(), lines, base_source, base_lines)


def _default_name(path: Path, data: dict) -> str:
    """The sweep folder's name: the spec file's stem; for a spec on stdin, `stdin-` and 8 hex digits
    of its content's hash, so that the same spec piped again resumes in the same folder."""
    if str(path) != STDIN:
        return config.folder_name(path.stem, "sweep")
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return f"stdin-{digest[:8]}"


def _parameter(spec: SweepSpec, key: str, value, source: str, lines: dict):
    """A list of grid values or a distribution, checked; errors point at the parameter's line."""
    at = ("parameters", key)
    where = f"{source}:{line_of(lines, at)}: {_dotted(at)}"
    try:
        parse_key(key)
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None
    if isinstance(value, list):
        if not value:
            raise ConfigError(f"{where}: an empty list; give at least one value")
        return value
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a list of values or a mapping with a distribution, got {value!r} "
                          "(a value every trial shares belongs in base)")
    if spec.method == "grid":
        raise ConfigError(f"{where}: a grid needs a list of values; distributions need method: random")
    name = value.get("distribution")
    if name not in DISTRIBUTIONS:
        what = ("is required" if name is None
                else f"expected one of {', '.join(DISTRIBUTIONS)}, got {name!r}{_closest(name, DISTRIBUTIONS)}")
        key = at + ("distribution",)
        raise ConfigError(f"{source}:{line_of(lines, key)}: {_dotted(key)}: {what}")
    model = DISTRIBUTIONS[name]
    try:
        return model.model_validate(value)
    except ValidationError as e:
        raise ConfigError(_describe(_first(e), value, source, lines, root=model, prefix=at)) from None


def _first(error: ValidationError) -> dict:
    """The error to report: a misspelt key first, since it explains the 'missing' one that goes with it."""
    errors = error.errors()
    return next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])


# ---------------------------------------------------------------- trials


def trial_id(cfg: config.Config) -> str:
    """12 hex digits of the SHA-256 of the resolved config, without `run` (where it goes is not what it is)."""
    data = cfg.model_dump(mode="json", exclude={"run"})
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:12]


def assignments(sweep: Sweep) -> list[dict]:
    """The parameter values of every trial, in spec order: the grid's product or seeded draws."""
    space = sweep.space
    if sweep.spec.method == "grid":
        size = math.prod(len(values) for values in space.values())
        if size > MAX_TRIALS:
            raise ConfigError(f"{sweep.source}: the grid has {size:,} combinations; at most {MAX_TRIALS:,}")
        return [dict(zip(space, combo)) for combo in itertools.product(*space.values())]
    rng = np.random.default_rng(sweep.spec.seed)
    return [{key: (d.sample(rng) if not isinstance(d, list) else copy.deepcopy(d[int(rng.integers(len(d)))]))
             for key, d in space.items()} for _ in range(sweep.spec.trials)]


def expand(sweep: Sweep) -> tuple[list[Trial], list[dict]]:
    """Resolve every assignment into a config; duplicates run once; invalid ones are returned apart."""
    trials, invalid, seen, known = [], [], set(), {}
    for params in assignments(sweep):
        data = copy.deepcopy(sweep.base)
        for key, value in params.items():
            try:
                set_key(data, parse_key(key), value)
            except ValueError as e:
                raise ConfigError(f"{_where(sweep, key)}: {e}") from None
            known[key] = known.get(key, False) or _is_known(parse_key(key), data)
        label = "trial (" + ", ".join(f"{k}={v!r}" for k, v in params.items()) + ")"
        lines = _trial_lines(sweep)
        try:
            cfg = config.from_dict(data, sweep.base_source, lines)
            _check_metric(sweep, cfg, lines)
        except ConfigError as e:
            invalid.append({"params": params, "error": f"{label}: {e}", "cause": str(e), "label": label})
            continue
        cfg = cfg.model_copy(update={"run": config.RunConfig(name=sweep.spec.name, output_dir=str(sweep.folder),
                                                             tracking=cfg.run.tracking)})
        tid = trial_id(cfg)
        if tid not in seen:
            seen.add(tid)
            trials.append(Trial(tid, len(trials), params, cfg.model_dump(mode="json")))
    for key, ok in known.items():
        if not ok:
            path = parse_key(key)
            allowed = config._allowed_keys(path, data)
            raise ConfigError(f"{_where(sweep, key)}: {_dotted(path)} is not a config key{_closest(path[-1], allowed)}"
                              + (f" (allowed there: {', '.join(allowed)})" if allowed else ""))
    if not trials:
        first = invalid[0]
        raise ConfigError(f"{first['cause']} (no trial has a valid config; this is the first, {first['label']})")
    return trials, invalid


def _check_metric(sweep: Sweep, cfg: config.Config, lines: dict) -> None:
    """The ranking metric must exist for the trial: a validation split, and the task's kind of score."""
    from ..data import spec as data_spec

    metric, task = sweep.spec.metric, data_spec(cfg.data).task
    where = _file_line(sweep.base_source, line_of(lines, ("data", "val_fraction")))
    if cfg.data.val_fraction == 0:  # every metric is a validation score
        raise ConfigError(f"{where}: data.val_fraction: is 0, but metric {metric} needs a validation split")
    if metric not in (choices := metric_names.names("val", task)):
        raise ConfigError(f"{sweep.source}:{sweep.lines.get(('metric',), 1)}: metric: {metric} does not apply to "
                          f"{cfg.data.name}, a {task} task (use {', '.join(choices[:-1])} or {choices[-1]})")


def _trial_lines(sweep: Sweep) -> dict:
    """Lines for a trial's config errors: the base's, except where a parameter set the value.

    A swept key points at its parameter when the base is inline (one file); with a base file, at
    the nearest enclosing key of the base.
    """
    swept = {parse_key(key): sweep.lines.get(("parameters", key)) for key in sweep.space}
    lines = {path: line for path, line in sweep.base_lines.items()
             if not any(path[:len(key)] == key for key in swept)}
    if sweep.base_source == sweep.source:
        lines.update(swept)
    return lines


def _where(sweep: Sweep, key: str) -> str:
    """file:line: parameters.<key> of a parameter in the sweep file."""
    return f"{sweep.source}:{sweep.lines.get(('parameters', key), 1)}: parameters.{key}"


def _is_known(path: tuple, data: dict) -> bool:
    """Whether the schema has a key at `path` in this trial's data (True when it cannot tell)."""
    if isinstance(path[-1], int):
        return True
    allowed = config._allowed_keys(path, data)
    return not allowed or path[-1] in allowed
