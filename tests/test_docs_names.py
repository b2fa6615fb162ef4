"""The docs name only what exists: every dotted Python name in the README and docs/*.md resolves, and
the README's layout block lists exactly the packages and modules of nnctl/."""

import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "nnctl"
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FILE_SUFFIXES = {"json", "yaml", "yml", "md", "py", "db", "csv", "npz", "npy", "png", "onnx"}


def _strings_in_code() -> set[str]:
    """The "nnctl.word" strings the code writes (MLflow tags such as nnctl.status): names, not Python."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        found |= set(re.findall(r"[\"'](nnctl\.[a-z_]+)[\"']", path.read_text()))
    return found


def _resolve(name: str) -> object:
    """The object a dotted name stands for, importing modules along the way; AttributeError or
    ImportError when it names nothing."""
    parts = name.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join(parts[: i + 1]))
    return obj


def _dotted_names() -> list[tuple[str, str]]:
    """(page, name) for every nnctl.a.b in the pages, and every api.name in a page that uses `api`."""
    tags = _strings_in_code()
    names = set()
    for page in PAGES:
        text = page.read_text()
        for name in re.findall(r"(?<![\w/.-])(nnctl(?:\.[A-Za-z_]\w*)+)", text):
            if name not in tags and name.rsplit(".", 1)[1] not in FILE_SUFFIXES:
                names.add((page.name, name))
        names |= {(page.name, f"nnctl.api.{attr}") for attr in re.findall(r"(?<![\w.])api\.([a-z_]\w*)\(", text)}
    return sorted(names)


@pytest.mark.parametrize("page, name", _dotted_names(), ids=lambda v: v)
def test_every_dotted_python_name_in_the_docs_resolves(page, name):
    try:
        _resolve(name)
    except (AttributeError, ImportError) as e:
        pytest.fail(f"{page} names {name}, which does not exist ({e})")


def _layout_block() -> dict[str, set[str]]:
    """The README's layout block: for nnctl/ and each package in it, the module names it lists.

    An entry is `name.py` or `name/` and its text, which may go on over indented lines; the names
    are the list items of the text (split at , ; : and "and") that are one identifier, once the
    parenthesised explanations are taken out."""
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```\n", 2)[1]
    entries: list[list[str] | None] = []
    for line in block.splitlines():
        if re.match(r"^  \S", line):
            entries.append([line.strip()])
        elif re.match(r"^ {4,}\S", line) and entries and entries[-1] is not None:
            entries[-1].append(line.strip())
        elif not line.startswith(" "):
            entries.append(None)  # a top-level line (docs/, tests/ ...) and its own lines: not nnctl's
    listed: dict[str, set[str]] = {"": set()}
    for entry in filter(None, entries):
        head, _, text = " ".join(entry).partition(" ")
        if head.endswith(".py"):
            listed[""].add(head.removesuffix(".py"))
            continue
        package = head.rstrip("/")
        listed[""].add(package)
        while re.search(r"\([^()]*\)", text):
            text = re.sub(r"\s*\([^()]*\)", "", text)
        items = re.split(r"[,;:]|\band\b", text)
        listed[package] = {item.strip() for item in items if re.fullmatch(r"[a-z_][a-z0-9_]*", item.strip())}
    return listed


def _tree() -> dict[str, set[str]]:
    """nnctl/'s modules and packages, and each package's modules (no __init__, no __main__)."""
    def modules(folder: Path) -> set[str]:
        return {p.stem for p in folder.glob("*.py") if not p.stem.startswith("__")}

    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    tree = {"": modules(PACKAGE) | packages}
    tree.update({name: modules(PACKAGE / name) for name in packages})
    return tree


def test_the_readme_layout_names_exactly_the_packages_and_modules():
    listed, tree = _layout_block(), _tree()
    for package in sorted(set(listed) | set(tree)):
        where = f"nnctl/{package}/" if package else "nnctl/"
        missing, stale = tree.get(package, set()) - listed.get(package, set()), \
            listed.get(package, set()) - tree.get(package, set())
        assert not missing, f"the README's layout omits {where}: {sorted(missing)}"
        assert not stale, f"the README's layout names what {where} does not hold: {sorted(stale)}"
