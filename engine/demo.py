"""The main job, `perpx demo`: the exchange end to end on a real EVM chain.

`run_demo` deploys the contracts (embedded py-evm chain, or anvil over
JSON-RPC), starts an `ExchangeNode` (journal, engine, batcher, keepers with
their outbox, liquidator, reconciler: the same settlement path as `perpx up`),
replays the recorded multi-venue spot feed through the index sampler (one
`UpdateIndex` per market every 2 s of sim time), lets the simulated traders
act on every step, and settles everything on chain as it goes: batches of
signed fills, signed prices, each funding interval and the liquidation fills.
The clock is accelerated: sim time runs as fast as the machine can go, and
the keepers move the chain's clock along with it.

The demo markets use 1 h funding intervals (within the 1 h..12 h bounds), so
the 4 h recording crosses four funding timestamps. At the end every account's
equity is read on chain and compared with the engine's, the report is printed
and a PNG chart written (engine/report.py).
"""

from __future__ import annotations

import dataclasses
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.text import Text
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from engine.chain.anvil import Anvil
from engine.chain.artifacts import ROOT, compile_contracts
from engine.chain.deploy import deploy_all
from engine.chain.node import Chain
from engine.chain.node_runner import TOKEN_TO_WAD, ExchangeNode
from engine.core.commands import Tick, UpdateIndex
from engine.core.markets import HOUR_S, MarketSpec, default_markets
from engine.eip712 import Domain
from engine.prices.feeds import RecordedFeed
from engine.prices.index import SAMPLE_INTERVAL_MS, IndexSampler
from engine.sim.recorder import Recorder
from engine.sim.roster import build_roster
from engine.sim.settlement import BatchRecord, FundingPost, SettlementLog
from engine.sim.traders import Trader
from engine.sim.view import take_view

FEED = ROOT / "data" / "feeds" / "spot-4h-seed42.csv.gz"
DEMO_FUNDING_INTERVAL_S = 1 * HOUR_S
BATCH_MAX_AGE_S = 600  # market seconds a fill may wait for its batch


@dataclass
class AccountRow:
    """One account at the end: engine and chain equity (WAD quote) side by side."""

    label: str
    role: str
    address: str
    deposit: int
    engine_equity: int
    chain_equity: int
    engine_cash: int
    chain_cash: int
    positions: dict[int, int]


@dataclass
class DemoResult:
    """Everything the report shows. WAD integers; times unix ms (chain: seconds)."""

    chain_kind: str
    seed: int
    specs: dict[int, MarketSpec]
    sim_start_ms: int
    sim_end_ms: int
    wall_s: float
    recorder: Recorder
    batches: list[BatchRecord]
    funding_posts: list[FundingPost]
    settler_stats: dict
    accounts: list[AccountRow]
    mismatches: list[str]
    insurance_engine: int
    insurance_chain: int
    fee_pool_engine: int
    fee_pool_chain: int
    labels: dict[str, str]
    chart_path: Path | None = None
    journal_path: Path | None = None
    extra: dict = field(default_factory=dict)
    economy: object | None = None  # engine.economy.EconomyResult when that section ran

    @property
    def equal(self) -> bool:
        """True when every account's equity, cash and positions match on both sides."""
        return not self.mismatches and all(a.engine_equity == a.chain_equity
                                           for a in self.accounts)


def demo_markets() -> tuple[MarketSpec, ...]:
    """The default markets with 1 h funding intervals."""
    return tuple(dataclasses.replace(s, funding_interval_s=DEMO_FUNDING_INTERVAL_S)
                 for s in default_markets())


# -------------------------------------------------------------------- run


