"""The reconciler: chain state == engine state, field by field, or settlement stops.

Compared, in WAD, for every account the engine knows plus every account
that deposited on chain (read from the Exchange's `Deposit` logs):
`cash`, and per market the position `size` and `last_index` (the funding
index it last settled at; a closed position is (0, 0) on chain). Per market:
the cumulative funding index. When nothing is waiting to settle, also the
pools: `fee_pool`, `insurance`, each market's `funding_pool` and
`open_interest`.

Accounts with fills not yet settled are skipped (the engine is ahead of the
chain for them by design); everything else must agree to the wei. The
post-state the Exchange logs per account in `AccountSettled` is checked the
same way after each batch (`check_batch_receipt`), without extra calls.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3.logs import DISCARD

from engine.chain.deploy import Deployment
from engine.core.errors import PerpxError

M_CUM_INDEX = 11


class ReconcileError(PerpxError, RuntimeError):
    """Chain and engine differ: settlement halted. The message names account and field."""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One field that differs: `account` (or "market:<id>" / "pool") and WAD values."""

    account: str
    field: str
    engine: int
    chain: int

    def __str__(self) -> str:
        return f"{self.account} {self.field}: engine {self.engine} != chain {self.chain}"


@dataclass(frozen=True, slots=True)
class EngineView:
    """What the reconciler needs from the engine, copied under the sequencer's lock."""

    cash: dict[str, int]
    positions: dict[str, dict[int, tuple[int, int]]]  # account -> market -> (size, last_index)
    funding_index: dict[int, int]
    fee_pool: int
    insurance: int
    funding_pool: dict[int, int]
    open_interest: dict[int, int]


def engine_view(engine) -> EngineView:
    """Copy the ledger fields the chain also holds (call inside `Sequencer.query`)."""
    ledger = engine.ledger
    cash, positions = {}, {}
    for account, acct in ledger.accounts.items():  # INSURANCE is an account on chain too
        cash[account] = acct.cash
        positions[account] = {m: ((p.size, p.last_index) if p.size else (0, 0))
                              for m, p in acct.positions.items()}
    return EngineView(cash, positions, dict(ledger.funding_index), ledger.fee_pool,
                      ledger.insurance, dict(ledger.funding_pool), dict(ledger.open_interest))


def chain_accounted(d: Deployment) -> int:
    """Everything the Exchange owes, WAD quote, from its public getters: sum(cash) (the
    insurance account's included) + fee_pool + sum(funding_pool). Conservation: it
    equals the Exchange's token balance x 10**(18 - decimals), after every transaction."""
    ex = d.exchange.functions
    count = d.markets.functions.market_count().call()
    return (ex.total_cash().call() + ex.fee_pool().call()
            + sum(ex.funding_pool(m).call() for m in range(1, count + 1)))


class Reconciler:
    """Compares a deployment's state with an `EngineView` (see the module docstring)."""

    def __init__(self, deployment: Deployment, markets: list[int]) -> None:
        self.d = deployment
        self.markets = markets
        self.chain_accounts: set[str] = set()
        self._scanned_block = -1

    def _scan_deposits(self) -> None:
        """Accounts that deposited on chain since the last scan (Deposit logs)."""
        w3 = self.d.chain.w3
        head = w3.eth.block_number
        if head <= self._scanned_block:
            return
        logs = self.d.exchange.events.Deposit().get_logs(from_block=self._scanned_block + 1,
                                                         to_block=head)
        for log in logs:
            self.chain_accounts.add(log["args"]["account"])
        self._scanned_block = head

    def reconcile(self, view: EngineView, skip: set[str], pools: bool,
                  funding: bool = True) -> list[Mismatch]:
        """Every mismatch between the chain and `view`, accounts in `skip` left out."""
        ex, mk = self.d.exchange.functions, self.d.markets.functions
        self._scan_deposits()
        out: list[Mismatch] = []
        for account in sorted(set(view.cash) | self.chain_accounts):
            if account in skip:
                continue
            chain_cash = ex.cash(account).call()
            chain_pos = {p[0]: (p[1], p[2]) for p in ex.positions(account).call()}
            out.extend(self._compare_account(account, view.cash.get(account, 0),
                                             view.positions.get(account, {}), chain_cash,
                                             chain_pos))
        if funding:
            for m in self.markets:
                chain_index = mk.markets(m).call()[M_CUM_INDEX]
                if chain_index != view.funding_index[m]:
                    out.append(Mismatch(f"market:{m}", "funding_index", view.funding_index[m],
                                        chain_index))
        if pools:
            out.extend(self._compare_pools(view))
        return out

    def _compare_account(self, account: str, cash: int, positions: dict[int, tuple[int, int]],
                         chain_cash: int, chain_pos: dict[int, tuple[int, int]]
                         ) -> list[Mismatch]:
        out = []
        if cash != chain_cash:
            out.append(Mismatch(account, "cash", cash, chain_cash))
        for m in self.markets:
            e_size, e_last = positions.get(m, (0, 0))
            c_size, c_last = chain_pos.get(m, (0, 0))
            if e_size != c_size:
                out.append(Mismatch(account, f"position[{m}].size", e_size, c_size))
            if e_last != c_last:
                out.append(Mismatch(account, f"position[{m}].last_index", e_last, c_last))
        return out

    def _compare_pools(self, view: EngineView) -> list[Mismatch]:
        ex = self.d.exchange.functions
        out = []
        pairs = [("fee_pool", view.fee_pool, ex.fee_pool().call()),
                 ("insurance", view.insurance, ex.insurance().call())]
        for m in self.markets:
            pairs.append((f"funding_pool[{m}]", view.funding_pool[m], ex.funding_pool(m).call()))
            pairs.append((f"open_interest[{m}]", view.open_interest[m],
                          ex.open_interest(m).call()))
        for name, engine_value, chain_value in pairs:
            if engine_value != chain_value:
                out.append(Mismatch("pool", name, engine_value, chain_value))
        return out

    def check_batch_receipt(self, receipt: dict, view: EngineView, skip: set[str]
                            ) -> list[Mismatch]:
        """Compare each `AccountSettled` post-state of a batch receipt with `view`."""
        out: list[Mismatch] = []
        for log in self.d.exchange.events.AccountSettled().process_receipt(receipt, errors=DISCARD):
            a = log["args"]
            account = a["account"]
            if account in skip:
                continue
            chain_pos = {}
            for p in a["positions"]:
                if isinstance(p, (tuple, list)):
                    chain_pos[p[0]] = (p[1], p[2])
                else:
                    chain_pos[p["market"]] = (p["size"], p["last_index"])
            out.extend(self._compare_account(account, view.cash.get(account, 0),
                                             view.positions.get(account, {}), a["cash"],
                                             chain_pos))
        return out
