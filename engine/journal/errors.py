"""Errors of the journal: corrupt data, values the codec cannot encode, a halted sequencer.

Crash-only: corrupt data is worse than no data, so the journal never guesses.
A record it cannot verify stops the process with `JournalCorrupt`; recovery is
a human restoring the database, or a replay from a verified copy.
"""

from __future__ import annotations

from engine.core.errors import PerpxError


class JournalCorrupt(PerpxError, ValueError):
    """A journal record, snapshot or encoded value failed verification (crc, tag,
    length, sequence). The message names the record; do not continue on this data."""


class UnencodableValue(PerpxError, TypeError):
    """A command or event holds a value the codec has no encoding for (a float, a
    list, an unregistered class). A programming error: fix the command definition."""


class SequencerHalted(PerpxError, RuntimeError):
    """The sequencer stopped after a failed journal write or a failed apply.
    Nothing more is accepted; restart the process, which recovers from the journal."""


class JournalClosed(PerpxError, RuntimeError):
    """An operation on a journal that was already closed."""


class JournalLocked(PerpxError, RuntimeError):
    """Another process (or another Journal object) already has the journal open for
    writing. Only one sequencer may append to a journal."""
