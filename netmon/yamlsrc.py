"""YAML loading that remembers where every value came from, for file:line errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from netmon.errors import Issue

__all__ = ["DocPath", "Located", "YamlSyntaxError", "dotted", "load_yaml"]

#: libyaml's loader is about ten times faster and keeps the node marks we need for lines.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _GroupedLoader(_Loader):  # type: ignore[misc,valid-type]
    """The loader of inventory files: a float written like a thousands grouping stays its text."""


#: 1.000, 12.500, 1.000.000: digits grouped by threes after dots, which a vi-VN spreadsheet writes
#: for 1000 and YAML reads as 1.0. Left as text, the inventory refuses it by name (`spec.Count`).
_GROUPED = re.compile(r"[-+]?[0-9]{1,3}(?:\.[0-9]{3})+")


def _float_or_grouped(loader: Any, node: yaml.ScalarNode) -> float | str:
    text = str(node.value)
    return text if _GROUPED.fullmatch(text) else float(loader.construct_yaml_float(node))


_GroupedLoader.add_constructor("tag:yaml.org,2002:float", _float_or_grouped)

#: A position inside a document: mapping keys and list indexes from the root.
DocPath = tuple[str | int, ...]


class YamlSyntaxError(Exception):
    """The text is not YAML netmon accepts; carries the located issue."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(str(issue))
        self.issue = issue


@dataclass(frozen=True)
class Located:
    """A parsed YAML document plus the 1-based line of every value and mapping key."""

    source: str
    data: Any
    lines: dict[DocPath, int] = field(default_factory=dict)

    def line(self, path: DocPath) -> int | None:
        """Return the line of *path*, or of its nearest located ancestor."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return None


def load_yaml(text: str, source: str | Path, *, grouped_as_text: bool = False) -> Located:
    """Parse one YAML document safely; duplicate keys and syntax errors raise YamlSyntaxError.

    With *grouped_as_text* (inventory files), a plain float written like a thousands grouping
    (``staff: 1.000``) is kept as its text instead of 1.0, so that a count can refuse it.
    """
    name = str(source)
    loader = None
    root: yaml.Node | None = None
    try:
        loader = (_GroupedLoader if grouped_as_text else _Loader)(text)
        node = loader.get_single_node()
        if node is None:
            return Located(name, None, {})
        lines: dict[DocPath, int] = {}
        _walk(node, (), lines, name)
        root = node
        data = loader.construct_document(node)
    except YamlSyntaxError:
        raise
    except yaml.reader.ReaderError as exc:
        message = f"YAML: character #x{exc.character:04x} is not allowed"
        raise YamlSyntaxError(
            Issue(source=name, line=text.count("\n", 0, exc.position) + 1, where="", message=message)
        ) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlSyntaxError(Issue(source=name, line=at, where="", message=f"YAML: {problem}")) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(Issue(source=name, line=None, where="", message=f"YAML: {exc}")) from exc
    except Exception as exc:  # a constructor's ValueError, AttributeError, ...: input, not a bug
        raise YamlSyntaxError(_construct_issue(loader, root, exc, name)) from exc
    finally:
        if loader is not None:
            loader.dispose()
    return Located(name, data, lines)


def _construct_issue(loader: Any, root: yaml.Node | None, exc: Exception, source: str) -> Issue:
    """Locate the value a YAML constructor refused (`2026-12-32`, `!!timestamp hello`, a 5,000-digit int).

    PyYAML's constructors raise plain ValueError, AttributeError or TypeError without a mark, so
    each scalar and collection is constructed again on its own, in document order, until one fails.
    """
    message = f"YAML: cannot read the value: {_one_line(exc)}"
    if loader is None or root is None:
        return Issue(source=source, line=None, where="", message=message)
    for path, node in _nodes(root, ()):
        loader.constructed_objects, loader.recursive_objects, loader.state_generators = {}, {}, []
        try:
            loader.construct_object(node, deep=True)
        except Exception as inner:  # noqa: BLE001 (the same kinds as above)
            tag = node.tag.rsplit(":", 1)[-1]
            shown = (
                repr(node.value) if isinstance(node, yaml.ScalarNode) else f"this {type(node).__name__[:-4].lower()}"
            )
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            why = f": {_one_line(inner)}" if type(inner) is ValueError else ""
            return Issue(
                source=source,
                line=node.start_mark.line + 1,
                where=dotted(path),
                message=f"YAML: {shown} is not a valid {tag}{why}",
            )
    return Issue(source=source, line=None, where="", message=message)


def _nodes(node: yaml.Node, path: DocPath) -> list[tuple[DocPath, yaml.Node]]:
    """Return the nodes below *node*, deepest first, so that the innermost bad value is the one named."""
    found: list[tuple[DocPath, yaml.Node]] = []
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            found += _nodes(key_node, (*path, key))
            found += _nodes(value_node, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found += _nodes(item, (*path, index))
    found.append((path, node))
    return found


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text if len(text) <= 200 else text[:197] + "...") or type(exc).__name__


def _walk(node: yaml.Node, path: DocPath, lines: dict[DocPath, int], source: str) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                issue = Issue(
                    source=source,
                    line=line,
                    where=dotted((*path, key)),
                    message=f"duplicate key (first at line {seen[key]})",
                )
                raise YamlSyntaxError(issue)
            seen[key] = line
            _walk(value_node, (*path, key), lines, source)
            lines[(*path, key)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, source)


def dotted(path: DocPath) -> str:
    """Render a document path as `devices[3].address`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
