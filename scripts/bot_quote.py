"""An example market-making bot: quotes both sides around the mark through the perpx API.

Every `--interval` seconds it reads the mark, cancels its previous quotes (one signed
cancel-all) and places `--levels` bids and asks `--spread` apart around the mark
(one `place_orders` call, post-only so it never takes), rounded to the market's
tick and step. It follows fills over a WebSocket `account` subscription and skews
its quotes against its position so it does not pile up inventory.

    python scripts/bot_quote.py --url http://127.0.0.1:8765 --market ETH-USD --as maker

Keys as in the CLI: --key or $PERPX_KEY, else the local key of --as LABEL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from engine.api.errors import ApiError
from engine.chain.node import derive_key
from engine.client import AsyncClient
from engine.core.rules import FLAG_POST_ONLY


def _round(x: Decimal, step: Decimal, up: bool) -> Decimal:
    return (x / step).to_integral_value(ROUND_CEILING if up else ROUND_FLOOR) * step


def quotes(mark: Decimal, position: Decimal, *, spread: Decimal, levels: int, size: Decimal,
           tick: Decimal, step: Decimal, skew: Decimal) -> list[tuple[bool, str, str]]:
    """(is_buy, size, price) of each quote: levels per side, `spread` (a fraction) apart,
    centred on mark shifted by -position x skew (a fraction per unit held)."""
    centre = mark * (1 - position * skew)
    out = []
    for i in range(1, levels + 1):
        bid = _round(centre * (1 - spread * i), tick, up=False)
        ask = _round(centre * (1 + spread * i), tick, up=True)
        qty = _round(size, step, up=False)
        out.append((True, str(qty), str(bid)))
        out.append((False, str(qty), str(ask)))
    return out


async def follow_fills(client: AsyncClient, state: dict) -> None:
    async for event in client.subscribe("account", account=client.signer.address):
        if event["type"] == "TradeExecuted":
            state["fills"] += 1


async def run(args: argparse.Namespace) -> None:
    key = args.key or os.environ.get("PERPX_KEY") or derive_key(args.as_label).key
    async with AsyncClient(args.url, key=key) as client:
        await client.connect()
        markets = {m["symbol"]: m for m in await client.markets()}
        spec = markets[args.market]
        market, tick, step = spec["market_id"], Decimal(spec["tick_size"]), Decimal(spec["step_size"])
        state = {"fills": 0}
        listener = asyncio.create_task(follow_fills(client, state))
        for n in range(args.rounds or 10**12):
            prices = await client.prices(market)
            if prices["mark"] is None:
                print("no mark price yet; waiting")
                await asyncio.sleep(args.interval)
                continue
            positions = {p["market"]: Decimal(p["size"]) for p in await client.positions()}
            await client.cancel_all(market)
            signer = client.signer
            orders = [signer.order(market, is_buy, qty, price, flags=FLAG_POST_ONLY)
                      for is_buy, qty, price in quotes(
                          Decimal(prices["mark"]), positions.get(market, Decimal(0)),
                          spread=Decimal(args.spread), levels=args.levels,
                          size=Decimal(args.size), tick=tick, step=step,
                          skew=Decimal(args.skew))]
            res = await client.place_orders(orders)
            placed = sum("result" in r for r in res["results"])
            errors = {r["error"]["data"]["name"] for r in res["results"] if "error" in r}
            print(f"round {n}: mark {prices['mark']}  position {positions.get(market, 0)}  "
                  f"quotes {placed}/{len(orders)}  fills so far {state['fills']}"
                  + (f"  refused: {', '.join(sorted(errors))}" if errors else ""), flush=True)
            await asyncio.sleep(args.interval)
        listener.cancel()
        await client.cancel_all(market)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default=os.environ.get("PERPX_URL", "http://127.0.0.1:8765"))
    p.add_argument("--market", default="ETH-USD")
    p.add_argument("--key")
    p.add_argument("--as", dest="as_label", default="maker")
    p.add_argument("--spread", default="0.001", help="distance between levels, fraction of mark")
    p.add_argument("--levels", type=int, default=3)
    p.add_argument("--size", default="0.1", help="base units per quote")
    p.add_argument("--skew", default="0.0005", help="centre shift per unit of position")
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--rounds", type=int, default=0, help="stop after N rounds (0: never)")
    args = p.parse_args()
    try:
        asyncio.run(run(args))
    except ApiError as exc:
        raise SystemExit(f"error {exc.code}: {exc.message}") from exc
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
