"""The API's methods over a sequencer: synchronous, thread-safe, transport-free.

`ExchangeService.call(method, params)` validates `params` against the method's
schema, runs it and returns its JSON result, or raises `ApiError`. The HTTP and
WebSocket server (server.py) runs these calls on worker threads.

Writes. An order passes, in this order: its schema (-32602), the EIP-712
domain (4002/4003), the engine's own shape rules, checked here with the same
pure function the core uses (1001-1013: unknown market, step, tick, flags,
expiry), the signature (4001, coincurve, with `engine.eip712.recover`'s rules), the
account's rate limit (4029, charged only once the signature proved the
account), and duplicates (1007: known to the engine, or in flight in another
call). Only what passes all of them is journaled, so a malformed request never
reaches the journal and never changes state; the rest of its call still goes
through. Orders of one call are journaled together (`submit_many`: one
transaction, consecutive seqs) and concurrent calls share group commits.

Why it is fast: the domain separator is computed once; each order costs one
keccak for its struct, one for its digest and one coincurve recovery (~45 us),
compared as raw address bytes (no EIP-55 checksum); a well-formed order skips the
generic schema walk (engine/api/verify.py);
verification runs on the worker thread of its call, off the event loop, and
coincurve and SQLite release the GIL while they work; many orders share one
journal transaction.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from eth_utils import keccak

from engine.api import reads, wire
from engine.api.errors import ApiCode, ApiError, invalid
from engine.api.feed import Feed
from engine.api.ratelimit import RateLimit, RateLimiter
from engine.api.schema import METHODS, build_schema
from engine.api.validate import Validator
from engine.core.codes import RejectCode
from engine.core.commands import CancelAll, CancelOrder, Deposit, PlaceOrder, UpdateIndex, Withdraw
from engine.core.events import (
    CancelRejected,
    CommandRejected,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderTriggered,
    TradeExecuted,
    WithdrawalRejected,
)
from engine.core.validation import check_shape
from engine.core.views import CANCELLED, FILLED
from engine.api.verify import order_shape_ok, signer_bytes
from engine.eip712 import CANCEL_TYPEHASH, Domain, SignatureError, order_struct_hash
from engine.journal.errors import SequencerHalted
from engine.sequencer import Sequencer

CANCEL_ALL_WINDOW_MS = 60_000
# place_order(s) check each order in place_many (a bad one fails alone, not its whole call)
_OBJECT = {"type": "object"}
_LIGHT = {"place_order": _OBJECT,
          "place_orders": {"type": "object", "required": ["orders"],
                           "additionalProperties": False,
                           "properties": {"orders": {"type": "array", "minItems": 1,
                                                     "maxItems": 1000}}}}
MAX_ORDERS_PER_CALL = 1000
DEV_METHODS = ("dev_deposit", "dev_withdraw", "dev_set_index")


class ExchangeService:
    """The API over one `Sequencer` (see module docstring).

    `domain`: the EIP-712 domain orders must be signed for; `chain`: an object with
    `last_batch() -> dict` (engine/api/chainview.py), or None without a chain; `dev`:
    enables the dev_* methods (deposits and prices without chain or keepers)."""

    def __init__(self, sequencer: Sequencer, domain: Domain, *,
                 rate_limit: RateLimit = RateLimit(), dev: bool = False,
                 chain: Any = None) -> None:
        self.sequencer = sequencer
        self.domain = domain
        self.dev = dev
        self.chain = chain
        self.specs = sequencer.query(lambda e: dict(e.specs))
        self.limiter = RateLimiter(rate_limit)
        self.schema = build_schema()
        self.validator = Validator(self.schema)
        self.feed = Feed(sequencer.query(lambda e: e.ledger.insurance))
        self.feed.attach_engine(sequencer.engine)
        sequencer.subscribe(self.feed.on_applied)
        self._separator = domain.separator
        self._lock = threading.Lock()
        self._inflight: set[bytes] = set()
        self._last_ms = 0
        self._cancel_nonces: dict[str, dict[int, int]] = {}
        self._methods = {name: getattr(self, "m_" + name) for name in METHODS
                         if hasattr(self, "m_" + name) and (dev or name not in DEV_METHODS)}

    # ------------------------------------------------------------------ plumbing

    def now_ms(self) -> int:
        """The adapter's clock, unix ms, never going backwards (commands carry it)."""
        now = time.time_ns() // 1_000_000
        with self._lock:
            if now < self._last_ms:
                now = self._last_ms
            self._last_ms = now
        return now

    def has_method(self, method: str) -> bool:
        return method in self._methods

    def check_params(self, method: str, params: object) -> dict:
        """The params of `method` checked against its schema; -32601 / -32602 otherwise."""
        if method not in self._methods:
            hint = " (dev methods need `perpx up` without a chain, or --dev)" \
                if method in DEV_METHODS else ""
            raise ApiError(ApiCode.METHOD_NOT_FOUND, f"method: {method!r} does not exist{hint}")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise invalid("params", "must be an object (parameters by name)")
        schema = _LIGHT.get(method) or METHODS[method]["params"]
        err = self.validator.first_error(params, schema, "params")
        if err:
            raise ApiError(ApiCode.INVALID_PARAMS, err[len("params."):] if
                           err.startswith("params.") else err)
        return params

    def call(self, method: str, params: object) -> Any:
        """Run one method: its JSON result, or ApiError."""
        params = self.check_params(method, params)
        try:
            return self._methods[method](params)
        except SequencerHalted as exc:
            raise ApiError(ApiCode.ENGINE_UNAVAILABLE, f"engine: {exc}") from exc

    def _query(self, fn: Any) -> Any:
        return self.sequencer.query(fn)

    def _submit(self, cmds: list) -> list[tuple[int, list]]:
        return self.sequencer.submit_many(cmds)

    def _check_domain(self, p: dict) -> None:
        if p["chain_id"] != self.domain.chain_id:
            raise ApiError(ApiCode.WRONG_CHAIN_ID,
                           f"chain_id: {p['chain_id']} is not this exchange's chain "
                           f"{self.domain.chain_id}")
        vc = p.get("verifying_contract")
        if vc is not None and wire.to_address(vc, "verifying_contract") != \
                wire.to_address(self.domain.verifying_contract, "verifying_contract"):
            raise ApiError(ApiCode.WRONG_CONTRACT,
                           f"verifying_contract: {vc} is not this exchange's "
                           f"{self.domain.verifying_contract}")

    def _recover(self, digest: bytes, sig: bytes, trader: str) -> None:
        try:
            signer = signer_bytes(digest, sig)
        except SignatureError as exc:
            raise ApiError(ApiCode.BAD_SIGNATURE, f"signature: {exc}") from exc
        if signer != bytes.fromhex(trader[2:]):
            signer = wire.to_address("0x" + signer.hex(), "signature")
            raise ApiError(ApiCode.BAD_SIGNATURE,
                           f"signature: recovers {signer}, not trader {trader} (check the "
                           "signed fields and the EIP-712 domain)")

    # -------------------------------------------------------------------- orders

    def _check_order(self, p: dict, now: int) -> PlaceOrder:
        if not order_shape_ok(p):
            err = self.validator.first_error(p, {"$ref": "#/$defs/order"}, "order")
            raise ApiError(ApiCode.INVALID_PARAMS, err[len("order."):] if err and
                           err.startswith("order.") else err or "order: malformed")
        self._check_domain(p)
        order = wire.order_from_params(p)
        bad = check_shape(order, self.specs.get(order.market), now)
        if bad is not None:
            raise ApiError(bad[0], bad[1])
        sig = wire.to_bytes(p["signature"], "signature", 65)
        digest = keccak(b"\x19\x01" + self._separator + order_struct_hash(order))
        self._recover(digest, sig, order.trader)
        self.limiter.charge(order.trader)
        return PlaceOrder(order, digest, sig, now)

    def place_many(self, items: list[dict]) -> list[dict]:
        """Each order's result or error, in order (module docstring)."""
        now = self.now_ms()
        out: list[dict | None] = [None] * len(items)
        cmds: list[PlaceOrder] = []
        where: list[int] = []
        claimed: list[bytes] = []
        try:
            for i, p in enumerate(items):
                try:
                    cmd = self._check_order(p, now)
                    with self._lock:
                        if cmd.order_hash in self._inflight:
                            raise _duplicate(cmd.order_hash)
                        self._inflight.add(cmd.order_hash)
                    claimed.append(cmd.order_hash)
                except ApiError as exc:
                    out[i] = {"error": exc.as_json()}
                    continue
                cmds.append(cmd)
                where.append(i)
            if cmds:
                # refused here, not journaled: a replayed order, or a spent nonce
                known = self._query(lambda e: [
                    (c.order_hash in e.orders, e.nonce_used(c.order.trader, c.order.nonce))
                    for c in cmds])
                fresh = []
                for cmd, i, (seen, spent) in zip(cmds, where, known):
                    if seen:
                        out[i] = {"error": _duplicate(cmd.order_hash).as_json()}
                    elif spent:
                        out[i] = {"error": _nonce_reused(cmd).as_json()}
                    else:
                        fresh.append((cmd, i))
                if fresh:
                    results = self._submit([c for c, _ in fresh])
                    for (cmd, i), (seq, events) in zip(fresh, results):
                        out[i] = _order_outcome(cmd, seq, events)
        finally:
            if claimed:
                with self._lock:
                    self._inflight.difference_update(claimed)
        return out  # type: ignore[return-value]

    def m_place_order(self, p: dict) -> dict:
        (res,) = self.place_many([p])
        if "error" in res:
            e = res["error"]
            raise ApiError(e["code"], e["message"], {k: v for k, v in e["data"].items()
                                                     if k != "name"})
        return res["result"]

    def m_place_orders(self, p: dict) -> dict:
        return {"results": self.place_many(p["orders"])}

    # ------------------------------------------------------------------- cancels

    def _check_cancel(self, p: dict, now: int) -> CancelOrder:
        self._check_domain(p)
        trader = wire.to_address(p["trader"], "trader")
        h = wire.to_bytes(p["order_hash"], "order_hash", 32)
        nonce = wire.to_uint(p["nonce"], "nonce")
        sig = wire.to_bytes(p["signature"], "signature", 65)
        self._recover(self._cancel_digest(trader, h, nonce), sig, trader)
        self.limiter.charge(trader)
        return CancelOrder(trader, h, now)

    def _cancel_digest(self, trader: str, h: bytes, nonce: int) -> bytes:
        struct = keccak(CANCEL_TYPEHASH + bytes(12) + bytes.fromhex(trader[2:]) + h
                        + nonce.to_bytes(32, "big"))
        return keccak(b"\x19\x01" + self._separator + struct)

    def cancel_many(self, items: list[dict]) -> list[dict]:
        now = self.now_ms()
        out: list[dict | None] = [None] * len(items)
        cmds: list[tuple[CancelOrder, int]] = []
        for i, p in enumerate(items):
            try:
                cmds.append((self._check_cancel(p, now), i))
            except ApiError as exc:
                out[i] = {"error": exc.as_json()}
        if cmds:
            checks = self._query(lambda e: [_cancel_precheck(e, c) for c, _ in cmds])
            ok = []
            for (cmd, i), bad in zip(cmds, checks):
                if bad is None:
                    ok.append((cmd, i))
                else:
                    out[i] = {"error": bad.as_json()}
            if ok:
                for (cmd, i), (seq, events) in zip(ok, self._submit([c for c, _ in ok])):
                    out[i] = _cancel_outcome(cmd, seq, events)
        return out  # type: ignore[return-value]

    def m_cancel_order(self, p: dict) -> dict:
        (res,) = self.cancel_many([p])
        if "error" in res:
            raise ApiError(res["error"]["code"], res["error"]["message"])
        return res["result"]

    def m_cancel_orders(self, p: dict) -> dict:
        return {"results": self.cancel_many(p["cancels"])}

    def m_cancel_all(self, p: dict) -> dict:
        self._check_domain(p)
        now = self.now_ms()
        trader = wire.to_address(p["trader"], "trader")
        nonce = wire.to_uint(p["nonce"], "nonce")
        market = p.get("market")
        if market is not None and market not in self.specs:
            raise ApiError(RejectCode.UNKNOWN_MARKET, f"market: {market} is not listed")
        sig = wire.to_bytes(p["signature"], "signature", 65)
        self._recover(self._cancel_digest(trader, (market or 0).to_bytes(32, "big"), nonce),
                      sig, trader)
        self._use_cancel_nonce(trader, nonce, now)
        self.limiter.charge(trader)
        ((seq, events),) = self._submit([CancelAll(trader, market, now)])
        for ev in events:
            if isinstance(ev, CommandRejected):
                raise ApiError(ev.code, ev.message)
        return {"cancelled": [wire.hex0x(e.order_hash) for e in events
                              if isinstance(e, OrderCancelled) and e.trader == trader
                              and e.reason == "user"], "seq": seq}

    def _use_cancel_nonce(self, trader: str, nonce: int, now: int) -> None:
        if abs(nonce - now) > CANCEL_ALL_WINDOW_MS:
            raise ApiError(ApiCode.STALE_NONCE,
                           f"nonce: {nonce} must be the current unix time in ms (server time "
                           f"{now}, window {CANCEL_ALL_WINDOW_MS} ms)")
        with self._lock:
            used = self._cancel_nonces.setdefault(trader, {})
            for old in [n for n, t in used.items() if t < now - 2 * CANCEL_ALL_WINDOW_MS]:
                del used[old]
            if nonce in used:
                raise ApiError(ApiCode.STALE_NONCE, f"nonce: {nonce} was already used by "
                               f"{trader}; sign a new cancel-all")
            used[nonce] = now

    # --------------------------------------------------------------------- reads

    def m_get_info(self, p: dict) -> dict:
        lim = self.limiter.limit
        return {"chain_id": self.domain.chain_id,
                "verifying_contract": wire.to_address(self.domain.verifying_contract, "vc"),
                "name": self.domain.name, "version": self.domain.version,
                "server_time_ms": self.now_ms(), "last_seq": self.sequencer.last_seq,
                "rate_limit_per_s": lim.rate_per_s, "rate_limit_burst": lim.burst,
                "max_orders_per_call": MAX_ORDERS_PER_CALL, "dev": self.dev,
                "chain_connected": self.chain is not None}

    def m_get_schema(self, p: dict) -> dict:
        return self.schema

    def m_get_order(self, p: dict) -> dict:
        h = wire.to_bytes(p["order_hash"], "order_hash", 32)
        return self._query(lambda e: reads.order(e, h))

    def m_get_open_orders(self, p: dict) -> list:
        acct = wire.to_address(p["account"], "account")
        return self._query(lambda e: reads.open_orders(e, acct, p.get("market")))

    def m_get_fills(self, p: dict) -> list:
        acct = wire.to_address(p["account"], "account")
        return self._query(lambda e: reads.fills(e, acct, p.get("limit", 100)))

    def m_get_markets(self, p: dict) -> list:
        return self._query(reads.markets)

    def book(self, market: int, depth: int) -> dict:
        return self._query(lambda e: reads.book(e, market, depth, self.sequencer.last_seq))

    def m_get_book(self, p: dict) -> dict:
        return self.book(p["market"], p.get("depth", 20))

    def m_get_trades(self, p: dict) -> list:
        return self._query(lambda e: reads.trades(e, p["market"], p.get("limit", 100),
                                                  self.feed.recent_trades))

    def m_get_prices(self, p: dict) -> dict:
        return self._query(lambda e: reads.prices(e, p["market"]))

    def m_get_funding(self, p: dict) -> dict:
        return self._query(lambda e: reads.funding(e, p["market"], p.get("limit", 100)))

    def m_get_account(self, p: dict) -> dict:
        acct = wire.to_address(p["account"], "account")
        return self._query(lambda e: reads.account(e, acct))

    def m_get_positions(self, p: dict) -> list:
        acct = wire.to_address(p["account"], "account")
        now = self.now_ms()
        return self._query(lambda e: reads.positions(e, acct, now))

    def m_get_adl_queue(self, p: dict) -> list:
        return self._query(lambda e: reads.adl_queue(e, p["market"], p["side"]))

    def m_get_insurance(self, p: dict) -> dict:
        return self._query(lambda e: reads.insurance(e, p.get("limit", 100),
                                                     self.feed.insurance_history))

    def m_get_last_batch(self, p: dict) -> dict:
        if self.chain is None:
            raise ApiError(ApiCode.CHAIN_UNAVAILABLE,
                           "chain: no chain is connected to this engine (run `perpx up` with a "
                           "chain to settle batches)")
        try:
            return self.chain.last_batch()
        except Exception as exc:  # the node is down or answers garbage: say so
            raise ApiError(ApiCode.CHAIN_UNAVAILABLE, f"chain: {exc}") from exc

    def m_subscribe(self, p: dict) -> dict:
        raise ApiError(ApiCode.WEBSOCKET_ONLY, "method: subscribe needs a WebSocket connection "
                       "(ws://.../ws)")

    def m_unsubscribe(self, p: dict) -> dict:
        raise ApiError(ApiCode.WEBSOCKET_ONLY, "method: unsubscribe needs a WebSocket "
                       "connection (ws://.../ws)")

    # ----------------------------------------------------------------------- dev

    def _dev(self, cmd: object) -> list:
        ((_, events),) = self._submit([cmd])
        for ev in events:
            if isinstance(ev, (CommandRejected, WithdrawalRejected)):
                raise ApiError(ev.code, ev.message)
        return [wire.event_json(e) for e in events]

    def m_dev_deposit(self, p: dict) -> list:
        acct = wire.to_address(p["account"], "account")
        return self._dev(Deposit(acct, wire.to_wad(p["amount"], "amount"), self.now_ms()))

    def m_dev_withdraw(self, p: dict) -> list:
        acct = wire.to_address(p["account"], "account")
        return self._dev(Withdraw(acct, wire.to_wad(p["amount"], "amount"), self.now_ms()))

    def m_dev_set_index(self, p: dict) -> list:
        if p["market"] not in self.specs:
            raise ApiError(RejectCode.UNKNOWN_MARKET, f"market: {p['market']} is not listed")
        return self._dev(UpdateIndex(p["market"], wire.to_wad(p["index"], "index"),
                                     self.now_ms()))


