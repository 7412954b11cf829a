# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title InsuranceFund
@notice Holds the exchange's USDC (and JEX) reserves. Receives liquidation
        fees from the Exchange and the insurance share of trading fees from
        the FeeRouter; pays out only to the Exchange, only to cover a settled
        bad debt. Every inflow and outflow is an event naming its cause, and
        running totals let anyone check balance == inflows - outflows.
@dev The Exchange and FeeRouter addresses are wired once by the owner (the
     deployer, later the Governor) and can never be changed: no governance
     vote can redirect the fund.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from snekmate.auth import ownable

# owner wires the Exchange and FeeRouter once
initializes: ownable

exports: (
    ownable.owner,
    ownable.transfer_ownership,
)

WAD: constant(uint256) = 10**18


event LiquidationFeeReceived:
    account: indexed(address)
    batch_id: indexed(uint256)
    amount: uint256
    balance: uint256


event FeeShareReceived:
    batch_id: indexed(uint256)
    amount: uint256
    balance: uint256


event ExchangeSurplusReceived:
    batch_id: indexed(uint256)
    amount: uint256
    balance: uint256


event Contributed:
    contributor: indexed(address)
    token: indexed(address)
    amount: uint256


event BadDebtCovered:
    account: indexed(address)
    batch_id: indexed(uint256)
    requested: uint256
    covered: uint256
    balance: uint256


event UpdateExchange:
    exchange: address


event UpdateFeeRouter:
    fee_router: address


usdc: public(immutable(IERC20))
jex: public(immutable(IERC20))
# 10**(18 - USDC decimals): converts token units to WAD at the edge
_USDC_TO_WAD: immutable(uint256)

exchange: public(address)
fee_router: public(address)

# USDC totals in token units; balance() == total_inflows - total_outflows
total_inflows: public(uint256)
total_outflows: public(uint256)
total_liquidation_fees: public(uint256)
total_fee_shares: public(uint256)
total_contributions: public(uint256)
total_exchange_surplus: public(uint256)
total_bad_debt_covered: public(uint256)
# JEX contributed, in JEX wei (JEX never leaves the fund in this version)
total_jex_inflows: public(uint256)
# keccak256(account, batch_id) -> covered already
bad_debt_covered: public(HashMap[bytes32, bool])


@deploy
def __init__(usdc_: IERC20, jex_: IERC20):
    """
    @notice Deploy the fund for a collateral token and JEX.
    @param usdc_ The collateral token (6 decimals locally).
    @param jex_ The JEX token.
    """
    ownable.__init__()
    usdc = usdc_
    jex = jex_
    decimals: uint8 = staticcall IERC20Detailed(usdc_.address).decimals()
    assert decimals <= 18, "insurance: token decimals above 18"
    _USDC_TO_WAD = 10 ** convert(18 - decimals, uint256)


@external
def set_exchange(exchange_: address):
    """
    @notice Wire the Exchange, once.
    @param exchange_ The Exchange contract.
    """
    ownable._check_owner()
    assert self.exchange == empty(address), "insurance: exchange already set"
    assert exchange_ != empty(address), "insurance: zero address"
    self.exchange = exchange_
    log UpdateExchange(exchange=exchange_)


@external
def set_fee_router(fee_router_: address):
    """
    @notice Wire the FeeRouter, once.
    @param fee_router_ The FeeRouter contract.
    """
    ownable._check_owner()
    assert self.fee_router == empty(address), "insurance: fee router already set"
    assert fee_router_ != empty(address), "insurance: zero address"
    self.fee_router = fee_router_
    log UpdateFeeRouter(fee_router=fee_router_)


@external
def deposit_liquidation_fee(account: address, batch_id: uint256, amount: uint256):
    """
    @notice Take a liquidation fee from the Exchange (pulled with transferFrom).
    @param account The liquidated account.
    @param batch_id The settlement batch that liquidated it.
    @param amount USDC token units.
    """
    assert msg.sender == self.exchange, "insurance: caller is not the exchange"
    assert amount > 0, "insurance: zero amount"
    self.total_inflows += amount
    self.total_liquidation_fees += amount
    assert extcall usdc.transferFrom(msg.sender, self, amount, default_return_value=True)
    log LiquidationFeeReceived(account=account, batch_id=batch_id, amount=amount, balance=self._recorded())


@external
def deposit_fee_share(batch_id: uint256, amount: uint256):
    """
    @notice Take the insurance share of a batch's fees from the FeeRouter.
    @param batch_id The settlement batch the fees came from.
    @param amount USDC token units.
    """
    assert msg.sender == self.fee_router, "insurance: caller is not the fee router"
    assert amount > 0, "insurance: zero amount"
    self.total_inflows += amount
    self.total_fee_shares += amount
    assert extcall usdc.transferFrom(msg.sender, self, amount, default_return_value=True)
    log FeeShareReceived(batch_id=batch_id, amount=amount, balance=self._recorded())


