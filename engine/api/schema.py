"""The machine-readable schema of every API method: built here, kept in the repo as
engine/api/schema.json (`python -m engine.api.schema` rewrites it; a test checks the
file is current), served at GET /schema.json and by the `get_schema` method.

Layout: `$defs` (shared shapes), `methods` (name -> description, params, result),
`notification` (what a subscription pushes), `errors` (code -> name, meaning).
The server validates every request's params against `methods[name].params`, and
the tests validate every response against `methods[name].result`.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.api.errors import all_codes

SCHEMA_PATH = Path(__file__).with_name("schema.json")
CHANNELS = ("book", "trades", "account", "funding")


def _ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


def _obj(required: dict, optional: dict | None = None) -> dict:
    props = dict(required)
    props.update(optional or {})
    return {"type": "object", "properties": props, "required": list(required),
            "additionalProperties": False}


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def _list(schema: dict, max_items: int | None = None) -> dict:
    out: dict = {"type": "array", "items": schema}
    if max_items is not None:
        out["maxItems"] = max_items
    return out


DEC, SDEC, ADDR, HASH, INT, BOOL, STR = (_ref("decimal"), _ref("signed_decimal"), _ref("address"),
                                         _ref("hash32"), {"type": "integer"}, {"type": "boolean"},
                                         {"type": "string"})
MARKET = {"type": "integer", "minimum": 0}
UINT = {"anyOf": [{"type": "integer", "minimum": 0},
                  {"type": "string", "pattern": "^[0-9]{1,78}$", "description": "a digit string"}]}
EVENT = {"type": "object", "properties": {"type": STR, "seq": INT, "ts_ms": INT},
         "required": ["type", "seq", "ts_ms"]}

DEFS = {
    "decimal": {"type": "string", "pattern": r"^\d{1,60}(\.\d{1,18})?$",
                "description": "an unsigned decimal string with at most 18 decimals"},
    "signed_decimal": {"type": "string", "pattern": r"^-?\d{1,60}(\.\d{1,18})?$",
                       "description": "a decimal string with at most 18 decimals"},
    "address": {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$",
                "description": "a 0x address of 20 bytes"},
    "hash32": {"type": "string", "pattern": "^0x[0-9a-fA-F]{64}$",
               "description": "0x hex of 32 bytes"},
    "signature": {"type": "string", "pattern": "^0x[0-9a-fA-F]{130}$",
                  "description": "0x hex of a 65-byte signature r||s||v"},
    "order": _obj(
        {"trader": ADDR, "market": MARKET, "is_buy": BOOL, "size": DEC, "limit_price": DEC,
         "max_fee_rate": DEC, "nonce": UINT, "chain_id": {"type": "integer", "minimum": 0},
         "signature": _ref("signature")},
        {"trigger_price": DEC, "flags": {"type": "integer", "minimum": 0, "maximum": 2**255},
         "expiry": UINT, "verifying_contract": ADDR}),
    "cancel": _obj({"trader": ADDR, "order_hash": HASH, "nonce": UINT,
                    "chain_id": {"type": "integer", "minimum": 0}, "signature": _ref("signature")},
                   {"verifying_contract": ADDR}),
    "order_result": _obj(
        {"order_hash": HASH, "status": {"enum": ["open", "pending", "filled", "cancelled"]},
         "filled": DEC, "remaining": DEC, "seq": INT, "trades": _list(EVENT),
         "events": _list(EVENT)}),
    "cancel_result": _obj({"order_hash": HASH, "status": {"const": "cancelled"},
                           "remaining": DEC, "seq": INT}),
    "error": {"type": "object", "properties": {"code": INT, "message": STR,
                                               "data": {"type": "object"}},
              "required": ["code", "message"]},
    "order_view": _obj(
        {"order_hash": HASH, "status": STR, "filled": DEC, "remaining": DEC,
         "accepted_ts_ms": INT, "reason": _nullable(STR), "trader": ADDR, "market": INT,
         "is_buy": BOOL, "size": DEC, "limit_price": DEC, "trigger_price": DEC, "flags": INT,
         "max_fee_rate": DEC, "nonce": INT, "expiry": INT}),
    "trade": {**EVENT, "properties": {**EVENT["properties"], "market": INT, "maker": ADDR,
                                      "taker": ADDR, "size": DEC, "price": DEC,
                                      "taker_is_buy": BOOL}},
    "funding_event": {**EVENT, "properties": {**EVENT["properties"], "market": INT,
                                              "funding_ts_ms": INT, "rate": SDEC,
                                              "mark": DEC, "payments": _list(_obj(
                                                  {"account": ADDR, "size": SDEC,
                                                   "amount": SDEC}))}},
    "market": _obj(
        {"market_id": INT, "symbol": STR, "tick_size": DEC, "step_size": DEC, "imf": DEC,
         "mmf": DEC, "funding_interval_s": INT, "funding_cap": DEC, "funding_max_change": DEC,
         "liquidation_fee_rate": DEC, "maker_fee_rate": DEC, "taker_fee_rate": DEC,
         "impact_notional": DEC}),
    "prices": _obj(
        {"market": INT, "symbol": STR, "index": _nullable(DEC), "mark": _nullable(DEC),
         "best_bid": _nullable(DEC), "best_ask": _nullable(DEC), "open_interest": DEC,
         "funding_index": SDEC, "last_funding_rate": SDEC,
         "next_funding_ts_ms": _nullable(INT), "circuit_breaker": BOOL}),
    "book": _obj({"market": INT, "seq": INT, "bids": _list(_list(DEC)),
                  "asks": _list(_list(DEC))}),
    "account": _obj(
        {"account": ADDR, "cash": SDEC, "equity": SDEC, "initial_margin": DEC,
         "maintenance_margin": DEC, "margin_used": DEC, "free_collateral": SDEC, "stake": DEC,
         "flagged": BOOL, "open_orders": INT}),
    "position": _obj(
        {"market": INT, "size": SDEC, "entry_price": DEC, "mark": DEC, "unrealized_pnl": SDEC,
         "realized_pnl": SDEC, "funding_paid": SDEC, "isolated": BOOL,
         "liquidation_price": _nullable(DEC), "adl_rank": _nullable(INT),
         "funding_rate_projected": SDEC, "funding_accrued": SDEC,
         "funding_next_payment": SDEC, "next_funding_ts_ms": _nullable(INT)}),
}

_ACCOUNT_P = _obj({"account": ADDR})
_MARKET_P = _obj({"market": MARKET})
_LIMIT = {"type": "integer", "minimum": 1, "maximum": 1000}

METHODS: dict[str, dict] = {
    "get_info": ("the exchange's EIP-712 domain, clock, last seq and limits", _obj({}), _obj(
        {"chain_id": INT, "verifying_contract": ADDR, "name": STR, "version": STR,
         "server_time_ms": INT, "last_seq": INT, "rate_limit_per_s": INT,
         "rate_limit_burst": INT, "max_orders_per_call": INT, "dev": BOOL,
         "chain_connected": BOOL})),
    "get_schema": ("this schema", _obj({}), {"type": "object"}),
    "place_order": ("place one signed order; an engine rejection is an error with its code",
                    _ref("order"), _ref("order_result")),
    "place_orders": ("place up to max_orders_per_call signed orders in order; each result is "
                     "the order's result or its error",
                     _obj({"orders": {**_list(_ref("order"), 1000), "minItems": 1}}),
                     _obj({"results": _list({"oneOf": [
                         _obj({"result": _ref("order_result")}),
                         _obj({"error": _ref("error")})]})})),
    "cancel_order": ("cancel one order by a signed EIP-712 Cancel(trader, orderHash, nonce)",
                     _ref("cancel"), _ref("cancel_result")),
    "cancel_orders": ("cancel orders by id (order hash), each with its signed Cancel",
                      _obj({"cancels": {**_list(_ref("cancel"), 1000), "minItems": 1}}),
                      _obj({"results": _list({"oneOf": [
                          _obj({"result": _ref("cancel_result")}),
                          _obj({"error": _ref("error")})]})})),
    "cancel_all": ("cancel every open and pending order of the trader (in one market, or all); "
                   "signed Cancel with orderHash = bytes32(market) (0: all markets) and nonce = "
                   "the current unix ms", _obj(
                       {"trader": ADDR, "nonce": UINT, "chain_id": {"type": "integer"},
                        "signature": _ref("signature")},
                       {"market": _nullable(MARKET), "verifying_contract": ADDR}),
                   _obj({"cancelled": _list(HASH), "seq": INT})),
    "get_order": ("one order's status by hash", _obj({"order_hash": HASH}), _ref("order_view")),
    "get_open_orders": ("the account's resting and pending orders, oldest first",
                        _obj({"account": ADDR}, {"market": _nullable(MARKET)}),
                        _list(_ref("order_view"))),
    "get_fills": ("the account's latest fills, oldest first",
                  _obj({"account": ADDR}, {"limit": _LIMIT}), _list(_ref("trade"))),
    "get_markets": ("every market and its parameters", _obj({}), _list(_ref("market"))),
    "get_book": ("the L2 book to a depth: [price, size] per level",
                 _obj({"market": MARKET}, {"depth": _LIMIT}), _ref("book")),
    "get_trades": ("the market's latest trades, oldest first",
                   _obj({"market": MARKET}, {"limit": _LIMIT}), _list(_ref("trade"))),
    "get_prices": ("index, mark, book top, open interest and funding state", _MARKET_P,
                   _ref("prices")),
    "get_funding": ("funding rate history and the projected rate of the current interval",
                    _obj({"market": MARKET}, {"limit": _LIMIT}), _obj(
                        {"market": INT, "projected_rate": SDEC, "last_rate": SDEC,
                         "next_funding_ts_ms": _nullable(INT), "interval_ms": INT,
                         "history": _list(_ref("funding_event"))})),
    "get_account": ("collateral, equity, margin used and free collateral", _ACCOUNT_P,
                    _ref("account")),
    "get_positions": ("open positions with entry, PnL, liquidation price, ADL rank and funding",
                      _ACCOUNT_P, _list(_ref("position"))),
    "get_adl_queue": ("the public ADL ranking against a bankrupt position on one side",
                      _obj({"market": MARKET, "side": {"enum": ["long", "short"]}}),
                      _list(_obj({"account": ADDR, "score": SDEC, "rank": INT}))),
    "get_insurance": ("the insurance fund balance and its history", _obj({}, {"limit": _LIMIT}),
                      _obj({"balance": SDEC, "history": _list(_obj(
                          {"seq": INT, "ts_ms": INT, "balance": SDEC, "change": SDEC,
                           "cause": STR}))})),
    "get_last_batch": ("the last settlement batch settled on chain and its transaction",
                       _obj({}), _obj({"batch_id": INT, "first_seq": _nullable(INT),
                                       "last_seq": _nullable(INT),
                                       "journal_digest": _nullable(HASH),
                                       "tx_hash": _nullable(HASH),
                                       "block_number": _nullable(INT)})),
    "subscribe": ("WebSocket only: push a channel's updates (book needs market, account needs "
                  "account, trades and funding take an optional market)",
                  _obj({"channel": {"enum": list(CHANNELS)}},
                       {"market": MARKET, "account": ADDR, "depth": _LIMIT}),
                  _obj({"subscription": STR})),
    "unsubscribe": ("WebSocket only: stop a subscription", _obj({"subscription": STR}),
                    _obj({"unsubscribed": BOOL})),
    "dev_deposit": ("dev mode only (no chain): credit collateral as if deposited on chain",
                    _obj({"account": ADDR, "amount": DEC}), _list(EVENT)),
    "dev_withdraw": ("dev mode only (no chain): debit free collateral",
                     _obj({"account": ADDR, "amount": DEC}), _list(EVENT)),
    "dev_set_index": ("dev mode only (no keepers): post an index price",
                      _obj({"market": MARKET, "index": DEC}), _list(EVENT)),
}
METHODS = {name: {"description": d, "params": p, "result": r}
           for name, (d, p, r) in METHODS.items()}  # type: ignore[misc]

NOTIFICATION = _obj({"jsonrpc": {"const": "2.0"}, "method": {"const": "subscription"},
                     "params": _obj({"subscription": STR, "channel": {"enum": list(CHANNELS)},
                                     "data": {"type": ["object", "array"]}})})


def build_schema() -> dict:
    """The whole schema document (what schema.json holds)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "perpx engine JSON-RPC 2.0 API",
        "version": "1",
        "$defs": DEFS,
        "methods": METHODS,
        "notification": NOTIFICATION,
        "errors": {str(code): {"name": name, "meaning": meaning}
                   for code, (name, meaning) in all_codes().items()},
    }


def schema_text() -> str:
    return json.dumps(build_schema(), indent=1, sort_keys=False) + "\n"


def load_schema() -> dict:
    """The schema as kept in the repo."""
    return json.loads(SCHEMA_PATH.read_text())


if __name__ == "__main__":
    SCHEMA_PATH.write_text(schema_text())
    print(f"wrote {SCHEMA_PATH}")
