"""A small Python client of the perpx API: async (`AsyncClient`) and sync (`Client`).

It builds orders, signs them with eth-account (EIP-712 digest of
engine/eip712.py, the same bytes a wallet's eth_signTypedData_v4 signs), calls
every method and consumes WebSocket subscriptions. Amounts may be given as str,
int or Decimal; they travel as decimal strings, and results come back exactly as
the API sends them (decimal strings).

    client = Client("http://127.0.0.1:8765", key=private_key)
    client.connect()                       # reads the EIP-712 domain from get_info
    res = client.place_order(1, True, "0.5", "2000", max_fee_rate="0.001")
    client.cancel_order(res["order_hash"])
    for note in client.subscribe("trades", market=1): ...
"""

from __future__ import annotations

import itertools
import socket
import json
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
from eth_account import Account

from engine.api import wire
from engine.api.errors import ApiError
from engine.core.orders import Order
from engine.eip712 import Domain, cancel_hash, order_hash, sign_digest

Amount = str | int | Decimal
DEFAULT_URL = "http://127.0.0.1:8765"
DEFAULT_MAX_FEE = "0.001"  # 0.1%: above the default taker fee


def _dec(value: Amount) -> str:
    text = format(Decimal(value), "f") if not isinstance(value, str) else value
    wire.to_wad(text, "amount", signed=True)  # fail here, not on the server
    return text


