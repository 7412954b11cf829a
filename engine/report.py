"""The demo's report: rich tables for a trader, and a PNG chart of the run.

`print_report(result, console)` prints trades and volume, settlement batches
with gas per fill, each funding interval with its rate and payments (which
sum to the rounding dust, never below zero), liquidations and the insurance
fund, and every account's equity in the engine next to its equity on chain.
`write_chart(result, path)` draws index, mark and last price per market with
the funding rates below them (matplotlib, Agg backend).

Money arrives as WAD integers; it becomes decimal text only here, at the edge.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from engine.core.wad import WAD

BATCH_ROWS = 12  # batches listed one by one; the rest are summarised


def usd(wad: int, places: int = 2) -> str:
    """WAD quote as a decimal string with thousands separators (exact, no float)."""
    sign = "-" if wad < 0 else ""
    q, r = divmod(abs(wad), WAD)
    frac = str(r).rjust(18, "0")[:places]
    return f"{sign}{q:,}" + (f".{frac}" if places else "")


def pct(rate: int, places: int = 4) -> str:
    """A WAD fraction as a signed percentage string."""
    sign = "-" if rate < 0 else "+"
    hundredths = abs(rate) * 100
    return f"{sign}{usd(hundredths, places)}%"


def clock(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%H:%M")


def _summary(result, console: Console) -> None:
    rec = result.recorder
    minutes = (result.sim_end_ms - result.sim_start_ms) // 60_000
    console.print(f"\n[bold]Run[/]: {minutes} min of market time ({clock(result.sim_start_ms)}"
                  f"-{clock(result.sim_end_ms)} UTC, {datetime.fromtimestamp(result.sim_start_ms / 1000, UTC):%Y-%m-%d}) "
                  f"on {result.chain_kind}, seed {result.seed}, in {result.wall_s:.1f} s; "
                  f"{rec.orders_accepted:,} orders accepted, {sum(rec.rejections.values()):,} "
                  f"rejected {dict(sorted(rec.rejections.items()))}")
    table = Table(title="Trades and volume")
    for col in ("market", "trades", "volume (base)", "volume (USD)", "fees (USD)", "last index",
                "last mark"):
        table.add_column(col, justify="right")
    for m, spec in sorted(result.specs.items()):
        t = rec.markets.get(m)
        points = rec.timeline.get(m) or [(0, 0, 0, None)]
        table.add_row(spec.symbol, f"{t.trades if t else 0:,}", usd(t.volume_base if t else 0, 3),
                      usd(t.volume_quote if t else 0), usd(t.fees if t else 0),
                      usd(points[-1][1]), usd(points[-1][2]))
    console.print(table)


def _batches(result, console: Console) -> None:
    batches = result.batches
    table = Table(title=f"Settlement batches on chain ({len(batches)})")
    for col in ("batch", "journal seqs", "fills", "liquidation fills", "gas", "gas per fill"):
        table.add_column(col, justify="right")
    shown = batches if len(batches) <= BATCH_ROWS else batches[:8] + [None] + batches[-3:]
    for b in shown:
        if b is None:
            table.add_row("...", "", "", "", "", "")
            continue
        table.add_row(str(b.batch_id), f"{b.first_seq}-{b.last_seq}", str(b.fills),
                      str(b.liquidation_fills), f"{b.gas:,}", f"{b.gas // b.fills:,}")
    fills = sum(b.fills for b in batches)
    gas = sum(b.gas for b in batches)
    table.add_row("[bold]all", "", f"[bold]{fills:,}", str(sum(b.liquidation_fills for b in batches)),
                  f"[bold]{gas:,}", f"[bold]{gas // fills if fills else 0:,}")
    console.print(table)


def _funding(result, console: Console) -> None:
    table = Table(title="Funding (payments > 0 paid, < 0 received; they sum to the dust)")
    for col in ("market", "time (UTC)", "rate", "premium", "mark", "positions", "longs pay",
                "shorts pay", "sum = dust", "on chain"):
        table.add_column(col, justify="right")
    posted = {(p.market, p.funding_ts * 1000): p for p in result.funding_posts}
    for ev in result.recorder.funding:
        longs = sum(a for _, size, a in ev.payments if size > 0)
        shorts = sum(a for _, size, a in ev.payments if size < 0)
        post = posted.get((ev.market, ev.funding_ts_ms))
        on_chain = "missing" if post is None else (
            "posted" if post.rate == ev.rate and post.mark == ev.mark else "DIFFERS")
        table.add_row(result.specs[ev.market].symbol, clock(ev.funding_ts_ms), pct(ev.rate),
                      pct(ev.premium), usd(ev.mark), str(len(ev.payments)), usd(longs, 6),
                      usd(shorts, 6), f"{ev.dust} wei", on_chain)
    console.print(table)


def _liquidations(result, console: Console) -> None:
    table = Table(title="Liquidations")
    for col in ("time", "account", "market", "position", "bankruptcy", "closed at (avg)",
                "equity / maintenance", "fee to insurance"):
        table.add_column(col, justify="right")
    for liq in result.recorder.liquidations:
        table.add_row(clock(liq.ts_ms), result.labels.get(liq.account, liq.account[:10]),
                      result.specs[liq.market].symbol, usd(liq.size, 3),
                      usd(liq.bankruptcy_price), usd(liq.avg_price),
                      f"{usd(liq.equity)} / {usd(liq.maintenance)}", usd(liq.fee, 6))
    console.print(table)
    console.print(f"Insurance fund: engine {usd(result.insurance_engine, 6)} USD, chain "
                  f"{usd(result.insurance_chain, 6)} USD; fee pool: engine "
                  f"{usd(result.fee_pool_engine, 6)}, chain {usd(result.fee_pool_chain, 6)}")


def _accounts(result, console: Console) -> None:
    table = Table(title="Accounts: equity in the engine and on chain (same marks)")
    for col in ("account", "role", "deposit", "positions", "PnL", "engine equity",
                "chain equity", "equal"):
        table.add_column(col, justify="right")
    for a in result.accounts:
        pos = ", ".join(f"{usd(s, 3)} {result.specs[m].symbol.split('-')[0]}"
                        for m, s in sorted(a.positions.items())) or "flat"
        ok = a.engine_equity == a.chain_equity and a.engine_cash == a.chain_cash
        table.add_row(a.label, a.role, usd(a.deposit, 0), pos, usd(a.engine_equity - a.deposit),
                      usd(a.engine_equity, 6), usd(a.chain_equity, 6),
                      "[green]yes" if ok else "[red]NO")
    console.print(table)


def print_report(result, console: Console) -> None:
    """Print the whole report (see module docstring)."""
    _summary(result, console)
    _batches(result, console)
    _funding(result, console)
    _liquidations(result, console)
    _accounts(result, console)
    if result.equal:
        console.print("[bold green]Engine and chain agree[/]: every account's cash, positions, "
                      "funding index and equity are equal.")
    else:
        console.print("[bold red]Engine and chain differ:[/]")
        for line in result.mismatches:
            console.print(f"  {line}")
    if result.chart_path is not None:
        console.print(f"Chart: {result.chart_path}")


def write_chart(result, path: Path) -> Path:
    """Index, mark and last price per market, funding rates below; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    markets = sorted(result.specs)
    fig, axes = plt.subplots(2, len(markets), figsize=(7 * len(markets), 7), sharex="col",
                             gridspec_kw={"height_ratios": (3, 1)}, squeeze=False)
    liq_by_market = {}
    for liq in result.recorder.liquidations:
        liq_by_market.setdefault(liq.market, []).append(liq)
    for col, m in enumerate(markets):
        price_ax, rate_ax = axes[0][col], axes[1][col]
        points = result.recorder.timeline.get(m, [])
        t0 = result.sim_start_ms
        xs = [(p[0] - t0) / 3_600_000 for p in points]
        price_ax.plot(xs, [p[1] / WAD for p in points], label="index", lw=1.2)
        price_ax.plot(xs, [p[2] / WAD for p in points], label="mark", lw=1.0)
        last = [(x, p[3] / WAD) for x, p in zip(xs, points) if p[3] is not None]
        if last:
            price_ax.plot(*zip(*last), label="last trade", lw=0.8, alpha=0.7)
        for liq in liq_by_market.get(m, []):
            price_ax.axvline((liq.ts_ms - t0) / 3_600_000, color="red", ls=":", lw=1)
        price_ax.set_title(f"{result.specs[m].symbol} (red: liquidation)")
        price_ax.set_ylabel("USD")
        price_ax.legend(loc="best", fontsize=8)
        fund = [ev for ev in result.recorder.funding if ev.market == m]
        rate_ax.bar([(ev.funding_ts_ms - t0) / 3_600_000 for ev in fund],
                    [ev.rate * 10_000 / WAD for ev in fund], width=0.15,
                    color=["tab:green" if ev.rate >= 0 else "tab:red" for ev in fund])
        rate_ax.axhline(0, color="black", lw=0.5)
        rate_ax.set_ylabel("funding (bp)")
        rate_ax.set_xlabel("hours into the run")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
