"""The perpx command against a real `perpx up` (no chain) in its own process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from engine.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


@pytest.fixture
def up(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "up", "--port", str(port),
                             "--data", str(tmp_path / "engine"), "--out", str(tmp_path / "out")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(url + "/health").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    yield url, tmp_path
    proc.terminate()
    proc.wait(timeout=30)


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_perpx__order_book_positions_cancel__through_a_running_up(up, capsys):
    url, tmp = up
    deployment = json.loads((tmp / "out" / "deployment.json").read_text())
    assert (deployment["chain"], deployment["dev"], deployment["api_url"]) == (None, True, url)
    base = ["--url", url]
    httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "dev_set_index",
                          "params": {"market": 1, "index": "2000"}})
    for who in ("maker", "taker"):
        code, out = _run(capsys, "deposit", "5000", "--as", who, *base)
        assert code == 0 and "cash now 5000" in out
    code, out = _run(capsys, "order", "sell", "1", "2001", "--market", "ETH-USD", "--as",
                     "maker", "--json", *base)
    ask = json.loads(out)
    assert (code, ask["status"], ask["remaining"]) == (0, "open", "1")
    code, out = _run(capsys, "book", "ETH-USD", "--json", *base)
    assert json.loads(out)["asks"] == [["2001", "1"]]
    code, out = _run(capsys, "order", "buy", "0.4", "2001", "--ioc", "--as", "taker", *base)
    assert code == 0 and out.startswith("filled buy 0.4 @ 2001")
    code, out = _run(capsys, "positions", "--as", "taker", "--json", *base)
    (pos,) = json.loads(out)["positions"]
    assert (pos["size"], pos["entry_price"]) == ("0.4", "2001")
    code, out = _run(capsys, "positions", "--as", "taker", *base)
    assert "positions" in out and "2001" in out
    code, out = _run(capsys, "funding", "1", "--json", *base)
    assert json.loads(out)["projected_rate"] == "0.0001"
    code, out = _run(capsys, "watch", "1", "--as", "taker", "--count", "1", *base)
    assert code == 0 and "next funding of market 1 in" in out
    code, out = _run(capsys, "cancel", ask["order_hash"], "--as", "taker", *base)
    assert code == 2 and "error 1010" in out
    code, out = _run(capsys, "cancel", "--all", "--as", "maker", *base)
    assert (code, out.strip()) == (0, "cancelled 1 orders")


def test_perpx__bad_input__clear_errors(up, capsys):
    url, _ = up
    code, out = _run(capsys, "order", "buy", "1", "2000", "--market", "DOGE-USD", "--url", url)
    assert code == 2 and "error 1001 market: 'DOGE-USD' is not listed" in out
    code, out = _run(capsys, "order", "buy", "1.0001", "2000", "--url", url)
    assert code == 2 and "error 1003" in out
    code, out = _run(capsys, "book", "--url", "http://127.0.0.1:9")
    assert code == 3 and "is `perpx up` running?" in out


def test_bot_quote__two_rounds__quotes_both_sides_around_the_mark(up):
    url, _ = up
    httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "dev_set_index",
                          "params": {"market": 1, "index": "2000"}})
    from engine.chain.node import derive_key

    maker = derive_key("maker").address
    httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "dev_deposit",
                          "params": {"account": maker, "amount": "100000"}})
    out = subprocess.run([sys.executable, str(SCRIPTS / "bot_quote.py"), "--url", url, "--rounds", "2",
                          "--interval", "0.2"], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("round")]
    assert lines == ["round 0: mark 2000  position 0  quotes 6/6  fills so far 0",
                     "round 1: mark 2000  position 0  quotes 6/6  fills so far 0"], out.stderr


def test_quotes__long_position__centre_skewed_down_and_rounded_to_grid():
    from decimal import Decimal

    sys.path.insert(0, str(SCRIPTS))
    from bot_quote import quotes

    q = quotes(Decimal(2000), Decimal(2), spread=Decimal("0.001"), levels=1,
               size=Decimal("0.1234"), tick=Decimal("0.01"), step=Decimal("0.001"),
               skew=Decimal("0.0005"))
    # centre 2000 x (1 - 2 x 0.0005) = 1998; bid 1998 x 0.999 = 1996.002 -> 1996.00 (down),
    # ask 1998 x 1.001 = 1999.998 -> 2000.00 (up); size 0.1234 -> 0.123 on the 0.001 step
    assert q == [(True, "0.123", "1996.00"), (False, "0.123", "2000.00")]
