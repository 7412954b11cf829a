"""The `perpx` command.

    perpx up        [--port 8765] [--chain pyevm|anvil|none]  engine + API (+ chain, keepers)
    perpx demo      [--chain pyevm|anvil] [--scenario basic]  the main job, or the scripted one
    perpx deposit   AMOUNT       on chain when a chain runs (out/deployment.json), else dev
    perpx withdraw  AMOUNT
    perpx order     buy|sell SIZE PRICE [--market ETH-USD] [--ioc|--fok|--post-only] ...
    perpx cancel    ORDER_HASH | --all [--market M] [--on-chain]
    perpx positions [--account 0x..]
    perpx book      [MARKET] [--depth 10]
    perpx funding   [MARKET]
    perpx watch     [MARKET] [--account 0x..]   live book, positions and funding countdown

Human-readable by default; `--json` prints the API's JSON for scripts. Keys:
`--key 0x..` or $PERPX_KEY, else the local key of `--as LABEL` (default
"trader": derived from the label, for local chains only).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from engine.api.errors import ApiError
from engine.core.errors import PerpxError

DEFAULT_URL = "http://127.0.0.1:8765"
DEPLOYMENT = Path("out/deployment.json")


def _console() -> Console:
    return Console(highlight=False)


def _key(args: argparse.Namespace) -> str:
    key = args.key or os.environ.get("PERPX_KEY")
    if key:
        return key
    from engine.chain.node import derive_key

    return derive_key(args.as_label).key.hex()


def _client(args: argparse.Namespace, signed: bool = False) -> Any:
    from engine.client import Client

    client = Client(args.url, key=_key(args) if signed else None)
    if signed:
        client.connect()
    return client


def _emit(args: argparse.Namespace, data: Any, human: Any) -> int:
    if args.json:
        print(json.dumps(data, indent=1))
    else:
        human(data)
    return 0


def _market_id(client: Any, market: str | None) -> int:
    markets = client.markets()
    if market is None:
        return markets[0]["market_id"]
    for m in markets:
        if market.isdigit() and int(market) == m["market_id"] or \
                market.upper() == m["symbol"].upper():
            return m["market_id"]
    raise ApiError(1001, f"market: {market!r} is not listed (markets: "
                   f"{', '.join(m['symbol'] for m in markets)})")


def _deployment() -> dict | None:
    if DEPLOYMENT.exists():
        data = json.loads(DEPLOYMENT.read_text())
        return data if data.get("rpc_url") and data.get("exchange") else None
    return None


# ------------------------------------------------------------------------------ commands


def _demo(args: argparse.Namespace) -> int:
    if args.scenario is None:
        try:
            from engine.demo import run_demo
        except ImportError:
            run_demo = None
        if run_demo is not None:
            kwargs: dict = {"chain_kind": args.chain, "out_dir": Path(args.out)}
            if args.seed is not None:
                kwargs["seed"] = args.seed
            run_demo(**kwargs)
            return 0
    from engine.chain.artifacts import compile_contracts
    from engine.scenario import Scenario

    compile_contracts()
    Scenario().run()
    return 0


def _up(args: argparse.Namespace) -> int:
    from engine.api.launch import run_up_command

    return run_up_command(args, _console())


def _money(args: argparse.Namespace, kind: str) -> int:
    from engine.api.launch import chain_money

    console = _console()
    deployment = _deployment()
    if deployment is not None:
        result = chain_money(deployment, _key(args), kind, args.amount)
        return _emit(args, result, lambda r: console.print(
            f"{kind} of {args.amount} USDC on chain: tx {r['tx_hash']} (block {r['block']})"))
    client = _client(args, signed=True)
    info = client.info()
    if not info["dev"]:
        raise ApiError(4005, "chain: no out/deployment.json with a chain; deposits and "
                       "withdrawals go to the Exchange contract")
    address = client.signer.address
    call = client.dev_deposit if kind == "deposit" else client.dev_withdraw
    events = call(address, args.amount)
    return _emit(args, events, lambda ev: console.print(
        f"{kind} of {args.amount} for {address} (dev engine, no chain): cash now "
        f"{ev[-1].get('cash', '?')}"))


def _order(args: argparse.Namespace) -> int:
    from engine.core.rules import FLAG_FOK, FLAG_IOC, FLAG_POST_ONLY, FLAG_REDUCE_ONLY

    client = _client(args, signed=True)
    flags = (FLAG_IOC * args.ioc) | (FLAG_FOK * args.fok) | (FLAG_POST_ONLY * args.post_only) \
        | (FLAG_REDUCE_ONLY * args.reduce_only)
    market = _market_id(client, args.market)
    res = client.place_order(market, args.side == "buy", args.size, args.price,
                             trigger_price=args.trigger or 0, flags=flags,
                             max_fee_rate=args.max_fee, expiry=args.expiry)
    console = _console()
    return _emit(args, res, lambda r: console.print(
        f"[bold]{r['status']}[/] {args.side} {args.size} @ {args.price}  filled {r['filled']}  "
        f"remaining {r['remaining']}  trades {len(r['trades'])}\n  order {r['order_hash']}"))


def _cancel(args: argparse.Namespace) -> int:
    console = _console()
    if args.on_chain:
        from engine.api.launch import cancel_on_chain

        client = _client(args)
        deployment = _deployment()
        if deployment is None:
            raise ApiError(4005, "chain: --on-chain needs a running chain (out/deployment.json)")
        view = client.order_status(args.order_hash)
        res = cancel_on_chain(deployment, _key(args), view)
        return _emit(args, res, lambda r: console.print(f"cancelled on chain: tx {r['tx_hash']}"))
    client = _client(args, signed=True)
    if args.all:
        market = _market_id(client, args.market) if args.market else None
        res = client.cancel_all(market)
        return _emit(args, res, lambda r: console.print(
            f"cancelled {len(r['cancelled'])} orders"))
    if not args.order_hash:
        raise ApiError(-32602, "order_hash: give an order hash, or --all")
    res = client.cancel_order(args.order_hash)
    return _emit(args, res, lambda r: console.print(
        f"cancelled {r['order_hash']} (remaining {r['remaining']})"))


def _account_arg(args: argparse.Namespace) -> str:
    if args.account:
        return args.account
    from eth_account import Account

    return Account.from_key(_key(args)).address


def _positions(args: argparse.Namespace) -> int:
    from engine.api.terminal import account_panel, positions_table

    client = _client(args)
    account = _account_arg(args)
    data = {"account": client.account(account), "positions": client.positions(account)}
    console = _console()

    def human(d: dict) -> None:
        console.print(account_panel(d["account"]))
        console.print(positions_table(d["positions"], None))

    return _emit(args, data, human)


def _book(args: argparse.Namespace) -> int:
    from engine.api.terminal import book_table

    client = _client(args)
    market = _market_id(client, args.market)
    data = client.book(market, args.depth)
    return _emit(args, data, lambda d: _console().print(book_table(d, None)))


def _funding(args: argparse.Namespace) -> int:
    from engine.api.terminal import funding_table

    client = _client(args)
    market = _market_id(client, args.market)
    data = client.funding(market, args.limit)
    return _emit(args, data, lambda d: _console().print(funding_table(d)))


def _watch(args: argparse.Namespace) -> int:
    from engine.api.terminal import watch

    client = _client(args)
    market = _market_id(client, args.market)
    return watch(client, market, _account_arg(args), args.depth, args.interval, args.count,
                 _console())


def _journal_upgrade(args: argparse.Namespace) -> int:
    from engine.journal.upgrade import upgrade

    count = upgrade(args.path)
    return _emit(args, {"path": args.path, "commands": count},
                 lambda d: _console().print(f"upgraded {d['path']}: {d['commands']} commands, "
                                            "every row verified"))


# -------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=os.environ.get("PERPX_URL", DEFAULT_URL),
                        help="the engine's API (default %(default)s)")
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    common.add_argument("--key", help="the trader's private key (or $PERPX_KEY)")
    common.add_argument("--as", dest="as_label", default="trader",
                        help="local key label when no key is given (local chains only)")
    parser = argparse.ArgumentParser(prog="perpx", description="perpx perpetual-futures exchange")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", parents=[common], help="run the engine and its API (and the chain)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8765)
    up.add_argument("--chain", choices=["pyevm", "anvil", "none"], default="none")
    up.add_argument("--data", default="out/engine", help="journal and snapshots directory")
    up.add_argument("--out", default="out", help="where deployment.json is written")
    up.add_argument("--rate", type=int, default=200, help="orders+cancels per s per account")
    up.add_argument("--burst", type=int, default=1000)
    up.set_defaults(func=_up)

    demo = sub.add_parser("demo", parents=[common], help="run the main job (or --scenario basic)")
    demo.add_argument("--chain", choices=["pyevm", "anvil"], default="pyevm")
    demo.add_argument("--scenario", choices=["basic"], default=None,
                      help="the short scripted settlement scenario instead of the main job")
    demo.add_argument("--seed", type=int, default=None)
    demo.add_argument("--out", default="out")
    demo.set_defaults(func=_demo)

    for name, help_ in (("deposit", "deposit collateral (USDC)"),
                        ("withdraw", "withdraw free collateral (USDC)")):
        p = sub.add_parser(name, parents=[common], help=help_)
        p.add_argument("amount", help="USDC, a decimal string")
        p.set_defaults(func=lambda a, kind=name: _money(a, kind))

    order = sub.add_parser("order", parents=[common], help="place a signed order")
    order.add_argument("side", choices=["buy", "sell"])
    order.add_argument("size", help="base units, decimal")
    order.add_argument("price", help="limit price, decimal (protective limit for --ioc)")
    order.add_argument("--market", default=None, help="symbol or id (default: the first)")
    order.add_argument("--ioc", action="store_true")
    order.add_argument("--fok", action="store_true")
    order.add_argument("--post-only", action="store_true")
    order.add_argument("--reduce-only", action="store_true")
    order.add_argument("--trigger", default=None, help="stop / take-profit trigger price")
    order.add_argument("--max-fee", default="0.001", help="max fee rate (default 0.1%%)")
    order.add_argument("--expiry", type=int, default=0, help="unix seconds, 0 = until cancelled")
    order.set_defaults(func=_order)

    cancel = sub.add_parser("cancel", parents=[common], help="cancel an order, or all")
    cancel.add_argument("order_hash", nargs="?")
    cancel.add_argument("--all", action="store_true")
    cancel.add_argument("--market", default=None)
    cancel.add_argument("--on-chain", action="store_true",
                        help="cancel on the Exchange contract (no operator involved)")
    cancel.set_defaults(func=_cancel)

    for name, fn, help_ in (("positions", _positions, "account and positions"),):
        p = sub.add_parser(name, parents=[common], help=help_)
        p.add_argument("--account", default=None)
        p.set_defaults(func=fn)
    book = sub.add_parser("book", parents=[common], help="the L2 order book")
    book.add_argument("market", nargs="?")
    book.add_argument("--depth", type=int, default=10)
    book.set_defaults(func=_book)
    funding = sub.add_parser("funding", parents=[common], help="funding rates")
    funding.add_argument("market", nargs="?")
    funding.add_argument("--limit", type=int, default=10)
    funding.set_defaults(func=_funding)
    watch = sub.add_parser("watch", parents=[common], help="live book, positions and funding")
    watch.add_argument("market", nargs="?")
    watch.add_argument("--account", default=None)
    watch.add_argument("--depth", type=int, default=10)
    watch.add_argument("--interval", type=float, default=1.0, help="refresh seconds")
    watch.add_argument("--count", type=int, default=0, help="stop after N refreshes (0: never)")
    watch.set_defaults(func=_watch)
    upgrade = sub.add_parser("journal-upgrade", parents=[common],
                             help="rewrite a format-1 journal (stop its engine first) as format 2")
    upgrade.add_argument("path", help="the journal file, e.g. out/engine/journal.sqlite")
    upgrade.set_defaults(func=_journal_upgrade)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ApiError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": exc.as_json()}), file=sys.stderr)
        else:
            _console().print(f"[red]error {exc.code}[/] {exc.message}", style=None)
        return 2
    except PerpxError as exc:
        _console().print(f"[red]error[/] {exc}")
        return 2
    except (OSError, httpx.TransportError) as exc:
        _console().print(f"[red]error[/] cannot reach the engine at {getattr(args, 'url', '?')}: "
                         f"{exc}; is `perpx up` running?")
        return 3


if __name__ == "__main__":
    sys.exit(main())
