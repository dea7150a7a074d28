"""YAML loading that remembers where each value came from, and refuses hostile input.

Diagnostics about metadata must point at a line of publication.yaml, so the
loader keeps a map from key paths (`("strings", "title")`) to line numbers.

The sources are text that anyone may send in a pull request, so loading is
bounded: a file too large, nesting too deep, too many aliases, or aliases
that expand into too many nodes ("billion laughs") give one diagnostic,
never a hang, a memory blow-up or a traceback. The document is composed
once, checked, and constructed from the node already composed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import Resolver

try:  # libyaml's parser, in C: a tenth of the time of PyYAML's own (3 ms instead of 20 for a brief's sources)
    from yaml._yaml import CParser as Parser
except ImportError:  # a PyYAML built without libyaml
    from yaml.parser import Parser as EventParser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class Parser(Reader, Scanner, EventParser):  # type: ignore[no-redef]
        def __init__(self, stream: str):
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            EventParser.__init__(self)

from pubpipe.diagnostics import Diagnostic, error

KeyPath = tuple[Any, ...]

MAX_BYTES = 4 * 1024 * 1024  # the real sources are a few kB
MAX_DEPTH = 64  # nesting, counted through aliases
MAX_ALIASES = 100
MAX_NODES = 100_000  # after expanding every alias


class LimitExceeded(yaml.MarkedYAMLError):
    """A document over one of the limits above; carries the mark of where it went over."""


class BoundedLoader(Composer, Parser, SafeConstructor, Resolver):
    """A safe loader that counts aliases and nesting while composing, and keeps bad dates as text. The events
    come from the parser (libyaml's when there is one); the composing is PyYAML's, in Python, so that these
    counts see every node before it is built."""

    def __init__(self, stream: str):
        Parser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise LimitExceeded(None, None, f"more than {MAX_ALIASES} aliases (*name); refusing to expand them",
                                    event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise LimitExceeded(None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.MarkedYAMLError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:  # e.g. !!int abc
            raise ConstructorError(None, None, f"cannot read this value ({exc})", node.start_mark) from None

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        """A date-like scalar that is not a real date (2026-13-45) stays a string for the schema to report."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            return self.construct_scalar(node)


BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", BoundedLoader.construct_yaml_timestamp)


def load_yaml(path: Path, display: str) -> tuple[Any, dict[KeyPath, int], list[Diagnostic]]:
    """Return (data, lines, problems); data is None when the file cannot be read."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return None, {}, [error(display, 1, f"file is {size:,} bytes; the limit is {MAX_BYTES // 2**20} MB",
                                    "yaml-limit")]
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, {}, [error(display, 1, "file not found", "missing-file")]
    except UnicodeDecodeError as exc:
        return None, {}, [error(display, 1, f"not valid UTF-8 ({exc.reason})", "yaml-syntax")]
    except OSError as exc:
        return None, {}, [error(display, 1, f"cannot read the file ({exc.strerror})", "missing-file")]
    loader = BoundedLoader(text)
    try:
        node = loader.get_single_node()
        _check_expansion(node)
        lines: dict[KeyPath, int] = {}
        _walk(node, (), lines)
        data = loader.construct_document(node) if node is not None else None
    except LimitExceeded as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        return None, {}, [error(display, line, exc.problem, "yaml-limit")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        if "maximum nesting depth" in str(exc.problem):  # libyaml looks 1000 levels ahead on one line
            return None, {}, [error(display, line, f"nested more than {MAX_DEPTH} levels deep", "yaml-limit")]
        reason = " ".join(filter(None, [exc.context, exc.problem]))
        return None, {}, [error(display, line, f"invalid YAML: {reason}", "yaml-syntax")]
    except yaml.YAMLError as exc:
        return None, {}, [error(display, 1, f"invalid YAML: {exc}", "yaml-syntax")]
    except RecursionError:  # a safety net: the limits above should make this unreachable
        return None, {}, [error(display, 1, "nested too deeply", "yaml-limit")]
    finally:
        loader.dispose()
    return data, lines, []


def _check_expansion(root: yaml.Node | None) -> None:
    """Refuse recursive aliases, and aliases that expand past MAX_NODES nodes or MAX_DEPTH levels.

    Aliases share nodes, so sizes are memoized per node: the cost is that of the
    document as written, not as expanded.
    """
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, expanded depth)
    open_nodes: set[int] = set()

    def measure(node: yaml.Node) -> tuple[int, int]:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise LimitExceeded(None, None, "an alias refers to the node that contains it (a recursive alias)",
                                node.start_mark)
        open_nodes.add(key)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        count, depth = 1, 0
        for child in children:
            child_count, child_depth = measure(child)
            count, depth = count + child_count, max(depth, child_depth)
        open_nodes.discard(key)
        if count > MAX_NODES:
            raise LimitExceeded(None, None, f"aliases here expand to more than {MAX_NODES:,} values; "
                                            "refusing to expand them (a \"billion laughs\" document?)",
                                node.start_mark)
        if depth + 1 > MAX_DEPTH:
            raise LimitExceeded(None, None, f"aliases here expand to more than {MAX_DEPTH} levels of nesting",
                                node.start_mark)
        sizes[key] = (count, depth + 1)
        return sizes[key]

    if root is not None:
        measure(root)


def _walk(node: yaml.Node | None, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    if node is None:
        return
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):  # a complex key: construction reports it
                continue
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


def json_view(value: Any) -> Any:
    """`value` as JSON Schema sees it: dates (which YAML gives as objects) become ISO strings."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: json_view(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_view(item) for item in value]
    return value
