"""Balances the chain moves without the engine: anyone's `sweep_fees` (fee pool and
insurance surplus to the JEX contracts) and the InsuranceFund's cover of a bad
debt. The watcher journals SweepFees / CoverBadDebt; the engine follows exactly."""

from engine.core.accounts import INSURANCE
from engine.core.commands import CoverBadDebt, SweepFees
from engine.core.events import BadDebtCovered, CommandRejected, FeesSwept
from tests.engine.engine_helpers import MAKER, T0, TAKER, TRADER, funded, kinds, of

W = 10**18


def test_sweep_fees__after_fees__pools_drop_by_the_swept_amounts():
    engine = funded(MAKER, TAKER)
    engine.ledger.fee_pool = 7 * W + 123
    engine.ledger.insurance = 3 * W + 5
    held = engine.ledger.total_balance()
    events = engine.apply(SweepFees(7 * W, 3 * W, T0 + 2_000))
    assert of(events, FeesSwept) == [FeesSwept(events[0].seq, T0 + 2_000, 7 * W, 3 * W, 5)]
    assert (engine.ledger.fee_pool, engine.ledger.insurance) == (123, 5)
    assert engine.ledger.total_balance() == held - 10 * W  # exactly what left the Exchange


def test_sweep_fees__negative_amount__rejected_and_nothing_changes():
    engine = funded(MAKER)
    engine.ledger.fee_pool = 7 * W
    before = (engine.ledger.fee_pool, engine.ledger.insurance, engine.ledger.total_balance())
    events = engine.apply(SweepFees(-1, 0, T0 + 2_000))
    assert kinds(events) == ["CommandRejected"]
    assert of(events, CommandRejected)[0].code == 1012
    assert "amount: must not be negative" in of(events, CommandRejected)[0].message
    assert (engine.ledger.fee_pool, engine.ledger.insurance,
            engine.ledger.total_balance()) == before


def test_cover_bad_debt__paid_above_debt__account_to_zero_rest_to_insurance():
    engine = funded(MAKER)
    engine.ledger.accounts[MAKER].cash = -40 * W - 7
    engine.ledger.insurance = 0
    held = engine.ledger.total_balance()
    events = engine.apply(CoverBadDebt(MAKER, 41 * W, T0 + 2_000))
    assert of(events, BadDebtCovered)[0].credited == 40 * W + 7
    assert engine.ledger.accounts[MAKER].cash == 0
    assert engine.ledger.insurance == W - 7
    assert engine.ledger.total_balance() == held + 41 * W  # exactly what the fund paid in


def test_cover_bad_debt__fund_short__partial_credit():
    engine = funded(TRADER)
    engine.ledger.accounts[TRADER].cash = -40 * W
    events = engine.apply(CoverBadDebt(TRADER, 25 * W, T0 + 2_000))
    assert of(events, BadDebtCovered)[0].credited == 25 * W
    assert engine.ledger.accounts[TRADER].cash == -15 * W


def test_cover_bad_debt__insurance_itself_negative__refilled():
    engine = funded(MAKER)
    engine.ledger.insurance = -50 * W
    engine.apply(CoverBadDebt(INSURANCE, 50 * W + 3, T0 + 2_000))
    assert engine.ledger.insurance == 3
