"""Money moved into and out of accounts from outside the order flow (a mixin of `Engine`).

Deposits and withdrawals (the chain watcher journals a trader's own Exchange
transactions; a withdrawal made on chain is followed without a margin check),
stake updates for fee tiers, and what anyone may do on chain to the pools:
`sweep_fees` (the fee pool and the insurance account's surplus leave for the
JEX contracts) and the InsuranceFund's cover of a bad debt. All amounts WAD.
"""

from __future__ import annotations

from engine.core import fees
from engine.core.codes import RejectCode
from engine.core.commands import CoverBadDebt, Deposit, SetStake, SweepFees, Withdraw
from engine.core.events import (
    BadDebtCovered,
    CommandRejected,
    Deposited,
    FeesSwept,
    StakeUpdated,
    Withdrawn,
    WithdrawalRejected,
)


class TransfersMixin:
    """Deposit, Withdraw, SetStake, SweepFees and CoverBadDebt of `Engine`."""

    __slots__ = ()

    def _deposit(self, cmd: Deposit, ts: int, out: list) -> None:
        if cmd.amount <= 0:
            self._seq += 1
            out.append(CommandRejected(self._seq, ts, "Deposit",
                                       int(RejectCode.AMOUNT_NOT_POSITIVE),
                                       f"amount: must be > 0 (WAD quote), got {cmd.amount}"))
            return
        self.ledger.deposit(cmd.account, cmd.amount)
        self._seq += 1
        out.append(Deposited(self._seq, ts, cmd.account, cmd.amount,
                             self.ledger.accounts[cmd.account].cash))

    def _withdraw(self, cmd: Withdraw, ts: int, out: list) -> None:
        code = self.ledger.withdraw(cmd.account, cmd.amount, enforce_margin=not cmd.on_chain)
        self._seq += 1
        if code is not None:
            code = RejectCode(code)
            if code == RejectCode.AMOUNT_NOT_POSITIVE:
                message = f"amount: must be > 0 (WAD quote), got {cmd.amount}"
            else:
                free = self.ledger.free_collateral(cmd.account)
                message = f"amount: {cmd.amount} exceeds free collateral {free}"
            out.append(WithdrawalRejected(self._seq, ts, cmd.account, cmd.amount, int(code),
                                          message))
            return
        out.append(Withdrawn(self._seq, ts, cmd.account, cmd.amount,
                             self.ledger.accounts[cmd.account].cash))

    def _set_stake(self, cmd: SetStake, ts: int, out: list) -> None:
        if cmd.stake < 0:
            self._seq += 1
            out.append(CommandRejected(self._seq, ts, "SetStake", int(RejectCode.STAKE_NEGATIVE),
                                       f"stake: must be >= 0 (WAD JEX), got {cmd.stake}"))
            return
        self.ledger.set_stake(cmd.account, cmd.stake)
        for by_account in self._rates.values():
            by_account.pop(cmd.account, None)
        self._seq += 1
        out.append(StakeUpdated(self._seq, ts, cmd.account, cmd.stake,
                                fees.stake_discount(cmd.stake)))

    def _chain_amounts_rejected(self, cmd: object, amounts: tuple[int, ...], ts: int,
                                out: list) -> bool:
        if all(a >= 0 for a in amounts):
            return False
        self._seq += 1
        out.append(CommandRejected(self._seq, ts, type(cmd).__name__,
                                   int(RejectCode.AMOUNT_NOT_POSITIVE),
                                   f"amount: must not be negative, got {amounts}"))
        return True

    def _sweep_fees(self, cmd: SweepFees, ts: int, out: list) -> None:
        """Follow the chain's sweep_fees (anyone may call it): the fee pool and the
        insurance account's cash lose what went to the FeeRouter and the InsuranceFund
        (WAD quote); the Exchange already checked and paid it."""
        if self._chain_amounts_rejected(cmd, (cmd.fees, cmd.insurance), ts, out):
            return
        ledger = self.ledger
        ledger.fee_pool -= cmd.fees
        ledger.insurance -= cmd.insurance
        self._seq += 1
        out.append(FeesSwept(self._seq, ts, cmd.fees, cmd.insurance, ledger.insurance))

    def _cover_bad_debt(self, cmd: CoverBadDebt, ts: int, out: list) -> None:
        """Follow Exchange.cover_bad_debt: the InsuranceFund paid `paid` WAD quote; the
        account's negative cash is credited up to zero and the rest goes to the
        insurance account, exactly as the contract splits it."""
        if self._chain_amounts_rejected(cmd, (cmd.paid,), ts, out):
            return
        credited = self.ledger.receive_bad_debt_cover(cmd.account, cmd.paid)
        self._seq += 1
        out.append(BadDebtCovered(self._seq, ts, cmd.account, cmd.paid, credited))
