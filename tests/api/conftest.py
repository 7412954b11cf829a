"""Fixtures of the API tests: a real engine, journal, sequencer and uvicorn server on
127.0.0.1 (a free port), and signers named by role."""

from __future__ import annotations

import httpx
import pytest

from engine.api.ratelimit import RateLimit
from engine.api.schema import METHODS, build_schema
from engine.api.server import ApiServer
from engine.api.service import ExchangeService
from engine.api.validate import Validator
from engine.chain.node import derive_key
from engine.client import Signer
from engine.eip712 import Domain
from engine.journal import Journal
from engine.sequencer import Sequencer

CHAIN_ID = 31337
EXCHANGE = "0x" + "ee" * 20
DOMAIN = Domain(CHAIN_ID, EXCHANGE)
VALIDATOR = Validator(build_schema())


class Rpc:
    """Raw JSON-RPC over a real HTTP connection, with every result checked against the
    method's schema."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(timeout=30)
        self.next_id = 0

    def post(self, body: object) -> object:
        resp = self.http.post(self.url, content=body if isinstance(body, (bytes, str))
                              else None, json=None if isinstance(body, (bytes, str)) else body)
        return None if resp.status_code == 204 else resp.json()

    def request(self, method: str, params: object = None) -> dict:
        self.next_id += 1
        body = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            body["params"] = params
        resp = self.post(body)
        check_response(method, resp)
        return resp

    def ok(self, method: str, params: object = None) -> object:
        resp = self.request(method, params)
        assert "result" in resp, resp
        return resp["result"]

    def err(self, method: str, params: object = None) -> dict:
        resp = self.request(method, params)
        assert "error" in resp, resp
        return resp["error"]


def check_response(method: str, resp: dict) -> None:
    """A response must be JSON-RPC 2.0 and its result must match the method's schema."""
    assert resp["jsonrpc"] == "2.0"
    if "error" in resp:
        err = VALIDATOR.first_error(resp["error"], {"$ref": "#/$defs/error"}, "error")
        assert err is None, err
        assert str(resp["error"]["code"]) in build_schema()["errors"]
        return
    if method in METHODS:
        err = VALIDATOR.first_error(resp["result"], METHODS[method]["result"], "result")
        assert err is None, err


@pytest.fixture
def stack(tmp_path):
    """(server, service, sequencer) over a fresh journal, dev methods on."""
    seq = Sequencer.open(Journal(tmp_path / "journal.db"), None)
    service = ExchangeService(seq, DOMAIN, rate_limit=RateLimit(rate_per_s=50, burst=40),
                              dev=True)
    server = ApiServer(service).start()
    yield server, service, seq
    server.stop()
    seq.close()
    seq.journal.close()


@pytest.fixture
def rpc(stack) -> Rpc:
    return Rpc(stack[0].url)


@pytest.fixture
def maker() -> Signer:
    return Signer(derive_key("maker").key, DOMAIN)


@pytest.fixture
def taker() -> Signer:
    return Signer(derive_key("taker").key, DOMAIN)


@pytest.fixture
def stranger() -> Signer:
    return Signer(derive_key("stranger").key, DOMAIN)


@pytest.fixture
def funded(rpc, maker, taker):
    """Maker and taker hold 10,000 each; ETH-USD (market 1) index 2000, BTC-USD (2) 40000."""
    for who in (maker, taker):
        rpc.ok("dev_deposit", {"account": who.address, "amount": "10000"})
    rpc.ok("dev_set_index", {"market": 1, "index": "2000"})
    rpc.ok("dev_set_index", {"market": 2, "index": "40000"})
    return rpc
