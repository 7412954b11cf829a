"""JSON-RPC over a real WebSocket: calls, and subscriptions to trades, book, account and
funding pushes."""

from __future__ import annotations

import json

from websockets.sync.client import connect

from engine.api.schema import build_schema
from engine.core.rules import FLAG_IOC
from tests.api.conftest import VALIDATOR, check_response


class Ws:
    def __init__(self, url: str) -> None:
        self.ws = connect(url, max_size=None, open_timeout=10)
        self.next_id = 0
        self.notes: list[dict] = []

    def call(self, method: str, params: dict | None = None) -> dict:
        self.next_id += 1
        rid = self.next_id
        self.ws.send(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method,
                                 "params": params or {}}))
        while True:
            msg = json.loads(self.ws.recv(timeout=10))
            if msg.get("id") == rid:
                check_response(method, msg)
                return msg
            self.notes.append(msg)

    def note(self, channel: str) -> dict:
        """The next notification of `channel` (checked against the schema)."""
        for i, msg in enumerate(self.notes):
            if msg["params"]["channel"] == channel:
                return self.notes.pop(i)
        while True:
            msg = json.loads(self.ws.recv(timeout=10))
            assert VALIDATOR.first_error(msg, build_schema()["notification"], "note") is None
            if msg["params"]["channel"] == channel:
                return msg
            self.notes.append(msg)


def test_ws_call__get_info__same_answer_as_http(stack):
    ws = Ws(stack[0].ws_url)
    assert ws.call("get_info")["result"]["chain_id"] == 31337
    assert ws.call("nope")["error"]["code"] == -32601
    ws.ws.send("{broken")
    assert json.loads(ws.ws.recv(timeout=10))["error"]["code"] == -32700


def test_subscribe__trade_between_maker_and_taker__trades_book_account_pushed(
        funded, stack, maker, taker):
    ws = Ws(stack[0].ws_url)
    subs = {ch: ws.call("subscribe", params)["result"]["subscription"] for ch, params in (
        ("trades", {"channel": "trades", "market": 1}),
        ("book", {"channel": "book", "market": 1, "depth": 5}),
        ("account", {"channel": "account", "account": taker.address}))}
    assert len(set(subs.values())) == 3
    funded.ok("place_order", maker.order_params(maker.order(1, False, "1.5", "2000")))
    book = ws.note("book")["params"]["data"]
    assert (book["market"], book["asks"], book["bids"]) == (1, [["2000", "1.5"]], [])
    funded.ok("place_order", taker.order_params(taker.order(1, True, "1", "2000", flags=FLAG_IOC)))
    trade = ws.note("trades")["params"]["data"]
    assert (trade["type"], trade["size"], trade["price"], trade["taker"]) == \
        ("TradeExecuted", "1", "2000", taker.address)
    mine = [ws.note("account")["params"]["data"]["type"] for _ in range(2)]
    assert mine == ["OrderAccepted", "TradeExecuted"]  # filled in full: nothing cancelled
    book = ws.note("book")["params"]["data"]
    assert book["asks"] == [["2000", "0.5"]]
    assert ws.call("unsubscribe", {"subscription": subs["trades"]})["result"] == \
        {"unsubscribed": True}
    err = ws.call("unsubscribe", {"subscription": subs["trades"]})["error"]
    assert (err["code"], err["message"]) == \
        (4004, f"subscription: {subs['trades']!r} is not active on this connection")


def test_subscribe__bad_channel_params__errors_name_the_field(stack):
    ws = Ws(stack[0].ws_url)
    assert ws.call("subscribe", {"channel": "book"})["error"]["message"] == \
        "market: required for the book channel"
    assert ws.call("subscribe", {"channel": "account"})["error"]["message"] == \
        "account: required for the account channel"
    assert ws.call("subscribe", {"channel": "candles"})["error"]["code"] == -32602
    assert ws.call("subscribe", {"channel": "trades", "market": 42})["error"]["code"] == 1001


def test_subscribe__funding_interval_passes__funding_event_pushed(funded, stack, maker, taker):
    from engine.core.commands import Tick

    server, service, seq = stack
    funded.ok("place_order", maker.order_params(maker.order(1, False, "1", "2000")))
    funded.ok("place_order", taker.order_params(taker.order(1, True, "1", "2000", flags=FLAG_IOC)))
    ws = Ws(server.ws_url)
    ws.call("subscribe", {"channel": "funding", "market": 1})
    ws.call("subscribe", {"channel": "account", "account": maker.address})
    nxt = funded.ok("get_prices", {"market": 1})["next_funding_ts_ms"]
    seq.submit(Tick(nxt + 1))  # the keeper's clock reaching the funding timestamp
    ev = ws.note("funding")["params"]["data"]
    assert (ev["type"], ev["funding_ts_ms"], ev["rate"], ev["mark"]) == \
        ("FundingApplied", nxt, "0.0001", "2000")
    assert sorted((p["account"], p["amount"]) for p in ev["payments"]) == \
        sorted([(maker.address, "-0.2"), (taker.address, "0.2")])
    assert ws.note("account")["params"]["data"]["type"] == "FundingApplied"
    hist = funded.ok("get_funding", {"market": 1})["history"]
    assert [h["funding_ts_ms"] for h in hist] == [nxt]
