"""Strict YAML reading shared by accelerator specs and workload files.

``load_yaml`` checks the file before any parsing work (a regular file, at most
``MAX_FILE_BYTES``, UTF-8 text), then scans the YAML events once to bound nesting depth, node
count and alias expansion (a "billion laughs" file stops here), and only then builds Python
objects with a loader that rejects duplicate keys (PyYAML silently keeps the last one),
non-scalar keys and merge keys. Every failure is a ``ConfigError`` of one line:
``<file>: [line L, column C: ]<what is wrong>``.

Plain values follow YAML 1.2 rather than PyYAML's YAML 1.1: ``1e3`` is a float, ``2:8`` is
the string "2:8" (YAML 1.1 reads it as the base-60 number 128), ``010`` is not an octal 8, and
``2024-02-30`` is a string, not a date.

A ``Problems`` collector gathers every schema problem with its YAML path so one ``ConfigError``
reports them all, each line as ``<file>: <yaml.path>: <what is wrong>``.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_PROBLEMS",
    "MAX_SCALAR_CHARS",
    "ConfigError",
    "Problems",
    "file_kind",
    "is_path_like",
    "load_yaml",
    "shorten",
    "yaml_path",
]

MAX_FILE_BYTES = 2 * 1024**2
"""Largest YAML file read (assumed: the shipped files are under 4 KB; a 10,000-layer workload
written one layer per line fits in about 1 MB)."""

MAX_DEPTH = 32
"""Deepest nesting of mappings and lists (the schemas need 5: ``layers[0].conv2d.kernel[1]``)."""

MAX_ALIAS_NODES = 200_000
"""Most nodes a file may hold once every alias is expanded (about 20 per layer: 10,000 layers)."""

MAX_SCALAR_CHARS = 4000
"""Longest single value (a name or description; Python refuses to read ints of more than 4,300
digits, so a longer number never reaches the int parser)."""

MAX_PROBLEMS = 50
"""Problem lines one ``ConfigError`` lists; the rest are counted."""

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_INT_RE = re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|[-+]?0b[01_]+|[-+]?0x[0-9a-fA-F_]+)$")
_FLOAT_RE = re.compile(  # a dot or an exponent: "010" is neither int nor float (a string)
    r"^(?:[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*\.[0-9_]*)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class ConfigError(ValueError):
    """A user's configuration is wrong; the message lists every problem found."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


