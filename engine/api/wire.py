"""The API's wire format: WAD integers <-> decimal strings, bytes <-> 0x hex, and the
JSON shape of orders, events and the engine's views.

This is the only place where amounts change representation: the engine works in
WAD integers (10**18), the wire carries exact decimal strings ("2000.5",
"-0.0001"), at most 18 decimal places, no exponent. Plain counters (seq, ts_ms,
market, flags, code) stay JSON integers.
"""

from __future__ import annotations

import re
from dataclasses import fields
from functools import lru_cache

from eth_utils import to_checksum_address

from engine.api.errors import invalid
from engine.core.markets import MarketSpec
from engine.core.orders import Order
from engine.core.views import AccountSummary, MarketView, OrderView, PositionView
from engine.core.wad import WAD

_DECIMAL = re.compile(r"^(-?)(\d{1,60})(?:\.(\d{1,18}))?$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HEX = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")
UINT256_MAX = 2**256 - 1

# int fields of events and views that are counters, not WAD amounts
PLAIN_INTS = frozenset({"seq", "ts_ms", "market", "code", "flags", "funding_ts_ms", "late_ms",
                        "accepted_ts_ms", "next_funding_ts_ms", "adl_rank", "open_orders",
                        "nonce", "expiry", "market_id", "funding_interval_s"})


def to_wad(text: object, field: str, *, signed: bool = False) -> int:
    """Parse a decimal string (at most 18 decimals) into a WAD integer; -32602 naming
    `field` if it is not one (or is negative when `signed` is False)."""
    if not isinstance(text, str):
        raise invalid(field, f"expected a decimal string, got {type(text).__name__}")
    m = _DECIMAL.match(text)
    if m is None:
        kind = "a decimal string" if signed else "an unsigned decimal string"
        raise invalid(field, f"{text!r} is not {kind} with at most 18 decimals")
    sign, whole, frac = m.groups()
    if sign and not signed:
        raise invalid(field, f"{text!r} must not be negative")
    value = int(whole) * WAD + (int(frac.ljust(18, "0")) if frac else 0)
    if value > UINT256_MAX:
        raise invalid(field, f"{text!r} does not fit in uint256 (WAD)")
    return -value if sign else value


def from_wad(value: int) -> str:
    """A WAD integer as an exact decimal string, trailing zeros dropped ("1.5", "-2")."""
    q, r = divmod(abs(value), WAD)
    sign = "-" if value < 0 else ""
    if not r:
        return f"{sign}{q}"
    return f"{sign}{q}.{r:018d}".rstrip("0")


def opt_wad(value: int | None) -> str | None:
    return None if value is None else from_wad(value)


@lru_cache(maxsize=65536)
def _checksum(address: str) -> str:
    return to_checksum_address(address)


def to_address(text: object, field: str) -> str:
    """A 0x address, EIP-55 checksummed; a mixed-case one must carry a valid checksum."""
    if not isinstance(text, str) or not _ADDRESS.match(text):
        raise invalid(field, f"expected a 0x address of 20 bytes, got {text!r}")
    checksummed = _checksum(text)
    if text != checksummed and text[2:] not in (text[2:].lower(), text[2:].upper()):
        raise invalid(field, f"{text} has a bad EIP-55 checksum (expected {checksummed})")
    return checksummed


def to_bytes(text: object, field: str, length: int) -> bytes:
    """0x hex of exactly `length` bytes."""
    if not isinstance(text, str) or not _HEX.match(text) or len(text) != 2 + 2 * length:
        raise invalid(field, f"expected 0x hex of {length} bytes")
    return bytes.fromhex(text[2:])


def to_uint(value: object, field: str) -> int:
    """A uint256 given as a JSON integer or a string of decimal digits."""
    if isinstance(value, bool):
        raise invalid(field, "expected an integer, got bool")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= UINT256_MAX:
        raise invalid(field, f"expected a uint256 (integer or digit string), got {value!r}")
    return value


def hex0x(data: bytes) -> str:
    return "0x" + data.hex()


# ----------------------------------------------------------------- orders in


def order_from_params(p: dict, prefix: str = "") -> Order:
    """The signed Order of an order object already checked against the schema."""
    return Order(
        trader=to_address(p["trader"], prefix + "trader"),
        market=p["market"],
        is_buy=p["is_buy"],
        size=to_wad(p["size"], prefix + "size"),
        limit_price=to_wad(p["limit_price"], prefix + "limit_price"),
        trigger_price=to_wad(p.get("trigger_price", "0"), prefix + "trigger_price"),
        flags=p.get("flags", 0),
        max_fee_rate=to_wad(p["max_fee_rate"], prefix + "max_fee_rate"),
        nonce=to_uint(p["nonce"], prefix + "nonce"),
        expiry=to_uint(p.get("expiry", 0), prefix + "expiry"),
    )


def order_to_params(order: Order) -> dict:
    """The wire form of an Order (the fields a client signs), without chain id or signature."""
    return {
        "trader": order.trader, "market": order.market, "is_buy": order.is_buy,
        "size": from_wad(order.size), "limit_price": from_wad(order.limit_price),
        "trigger_price": from_wad(order.trigger_price), "flags": order.flags,
        "max_fee_rate": from_wad(order.max_fee_rate), "nonce": order.nonce,
        "expiry": order.expiry,
    }


# ----------------------------------------------------------- values out


def value_json(name: str, value: object) -> object:
    """One field of an event or view on the wire (see module docstring)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if name in PLAIN_INTS else from_wad(value)
    if isinstance(value, bytes):
        return hex0x(value)
    if name == "payments":
        return [{"account": a, "size": from_wad(s), "amount": from_wad(x)} for a, s, x in value]
    if isinstance(value, Order):
        return order_to_params(value)
    if isinstance(value, (tuple, list)):
        return [value_json(name, v) for v in value]
    raise TypeError(f"{name}: cannot put {type(value).__name__} on the wire")


def event_json(event: object) -> dict:
    """An engine event as {"type": ClassName, field: value, ...}."""
    out: dict = {"type": type(event).__name__}
    for f in fields(event):  # type: ignore[arg-type]
        out[f.name] = value_json(f.name, getattr(event, f.name))
    return out


def view_json(view: object) -> dict:
    """A frozen view dataclass (OrderView, PositionView, ...) as a JSON object."""
    return {f.name: value_json(f.name, getattr(view, f.name)) for f in fields(view)}  # type: ignore[arg-type]


def order_view_json(view: OrderView) -> dict:
    out = view_json(view)
    out.update(out.pop("order"))
    return out


def trade_json(ev: object) -> dict:
    """A TradeExecuted as a public trade (maker and taker are public on chain anyway)."""
    return event_json(ev)


def market_json(spec: MarketSpec) -> dict:
    out = view_json(spec)
    out["impact_notional"] = from_wad(spec.impact_notional)
    return out


def prices_json(view: MarketView) -> dict:
    return view_json(view)


def account_json(view: AccountSummary) -> dict:
    return view_json(view)


def position_json(view: PositionView, extra: dict) -> dict:
    out = view_json(view)
    out.update(extra)
    return out
