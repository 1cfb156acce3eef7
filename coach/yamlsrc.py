"""YAML read with a safe parser into plain values that remember where they were written.

PyYAML's loaders lose positions and expand aliases without limit. This reads the event stream
(libyaml when present) once, builds the values itself and counts what aliases would expand to,
so a hostile file is refused after reading it once, in memory proportional to its size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is in PyYAML's wheels
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_DEPTH = 64
# Values after aliases are expanded: far more than any valid routine needs (2,000 steps).
MAX_EXPANDED = 200_000

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_SEQ_TAG = "tag:yaml.org,2002:seq"
_STR_TAG = "tag:yaml.org,2002:str"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_VALUE_TAG = "tag:yaml.org,2002:value"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAP_TAG = "tag:yaml.org,2002:map"


@dataclass(frozen=True)
class Mark:
    line: int  # 1-based
    col: int  # 1-based


class YamlError(Exception):
    def __init__(self, mark: Mark, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message
        self.path = path


@dataclass
class Node:
    """A value with its position; maps keep each key's position too."""

    mark: Mark
    value: Any = None  # plain value for scalars
    items: list[Node] | None = None  # sequences
    keys: dict[str, tuple[Mark, Node]] | None = None  # mappings, in file order
    size: int = 1  # how many values this expands to
    _plain: Any = field(default=None, repr=False)
    _done: bool = field(default=False, repr=False)

    def plain(self) -> Any:
        """The value as dicts, lists and scalars; shared (aliased) parts are built once."""
        if self._done:
            return self._plain
        if self.items is not None:
            self._plain = [item.plain() for item in self.items]
        elif self.keys is not None:
            self._plain = {key: node.plain() for key, (_, node) in self.keys.items()}
        else:
            self._plain = self.value
        self._done = True
        return self._plain

    def at(self, path: tuple[str | int, ...]) -> Node | None:
        node: Node | None = self
        for part in path:
            if node is None:
                return None
            if isinstance(part, int):
                node = node.items[part] if node.items is not None and part < len(node.items) else None
            else:
                node = node.keys[part][1] if node.keys is not None and part in node.keys else None
        return node

    def key_mark(self, key: str) -> Mark:
        if self.keys is not None and key in self.keys:
            return self.keys[key][0]
        return self.mark


def _tag(tag: str | None) -> str:
    return str(tag).replace("tag:yaml.org,2002:", "!!")


def _at(text: str, found: Any) -> Mark:
    """Where a YAML mark is, counting only "\n" as a line break. YAML also breaks lines at U+0085,
    U+2028 and U+2029, which editors show within a line: its own line numbers would point past them."""
    if found is None:
        return Mark(1, 1)
    index = min(found.index, len(text))
    return Mark(text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1)


def _mark(event: yaml.Event, text: str) -> Mark:
    return _at(text, event.start_mark)


_constructor = yaml.SafeLoader("")
_resolver = yaml.resolver.Resolver()


def _scalar(event: yaml.ScalarEvent, path: tuple[str | int, ...], text: str) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
        if tag in (_TIMESTAMP_TAG, _VALUE_TAG):
            tag = _STR_TAG  # a routine has no dates: 2024-01-01 is text, as is a lone '='
        elif tag == _MERGE_TAG:
            raise YamlError(_mark(event, text), "merge keys (<<) are not supported: write the keys out", path)
    if tag not in _PLAIN_TAGS:
        raise YamlError(_mark(event, text), f"the tag {_tag(tag)} is not allowed: routines hold plain data", path)
    node = yaml.ScalarNode(tag, event.value, style=event.style)
    try:
        return _constructor.yaml_constructors[tag](_constructor, node)
    except (yaml.YAMLError, ValueError) as error:
        raise YamlError(_mark(event, text), f"cannot read this value: {error}", path) from None


