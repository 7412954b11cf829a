"""Load test of the API: concurrent clients send signed orders and cancels over real HTTP
to a server in its own process; prints JSON lines, asserts only correctness.

Workload: CLIENTS traders (one key each), each sends ORDERS_PER_CLIENT orders in
`place_orders` calls of BATCH (limit orders 1990..2010 around index 2000, so
about half of them trade), then cancels every order of its that still rests,
in `cancel_orders` calls of BATCH. Orders and cancels are signed before the
clock starts. Latency is per HTTP call (BATCH orders or cancels); a second
phase sends SINGLES one-order `place_order` calls for the latency of one order.

Checks: every acknowledged order hash is in the engine's journal exactly once,
and the journal holds no PlaceOrder that was not acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.chain.node import derive_key
from engine.client import NODELAY, Signer
from engine.core.commands import CancelOrder, PlaceOrder
from engine.eip712 import Domain
from engine.journal import Journal, default_codec

CLIENTS = 16
ORDERS_PER_CLIENT = 1250  # 20,000 orders
BATCH = 50
SINGLES = 2000


def _line(name: str, value: float, unit: str, **extra: object) -> None:
    print(json.dumps({"name": name, "value": round(value, 3), "unit": unit, **extra}),
          flush=True)


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def _start_server(data: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.api.run", "--data", str(data), "--port", "0", "--dev",
         "--rate", "1000000", "--burst", "1000000"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    return proc, json.loads(line)["listening"]


class RawHttp:
    """A minimal HTTP/1.1 keep-alive client (one connection), so that the client's own CPU
    (httpx costs ~1 ms a request) does not hide the server's throughput on a 2-core box."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.addr = (host, int(port))
        self.conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes) -> dict:
        if self.conn is None:
            self.conn = await asyncio.open_connection(*self.addr)
            self.conn[1].get_extra_info("socket").setsockopt(*NODELAY[0])
        reader, writer = self.conn
        writer.write(b"POST / HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        return json.loads(await reader.readexactly(length))

    def close(self) -> None:
        if self.conn is not None:
            self.conn[1].close()


async def _rpc(http: RawHttp, url: str, method: str, params: dict) -> object:
    body = await http.post(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                                       "params": params}).encode())
    if "error" in body:
        raise AssertionError(f"{method}: {body['error']}")
    return body["result"]


async def _client(http, url, signer: Signer, orders: list[dict], lat: list[float],
                  acked: list[str]) -> list[str]:
    resting = []
    for i in range(0, len(orders), BATCH):
        t0 = time.perf_counter()
        res = await _rpc(http, url, "place_orders", {"orders": orders[i:i + BATCH]})
        lat.append((time.perf_counter() - t0) * 1000)
        for r in res["results"]:
            assert "result" in r, r
            acked.append(r["result"]["order_hash"])
            if r["result"]["status"] == "open":
                resting.append(r["result"]["order_hash"])
    return resting


async def _cancel(http, url, cancels: list[dict], lat: list[float]) -> int:
    done = 0
    for i in range(0, len(cancels), BATCH):
        t0 = time.perf_counter()
        res = await _rpc(http, url, "cancel_orders", {"cancels": cancels[i:i + BATCH]})
        lat.append((time.perf_counter() - t0) * 1000)
        done += sum("result" in r for r in res["results"])
    return done


