"""`Value`: the base of the engine's dataclass value types: the frozen orders,
commands and events, and the ledger's mutable `Position` and `Account`.

Compiled (make native) they are Cython `cclass` dataclasses, whose generated
`__repr__` keeps its recursion guard in a thread-local set up only in the importing
thread, so a repr from any other thread (the sequencer's, a server's) raised
AttributeError. They take `repr=False` and inherit this repr instead, the same text
a dataclass would print.

They pickle as (class, field values), compiled or not (`Value.__reduce__`). Cython's
own pickling, which they had before, names a module function per class and checks a
checksum of the class's C layout: an interpreted engine could not read a compiled
engine's snapshot, and a change to a class's fields would have made every snapshot
unreadable. Snapshots written that way still load (`register_legacy_unpicklers`).

Each is also `cython.no_gc`: it holds only atoms (ints, strings, bytes, tuples of
them), an `Order` or an account's dict of Positions, so it cannot be part of a
reference cycle, and the cyclic collector need not track the millions of them a run
creates.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import cython

_FIELDS: dict[type, tuple[str, ...]] = {}  # class -> its dataclass field names, in order


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


@cython.cclass
class Value:
    """Base class of the engine's dataclass value types: a repr safe in any thread."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{f.name}={getattr(self, f.name)!r}"
                           for f in dataclasses.fields(self))  # type: ignore[arg-type]
        return f"{type(self).__qualname__}({fields})"

    def __reduce__(self) -> tuple:
        cls = type(self)
        return cls, tuple([getattr(self, name) for name in _field_names(cls)])

    def __setstate__(self, state: tuple) -> None:
        """Fill a value that Cython's own pickling wrote (a snapshot from before
        `__reduce__`): its fields in the alphabetical order of their names, Cython's.
        Compiled, Cython's reader of that layout does it; interpreted, they are set in
        that order (a count that differs, a class changed since, raises)."""
        setstate = getattr(self, "__setstate_cython__", None)
        if setstate is not None:
            setstate(state)
            return
        for name, value in zip(sorted(_field_names(type(self))), state, strict=True):
            object.__setattr__(self, name, value)  # frozen ones too: it is being built


def legacy_unpickle(cls: type, checksum: int, state: tuple | None) -> Any:  # noqa: ARG001
    """What Cython's `__pyx_unpickle_<Class>(cls, checksum, state)` did for a snapshot
    written before `Value.__reduce__`: a new `cls`, filled from `state` if given (else
    pickle passes the state to `__setstate__` next), for the interpreted engine. It has
    no layout checksum to check: `__setstate__` refuses a state whose field count
    differs from today's."""
    value = cls.__new__(cls)
    if state is not None:
        value.__setstate__(state)
    return value


def register_legacy_unpicklers(namespace: dict[str, Any]) -> None:
    """Bind `__pyx_unpickle_<Class>`, the name such a snapshot looks up in the class's
    module, to `legacy_unpickle` for every Value class defined in `namespace` that has
    none: interpreted. Compiled, Cython's own stays, which also checks that the C
    layout is the one the snapshot was written with."""
    for name, obj in list(namespace.items()):
        if isinstance(obj, type) and issubclass(obj, Value) and obj is not Value \
                and obj.__module__ == namespace["__name__"]:
            namespace.setdefault(f"__pyx_unpickle_{name}", legacy_unpickle)