@external
def deposit_exchange_surplus(batch_id: uint256, amount: uint256):
    """
    @notice Take the Exchange's insurance balance (pulled with transferFrom):
            liquidation fees and the rounding dust of trades and funding
            settled up to `batch_id` (Exchange.sweep_fees).
    @param batch_id The last batch the Exchange settled.
    @param amount USDC token units.
    """
    assert msg.sender == self.exchange, "insurance: caller is not the exchange"
    assert amount > 0, "insurance: zero amount"
    self.total_inflows += amount
    self.total_exchange_surplus += amount
    assert extcall usdc.transferFrom(msg.sender, self, amount, default_return_value=True)
    log ExchangeSurplusReceived(batch_id=batch_id, amount=amount, balance=self._recorded())


@external
def contribute(amount: uint256):
    """
    @notice Anyone may top the fund up with USDC (e.g. the treasury seeding it).
    @param amount USDC token units.
    """
    assert amount > 0, "insurance: zero amount"
    self.total_inflows += amount
    self.total_contributions += amount
    assert extcall usdc.transferFrom(msg.sender, self, amount, default_return_value=True)
    log Contributed(contributor=msg.sender, token=usdc.address, amount=amount)


@external
def contribute_jex(amount: uint256):
    """
    @notice Anyone may add JEX to the fund's reserve.
    @param amount JEX wei.
    """
    assert amount > 0, "insurance: zero amount"
    self.total_jex_inflows += amount
    assert extcall jex.transferFrom(msg.sender, self, amount, default_return_value=True)
    log Contributed(contributor=msg.sender, token=jex.address, amount=amount)


@external
def cover_bad_debt(account: address, batch_id: uint256, amount: uint256) -> uint256:
    """
    @notice Pay the Exchange for a bad debt it settled in `batch_id`.
    @dev Pays min(amount, balance) and returns it; the Exchange deleverages
         whatever is left. Each (account, batch) is covered at most once.
    @param account The bankrupt account.
    @param batch_id The batch that settled the bad debt.
    @param amount The shortfall, USDC token units.
    @return uint256 What the fund paid, USDC token units.
    """
    assert msg.sender == self.exchange, "insurance: caller is not the exchange"
    assert amount > 0, "insurance: zero amount"
    key: bytes32 = keccak256(abi_encode(account, batch_id))
    assert not self.bad_debt_covered[key], "insurance: bad debt already covered"
    self.bad_debt_covered[key] = True
    paid: uint256 = min(amount, self._recorded())
    self.total_outflows += paid
    self.total_bad_debt_covered += paid
    if paid > 0:
        assert extcall usdc.transfer(msg.sender, paid, default_return_value=True)
    log BadDebtCovered(account=account, batch_id=batch_id, requested=amount, covered=paid, balance=self._recorded())
    return paid


@external
def absorb_surplus() -> uint256:
    """
    @notice Record USDC sent here by a plain transfer as a contribution, so it
            can back bad debt; anyone may call.
    @return uint256 The surplus absorbed, USDC token units.
    """
    surplus: uint256 = staticcall usdc.balanceOf(self) - self._recorded()
    assert surplus > 0, "insurance: no surplus"
    self.total_inflows += surplus
    self.total_contributions += surplus
    log Contributed(contributor=msg.sender, token=usdc.address, amount=surplus)
    return surplus


@external
@view
def fund_balance() -> uint256:
    """
    @notice USDC held by the fund, token units (its token balance).
            Named fund_balance because Vyper reserves `balance` on self.
    @dev Equals total_inflows - total_outflows unless someone sent USDC by a
         plain transfer; absorb_surplus() records that.
    @return uint256 Balance.
    """
    return staticcall usdc.balanceOf(self)


@external
@view
def jex_balance() -> uint256:
    """
    @notice JEX held in reserve, JEX wei.
    @return uint256 Balance.
    """
    return self.total_jex_inflows


@external
@view
def coverage_ratio(open_interest: uint256) -> uint256:
    """
    @notice Fund / open interest, WAD (10**18 = the fund equals open interest).
    @dev Rounded down. With no open interest the ratio is unbounded and
         max_value(uint256) is returned.
    @param open_interest Open interest notional, WAD quote.
    @return uint256 Ratio, WAD.
    """
    if open_interest == 0:
        return max_value(uint256)
    return self._recorded() * _USDC_TO_WAD * WAD // open_interest


@internal
@view
def _recorded() -> uint256:
    # what the fund recorded, not balanceOf: USDC sent here without a cause
    # is only counted once absorb_surplus() gives it one
    return self.total_inflows - self.total_outflows
