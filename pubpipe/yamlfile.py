"""YAML loading that remembers where each value came from.

Diagnostics about metadata must point at a line of publication.yaml, so the
loader keeps a map from key paths (`("strings", "title")`) to line numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .diagnostics import Diagnostic, error

KeyPath = tuple[Any, ...]


def load_yaml(path: Path, display: str) -> tuple[Any, dict[KeyPath, int], list[Diagnostic]]:
    """Return (data, lines, problems); data is None when the file cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, {}, [error(display, 1, "file not found", "missing-file")]
    except UnicodeDecodeError as exc:
        return None, {}, [error(display, 1, f"not valid UTF-8 ({exc.reason})", "yaml-syntax")]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = " ".join(filter(None, [exc.context, exc.problem]))
        return None, {}, [error(display, line, f"invalid YAML: {reason}", "yaml-syntax")]
    except yaml.YAMLError as exc:
        return None, {}, [error(display, 1, f"invalid YAML: {exc}", "yaml-syntax")]
    lines: dict[KeyPath, int] = {}
    _walk(node, (), lines)
    return data, lines, []


def _walk(node: yaml.Node | None, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    if node is None:
        return
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = path + (key.value,)
            _walk(value, child, lines)
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            _walk(value, path + (index,), lines)


def line_of(lines: dict[KeyPath, int], *path: Any) -> int:
    """Line of the deepest known ancestor of `path` (1 if nothing is known)."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1
