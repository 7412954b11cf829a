"""`Value`: the base of the engine's dataclass value types: the frozen orders,
commands and events, and the ledger's mutable `Position` and `Account`.

Compiled (make native) they are Cython `cclass` dataclasses, whose generated
`__repr__` keeps its recursion guard in a thread-local set up only in the importing
thread, so a repr from any other thread (the sequencer's, a server's) raised
AttributeError. They take `repr=False` and inherit this repr instead, the same text
a dataclass would print.

Each is also `cython.no_gc`: it holds only atoms (ints, strings, bytes, tuples of
them), an `Order` or an account's dict of Positions, so it cannot be part of a
reference cycle, and the cyclic collector need not track the millions of them a run
creates.
"""

from __future__ import annotations

import dataclasses

import cython


@cython.cclass
class Value:
    """Base class of the engine's dataclass value types: a repr safe in any thread."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{f.name}={getattr(self, f.name)!r}"
                           for f in dataclasses.fields(self))  # type: ignore[arg-type]
        return f"{type(self).__qualname__}({fields})"
