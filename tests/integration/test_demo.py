"""The main job, shortened: one hour of the recorded feed (100-160 min, across the
8 % ETH drop and one funding timestamp) on py-evm, settled on chain.

One run serves every test (module fixture); each test checks one invariant of
the report: funding payments per interval sum to the dust (>= 0), engine
equity == chain equity for every account, the over-leveraged trader is
liquidated by book fills the chain accepted, the chart is a real PNG.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from engine.demo import run_demo

WINDOW_MS = (100 * 60_000, 160 * 60_000)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    console = Console(width=150, record=True, file=open(out / "report.txt", "w"))  # noqa: SIM115
    res = run_demo("pyevm", out, seed=42, console=console, window_ms=WINDOW_MS)
    res.extra["report_text"] = console.export_text()
    return res


def test_run_demo__one_hour_window__funding_payments_sum_to_dust(result):
    assert len(result.recorder.funding) == 2  # one timestamp, two markets
    for ev in result.recorder.funding:
        total = sum(amount for _, _, amount in ev.payments)
        assert total == ev.dust
        assert 0 <= ev.dust < len(ev.payments) + 1  # at most 1 wei per position
        assert sum(amount for _, size, amount in ev.payments if size > 0) > 0 or ev.rate <= 0


def test_run_demo__one_hour_window__every_funding_interval_posted_on_chain(result):
    posted = {(p.market, p.funding_ts * 1000, p.rate, p.mark) for p in result.funding_posts}
    assert posted == {(ev.market, ev.funding_ts_ms, ev.rate, ev.mark)
                      for ev in result.recorder.funding}


def test_run_demo__one_hour_window__engine_equity_equals_chain_equity(result):
    assert result.mismatches == []
    assert len(result.accounts) == 10
    for row in result.accounts:
        assert row.engine_equity == row.chain_equity, row.label
        assert row.engine_cash == row.chain_cash, row.label
    assert result.insurance_engine == result.insurance_chain
    assert result.fee_pool_engine == result.fee_pool_chain
    assert result.equal


def test_run_demo__one_hour_window__over_leveraged_trader_liquidated(result):
    degen = next(a for a in result.accounts if a.label == "degen")
    liqs = [liq for liq in result.recorder.liquidations if liq.account == degen.address]
    assert len(liqs) >= 1
    assert liqs[0].size > 0 and liqs[0].filled == liqs[0].size  # the book absorbed it all
    assert liqs[0].equity < liqs[0].maintenance
    assert degen.positions == {}
    assert sum(b.liquidation_fills for b in result.batches) >= 1
    assert result.insurance_chain >= sum(liq.fee for liq in liqs) > 0


def test_run_demo__one_hour_window__batches_settle_every_fill(result):
    assert result.recorder.trades == sum(b.fills for b in result.batches)
    assert all(b.fills <= 60 and b.gas > 0 for b in result.batches)
    ids = [b.batch_id for b in result.batches]
    assert ids == list(range(1, len(ids) + 1))
    assert result.settler_stats["gas_per_fill"] > 20_000


def test_run_demo__one_hour_window__chart_and_report_written(result):
    png = Path(result.chart_path)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000
    text = result.extra["report_text"]
    for heading in ("Trades and volume", "Settlement batches", "Funding", "Liquidations",
                    "Accounts: equity in the engine and on chain", "Engine and chain agree"):
        assert heading in text