def _duplicate(h: bytes) -> ApiError:
    return ApiError(RejectCode.DUPLICATE_ORDER,
                    f"order_hash: {wire.hex0x(h)} was already accepted (or is being placed); "
                    "change the nonce to place a new order", {"order_hash": wire.hex0x(h)})


def _nonce_reused(cmd: PlaceOrder) -> ApiError:
    order = cmd.order
    return ApiError(RejectCode.NONCE_REUSED,
                    f"nonce: {order.nonce} was already used by an accepted order of "
                    f"{order.trader}; sign the order with a fresh nonce",
                    {"order_hash": wire.hex0x(cmd.order_hash)})


def _mine(h: bytes, ev: object) -> bool:
    return h in (getattr(ev, "order_hash", None), getattr(ev, "taker_order", None),
                 getattr(ev, "maker_order", None))


def _order_outcome(cmd: PlaceOrder, seq: int, events: list) -> dict:
    """{"result": ...} or {"error": ...} of one journaled order, from its events."""
    h = cmd.order_hash
    mine = [e for e in events if _mine(h, e)]
    status, filled = "open", 0
    for ev in mine:
        kind = type(ev)
        if kind is OrderRejected:
            return {"error": ApiError(ev.code, ev.message, {"order_hash": wire.hex0x(h),
                                                            "seq": seq}).as_json()}
        if kind is OrderAccepted and ev.pending_trigger:
            status = "pending"
        elif kind is OrderTriggered:
            status = "open"
        elif kind is TradeExecuted:
            filled += ev.size
        elif kind is OrderCancelled:
            status = CANCELLED
    size = cmd.order.size
    if status == "open" and filled >= size:
        status = FILLED
    remaining = size - filled if status in ("open", "pending") else 0
    trades = [wire.trade_json(e) for e in mine if type(e) is TradeExecuted]
    return {"result": {"order_hash": wire.hex0x(h), "status": status,
                       "filled": wire.from_wad(filled), "remaining": wire.from_wad(remaining),
                       "seq": seq, "trades": trades,
                       "events": [wire.event_json(e) for e in mine]}}


def _cancel_precheck(engine: Any, cmd: CancelOrder) -> ApiError | None:
    rec = engine.orders.get(cmd.order_hash)
    if rec is None or rec.status not in ("open", "pending"):
        return ApiError(RejectCode.UNKNOWN_ORDER, f"order_hash: {wire.hex0x(cmd.order_hash)} "
                        "is not an open or pending order")
    if rec.order.trader != cmd.account:
        return ApiError(RejectCode.NOT_ORDER_OWNER, f"trader: order "
                        f"{wire.hex0x(cmd.order_hash)} belongs to another account")
    return None


def _cancel_outcome(cmd: CancelOrder, seq: int, events: list) -> dict:
    for ev in events:
        if isinstance(ev, CancelRejected) and ev.order_hash == cmd.order_hash:
            return {"error": ApiError(ev.code, ev.message).as_json()}
        if isinstance(ev, OrderCancelled) and ev.order_hash == cmd.order_hash:
            return {"result": {"order_hash": wire.hex0x(ev.order_hash), "status": "cancelled",
                               "remaining": wire.from_wad(ev.remaining), "seq": seq}}
    raise ApiError(ApiCode.INTERNAL_ERROR, "cancel: the engine answered neither cancelled nor "
                   "rejected")
