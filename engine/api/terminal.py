"""Terminal views of the `perpx` command (rich): book, account, positions, funding, and
`watch`, a live view refreshed from the API with each position's funding accruing
toward the next funding timestamp and a countdown to it.

Numbers arrive as the API's decimal strings and are shown as they are (exact),
aligned right; nothing here computes money.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table


def countdown(next_ms: int | None, now_ms: int) -> str:
    """"hh:mm:ss" until `next_ms` (unix ms), "--" when unknown."""
    if next_ms is None:
        return "--"
    left = max(0, next_ms - now_ms) // 1000
    return f"{left // 3600:02d}:{left % 3600 // 60:02d}:{left % 60:02d}"


def book_table(book: dict, prices: dict | None) -> Table:
    title = f"market {book['market']} book (seq {book['seq']})"
    if prices:
        title += f"  index {prices['index']}  mark {prices['mark']}"
    table = Table(title=title)
    for col, style in (("bid size", "green"), ("bid", "green"), ("ask", "red"),
                       ("ask size", "red")):
        table.add_column(col, justify="right", style=style)
    bids, asks = book["bids"], book["asks"]
    for i in range(max(len(bids), len(asks))):
        b = bids[i] if i < len(bids) else ["", ""]
        a = asks[i] if i < len(asks) else ["", ""]
        table.add_row(b[1], b[0], a[0], a[1])
    return table


def account_panel(acct: dict) -> Panel:
    text = (f"cash {acct['cash']}   equity {acct['equity']}   margin used {acct['margin_used']}"
            f"   maintenance {acct['maintenance_margin']}   free {acct['free_collateral']}"
            f"   open orders {acct['open_orders']}" + ("   [red]FLAGGED[/]" if acct["flagged"]
                                                       else ""))
    return Panel(text, title=f"account {acct['account']}")


def positions_table(positions: list[dict], now_ms: int | None) -> Table:
    now_ms = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    table = Table(title="positions")
    for col in ("market", "size", "entry", "mark", "uPnL", "liq. price", "ADL", "rate (proj.)",
                "funding accrued", "next payment", "next funding in"):
        table.add_column(col, justify="right")
    for p in positions:
        table.add_row(str(p["market"]), p["size"], p["entry_price"], p["mark"],
                      p["unrealized_pnl"], p["liquidation_price"] or "-",
                      str(p["adl_rank"] or "-"), p["funding_rate_projected"],
                      p["funding_accrued"], p["funding_next_payment"],
                      countdown(p["next_funding_ts_ms"], now_ms))
    if not positions:
        table.add_row(*["-"] * 11)
    return table


def funding_table(funding: dict) -> Table:
    table = Table(title=f"market {funding['market']} funding: projected "
                        f"{funding['projected_rate']} (last {funding['last_rate']}), next in "
                        f"{countdown(funding['next_funding_ts_ms'], time.time_ns() // 10**6)}")
    for col in ("funding ts (ms)", "rate", "premium", "interest", "mark", "payments"):
        table.add_column(col, justify="right")
    for ev in funding["history"]:
        table.add_row(str(ev["funding_ts_ms"]), ev["rate"], ev["premium"], ev["interest"],
                      ev["mark"], str(len(ev["payments"])))
    return table


def watch_frame(client: Any, market: int, account: str, depth: int) -> Group:
    """One refresh of the live view (four API reads)."""
    now = time.time_ns() // 1_000_000
    prices = client.prices(market)
    return Group(book_table(client.book(market, depth), prices),
                 account_panel(client.account(account)),
                 positions_table(client.positions(account), now),
                 f"next funding of market {market} in "
                 f"{countdown(prices['next_funding_ts_ms'], now)}   (Ctrl-C to quit)")


def watch(client: Any, market: int, account: str, depth: int, interval: float, count: int,
          console: Console) -> int:
    """Refresh `watch_frame` every `interval` s, `count` times (0: until Ctrl-C)."""
    n = 0
    try:
        with Live(watch_frame(client, market, account, depth), console=console,
                  refresh_per_second=4, transient=False) as live:
            while count == 0 or n < count - 1:
                time.sleep(interval)
                live.update(watch_frame(client, market, account, depth))
                n += 1
    except KeyboardInterrupt:
        pass
    return 0
