"""A compact, deterministic, versioned binary codec for commands and events.

No pickle: a record names its class by a tag looked up in an explicit registry,
and every field is encoded by its value's type. Equal values always encode to
equal bytes (fields in dataclass declaration order; no maps, no floats), so
the journal digest of a command stream is reproducible.

Record layout (codec version 1)::

    record := VERSION (0x01) value
    value  := 'N' | 'F' | 'T'                          None, False, True
            | 'x' hex ';'                              int: lowercase hex, '-' if < 0
            | 's' n:u8 utf8[n]    | 'S' n:u32 utf8[n]  str (u8 length when < 256)
            | 'b' n:u8 bytes[n]   | 'B' n:u32 bytes[n] bytes
            | 't' n:u8 value*n    | 'L' n:u32 value*n  tuple
            | 'd' k:u8 tag[k] m:u8 value*m             registered dataclass, m fields
            | 'e' k:u8 tag[k] 'x' hex ';'              registered IntEnum member

u32 is little-endian; tag is the ASCII class name; an int is the canonical
`b"%x"` text (no leading zeros, no "-0"; anything else is refused on decode).
Ints are hex text because CPython then formats a whole record with one
`bytes % tuple` call: for each registered class, engine/journal/codegen.py
generates, from the field type hints, an encoder that checks every value's
exact type and emits the record in one formatting operation, and a decoder
that parses the fields inline. A value the fast paths do not expect (None in
an int field, a long string, a tuple) goes through the generic encoder and
decoder, which produce and accept the same bytes.
"""

from __future__ import annotations

import dataclasses
import enum
import struct
from collections.abc import Callable, Iterable
from typing import Any

from engine.journal.codegen import TF, DecoderGen, EncoderGen, Fallback
from engine.journal.errors import JournalCorrupt, UnencodableValue

CODEC_VERSION = 1
_VERSION = b"\x01"
_U32 = struct.Struct("<I")
_TF = TF


def _tag(name: str) -> bytes:
    raw = name.encode("ascii")
    if not 0 < len(raw) < 256:
        raise UnencodableValue(f"class name {name!r} is not a valid codec tag")
    return bytes((len(raw),)) + raw


