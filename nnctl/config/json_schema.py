"""The JSON Schema of a config file (`nnctl schema`), accepting exactly the spellings nnctl accepts.

pydantic writes the schema of the models in schema.py: nnctl's own words. nnctl also reads the
Keras and PyTorch names of aliases.py, in any case and with any `_`, `-` or spaces (`ReLU`,
`CrossEntropyLoss`, `learning_rate`), and a top-level `$schema` key that editors use. Here the
pydantic schema is widened from the alias tables themselves, so the two cannot drift:

- a word (a loss, an activation, a layer type, an optimizer...) keeps its `enum` or `const`, which
  editors complete, and also matches a pattern of every spelling `aliases.fold` maps to it;
- a key alias (`learning_rate` for `lr`) is a property of its own with the key's schema, and
  giving both is refused, as nnctl refuses it;
- OpenAPI's `discriminator` (which names the canonical words only) is dropped: the members of a
  union are told apart by their words' patterns.
"""

from __future__ import annotations

import copy
import re

from . import aliases
from .schema import Config

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SEPARATORS = r"[\s_-]*"  # what aliases.fold removes
SCHEMA_KEY = "$schema"  # the one key a file may hold that nnctl ignores
SCHEMA_KEY_DOC = {"type": "string", "description": "the JSON Schema this file is written against, for editors "
                                                   "(yaml-language-server); nnctl ignores it"}


def document(schema: dict, title: str) -> dict:
    """A model's JSON Schema as a document: the draft it is written in, its title, and `$schema`
    allowed as a top-level key."""
    schema = {"$schema": DRAFT, **schema, "title": title}
    schema["properties"] = {SCHEMA_KEY: SCHEMA_KEY_DOC, **schema["properties"]}
    return schema


def config_schema() -> dict:
    """The JSON Schema of a config file: what `nnctl check` accepts, as far as a schema can say it."""
    schema = copy.deepcopy(Config.model_json_schema())
    for node in places(schema, "model.layers[]", resolve=True):  # each layer type's own key aliases
        for alias, key in aliases.LAYER_KEYS.get(node["properties"]["type"].get("const"), {}).items():
            _accept_key_alias(node, alias, key)
    for node in places(schema, "model.layers[]"):
        node["oneOf"].append(_activation_as_type())
    for table in aliases.WORDS:
        for node in places(schema, table.key):
            _accept_spellings(node, table)
    for section, renamed in aliases.KEYS.items():
        for node in places(schema, section, resolve=True):
            for alias, key in renamed.items():
                _accept_key_alias(node, alias, key)
    _drop_discriminators(schema)
    return document(schema, "nnctl config")


def _activation_as_type() -> dict:
    """`{type: ReLU}`: an activation's name as a layer's type alone (aliases.py reads it as an
    activation layer), in every spelling that is not also a layer type's (`Linear` is dense)."""
    types = {aliases.fold(w) for w in (*aliases.LAYER_TYPES.names, *aliases.LAYER_TYPES.aliases)}
    words = [w for w in (*aliases.ACTIVATIONS.names, *aliases.ACTIVATIONS.aliases) if aliases.fold(w) not in types]
    return {"type": "object", "title": "An activation as a layer", "additionalProperties": False, "required": ["type"],
            "description": "an activation's name as the type ({type: ReLU}): {type: activation, activation: relu}",
            "properties": {"type": {"type": "string", "pattern": spelling_pattern(words)}}}


def places(schema: dict, dotted: str, resolve: bool = False) -> list[dict]:
    """The schema nodes of the dotted key (`model.layers[].activation`, as aliases.Words names it)
    in every member of every union on the way; `resolve`: the object schemas found there."""
    nodes = [schema]
    for part in re.findall(r"[^.\[\]]+|\[\]", dotted):
        found = []
        for node in _members(schema, nodes):
            if part == "[]":
                found += [node["items"]] if "items" in node else []
            elif part in node.get("properties", {}):
                found.append(node["properties"][part])
        nodes = found
    return _members(schema, nodes) if resolve else nodes


def _members(schema: dict, nodes: list[dict]) -> list[dict]:
    """The object schemas `nodes` stand for: references followed, unions and nullables opened."""
    out = []
    for node in nodes:
        if "$ref" in node:
            out += _members(schema, [schema["$defs"][node["$ref"].split("/")[-1]]])
        elif node.get("type") in ("object", "array") or "properties" in node:  # its allOf: rules, not members
            out.append(node)
        elif any(k in node for k in ("oneOf", "anyOf")):
            out += _members(schema, [m for k in ("oneOf", "anyOf") for m in node.get(k, [])])
    return out


def spelling_pattern(words) -> str:
    """A regular expression matching every spelling aliases.fold takes for one of `words`: any
    case, any `_`, `-` or white space before, between and after the letters."""
    def one(word: str) -> str:
        letters = aliases.fold(word)
        return SEPARATORS.join(f"[{re.escape(c)}{re.escape(c.upper())}]" if c.upper() != c else re.escape(c)
                               for c in letters)
    return f"^{SEPARATORS}(?:{'|'.join(sorted({one(w) for w in words}))}){SEPARATORS}$"


def _accept_spellings(node: dict, table: aliases.Words) -> None:
    """Widen the enum or const in `node` (or in its anyOf members) to every spelling of its words."""
    if "anyOf" in node and not any("pattern" in m for m in node["anyOf"]):
        for member in node["anyOf"]:
            _accept_spellings(member, table)
        return
    if "enum" not in node and "const" not in node:
        return
    words = node.get("enum", [node.get("const")])
    names = [w for w in words if isinstance(w, str)] + [a for a, name in table.aliases.items() if name in words]
    exact = {k: node.pop(k) for k in ("enum", "const", "type") if k in node}
    node["anyOf"] = [exact, {"type": "string", "pattern": spelling_pattern(names)}]


def _accept_key_alias(node: dict, alias: str, key: str) -> None:
    """In the object schema `node`, `alias` as a property of its own with `key`'s schema; not both."""
    properties = node.get("properties", {})
    if key not in properties or alias in properties:
        return
    properties[alias] = {**copy.deepcopy(properties[key]), "description": f"the same as {key} (another name for it)"}
    properties[alias].pop("title", None)
    rules = node.setdefault("allOf", [])
    rules.append({"not": {"required": [key, alias]}})
    if key in node.get("required", []):
        node["required"] = [k for k in node["required"] if k != key]
        rules.append({"anyOf": [{"required": [key]}, {"required": [alias]}]})


def _drop_discriminators(node) -> None:
    if isinstance(node, dict):
        node.pop("discriminator", None)
        for value in node.values():
            _drop_discriminators(value)
    elif isinstance(node, list):
        for value in node:
            _drop_discriminators(value)