def parse(text: str) -> Node:
    """Parse one YAML document. Raises YamlError with a position for anything wrong."""
    stack: list[tuple[Node, str | None, Mark | None, str | None]] = []  # node, anchor, key mark, key
    anchors: dict[str, Node] = {}
    open_anchors: set[str] = set()
    root: Node | None = None
    documents = 0
    expanded = 0

    def path() -> tuple[str | int, ...]:
        """Where the next value goes, for messages."""
        parts: list[str | int] = []
        for node, _, key_mark, key in stack:
            if node.items is not None:
                parts.append(len(node.items))
            elif key_mark is not None and key is not None:
                parts.append(key)
        return tuple(parts)

    def add(node: Node, mark: Mark) -> None:
        nonlocal root, expanded
        expanded += node.size
        if expanded > MAX_EXPANDED:
            raise YamlError(mark, f"this file expands to more than {MAX_EXPANDED:,} values (aliases?)", path())
        if not stack:
            root = node
            return
        parent, anchor, key_mark, key = stack[-1]
        parent.size += node.size
        if parent.items is not None:
            parent.items.append(node)
            return
        assert parent.keys is not None
        if key_mark is None:  # this node is a key
            if node.items is not None or node.keys is not None:
                raise YamlError(mark, "a key must be plain text, not a list or a mapping", path())
            name = node.value
            if not isinstance(name, str):
                name = "null" if name is None else str(name).lower() if isinstance(name, bool) else str(name)
            if name in parent.keys:
                first = parent.keys[name][0]
                raise YamlError(mark, f"the key '{name}' appears twice (first at line {first.line})", (*path(), name))
            stack[-1] = (parent, anchor, mark, name)
        else:
            assert key is not None
            parent.keys[key] = (key_mark, node)
            stack[-1] = (parent, anchor, None, None)

    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise YamlError(_mark(event, text),
                                    "a routine file holds one YAML document; remove the second '---'")
            elif isinstance(event, yaml.ScalarEvent):
                node = Node(_mark(event, text), value=_scalar(event, path(), text))
                if event.anchor:
                    anchors[event.anchor] = node
                add(node, node.mark)
            elif isinstance(event, yaml.AliasEvent):
                mark = _mark(event, text)
                if event.anchor in open_anchors:
                    raise YamlError(mark, f"the alias *{event.anchor} refers to a value that contains it", path())
                if event.anchor not in anchors:
                    raise YamlError(mark, f"the alias *{event.anchor} has no anchor &{event.anchor} before it", path())
                add(anchors[event.anchor], mark)
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                mark = _mark(event, text)
                is_seq = isinstance(event, yaml.SequenceStartEvent)
                if event.tag not in (None, "!", _SEQ_TAG if is_seq else _MAP_TAG):
                    raise YamlError(mark, f"the tag {_tag(event.tag)} is not allowed: routines hold plain data", path())
                if len(stack) >= MAX_DEPTH:
                    raise YamlError(mark, f"values are nested more than {MAX_DEPTH} deep", path())
                node = Node(mark, items=[]) if is_seq else Node(mark, keys={})
                node.size = 1
                if event.anchor:
                    open_anchors.add(event.anchor)
                stack.append((node, event.anchor, None, None))
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                node, anchor, _, _ = stack.pop()
                if anchor:
                    open_anchors.discard(anchor)
                    anchors[anchor] = node
                expanded -= node.size - 1  # its children were counted as they came
                add(node, node.mark)
    except yaml.MarkedYAMLError as error:
        raise YamlError(_at(text, error.problem_mark or error.context_mark),
                        f"not valid YAML: {error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise YamlError(Mark(1, 1), f"not valid YAML: {error}") from None
    except UnicodeError:
        bad = next((i for i, c in enumerate(text) if 0xD800 <= ord(c) <= 0xDFFF), 0)
        line = text.count("\n", 0, bad) + 1
        raise YamlError(Mark(line, bad - (text.rfind("\n", 0, bad) + 1) + 1), "not valid Unicode text") from None
    if root is None:
        return Node(Mark(1, 1), value=None)
    return root
