"""Reject codes: why the core refused a command.

Rejections are values (`OrderRejected(code=...)`, `WithdrawalRejected(...)`),
never exceptions. Codes are grouped by range, like exchange-core's result
codes: 1xxx validation (the command itself is malformed or stale), 2xxx risk
(the account cannot carry it), 3xxx matching (the book cannot serve it as
asked). docs/reject-codes.md is the published table; a test pins the two
together, so a new code here without a row there fails the suite.
"""

from __future__ import annotations

from enum import IntEnum


class RejectCode(IntEnum):
    """Reason a command was refused; the value is stable and public."""

    # 1xxx validation
    UNKNOWN_MARKET = 1001
    SIZE_NOT_POSITIVE = 1002
    SIZE_OFF_STEP = 1003
    PRICE_OFF_TICK = 1004
    EXPIRED = 1005
    MAX_FEE_RATE_BELOW_FEE = 1006
    DUPLICATE_ORDER = 1007
    BAD_FLAGS = 1008
    UNKNOWN_ORDER = 1009
    NOT_ORDER_OWNER = 1010
    PRICE_NOT_POSITIVE = 1011
    AMOUNT_NOT_POSITIVE = 1012
    TRIGGER_OFF_TICK = 1013
    STAKE_NEGATIVE = 1014
    NO_MARK_PRICE = 1015
    NONCE_REUSED = 1016
    # 2xxx risk
    INSUFFICIENT_MARGIN = 2001
    REDUCE_ONLY_WOULD_INCREASE = 2002
    WITHDRAWAL_EXCEEDS_FREE_COLLATERAL = 2003
    ACCOUNT_IN_LIQUIDATION = 2004
    INSUFFICIENT_BALANCE = 2005
    # 3xxx matching
    POST_ONLY_WOULD_CROSS = 3001
    FOK_NOT_FILLABLE = 3002
    IOC_NOTHING_FILLED = 3003
    NO_LIQUIDITY = 3004
    SELF_TRADE_ONLY = 3005

    @property
    def category(self) -> str:
        """'validation', 'risk' or 'matching', from the code's range."""
        return {1: "validation", 2: "risk", 3: "matching"}[self.value // 1000]


DESCRIPTIONS: dict[RejectCode, str] = {
    RejectCode.UNKNOWN_MARKET: "the order's market is not listed",
    RejectCode.SIZE_NOT_POSITIVE: "size must be greater than zero",
    RejectCode.SIZE_OFF_STEP: "size must be a multiple of the market's step_size",
    RejectCode.PRICE_OFF_TICK: "limit_price must be a multiple of the market's tick_size",
    RejectCode.EXPIRED: "the order's expiry (unix seconds) is not after the command's time",
    RejectCode.MAX_FEE_RATE_BELOW_FEE: "max_fee_rate is below the fee rate that would be charged",
    RejectCode.DUPLICATE_ORDER: "an order with this hash was already accepted",
    RejectCode.BAD_FLAGS: "the flags combination is not allowed",
    RejectCode.UNKNOWN_ORDER: "no open or pending order has this hash",
    RejectCode.NOT_ORDER_OWNER: "the order belongs to another account",
    RejectCode.PRICE_NOT_POSITIVE: "limit_price must be greater than zero",
    RejectCode.AMOUNT_NOT_POSITIVE: "amount must be greater than zero",
    RejectCode.TRIGGER_OFF_TICK: "trigger_price must be a multiple of the market's tick_size",
    RejectCode.STAKE_NEGATIVE: "stake must not be negative",
    RejectCode.NO_MARK_PRICE: "the market has no mark price yet",
    RejectCode.NONCE_REUSED: "the trader already used this nonce for an accepted order",
    RejectCode.INSUFFICIENT_MARGIN: "after the order the account would not meet initial margin",
    RejectCode.REDUCE_ONLY_WOULD_INCREASE: "a reduce-only order would open or increase a position",
    RejectCode.WITHDRAWAL_EXCEEDS_FREE_COLLATERAL: "the amount exceeds free collateral",
    RejectCode.ACCOUNT_IN_LIQUIDATION: "the account is below maintenance margin; only reducing orders are accepted",
    RejectCode.INSUFFICIENT_BALANCE: "the amount exceeds the account's cash",
    RejectCode.POST_ONLY_WOULD_CROSS: "a post-only order would take liquidity",
    RejectCode.FOK_NOT_FILLABLE: "a fill-or-kill order cannot be filled in full",
    RejectCode.IOC_NOTHING_FILLED: "an immediate-or-cancel order found nothing to fill",
    RejectCode.NO_LIQUIDITY: "a market order found no liquidity within its limit",
    RejectCode.SELF_TRADE_ONLY: "the only liquidity in range was the trader's own",
}
