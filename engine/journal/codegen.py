"""Generated per-class fast paths of the codec (engine/journal/codec.py has the format).

For each registered dataclass, from its field type hints:

- an encoder `enc(value) -> bytes | None` that checks each field's exact type
  and emits the whole record with one `bytes % tuple` formatting call; None
  (a value it does not expect) sends the caller to the generic encoder;
- a decoder `dec(buf, pos) -> (value, pos)` that parses the fields in order
  with inline code; it raises `Fallback` where the bytes hold a kind the hints
  do not predict (None in an int field, a long string), and the caller decodes
  the record with the generic decoder instead.

Both are pure functions of the format: a test pins fast == generic on every
command and event class.
"""

from __future__ import annotations

import ast
import dataclasses
import pathlib
import sys
import types
import typing
from collections.abc import Callable
from operator import attrgetter
from typing import Any

TF = (b"F", b"T")


class Fallback(Exception):
    """The fast decoder met a value kind its class's hints do not predict."""


def escape(raw: bytes) -> bytes:
    """Literal bytes inside a %-template."""
    return raw.replace(b"%", b"%%")


def hints_of(cls: type) -> dict[str, Any]:
    """The resolved type hints of a dataclass's fields. A compiled (Cython) dataclass
    has no __annotations__, and its fields keep their annotations as strings, except
    that a field with a default is recorded as 'object' (Cython 3.3); the annotations
    are then read from the class's source file, which the in-place build keeps beside
    the extension, and resolved in the class's module as typing.get_type_hints would."""
    try:
        hints = typing.get_type_hints(cls)
        if hints or not dataclasses.is_dataclass(cls):
            return hints
        annotations = {f.name: f.type for f in dataclasses.fields(cls)}
        if "object" in annotations.values():
            annotations.update(_source_annotations(cls))
        holder = types.SimpleNamespace(__annotations__=annotations)
        return typing.get_type_hints(holder, globalns=vars(sys.modules[cls.__module__]))
    except Exception:  # local classes with unresolvable hints: every field generic
        return {}


def _source_annotations(cls: type) -> dict[str, str]:
    """The field annotations of `cls` as written in its module's .py file ({} if the
    file or the class is not there)."""
    path = pathlib.Path(sys.modules[cls.__module__].__file__ or "")
    source = path.with_name(path.name.split(".", 1)[0] + ".py")
    if not source.is_file():
        return {}
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            return {item.target.id: ast.unparse(item.annotation) for item in node.body
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)}
    return {}


def _fast_kind(hint: Any, dataclasses: dict[type, tuple[str, ...]]) -> str | None:
    if hint in (int, bool, bytes, str):
        return hint.__name__
    if isinstance(hint, type) and hint in dataclasses:
        return "dataclass"
    return None


def _slot_settable(cls: type, names: tuple[str, ...]) -> bool:
    """True if `cls` can be built field by field through its slot descriptors with the
    same result as its __init__: a slotted dataclass without __post_init__ whose
    __init__ takes exactly its fields."""
    if getattr(cls, "__post_init__", None) is not None:
        return False
    slots = set(getattr(cls, "__slots__", ()))
    return bool(names) and set(names) <= slots and all(
        type(getattr(cls, name, None)).__name__ == "member_descriptor" for name in names)


class EncoderGen:
    """Builds one class's encoder: statements (unpack, then exact-type guards, level by
    level), a %-template in field order, its arguments, and u8 length limits."""

    def __init__(self, fields: dict[type, tuple[str, ...]], headers: dict[type, bytes],
                 generic: Callable[[Any], bytes]) -> None:
        self.fields = fields
        self.headers = headers
        self.body: list[str] = []
        self.limits: list[str] = []
        self.args: list[str] = []
        self.namespace: dict[str, Any] = {"GEN": generic, "TF": TF}
        self._n = 0

    def build(self, cls: type, version: bytes) -> Callable[[Any], bytes | None]:
        template = version + self._dataclass(cls, "v")
        lines = ["def enc(v):", *self.body]
        if self.limits:
            lines.append(f"    if {' or '.join(self.limits)}: return None")
        lines.append(f"    return TEMPLATE % ({', '.join(self.args)}{',' if self.args else ''})")
        self.namespace["TEMPLATE"] = template
        exec("\n".join(lines), self.namespace)  # noqa: S102 - built from the class's own fields
        return self.namespace["enc"]

    def _var(self) -> str:
        self._n += 1
        return f"a{self._n}"

    def _dataclass(self, cls: type, expr: str) -> bytes:
        names = self.fields[cls]
        variables = [self._var() for _ in names]
        if names:
            getter = f"get_{variables[0]}"
            self.namespace[getter] = attrgetter(*names)
            comma = "," if len(names) == 1 else ""  # attrgetter of one name: the bare value
            self.body.append(f"    {', '.join(variables)}{comma} = ({getter}({expr}){comma})")
        hints = hints_of(cls)
        guards = []
        for name, var in zip(names, variables):
            hint = hints.get(name)
            kind = _fast_kind(hint, self.fields)
            if kind == "dataclass":
                self.namespace[f"C_{hint.__name__}"] = hint
                guards.append(f"type({var}) is not C_{hint.__name__}")
            elif kind:
                guards.append(f"type({var}) is not {kind}")
        if guards:
            self.body.append(f"    if {' or '.join(guards)}: return None")
        template = escape(self.headers[cls])
        for name, var in zip(names, variables):
            template += self._field(hints.get(name), var)
        return template

    def _field(self, hint: Any, var: str) -> bytes:
        kind = _fast_kind(hint, self.fields)
        if kind == "int":
            self.args.append(var)
            return b"x%x;"
        if kind == "bool":
            self.args.append(f"TF[{var}]")
            return b"%b"
        if kind == "bytes":
            self.limits.append(f"len({var}) > 255")
            self.args.extend((f"len({var})", var))
            return b"b%c%b"
        if kind == "str":
            self.body.append(f"    {var}_u = {var}.encode('utf-8')")
            self.limits.append(f"len({var}_u) > 255")
            self.args.extend((f"len({var}_u)", f"{var}_u"))
            return b"s%c%b"
        if kind == "dataclass":
            return self._dataclass(hint, var)
        self.args.append(f"GEN({var})")  # anything else: the generic encoder's bytes
        return b"%b"


