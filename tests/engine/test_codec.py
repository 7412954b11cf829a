"""The journal codec: exact bytes, round trips of every command and event, corruption."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass

import pytest

from engine.core.codes import RejectCode
from engine.core.commands import COMMANDS, CancelAll, Deposit, PlaceOrder, UpdateIndex
from engine.core.errors import PerpxError
from engine.core.events import EVENTS
from engine.core.orders import Order
from engine.journal.codec import Codec, default_codec
from engine.journal.codegen import hints_of
from engine.journal.errors import JournalCorrupt, UnencodableValue

WAD = 10**18
TRADER = "0x" + "ab" * 20


def _sample(hint: object, salt: int) -> object:
    """A non-trivial value of a field's type: big ints, 32-byte hashes, both bools."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return None if salt % 2 else _sample(options[0], salt)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_sample(args[0], salt + i) for i in range(3))
        return tuple(_sample(a, salt + i) for i, a in enumerate(args))
    if hint is tuple:  # untyped tuple, e.g. FundingApplied.payments: (account, size, amount) rows
        return tuple((f"0x{salt + i:040x}", -salt * WAD, 2**70 + i) for i in range(2))
    if hint is int:
        return -(3 * WAD + salt) if salt % 3 == 0 else 2**255 + salt
    if hint is bool:
        return bool(salt % 2)
    if hint is str:
        return f"0x{salt:040x}"
    if hint is bytes:
        return bytes([salt % 256]) * 32
    if hint is Order:
        return Order(TRADER, 2, True, 5 * WAD, 2_000 * WAD, 0, 16, WAD // 1000, salt, 0)
    raise AssertionError(f"no sample for field type {hint!r}")


def _instance(cls: type, salt: int) -> object:
    hints = hints_of(cls)
    return cls(*(_sample(hints[f.name], salt + i) for i, f in enumerate(dataclasses.fields(cls))))


@pytest.mark.parametrize("cls", COMMANDS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("salt", [0, 1, 2])
def test_decode__every_command_class__round_trips(cls: type, salt: int) -> None:
    codec = default_codec()
    cmd = _instance(cls, salt)
    record = codec.encode(cmd)
    assert codec.decode(record) == cmd
    assert type(codec.decode(record)) is cls
    assert codec.encode(codec.decode(record)) == record


@pytest.mark.parametrize("cls", EVENTS, ids=lambda c: c.__name__)
def test_decode__every_event_class__round_trips(cls: type) -> None:
    codec = default_codec()
    event = _instance(cls, 5)
    assert codec.decode(codec.encode(event)) == event


def test_encode__deposit__exact_bytes() -> None:
    record = default_codec().encode(Deposit(TRADER, 10 * WAD, 1_700_000_000_000))
    expected = (
        b"\x01"  # codec version
        + b"d\x07Deposit\x03"  # dataclass tag, 3 fields
        + b"s\x2a" + TRADER.encode()  # 42-byte address
        + b"x8ac7230489e80000;"  # 10 * 10**18 in hex
        + b"x18bcfe56800;"  # 1_700_000_000_000 in hex
    )
    assert record == expected


def test_encode__place_order__exact_bytes_with_nested_order() -> None:
    order = Order(TRADER, 2, True, 5 * WAD, 2_000 * WAD, 0, 16, WAD // 1000, 9, 0)
    record = default_codec().encode(PlaceOrder(order, b"\x11" * 32, b"\x22" * 65, 37))
    expected = (
        b"\x01d\x0aPlaceOrder\x04"
        + b"d\x05Order\x0a" + b"s\x2a" + TRADER.encode()
        + b"x2;T" + b"x4563918244f40000;" + b"x6c6b935b8bbd400000;"
        + b"x0;x10;x38d7ea4c68000;x9;x0;"
        + b"b\x20" + b"\x11" * 32 + b"b\x41" + b"\x22" * 65
        + b"x25;"  # 37: a '%' byte, which the generated template must not misread
    )
    assert record == expected


@pytest.mark.parametrize("cls", (*COMMANDS, *EVENTS), ids=lambda c: c.__name__)
def test_encode__generated_fast_path__equals_generic_encoder(cls: type) -> None:
    codec = default_codec()
    for salt in range(4):
        value = _instance(cls, salt)
        assert codec.encode(value) == codec.encode_generic(value)


@pytest.mark.parametrize("cls", (Order, *COMMANDS, *EVENTS), ids=lambda c: c.__name__)
def test_hints_of__every_registered_class__a_concrete_type_per_field(cls: type) -> None:
    # compiled, Cython records a defaulted field's annotation as 'object'; the codec
    # then sent Order's last five fields through the generic encoder (2.0 us a PlaceOrder
    # instead of 1.2) and the generic decoder
    hints = hints_of(cls)
    assert [f.name for f in dataclasses.fields(cls)] == list(hints)
    assert object not in hints.values()


def test_encode__values_outside_the_fast_path__fall_back_to_same_format() -> None:
    codec = default_codec()
    long_account = "0x" + "a" * 300  # past the u8 length of the fast path
    record = codec.encode(Deposit(long_account, -5, 0))
    assert record == b"\x01d\x07Deposit\x03S" + (300 + 2).to_bytes(4, "little") + long_account.encode() + b"x-5;x0;"
    assert codec.decode(record) == Deposit(long_account, -5, 0)
    odd = Deposit(TRADER, None, 1)  # type: ignore[arg-type]  # None where an int is declared
    assert codec.decode(codec.encode(odd)) == odd


def test_encode__equal_commands_built_apart__equal_bytes() -> None:
    codec = default_codec()
    order_a = Order(TRADER, 1, False, 3 * WAD, 1_999 * WAD, nonce=7)
    order_b = Order(TRADER, 1, False, 3 * WAD, int("1999" + "0" * 18), nonce=7)
    a = PlaceOrder(order_a, b"\x11" * 32, b"\x22" * 65, 42)
    b = PlaceOrder(order_b, bytes.fromhex("11" * 32), bytes.fromhex("22" * 65), 42)
    assert codec.encode(a) == codec.encode(b)


@pytest.mark.parametrize(
    "value",
    [0, 1, -1, 127, 128, -128, -129, 255, 256, 2**63, -(2**63), 2**256 - 1, -(2**255)],
)
def test_decode__int_boundaries__round_trip(value: int) -> None:
    codec = default_codec()
    cmd = UpdateIndex(1, value, 0, True)
    assert codec.decode(codec.encode(cmd)).index == value


def test_decode__none_and_long_fields__round_trip() -> None:
    @dataclass(frozen=True, slots=True)
    class Blob:
        data: bytes
        text: str
        items: tuple[int, ...]

    codec = Codec([Blob])
    blob = Blob(b"\x00" * 70_000, "é" * 300, tuple(range(-200, 200)))
    assert codec.decode(codec.encode(blob)) == blob
    assert default_codec().decode(default_codec().encode(CancelAll(TRADER, None, 3))).market is None


def test_decode__enum_member__round_trips_as_enum() -> None:
    @dataclass(frozen=True, slots=True)
    class Coded:
        code: RejectCode

    codec = Codec([Coded, RejectCode])
    decoded = codec.decode(codec.encode(Coded(RejectCode.UNKNOWN_MARKET)))
    assert decoded.code is RejectCode.UNKNOWN_MARKET


def test_decode__unknown_tag__raises_journal_corrupt() -> None:
    record = default_codec().encode(Deposit(TRADER, 1, 2))
    forged = record.replace(b"Deposit", b"Depozit")
    with pytest.raises(JournalCorrupt, match="unknown tag 'Depozit'"):
        default_codec().decode(forged)


@pytest.mark.parametrize("cut", [1, 2, 5, 20, 40, 60])
def test_decode__truncated_record__raises_journal_corrupt(cut: int) -> None:
    record = default_codec().encode(Deposit(TRADER, 10 * WAD, 1_700_000_000_000))
    with pytest.raises(JournalCorrupt, match="truncated or malformed record"):
        default_codec().decode(record[:-cut])


@pytest.mark.parametrize("token", [b"x;", b"x-0;", b"x007;", b"xFF;", b"x 1;", b"x1_0;", b"x-;"])
def test_decode__non_canonical_int__raises_journal_corrupt(token: bytes) -> None:
    record = b"\x01d\x07Deposit\x03s\x2a" + TRADER.encode() + token + b"x0;"
    with pytest.raises(JournalCorrupt, match=r"malformed (int|record)"):
        default_codec().decode(record)


def test_decode__place_order_with_long_signature__falls_back_and_round_trips() -> None:
    codec = default_codec()
    order = Order(TRADER, 1, False, WAD, WAD, 0, 0, 0, 1, 0)
    cmd = PlaceOrder(order, b"\x01" * 32, b"\x02" * 300, 9)  # 'B' + u32 length: off the fast path
    assert codec.decode(codec.encode(cmd)) == cmd


def test_decode__trailing_bytes__raises_journal_corrupt() -> None:
    record = default_codec().encode(Deposit(TRADER, 1, 2))
    with pytest.raises(JournalCorrupt, match="1 trailing bytes"):
        default_codec().decode(record + b"N")


def test_decode__other_codec_version__raises_journal_corrupt() -> None:
    record = default_codec().encode(Deposit(TRADER, 1, 2))
    with pytest.raises(JournalCorrupt, match="codec version 2, this build reads version 1"):
        default_codec().decode(b"\x02" + record[1:])


def test_decode__wrong_field_count__raises_journal_corrupt() -> None:
    record = default_codec().encode(Deposit(TRADER, 1, 2))
    forged = record.replace(b"Deposit\x03", b"Deposit\x02")[: -len(b"x2;")]
    with pytest.raises(JournalCorrupt, match="Deposit record has 2 fields, the class has 3"):
        default_codec().decode(forged)


def test_journal_corrupt__is_the_perpx_root() -> None:
    assert issubclass(JournalCorrupt, PerpxError)
    assert issubclass(UnencodableValue, PerpxError)


def test_encode__float_field__raises_unencodable_value() -> None:
    with pytest.raises(UnencodableValue, match="cannot encode float value 1.5"):
        default_codec().encode(Deposit(TRADER, 1.5, 2))  # type: ignore[arg-type]


def test_encode__unregistered_class__raises_unencodable_value() -> None:
    @dataclass(frozen=True)
    class Stranger:
        x: int

    with pytest.raises(UnencodableValue, match="cannot encode Stranger value"):
        default_codec().encode(Stranger(1))


def test_register__two_classes_one_name__raises() -> None:
    @dataclass(frozen=True)
    class Deposit:  # noqa: F811 - deliberately shadows the command's name
        x: int

    with pytest.raises(UnencodableValue, match="codec tag 'Deposit' is taken"):
        Codec([*COMMANDS, Deposit])


def test_decode__every_event_of_a_real_run__round_trips() -> None:
    from engine.core.engine import Engine
    from engine.core.markets import default_markets
    from tests.bench.workload import setup_commands, workload

    codec = default_codec()
    engine = Engine(default_markets())
    kinds = set()
    for cmd in [*setup_commands(accounts=20), *workload(2_000, seed=5, accounts=20)]:
        for event in engine.apply(cmd):
            record = codec.encode(event)
            assert codec.decode(record) == event
            assert record == codec.encode_generic(event)
            kinds.add(type(event).__name__)
    assert {"OrderAccepted", "TradeExecuted", "OrderCancelled", "Deposited"} <= kinds
