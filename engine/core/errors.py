"""The one exception tree of perpx.

Business rejections inside the core are events with a `RejectCode`, never
exceptions. Exceptions are for bad input at an adapter's edge (API, CLI,
config) and for broken invariants, which stop the process: recovery is a
replay of the journal. Every class mixes in the stdlib exception a caller
would naturally catch, so `except ValueError` still works.
"""

from __future__ import annotations


class PerpxError(Exception):
    """Root of every error raised by perpx code."""


class InvalidOrder(PerpxError, ValueError):
    """An order that is malformed before it reaches the core (bad field types, bad signature)."""


class InvalidCommand(PerpxError, TypeError):
    """An object handed to Engine.apply that is not a known command."""


class InvalidMarket(PerpxError, ValueError):
    """A market specification outside its hard bounds, or a duplicate market id."""


class UnknownOrder(PerpxError, KeyError):
    """A query for an order hash the engine never saw."""


class SnapshotError(PerpxError, ValueError):
    """A snapshot that cannot be loaded (wrong format or version, corrupt bytes)."""


class InvariantViolation(PerpxError, AssertionError):
    """The engine's state broke one of its invariants; stop and replay, never continue."""