class Codec:
    """Encoder/decoder over a registry of frozen dataclasses (commands, events, nested
    values such as `Order`) and IntEnums. Tags are class names, so they must be unique."""

    def __init__(self, classes: Iterable[type]) -> None:
        self._by_tag: dict[str, type] = {}
        self._fields: dict[type, tuple[str, ...]] = {}
        self._headers: dict[type, bytes] = {}
        self._fast: dict[type, Callable[[Any], bytes | None]] = {}
        self._fast_dec: dict[bytes, Callable[[bytes, int], tuple[Any, int]]] = {}
        for cls in classes:
            self._register(cls)
        for cls in self._fields:
            self._fast[cls] = EncoderGen(self._fields, self._headers, self._value_bytes).build(
                cls, _VERSION
            )
            decoder = DecoderGen(self._fields, self._headers, self._dec, JournalCorrupt)
            self._fast_dec[self._headers[cls]] = decoder.build(cls)

    def _register(self, cls: type) -> None:
        name = cls.__name__
        known = self._by_tag.get(name)
        if known is cls:
            return
        if known is not None:
            raise UnencodableValue(f"codec tag {name!r} is taken by {known.__module__}.{name}")
        if isinstance(cls, type) and issubclass(cls, enum.IntEnum):
            self._by_tag[name] = cls
            return
        if not dataclasses.is_dataclass(cls):
            raise UnencodableValue(f"{name} is neither a dataclass nor an IntEnum")
        names = tuple(f.name for f in dataclasses.fields(cls))
        if len(names) > 255:
            raise UnencodableValue(f"{name} has more than 255 fields")
        self._by_tag[name] = cls
        self._fields[cls] = names
        self._headers[cls] = b"d" + _tag(name) + bytes((len(names),))

    @property
    def tags(self) -> tuple[str, ...]:
        """Registered class names, sorted."""
        return tuple(sorted(self._by_tag))

    # -- encoding ---------------------------------------------------------------

    def encode(self, value: Any) -> bytes:
        """Encode one value (normally a command or event) as a versioned record."""
        fast = self._fast.get(type(value))
        if fast is not None:
            record = fast(value)
            if record is not None:
                return record
        return self.encode_generic(value)

    def encode_generic(self, value: Any) -> bytes:
        """The reference encoder, value by value; `encode` must always equal it."""
        out: list[bytes] = [_VERSION]
        self._enc(value, out)
        return b"".join(out)

    def _enc(self, value: Any, out: list[bytes]) -> None:
        kind = type(value)
        if kind is int:
            out.append(b"x%x;" % value)
        elif kind is bool:
            out.append(_TF[value])
        elif value is None:
            out.append(b"N")
        elif kind is bytes:
            out.append((b"b%c" % len(value) if len(value) < 256 else b"B" + _U32.pack(len(value))))
            out.append(value)
        elif kind is str:
            raw = value.encode("utf-8")
            out.append((b"s%c" % len(raw) if len(raw) < 256 else b"S" + _U32.pack(len(raw))))
            out.append(raw)
        elif kind is tuple:
            out.append(b"t%c" % len(value) if len(value) < 256 else b"L" + _U32.pack(len(value)))
            for item in value:
                self._enc(item, out)
        elif kind in self._fields:
            out.append(self._headers[kind])
            for name in self._fields[kind]:
                self._enc(getattr(value, name), out)
        elif self._by_tag.get(kind.__name__) is kind:  # a registered IntEnum
            out.append(b"e" + _tag(kind.__name__) + b"x%x;" % int(value))
        else:
            raise UnencodableValue(
                f"cannot encode {kind.__name__} value {value!r}: register its class "
                "or use int/str/bytes/bool/None/tuple fields"
            )

    def _value_bytes(self, value: Any) -> bytes:
        out: list[bytes] = []
        self._enc(value, out)
        return b"".join(out)

    # -- decoding ---------------------------------------------------------------

    def decode(self, record: bytes) -> Any:
        """Decode one record; raise JournalCorrupt on a wrong version, an unknown tag,
        a truncated or malformed record, or trailing bytes."""
        if not record:
            raise JournalCorrupt("empty record")
        if record[0] != CODEC_VERSION:
            raise JournalCorrupt(
                f"record has codec version {record[0]}, this build reads version {CODEC_VERSION}"
            )
        try:
            fast = self._fast_dec.get(record[1 : 4 + record[2]]) if record[1:2] == b"d" else None
            if fast is None:
                value, pos = self._dec(record, 1)
            else:
                try:
                    value, pos = fast(record, 4 + record[2])
                except Fallback:  # a value kind the field hints do not predict
                    value, pos = self._dec(record, 1)
        except (IndexError, ValueError, TypeError, struct.error) as exc:
            if isinstance(exc, JournalCorrupt):
                raise
            raise JournalCorrupt(f"truncated or malformed record ({len(record)} bytes): {exc}") from exc
        if pos != len(record):
            raise JournalCorrupt(f"{len(record) - pos} trailing bytes after the record's value")
        return value

    def _dec(self, buf: bytes, pos: int) -> tuple[Any, int]:
        kind = buf[pos]
        pos += 1
        if kind == 0x78:  # 'x'
            end = buf.index(b";", pos)
            return _parse_hex(buf[pos:end]), end + 1
        if kind in _LENGTHS:  # b s B S
            if kind < 0x60:  # 'B', 'S': u32 length
                n, pos = _U32.unpack_from(buf, pos)[0], pos + 4
            else:
                n, pos = buf[pos], pos + 1
            end = pos + n
            if end > len(buf):
                raise IndexError("bytes run past the end")
            raw = buf[pos:end]
            return (raw.decode("utf-8") if kind in (0x73, 0x53) else raw), end
        if kind == 0x64:  # 'd'
            return self._dec_dataclass(buf, pos)
        if kind == 0x74 or kind == 0x4C:  # 't', 'L'
            if kind == 0x74:
                n, pos = buf[pos], pos + 1
            else:
                n, pos = _U32.unpack_from(buf, pos)[0], pos + 4
            items = []
            for _ in range(n):
                item, pos = self._dec(buf, pos)
                items.append(item)
            return tuple(items), pos
        if kind == 0x4E:
            return None, pos
        if kind == 0x46:
            return False, pos
        if kind == 0x54:
            return True, pos
        if kind == 0x65:  # 'e'
            return self._dec_enum(buf, pos)
        raise JournalCorrupt(f"unknown value kind 0x{kind:02x} at byte {pos - 1}")

    def _dec_tag(self, buf: bytes, pos: int) -> tuple[type, int]:
        end = pos + 1 + buf[pos]
        if end > len(buf):
            raise IndexError("tag runs past the end")
        name = buf[pos + 1 : end].decode("ascii", errors="replace")
        cls = self._by_tag.get(name)
        if cls is None:
            raise JournalCorrupt(f"unknown tag {name!r}: not a registered command, event or value")
        return cls, end

    def _dec_dataclass(self, buf: bytes, pos: int) -> tuple[Any, int]:
        cls, pos = self._dec_tag(buf, pos)
        names = self._fields.get(cls)
        if names is None:
            raise JournalCorrupt(f"tag {cls.__name__!r} names an enum where a dataclass was expected")
        nfields = buf[pos]
        pos += 1
        if nfields != len(names):
            raise JournalCorrupt(f"{cls.__name__} record has {nfields} fields, the class has {len(names)}")
        values = []
        for _ in range(nfields):
            item, pos = self._dec(buf, pos)
            values.append(item)
        try:
            return cls(*values), pos
        except (TypeError, ValueError) as exc:
            raise JournalCorrupt(f"{cls.__name__} rejected its decoded fields: {exc}") from exc

    def _dec_enum(self, buf: bytes, pos: int) -> tuple[Any, int]:
        cls, pos = self._dec_tag(buf, pos)
        if cls in self._fields:
            raise JournalCorrupt(f"tag {cls.__name__!r} names a dataclass where an enum was expected")
        raw, pos = self._dec(buf, pos)
        try:
            return cls(raw), pos
        except ValueError as exc:
            raise JournalCorrupt(f"{cls.__name__} has no member {raw!r}") from exc


_LENGTHS = frozenset(b"bsBS")


def _parse_hex(raw: bytes) -> int:
    """Strict inverse of b'%x': lowercase hex digits, optional '-', no leading zeros."""
    negative = raw[:1] == b"-"
    digits = raw[1:] if negative else raw
    if (
        not digits
        or digits.strip(b"0123456789abcdef")
        or (digits[0] == 0x30 and (len(digits) > 1 or negative))
    ):
        raise JournalCorrupt(f"malformed int {raw[:40]!r}")
    return int(raw, 16)


_DEFAULT: Codec | None = None


def default_codec() -> Codec:
    """The codec over every command of `engine.core.commands.COMMANDS`, the nested
    `Order`, the core's `EVENTS` and the `RejectCode` enum."""
    global _DEFAULT
    if _DEFAULT is None:
        from engine.core.codes import RejectCode
        from engine.core.commands import COMMANDS
        from engine.core.events import EVENTS
        from engine.core.orders import Order

        _DEFAULT = Codec([Order, *COMMANDS, *EVENTS, RejectCode])
    return _DEFAULT