async def _load(url: str) -> dict:
    pool = [RawHttp(url) for _ in range(CLIENTS * 4)]
    http = pool[0]
    try:
        info = await _rpc(http, url, "get_info", {})
        domain = Domain(info["chain_id"], info["verifying_contract"])
        rng = random.Random(6)
        signers = [Signer(derive_key(f"bench-trader-{i}").key, domain) for i in range(CLIENTS)]
        for s in signers:
            await _rpc(http, url, "dev_deposit", {"account": s.address, "amount": "100000000"})
        await _rpc(http, url, "dev_set_index", {"market": 1, "index": "2000"})
        books = [[s.order_params(s.order(1, rng.random() < 0.5, "0.01",
                                         str(1990 + rng.randrange(21))))
                  for _ in range(ORDERS_PER_CLIENT)] for s in signers]
        lat: list[float] = []
        acked: list[str] = []
        t0 = time.perf_counter()
        resting = await asyncio.gather(*(_client(pool[i], url, s, b, lat, acked)
                                         for i, (s, b) in enumerate(zip(signers, books))))
        place_s = time.perf_counter() - t0
        still = [await _rpc(http, url, "get_open_orders", {"account": s.address})
                 for s in signers]  # some orders that rested were filled later
        cancels = [[s.cancel_params(o["order_hash"]) for o in os_] for s, os_ in
                   zip(signers, still)]
        assert sum(map(len, cancels)) <= sum(map(len, resting))
        clat: list[float] = []
        t0 = time.perf_counter()
        done = await asyncio.gather(*(_cancel(pool[i], url, c, clat)
                                      for i, c in enumerate(cancels)))
        cancel_s = time.perf_counter() - t0
        singles = [signers[i % CLIENTS].order_params(signers[i % CLIENTS].order(
            1, i % 2 == 0, "0.01", "1900" if i % 2 == 0 else "2100")) for i in range(SINGLES)]
        slat: list[float] = []

        todo = iter(singles)

        async def worker(conn: RawHttp) -> None:
            for params in todo:
                t = time.perf_counter()
                res = await _rpc(conn, url, "place_order", params)
                slat.append((time.perf_counter() - t) * 1000)
                acked.append(res["order_hash"])

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in pool))
        single_s = time.perf_counter() - t0
    finally:
        for conn in pool:
            conn.close()
    return {"lat": lat, "clat": clat, "slat": slat, "acked": acked, "place_s": place_s,
            "cancel_s": cancel_s, "single_s": single_s, "cancelled": sum(done),
            "cancels_sent": sum(len(c) for c in cancels)}


@pytest.mark.bench
def test_bench_api__concurrent_signed_orders_and_cancels__journal_exactly_once(tmp_path):
    proc, url = _start_server(tmp_path)
    try:
        r = asyncio.run(_load(url))
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    n_batch = CLIENTS * ORDERS_PER_CLIENT
    _line("api_orders_per_s", n_batch / r["place_s"], "orders/s",
          mode=f"{CLIENTS} clients, place_orders x{BATCH}", orders=n_batch)
    _line("api_p50_ms", _pct(r["lat"], 0.50), "ms", per=f"call of {BATCH} orders")
    _line("api_p99_ms", _pct(r["lat"], 0.99), "ms", per=f"call of {BATCH} orders")
    _line("api_cancels_per_s", r["cancels_sent"] / r["cancel_s"], "cancels/s",
          cancels=r["cancels_sent"])
    _line("api_single_orders_per_s", SINGLES / r["single_s"], "orders/s",
          mode=f"{CLIENTS * 4} concurrent place_order calls")
    _line("api_single_p50_ms", _pct(r["slat"], 0.50), "ms", per="call of 1 order")
    _line("api_single_p99_ms", _pct(r["slat"], 0.99), "ms", per="call of 1 order")
    assert r["cancelled"] == r["cancels_sent"]
    journal = Journal(tmp_path / "journal.db", readonly=True)
    codec = default_codec()
    placed: dict[bytes, int] = {}
    cancelled = 0
    for rec in journal.iter_from(1):
        cmd = codec.decode(rec.payload)
        if isinstance(cmd, PlaceOrder):
            placed[cmd.order_hash] = placed.get(cmd.order_hash, 0) + 1
        elif isinstance(cmd, CancelOrder):
            cancelled += 1
    journal.close()
    acked = [bytes.fromhex(h[2:]) for h in r["acked"]]
    assert len(acked) == len(set(acked)) == n_batch + SINGLES
    assert all(placed.get(h) == 1 for h in acked), "an acknowledged order is missing or doubled"
    assert sorted(placed) == sorted(acked) and set(placed.values()) == {1}
    assert cancelled == r["cancels_sent"]