class DemoRun:
    """One run: chain, contracts, engine, traders, settlement (see module docstring)."""

    def __init__(self, chain: Chain, out_dir: Path, seed: int, window_ms: tuple[int, int] | None,
                 console: Console, batch_max_fills: int) -> None:
        self.chain, self.out_dir, self.console = chain, out_dir, console
        self.rng = random.Random(seed)
        self.seed = seed
        self.specs = {s.market_id: s for s in demo_markets()}
        self.feeds = {m: RecordedFeed(FEED, s.symbol) for m, s in self.specs.items()}
        any_feed = next(iter(self.feeds.values()))
        lo, hi = window_ms or (0, any_feed.end_ms - any_feed.start_ms)
        self.feed_start, self.feed_end = any_feed.start_ms + lo, any_feed.start_ms + hi
        # chain time runs at sim time: start at the next hour on the chain's clock
        start_s = -(-chain.now() // HOUR_S) * HOUR_S + (self.feed_start // 1000) % HOUR_S
        chain.set_time(start_s)
        self.offset_ms = start_s * 1000 - self.feed_start
        self.d = deploy_all(chain, markets=tuple(self.specs.values()))
        domain = Domain(chain.chain_id, self.d.exchange.address)
        symbols = {s.symbol: s for s in self.specs.values()}
        self.traders: list[Trader] = build_roster(domain, symbols, self.sim(self.feed_start))
        out_dir.mkdir(parents=True, exist_ok=True)
        node_dir = out_dir / "demo-node"  # journal + outbox belong to this run's deployment
        shutil.rmtree(node_dir, ignore_errors=True)
        self.node = ExchangeNode(chain, self.d, node_dir, markets=tuple(self.specs.values()),
                                 batch_max_fills=batch_max_fills,
                                 batch_max_age_s=BATCH_MAX_AGE_S)
        self.journal_path = node_dir / "journal.sqlite"
        self.engine = self.node.engine
        self.settled = SettlementLog().attach(self.node.keeper)
        self.recorder = Recorder()

    def sim(self, feed_ms: int) -> int:
        return feed_ms + self.offset_ms

    def submit(self, cmds: list) -> None:
        """Journal and apply `cmds` (one group commit); the node settles what became due."""
        for events in self.node.submit_many(cmds):
            self.recorder.on_events(events)

    def fund(self) -> None:
        """Every trader deposits its collateral on chain, then the engine credits it."""
        ts = self.sim(self.feed_start)
        for t in self.traders:
            self.chain.signer(t.label)  # gas for the trader's key
            self.recorder.on_events(self.node.fund(t.signer, t.deposit // TOKEN_TO_WAD, ts))

    def steps(self):
        """(feed ts, {market: IndexPrice or None}) every 2 s of the window."""
        runs = {m: IndexSampler(f.volume_weights()).run(
                    f.quotes_between(self.feed_start - 1_000, self.feed_end),
                    self.feed_start, self.feed_end)
                for m, f in self.feeds.items()}
        while True:
            row = {}
            ts = None
            for m, it in runs.items():
                nxt = next(it, None)
                if nxt is None:
                    return
                ts, row[m] = nxt
            yield ts, row

    def step(self, ts: int, prices: dict) -> None:
        addresses = [t.address for t in self.traders]
        view = self.node.sequencer.query(lambda e: take_view(e, addresses, ts))
        cmds: list = []
        for trader in self.traders:
            cmds.extend(trader.act(view, self.rng))
        for m, ix in prices.items():
            if ix is not None:
                cmds.append(UpdateIndex(m, ix.price, ts, ix.degraded))
        self.submit(cmds or [Tick(ts)])
        self.node.on_time(ts)

    def run(self, progress: Progress | None) -> None:
        total = (self.feed_end - self.feed_start) // SAMPLE_INTERVAL_MS
        task = progress.add_task("trading", total=total) if progress else None
        for i, (feed_ts, prices) in enumerate(self.steps()):
            self.step(self.sim(feed_ts), prices)
            if progress and i % 25 == 0:
                progress.update(task, completed=i, description=self._status())
        self.submit([Tick(self.sim(self.feed_end))])  # settles funding due at the very end
        self.node.sync_prices()  # settle the rest; post the last marks (equity compared at them)
        if progress:
            progress.update(task, completed=total, description=self._status())

    def _status(self) -> str:
        s = self.settled
        return (f"trades {self.recorder.trades:>5}  batches {len(s.batches):>3}  "
                f"funding {len(s.funding)}  liquidations {len(self.recorder.liquidations)}")

    def result(self, wall_s: float) -> DemoResult:
        addresses = [t.address for t in self.traders]
        mismatches = [str(m) for m in self.node.reconcile()]
        if self.node.halted is not None:
            mismatches.append(f"settlement halted: {self.node.halted}")
        ex, ledger = self.d.exchange, self.engine.ledger
        rows = []
        for t in self.traders:
            acct = ledger.accounts.get(t.address)
            positions = {m: p.size for m, p in (acct.positions.items() if acct else ())
                         if p.size}
            rows.append(AccountRow(t.label, t.role, t.address, t.deposit,
                                   ledger.equity(t.address), ex.functions.equity(t.address).call(),
                                   acct.cash if acct else 0, ex.functions.cash(t.address).call(),
                                   positions))
        return DemoResult(
            self.chain.kind, self.seed, self.specs, self.sim(self.feed_start),
            self.sim(self.feed_end), wall_s, self.recorder, self.settled.batches,
            self.settled.funding, self._settler_stats(), rows, mismatches,
            ledger.insurance, ex.functions.insurance().call(), ledger.fee_pool,
            ex.functions.fee_pool().call(), {t.address: t.label for t in self.traders},
            journal_path=self.journal_path)

    def _settler_stats(self) -> dict:
        stats = self.node.stats()
        stats.pop("tx_hashes")
        return stats

    def close(self) -> None:
        self.node.close()


def run_demo(chain_kind: str = "pyevm", out_dir: Path = Path("out"), seed: int = 42,
             console: Console | None = None, window_ms: tuple[int, int] | None = None,
             batch_max_fills: int = 50, report: bool = True, economy: bool = True) -> DemoResult:
    """Run the main job and return what the report shows.

    chain_kind: "pyevm" (embedded) or "anvil" (started on 127.0.0.1 for the run);
    window_ms: (from, to) milliseconds into the recorded feed (default: all 4 h);
    report: print the report and write the chart into `out_dir`;
    economy: afterwards, play the JEX economy section (fee sweep and split, staking
    rewards, buyback auction and burn, a governance proposal) on the same chain."""
    from engine.report import print_report, write_chart

    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=160)  # a log file or pipe gets the full-width tables
    if chain_kind not in ("pyevm", "anvil"):
        raise ValueError(f"chain_kind must be 'pyevm' or 'anvil', got {chain_kind!r}")
    compile_contracts()
    started = time.monotonic()
    anvil = Anvil.start() if chain_kind == "anvil" else None
    try:
        chain = Chain.rpc(anvil.url) if anvil else Chain.pyevm()
        console.print(f"[bold]perpx demo[/] on {chain_kind}: deploying contracts, "
                      "funding traders on chain")
        run = DemoRun(chain, Path(out_dir), seed, window_ms, console, batch_max_fills)
        try:
            run.fund()
            columns = (TextColumn("{task.description}"), BarColumn(), TextColumn(
                "{task.percentage:>3.0f}%"), TimeElapsedColumn())
            with Progress(*columns, console=console, transient=False) as progress:
                run.run(progress)
            result = run.result(time.monotonic() - started)
            result.chain_kind = chain_kind
            if economy:
                # after the reconciliation above: the sweep empties the fee pool and the
                # proposal changes the taker fee, so no trading may follow it
                from engine.economy import run_economy

                with console.capture() as captured:
                    result.economy = run_economy(run.d, console)
                economy_text = captured.get()
        finally:
            run.close()
    finally:
        if anvil:
            anvil.stop()
    if report:
        result.chart_path = write_chart(result, Path(out_dir) / "demo-prices.png")
        print_report(result, console)
        if economy:
            console.print(Text.from_ansi(economy_text))
    return result