class DecoderGen:
    """Builds one class's decoder `dec(buf, pos) -> (value, pos)` (pos after the header)."""

    def __init__(self, fields: dict[type, tuple[str, ...]], headers: dict[type, bytes],
                 generic: Callable[[bytes, int], tuple[Any, int]], corrupt: type) -> None:
        self.fields = fields
        self.headers = headers
        self.body: list[str] = []
        self.namespace: dict[str, Any] = {"GEN": generic, "Fallback": Fallback, "Corrupt": corrupt}
        self._n = 0

    def build(self, cls: type) -> Callable[[bytes, int], tuple[Any, int]]:
        result = self._dataclass(cls, top=True)
        lines = ["def dec(buf, pos):", "    size = len(buf)", *self.body, f"    return {result}, pos"]
        exec("\n".join(lines), self.namespace)  # noqa: S102 - built from the class's own fields
        return self.namespace["dec"]

    def _var(self) -> str:
        self._n += 1
        return f"a{self._n}"

    def _emit(self, *lines: str) -> None:
        self.body.extend(f"    {line}" for line in lines)

    def _dataclass(self, cls: type, top: bool = False) -> str:
        """Emit the parsing of `cls`'s fields; return the expression that builds it."""
        if not top:  # the header is checked here; at the top the caller dispatched on it
            header = self.headers[cls]
            hname = f"H{self._n}_{cls.__name__}"
            self.namespace[hname] = header
            self._emit(f"if buf[pos:pos + {len(header)}] != {hname}: raise Fallback",
                       f"pos += {len(header)}")
        hints = hints_of(cls)
        names = self.fields[cls]
        values = [self._field(hints.get(name)) for name in names]
        cname = f"C_{cls.__name__}"
        self.namespace[cname] = cls
        if not _slot_settable(cls, names):
            return f"{cname}({', '.join(values)})"
        # A frozen slotted dataclass's __init__ sets each field through
        # object.__setattr__; its slot descriptors do the same for a third of the cost.
        obj = self._var()
        self.namespace["NEW"] = object.__new__
        self._emit(f"{obj} = NEW({cname})")
        for name, value in zip(names, values):
            setter = f"S_{cls.__name__}_{name}"
            self.namespace[setter] = getattr(cls, name).__set__
            self._emit(f"{setter}({obj}, {value})")
        return obj

    def _field(self, hint: Any) -> str:
        kind = _fast_kind(hint, self.fields)
        var = self._var()
        if kind == "int":
            self._emit(
                "if buf[pos] != 120: raise Fallback",
                "end = buf.index(b';', pos)",
                f"raw = buf[pos + 1:end]; {var} = int(raw, 16)",
                f"if b'%x' % {var} != raw: raise Corrupt(f'malformed int {{raw[:40]!r}}')",
                "pos = end + 1",
            )
        elif kind == "bool":
            self._emit(
                "c = buf[pos]; pos += 1",
                f"if c == 84: {var} = True",
                f"elif c == 70: {var} = False",
                "else: raise Fallback",
            )
        elif kind in ("str", "bytes"):
            code = 115 if kind == "str" else 98
            tail = ".decode('utf-8')" if kind == "str" else ""
            self._emit(
                f"if buf[pos] != {code}: raise Fallback",
                "end = pos + 2 + buf[pos + 1]",
                "if end > size: raise IndexError('bytes run past the end')",
                f"{var} = buf[pos + 2:end]{tail}; pos = end",
            )
        elif kind == "dataclass":
            self._emit(f"{var} = {self._dataclass(hint)}")
        else:
            self._emit(f"{var}, pos = GEN(buf, pos)")
        return var