# Requests are written head then body; without TCP_NODELAY, Nagle and delayed ACKs add 40 ms.
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
_nonces = itertools.count(time.time_ns() // 1000)


def fresh_nonce() -> int:
    """A nonce not used before by this process (microseconds since the epoch, then +1)."""
    return next(_nonces)


class Signer:
    """A trader's key and the exchange's EIP-712 domain: builds signed orders and cancels."""

    def __init__(self, key: str | bytes, domain: Domain) -> None:
        self.account = Account.from_key(key)
        self.key = self.account.key
        self.address = self.account.address
        self.domain = domain

    def order(self, market: int, is_buy: bool, size: Amount, limit_price: Amount, *,
              trigger_price: Amount = 0, flags: int = 0, max_fee_rate: Amount = DEFAULT_MAX_FEE,
              nonce: int | None = None, expiry: int = 0) -> Order:
        return Order(self.address, market, is_buy, wire.to_wad(_dec(size), "size"),
                     wire.to_wad(_dec(limit_price), "limit_price"),
                     wire.to_wad(_dec(trigger_price), "trigger_price"), flags,
                     wire.to_wad(_dec(max_fee_rate), "max_fee_rate"),
                     fresh_nonce() if nonce is None else nonce, expiry)

    def order_params(self, order: Order) -> dict:
        """The place_order params of `order`, signed."""
        sig = sign_digest(self.key, order_hash(self.domain, order))
        return {**wire.order_to_params(order), "chain_id": self.domain.chain_id,
                "signature": wire.hex0x(sig)}

    def cancel_params(self, order_hash_hex: str, nonce: int | None = None) -> dict:
        nonce = fresh_nonce() if nonce is None else nonce
        h = bytes.fromhex(order_hash_hex[2:])
        sig = sign_digest(self.key, cancel_hash(self.domain, self.address, h, nonce))
        return {"trader": self.address, "order_hash": order_hash_hex, "nonce": nonce,
                "chain_id": self.domain.chain_id, "signature": wire.hex0x(sig)}

    def cancel_all_params(self, market: int | None = None) -> dict:
        nonce = time.time_ns() // 1_000_000
        tag = (market or 0).to_bytes(32, "big")
        sig = sign_digest(self.key, cancel_hash(self.domain, self.address, tag, nonce))
        return {"trader": self.address, "market": market, "nonce": nonce,
                "chain_id": self.domain.chain_id, "signature": wire.hex0x(sig)}


def _unwrap(resp: dict) -> Any:
    if "error" in resp:
        e = resp["error"]
        raise ApiError(e["code"], e["message"], e.get("data"))
    return resp["result"]


class _Methods:
    """Every API method as a Python method; `_call` is sync or async in subclasses."""

    signer: Signer | None

    def _call(self, method: str, params: dict) -> Any:
        raise NotImplementedError

    def _signer(self) -> Signer:
        if self.signer is None:
            raise ApiError(-32602, "key: this client has no key or is not connected; pass "
                           "key=... and call connect() first")
        return self.signer

    def info(self) -> Any:
        return self._call("get_info", {})

    def markets(self) -> Any:
        return self._call("get_markets", {})

    def book(self, market: int, depth: int = 20) -> Any:
        return self._call("get_book", {"market": market, "depth": depth})

    def trades(self, market: int, limit: int = 100) -> Any:
        return self._call("get_trades", {"market": market, "limit": limit})

    def prices(self, market: int) -> Any:
        return self._call("get_prices", {"market": market})

    def funding(self, market: int, limit: int = 100) -> Any:
        return self._call("get_funding", {"market": market, "limit": limit})

    def account(self, account: str | None = None) -> Any:
        return self._call("get_account", {"account": account or self._signer().address})

    def positions(self, account: str | None = None) -> Any:
        return self._call("get_positions", {"account": account or self._signer().address})

    def open_orders(self, account: str | None = None, market: int | None = None) -> Any:
        return self._call("get_open_orders", {"account": account or self._signer().address,
                                              "market": market})

    def fills(self, account: str | None = None, limit: int = 100) -> Any:
        return self._call("get_fills", {"account": account or self._signer().address,
                                        "limit": limit})

    def order_status(self, order_hash_hex: str) -> Any:
        return self._call("get_order", {"order_hash": order_hash_hex})

    def adl_queue(self, market: int, side: str) -> Any:
        return self._call("get_adl_queue", {"market": market, "side": side})

    def insurance(self, limit: int = 100) -> Any:
        return self._call("get_insurance", {"limit": limit})

    def last_batch(self) -> Any:
        return self._call("get_last_batch", {})

    def place_order(self, market: int, is_buy: bool, size: Amount, limit_price: Amount,
                    **kw: Any) -> Any:
        signer = self._signer()
        return self._call("place_order", signer.order_params(
            signer.order(market, is_buy, size, limit_price, **kw)))

    def place_orders(self, orders: list[Order]) -> Any:
        signer = self._signer()
        return self._call("place_orders", {"orders": [signer.order_params(o) for o in orders]})

    def cancel_order(self, order_hash_hex: str) -> Any:
        return self._call("cancel_order", self._signer().cancel_params(order_hash_hex))

    def cancel_orders(self, order_hashes: list[str]) -> Any:
        signer = self._signer()
        return self._call("cancel_orders", {"cancels": [signer.cancel_params(h)
                                                        for h in order_hashes]})

    def cancel_all(self, market: int | None = None) -> Any:
        return self._call("cancel_all", self._signer().cancel_all_params(market))

    def dev_deposit(self, account: str, amount: Amount) -> Any:
        return self._call("dev_deposit", {"account": account, "amount": _dec(amount)})

    def dev_withdraw(self, account: str, amount: Amount) -> Any:
        return self._call("dev_withdraw", {"account": account, "amount": _dec(amount)})

    def dev_set_index(self, market: int, index: Amount) -> Any:
        return self._call("dev_set_index", {"market": market, "index": _dec(index)})


def _domain(info: dict) -> Domain:
    return Domain(info["chain_id"], info["verifying_contract"], info["name"], info["version"])


def _ws_url(url: str) -> str:
    return url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + "/ws"


class Client(_Methods):
    """Synchronous client over HTTP (httpx) and WebSocket (websockets.sync)."""

    def __init__(self, url: str = DEFAULT_URL, key: str | bytes | None = None,
                 timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.key = key
        self.signer: Signer | None = None
        self.http = httpx.Client(timeout=timeout,
                                 transport=httpx.HTTPTransport(socket_options=NODELAY))
        self._ids = itertools.count(1)

    def connect(self) -> dict:
        info = self.info()
        if self.key is not None:
            self.signer = Signer(self.key, _domain(info))
        return info

    def _call(self, method: str, params: dict) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        return _unwrap(self.http.post(self.url, json=body).json())

    def batch(self, calls: list[tuple[str, dict]]) -> list[dict]:
        """Send calls as one JSON-RPC batch; the raw responses, in request order."""
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p}
                for i, (m, p) in enumerate(calls)]
        resp = self.http.post(self.url, json=body).json()
        return sorted(resp, key=lambda r: r["id"])

    def subscribe(self, channel: str, **params: Any) -> Iterator[dict]:
        """Yield the `data` of each notification of one subscription, forever."""
        from websockets.sync.client import connect

        with connect(_ws_url(self.url), max_size=None) as ws:
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "subscribe",
                                "params": {"channel": channel, **params}}))
            _unwrap(json.loads(ws.recv()))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("method") == "subscription":
                    yield msg["params"]["data"]

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Methods):
    """Asyncio client: every method returns an awaitable."""

    def __init__(self, url: str = DEFAULT_URL, key: str | bytes | None = None,
                 timeout: float = 30.0, max_connections: int = 100) -> None:
        self.url = url.rstrip("/")
        self.key = key
        self.signer: Signer | None = None
        limits = httpx.Limits(max_connections=max_connections,
                              max_keepalive_connections=max_connections)
        self.http = httpx.AsyncClient(timeout=timeout, transport=httpx.AsyncHTTPTransport(
            limits=limits, socket_options=NODELAY))
        self._ids = itertools.count(1)

    async def connect(self) -> dict:
        info = await self.info()
        if self.key is not None:
            self.signer = Signer(self.key, _domain(info))
        return info

    async def _call(self, method: str, params: dict) -> Any:  # type: ignore[override]
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        resp = await self.http.post(self.url, json=body)
        return _unwrap(resp.json())

    async def raw(self, body: Any) -> Any:
        """POST any JSON body; the decoded response (None for 204)."""
        resp = await self.http.post(self.url, json=body)
        return None if resp.status_code == 204 else resp.json()

    async def subscribe(self, channel: str, **params: Any) -> AsyncIterator[dict]:
        """Async-iterate the `data` of each notification of one subscription."""
        import websockets

        async with websockets.connect(_ws_url(self.url), max_size=None) as ws:
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "subscribe",
                                      "params": {"channel": channel, **params}}))
            _unwrap(json.loads(await ws.recv()))
            async for raw in ws:
                msg = json.loads(raw)
                if msg.get("method") == "subscription":
                    yield msg["params"]["data"]

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