def shorten(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters, saying how long it was: messages
    quote what the user wrote without echoing a megabyte of it."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print (Python's int-to-str digit limit)
        return f"<an {type(value).__name__} too long to print>"
    if len(text) <= limit:
        return text
    size = f"{len(value):,} characters" if isinstance(value, str) else f"{len(text):,} characters"
    return f"{text[: limit - 1]}… ({size})"


def is_path_like(text: str) -> bool:
    """The rule for ``--accel``/``--workload`` values: a path has a separator or a ``.yaml`` /
    ``.yml`` suffix; anything else is a shipped config's or a zoo model's name (so a file
    named ``resnet50`` in the working folder never shadows the zoo model)."""
    return text.endswith((".yaml", ".yml")) or "/" in text or os.sep in text


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster


class _StrictLoader(_BaseLoader):
    """SafeLoader that refuses duplicate, non-scalar and merge keys; YAML 1.2 numbers."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT, _VALUE, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(_INT, _INT_RE, list("-+0123456789"))
_StrictLoader.add_implicit_resolver(_FLOAT, _FLOAT_RE, list("-+0123456789."))


def _key_problem(node: yaml.Node) -> str | None:
    if node.tag == _MERGE:
        return ("YAML merge keys (<<) are not supported; write the keys out (an alias of a "
                "whole value, as in 'input: *buffer', works)")
    if not isinstance(node, yaml.ScalarNode):
        kind = "list" if isinstance(node, yaml.SequenceNode) else "mapping"
        return f"a mapping key must be a plain value such as a name, not a {kind}"
    return None


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, yaml.Mark] = {}
    for key_node, _ in node.value:
        problem = _key_problem(key_node)
        if problem:
            raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {shorten(key)} (first at line {seen[key].line + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _checked(construct: Any) -> Any:
    """A scalar constructor whose Python error (``!!int abc``, ``!!bool maybe``) becomes a
    marked YAML error."""

    def build(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, KeyError, TypeError, OverflowError):
            kind = node.tag.rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None, None, f"{shorten(node.value)} is not a valid {kind}", node.start_mark
            ) from None

    return build


for _tag in (_INT, _FLOAT, _TIMESTAMP, "tag:yaml.org,2002:bool"):
    _StrictLoader.add_constructor(_tag, _checked(yaml.SafeLoader.yaml_constructors[_tag]))


class _LimitError(Exception):
    """A resource limit was hit while scanning events (``mark``: where)."""

    def __init__(self, message: str, mark: Any) -> None:  # a yaml.Mark (C or Python loader)
        super().__init__(message)
        self.mark = mark


def _event_size(event: yaml.Event, sizes: dict[str, int], open_anchors: list[str | None]) -> int:
    """Nodes a finished scalar or alias event adds (an alias: its anchor's whole subtree)."""
    if isinstance(event, yaml.AliasEvent):
        if event.anchor in open_anchors:
            raise _LimitError(f"alias *{event.anchor} refers to a node that contains it "
                              "(recursive data is not allowed)", event.start_mark)
        return sizes.get(event.anchor or "", 1)  # an undefined alias: the composer says so
    assert isinstance(event, yaml.ScalarEvent)
    if len(event.value) > MAX_SCALAR_CHARS:
        raise _LimitError(f"a value of {len(event.value):,} characters; at most "
                          f"{MAX_SCALAR_CHARS:,} (no field needs more)", event.start_mark)
    return 1


def _check_limits(text: str) -> None:
    """One pass over the parser's events (cheap and not recursive) bounding nesting depth,
    value length and the node count with every alias expanded, before anything is built."""
    stack: list[list[Any]] = []  # per open collection: [nodes so far, anchor]
    sizes: dict[str, int] = {}  # expanded node count of each anchored node
    done = 0
    for event in yaml.parse(text, Loader=_StrictLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise _LimitError(f"nested more than {MAX_DEPTH} levels deep (sparsim files "
                                  "need at most 5)", event.start_mark)
            stack.append([1, event.anchor])
        else:
            if isinstance(event, yaml.CollectionEndEvent):
                size, anchor = stack.pop()
            elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
                size = _event_size(event, sizes, [frame[1] for frame in stack])
                anchor = event.anchor if isinstance(event, yaml.ScalarEvent) else None
            else:
                continue
            if anchor is not None:
                sizes[anchor] = size
            if stack:
                stack[-1][0] += size
            else:
                done += size
        if done + sum(frame[0] for frame in stack) > MAX_ALIAS_NODES:
            raise _LimitError(f"more than {MAX_ALIAS_NODES:,} values once aliases are expanded "
                              "(a file this large, or aliases nested to blow up, is refused)",
                              event.start_mark)


_KINDS = ((stat.S_ISREG, "a file"), (stat.S_ISDIR, "a directory"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"))


def file_kind(mode: int) -> str:
    """What kind of file ``mode`` (``os.stat().st_mode``) is, for messages."""
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def _read_bytes(path: Path) -> bytes:
    """At most ``MAX_FILE_BYTES`` of a regular file. Opened without blocking (a named pipe
    would wait for a writer) and checked with ``fstat`` on the open file, so what is read is
    what was checked; ``/dev/zero`` and friends are refused before a byte is read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ConfigError([f"{path}: cannot read: {file_kind(mode)}, not a YAML file"])
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES and (chunk := os.read(fd, MAX_FILE_BYTES + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    finally:
        os.close(fd)
    if size > MAX_FILE_BYTES:
        raise ConfigError([f"{path}: the file is larger than {MAX_FILE_BYTES:,} bytes, the "
                           "limit for a YAML file (the shipped ones are under 4 KB)"])
    return b"".join(chunks)


def _decode(path: Path, data: bytes) -> str:
    """UTF-8 text (a byte-order mark is dropped); binary files are named as such."""
    if b"\0" in data:
        raise ConfigError([f"{path}: a binary file (a NUL byte at offset {data.index(0)}), "
                           "not YAML text"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start]
        raise ConfigError([f"{path}: not UTF-8 text (byte 0x{bad:02x} at offset {exc.start}); "
                           "save the file as UTF-8"]) from None


def _where(path: Path, mark: Any, problem: str | None) -> ConfigError:
    at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return ConfigError([f"{path}: {at}{problem}"])


def load_yaml(path: str | Path) -> Any:
    """Parse ``path`` strictly (module docstring): every failure is a one-line
    ``ConfigError`` naming the file, and where in it when that is known."""
    path = Path(path)
    text = _decode(path, _read_bytes(path))
    try:
        _check_limits(text)
        return yaml.load(text, Loader=_StrictLoader)
    except _LimitError as exc:
        raise _where(path, exc.mark, str(exc)) from None
    except yaml.MarkedYAMLError as exc:
        raise _where(path, exc.problem_mark, exc.problem) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: {shorten(str(exc), 200)}"]) from None


def yaml_path(*parts: str | int) -> str:
    """Join keys and list indices as ``compute.sparsity.nm[1].m``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "<root>"


class Problems:
    """Collects ``path: message`` lines for one source file; ``raise_if_any`` raises them once
    (at most ``MAX_PROBLEMS`` lines, then a count of the rest)."""

    def __init__(self, source: str | Path) -> None:
        self.source = str(source)
        self.lines: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.lines.append(f"{self.source}: {path}: {message}")

    def raise_if_any(self) -> None:
        if len(self.lines) > MAX_PROBLEMS:
            more = len(self.lines) - MAX_PROBLEMS + 1
            raise ConfigError([*self.lines[: MAX_PROBLEMS - 1],
                               f"{self.source}: ... and {more} more problems"])
        if self.lines:
            raise ConfigError(self.lines)
