"""`perpx up` and the CLI's chain-side commands (deposit, withdraw, cancel on chain).

`perpx up` runs `engine.chain.up.run_up` (chain + deploy + engine + keepers) when
that module exists and a chain is asked for, handing it `serve_api` to put this
API in front of its sequencer. Otherwise it serves the API over an engine and
its journal alone, with the dev_* methods on (deposits and prices without a
chain), and writes out/deployment.json saying so.

Chain commands read out/deployment.json: {"rpc_url", "chain_id", "exchange",
"usdc", ...}. Amounts are USDC decimal strings, converted once to token units
(6 decimals) here.
"""

from __future__ import annotations

import inspect
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rich.console import Console

from engine.api.errors import ApiError
from engine import gcpolicy
from engine.api.ratelimit import RateLimit
from engine.api.server import ApiServer
from engine.api.service import ExchangeService
from engine.eip712 import Domain

USDC_UNITS = 10**6


def serve_api(sequencer: Any, domain: Domain, *, exchange: Any = None,
              host: str = "127.0.0.1", port: int = 8765, dev: bool = False,
              rate_limit: RateLimit = RateLimit()) -> ApiServer:
    """Start the API (background thread) in front of `sequencer`; `exchange`: the web3
    Exchange contract, for get_last_batch. Returns the started server (stop() it)."""
    from engine.api.chainview import ChainView

    chain = ChainView(exchange) if exchange is not None else None
    service = ExchangeService(sequencer, domain, rate_limit=rate_limit, dev=dev, chain=chain)
    return ApiServer(service, host, port).start()


def run_up_command(args: Any, console: Console) -> int:
    try:
        from engine.chain.up import run_up
    except ImportError:
        run_up = None
    rate = RateLimit(args.rate, args.burst)
    if run_up is not None and args.chain != "none":
        offered = {"chain_kind": args.chain, "out_dir": Path(args.out), "api_host": args.host,
                   "api_port": args.port, "console": console, "serve_api": serve_api,
                   "rate_limit": rate, "data_dir": Path(args.data)}
        params = inspect.signature(run_up).parameters
        return run_up(**{k: v for k, v in offered.items() if k in params}) or 0
    if args.chain != "none":
        console.print("[yellow]engine.chain.up is not available in this checkout: serving the "
                      "engine and its API without a chain (dev methods on)[/]")
    return serve_without_chain(Path(args.data), Path(args.out), args.host, args.port, rate,
                               console)


def serve_without_chain(data: Path, out: Path, host: str, port: int, rate: RateLimit,
                        console: Console) -> int:
    from engine.api.run import open_stack

    with console.status("recovering the engine from its journal"):
        stack = open_stack(data, host=host, port=port, dev=True, rate_limit=rate)
    gcpolicy.install(stack.sequencer)  # a long-running process: see engine/gcpolicy.py
    domain = stack.service.domain
    out.mkdir(parents=True, exist_ok=True)
    info = {"chain": None, "rpc_url": None, "chain_id": domain.chain_id,
            "exchange": domain.verifying_contract, "api_url": stack.server.url,
            "ws_url": stack.server.ws_url, "journal": str(data / "journal.db"), "dev": True}
    (out / "deployment.json").write_text(json.dumps(info, indent=1) + "\n")
    banner = (f"[bold]perpx[/] engine at seq {stack.sequencer.last_seq}, journal "
              f"{data / 'journal.db'}\n  API  {stack.server.url}  (JSON-RPC 2.0, POST)\n"
              f"  WS   {stack.server.ws_url}\n  no chain: orders are signed for chain id "
              f"{domain.chain_id}, contract {domain.verifying_contract}; deposits and "
              f"prices through dev_deposit / dev_set_index\n  wrote {out / 'deployment.json'}"
              "; Ctrl-C stops")
    try:
        stack.server.serve_forever(lambda: console.print(banner))
    finally:
        stack.close()
    return 0


def _units(amount: str) -> int:
    try:
        units = Decimal(amount) * USDC_UNITS
    except InvalidOperation as exc:
        raise ApiError(-32602, f"amount: {amount!r} is not a decimal number") from exc
    if units <= 0 or units != units.to_integral_value():
        raise ApiError(-32602, f"amount: {amount} must be > 0 with at most 6 decimals (USDC)")
    return int(units)


def _chain(deployment: dict, key: str) -> tuple[Any, Any, Any]:
    from eth_account import Account

    from engine.chain.artifacts import artifact
    from engine.chain.node import Chain

    chain = Chain.rpc(deployment["rpc_url"])
    sender = Account.from_key(key)
    w3 = chain.w3
    if w3.eth.get_balance(sender.address) < 10**17:  # local chains: gas from the faucet
        tx = w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": sender.address,
                                      "value": 10**19})
        w3.eth.wait_for_transaction_receipt(tx)
    exchange = w3.eth.contract(address=deployment["exchange"], abi=artifact("Exchange").abi)
    return chain, sender, exchange


def chain_money(deployment: dict, key: str, kind: str, amount: str) -> dict:
    """Deposit (minting local MockUSDC first if the wallet lacks it) or withdraw on chain."""
    from engine.chain.artifacts import artifact

    units = _units(amount)
    chain, sender, exchange = _chain(deployment, key)
    if kind == "deposit":
        usdc = chain.w3.eth.contract(address=deployment["usdc"], abi=artifact("MockUSDC").abi)
        if usdc.functions.balanceOf(sender.address).call() < units:
            chain.send(usdc.functions.mint(sender.address, units), sender)
        chain.send(usdc.functions.approve(exchange.address, units), sender)
        receipt = chain.send(exchange.functions.deposit(units), sender)
    else:
        receipt = chain.send(exchange.functions.withdraw(units), sender)
    return {"tx_hash": "0x" + bytes(receipt["transactionHash"]).hex(),
            "block": receipt["blockNumber"], "amount_units": units}


def cancel_on_chain(deployment: dict, key: str, view: dict) -> dict:
    """Exchange.cancel(order) for an order the API knows (as get_order returned it)."""
    from engine.api import wire
    from engine.chain.encode import order_tuple

    order = wire.order_from_params({**view, "chain_id": 0, "signature": "0x"})
    chain, sender, exchange = _chain(deployment, key)
    receipt = chain.send(exchange.functions.cancel(order_tuple(order)), sender)
    return {"tx_hash": "0x" + bytes(receipt["transactionHash"]).hex(),
            "block": receipt["blockNumber"], "order_hash": view["order_hash"]}
