# pragma version ~=0.4.3
"""
@title Markets
@notice The perpx markets: risk and funding parameters (changed only by the
        governance role, within hard bounds), the signed price log (a hash
        chain per market) and the cumulative funding index.
@dev The Exchange reads everything it needs about the markets in one call
     (`risk_snapshot`). Market ids are 1, 2, ... in listing order.
     docs/contracts.md lists every invariant and revert message.
"""

from snekmate.auth import access_control
from snekmate.utils import eip712_domain_separator
from interfaces import IMarkets
from interfaces import IExchange
from modules import rules
from modules import sigs

implements: IMarkets

# roles, with DEFAULT_ADMIN_ROLE for the deployer
initializes: access_control
# the EIP-712 domain ("perpx", "1", chain id, this contract) of signed prices
initializes: eip712_domain_separator

exports: (
    # grantRole, revokeRole, renounceRole, set_role_admin, hasRole, getRoleAdmin,
    # DEFAULT_ADMIN_ROLE, supportsInterface
    access_control.__interface__,
    # eip712Domain (EIP-5267)
    eip712_domain_separator.eip712Domain,
)

GOVERNANCE_ROLE: public(constant(bytes32)) = keccak256("GOVERNANCE_ROLE")
FUNDING_ROLE: public(constant(bytes32)) = keccak256("FUNDING_ROLE")
PRICE_SIGNER_ROLE: public(constant(bytes32)) = keccak256("PRICE_SIGNER_ROLE")

PRICE_TYPEHASH: constant(bytes32) = keccak256(
    "Price(uint256 market,uint256 index,uint256 mark,uint256 timestamp)"
)

MAX_MARKETS: public(constant(uint256)) = 16
WAD: constant(uint256) = 10**18
PCT: constant(uint256) = 10**16
HOUR: constant(uint256) = 3600
DAY: constant(uint256) = 86400

# Hard bounds that governance cannot cross (mirrored in engine/core/markets.py).
IMF_MIN: public(constant(uint256)) = 1 * PCT
IMF_MAX: public(constant(uint256)) = 50 * PCT
MMF_MIN: public(constant(uint256)) = PCT // 2
INTERVAL_MIN: public(constant(uint256)) = 1 * HOUR
INTERVAL_MAX: public(constant(uint256)) = 12 * HOUR
FUNDING_CAP_MAX: public(constant(uint256)) = 5 * PCT
FUNDING_MAX_CHANGE_MAX: public(constant(uint256)) = 5 * PCT
LIQUIDATION_FEE_MAX: public(constant(uint256)) = 5 * PCT
BPS: constant(uint256) = 10**14
# base trading fees (before JEX stake tiers): defaults and hard caps
MAKER_FEE_DEFAULT: public(constant(uint256)) = 2 * BPS
TAKER_FEE_DEFAULT: public(constant(uint256)) = 5 * BPS
MAKER_FEE_MAX: public(constant(uint256)) = 10 * BPS
TAKER_FEE_MAX: public(constant(uint256)) = 20 * BPS
# |mark - index| <= index / MARK_BAND_DIVISOR, i.e. 0.5% of the index
MARK_BAND_DIVISOR: constant(uint256) = 200


struct Market:
    tick_size: uint256  # WAD quote per base
    step_size: uint256  # WAD base
    imf: uint256  # WAD fraction
    mmf: uint256  # WAD fraction
    funding_interval: uint256  # seconds, divides 24 h
    funding_cap: uint256  # max |rate| per interval, WAD fraction
    funding_max_change: uint256  # max |rate - previous rate|, WAD fraction
    index_price: uint256  # last posted index, WAD quote per base
    mark_price: uint256  # last posted mark, WAD quote per base
    price_ts: uint256  # timestamp of the last posted price, seconds
    price_head: bytes32  # hash chain head of the posted prices
    cumulative_index: int256  # funding index, WAD quote per base
    last_funding_ts: uint256  # last funding timestamp applied (UTC-aligned after the first)
    last_rate: int256  # rate of the last funding applied, WAD fraction


# @notice Every listed market by id (1 .. market_count).
markets: public(HashMap[uint256, Market])
# @notice Number of listed markets; ids are 1 .. market_count.
market_count: public(uint256)
# @notice Liquidation fee, a WAD fraction of the liquidated notional (all markets).
liquidation_fee_rate: public(uint256)
# @notice The Exchange this contract serves (set once by the admin).
exchange: public(address)
# @notice Base maker fee per market, WAD fraction (stake tiers discount it).
maker_fee_rate: public(HashMap[uint256, uint256])
# @notice Base taker fee per market, WAD fraction (stake tiers discount it).
taker_fee_rate: public(HashMap[uint256, uint256])


event MarketAdded:
    market: indexed(uint256)
    tick_size: uint256
    step_size: uint256
    imf: uint256
    mmf: uint256
    funding_interval: uint256
    funding_cap: uint256
    funding_max_change: uint256

event UpdateTickSize:
    market: indexed(uint256)
    old: uint256
    new: uint256

event UpdateStepSize:
    market: indexed(uint256)
    old: uint256
    new: uint256

event UpdateIMF:
    market: indexed(uint256)
    old: uint256
    new: uint256

event UpdateMMF:
    market: indexed(uint256)
    old: uint256
    new: uint256

event UpdateFundingInterval:
    market: indexed(uint256)
    old: uint256
    new: uint256

event UpdateFundingCap:
    market: indexed(uint256)
    old: uint256
    new: uint256

event UpdateFundingMaxChange:
    market: indexed(uint256)
    old: uint256
    new: uint256

event UpdateLiquidationFeeRate:
    old: uint256
    new: uint256

event UpdateExchange:
    old: address
    new: address

event UpdateMakerFeeRate:
    market: indexed(uint256)
    old: uint256
    new: uint256

event UpdateTakerFeeRate:
    market: indexed(uint256)
    old: uint256
    new: uint256

event PricePosted:
    market: indexed(uint256)
    index: uint256
    mark: uint256
    ts: uint256
    head: bytes32

event FundingApplied:
    market: indexed(uint256)
    funding_ts: uint256
    rate: int256
    mark: uint256
    cumulative_index: int256


@deploy
def __init__():
    """
    @notice Deploy with the deployer as DEFAULT_ADMIN; it grants the other roles.
    """
    access_control.__init__()
    eip712_domain_separator.__init__("perpx", "1")
    self.liquidation_fee_rate = 50 * WAD // 10_000
    log UpdateLiquidationFeeRate(old=0, new=50 * WAD // 10_000)


@external
def set_exchange(exchange: address):
    """
    @notice Bind the Exchange whose pause and final settlement this contract obeys. Once only.
    @param exchange The Exchange contract.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert self.exchange == empty(address), "markets: exchange already set"
    assert exchange != empty(address), "markets: zero address"
    self.exchange = exchange
    log UpdateExchange(old=empty(address), new=exchange)


@external
def add_market(
    tick_size: uint256,
    step_size: uint256,
    imf: uint256,
    mmf: uint256,
    funding_interval: uint256,
    funding_cap: uint256,
    funding_max_change: uint256,
) -> uint256:
    """
    @notice List a new market (governance; refused while the Exchange is paused).
    @param tick_size Price increment, WAD quote per base.
    @param step_size Size increment, WAD base.
    @param imf Initial margin fraction, WAD (1% .. 50%).
    @param mmf Maintenance margin fraction, WAD (0.5% .. below imf).
    @param funding_interval Seconds between funding timestamps (1 h .. 12 h, divides 24 h).
    @param funding_cap Max |rate| per interval, WAD (0 < cap <= 5%).
    @param funding_max_change Max |rate - previous rate|, WAD (0 < x <= 5%).
    @return The new market id.
    """
    access_control._check_role(GOVERNANCE_ROLE, msg.sender)
    self._check_live()
    if self.exchange != empty(address):
        assert not staticcall IExchange(self.exchange).paused(), "markets: exchange paused"
    market: uint256 = self.market_count + 1
    assert market <= MAX_MARKETS, "markets: too many markets"
    assert tick_size > 0, "markets: tick size out of bounds"
    assert step_size > 0, "markets: step size out of bounds"
    self._check_imf(imf, mmf)
    self._check_mmf(mmf, imf)
    self._check_interval(funding_interval)
    assert funding_cap > 0 and funding_cap <= FUNDING_CAP_MAX, "markets: funding cap out of bounds"
    self._check_max_change(funding_max_change)
    self.market_count = market
    self.maker_fee_rate[market] = MAKER_FEE_DEFAULT
    self.taker_fee_rate[market] = TAKER_FEE_DEFAULT
    self.markets[market] = Market(
        tick_size=tick_size,
        step_size=step_size,
        imf=imf,
        mmf=mmf,
        funding_interval=funding_interval,
        funding_cap=funding_cap,
        funding_max_change=funding_max_change,
        index_price=0,
        mark_price=0,
        price_ts=0,
        price_head=empty(bytes32),
        cumulative_index=0,
        last_funding_ts=block.timestamp,
        last_rate=0,
    )
    log UpdateMakerFeeRate(market=market, old=0, new=MAKER_FEE_DEFAULT)
    log UpdateTakerFeeRate(market=market, old=0, new=TAKER_FEE_DEFAULT)
    log MarketAdded(
        market=market,
        tick_size=tick_size,
        step_size=step_size,
        imf=imf,
        mmf=mmf,
        funding_interval=funding_interval,
        funding_cap=funding_cap,
        funding_max_change=funding_max_change,
    )
    return market


@external
def set_tick_size(market: uint256, tick_size: uint256):
    """
    @notice Change a market's price increment (governance).
    @param market Market id.
    @param tick_size New tick, WAD quote per base (> 0).
    """
    self._check_governance(market)
    assert tick_size > 0, "markets: tick size out of bounds"
    log UpdateTickSize(market=market, old=self.markets[market].tick_size, new=tick_size)
    self.markets[market].tick_size = tick_size


@external
def set_step_size(market: uint256, step_size: uint256):
    """
    @notice Change a market's size increment (governance).
    @param market Market id.
    @param step_size New step, WAD base (> 0).
    """
    self._check_governance(market)
    assert step_size > 0, "markets: step size out of bounds"
    log UpdateStepSize(market=market, old=self.markets[market].step_size, new=step_size)
    self.markets[market].step_size = step_size


@external
def set_imf(market: uint256, imf: uint256):
    """
    @notice Change a market's initial margin fraction (governance).
    @param market Market id.
    @param imf New IMF, WAD (1% .. 50%, above the MMF).
    """
    self._check_governance(market)
    self._check_imf(imf, self.markets[market].mmf)
    log UpdateIMF(market=market, old=self.markets[market].imf, new=imf)
    self.markets[market].imf = imf


@external
def set_mmf(market: uint256, mmf: uint256):
    """
    @notice Change a market's maintenance margin fraction (governance).
    @param market Market id.
    @param mmf New MMF, WAD (0.5% .. below the IMF).
    """
    self._check_governance(market)
    self._check_mmf(mmf, self.markets[market].imf)
    log UpdateMMF(market=market, old=self.markets[market].mmf, new=mmf)
    self.markets[market].mmf = mmf


@external
def set_funding_interval(market: uint256, funding_interval: uint256):
    """
    @notice Change a market's funding interval (governance).
    @param market Market id.
    @param funding_interval New interval in seconds (1 h .. 12 h, divides 24 h).
    """
    self._check_governance(market)
    self._check_interval(funding_interval)
    log UpdateFundingInterval(market=market, old=self.markets[market].funding_interval, new=funding_interval)
    self.markets[market].funding_interval = funding_interval


@external
def set_funding_cap(market: uint256, funding_cap: uint256):
    """
    @notice Change a market's funding rate cap per interval (governance).
    @param market Market id.
    @param funding_cap New cap, WAD fraction (0 < cap <= 5%).
    """
    self._check_governance(market)
    assert funding_cap > 0 and funding_cap <= FUNDING_CAP_MAX, "markets: funding cap out of bounds"
    log UpdateFundingCap(market=market, old=self.markets[market].funding_cap, new=funding_cap)
    self.markets[market].funding_cap = funding_cap


@external
def set_funding_max_change(market: uint256, funding_max_change: uint256):
    """
    @notice Change a market's maximum funding rate change per interval (governance).
    @param market Market id.
    @param funding_max_change New maximum, WAD fraction (0 < x <= 5%).
    """
    self._check_governance(market)
    self._check_max_change(funding_max_change)
    log UpdateFundingMaxChange(market=market, old=self.markets[market].funding_max_change, new=funding_max_change)
    self.markets[market].funding_max_change = funding_max_change


@external
def set_maker_fee_rate(market: uint256, rate: uint256):
    """
    @notice Change a market's base maker fee (governance).
    @dev The Exchange refuses a maker fee above rate x (1 - stake discount).
    @param market Market id.
    @param rate New fee, WAD fraction of notional (<= 0.1%).
    """
    self._check_governance(market)
    assert rate <= MAKER_FEE_MAX, "markets: maker fee out of bounds"
    log UpdateMakerFeeRate(market=market, old=self.maker_fee_rate[market], new=rate)
    self.maker_fee_rate[market] = rate


@external
def set_taker_fee_rate(market: uint256, rate: uint256):
    """
    @notice Change a market's base taker fee (governance).
    @dev The Exchange refuses a taker fee above rate x (1 - stake discount).
    @param market Market id.
    @param rate New fee, WAD fraction of notional (<= 0.2%).
    """
    self._check_governance(market)
    assert rate <= TAKER_FEE_MAX, "markets: taker fee out of bounds"
    log UpdateTakerFeeRate(market=market, old=self.taker_fee_rate[market], new=rate)
    self.taker_fee_rate[market] = rate


@external
def set_liquidation_fee_rate(rate: uint256):
    """
    @notice Change the liquidation fee of all markets (governance).
    @param rate New fee, WAD fraction of the liquidated notional (<= 5%).
    """
    access_control._check_role(GOVERNANCE_ROLE, msg.sender)
    assert rate <= LIQUIDATION_FEE_MAX, "markets: liquidation fee out of bounds"
    log UpdateLiquidationFeeRate(old=self.liquidation_fee_rate, new=rate)
    self.liquidation_fee_rate = rate


@external
def post_prices(market: uint256, index: uint256, mark: uint256, ts: uint256, signature: Bytes[65]):
    """
    @notice Record a signed (index, mark) pair; anyone may submit it.
    @dev The EIP-712 Price digest must be signed by a PRICE_SIGNER_ROLE key.
         Each entry extends the market's hash chain:
         head = keccak256(prev_head ++ digest).
    @param market Market id.
    @param index Index price, WAD quote per base.
    @param mark Mark price, WAD quote per base, within 0.5% of the index.
    @param ts Price timestamp in seconds: after the last one, not in the future.
    @param signature 65-byte r || s || v signature of the Price digest.
    """
    self._check_listed(market)
    self._check_live()
    assert index > 0 and mark > 0, "markets: zero price"
    band: uint256 = index // MARK_BAND_DIVISOR
    if mark > index:
        assert mark - index <= band, "markets: mark too far from index"
    else:
        assert index - mark <= band, "markets: mark too far from index"
    assert ts > self.markets[market].price_ts, "markets: stale price"
    assert ts <= block.timestamp, "markets: price from the future"
    digest: bytes32 = self._price_digest(market, index, mark, ts)
    signer: address = sigs._recover_bytes(digest, signature)
    assert signer != empty(address) and access_control.hasRole[PRICE_SIGNER_ROLE][signer], "markets: bad price signature"
    head: bytes32 = keccak256(concat(self.markets[market].price_head, digest))
    self.markets[market].index_price = index
    self.markets[market].mark_price = mark
    self.markets[market].price_ts = ts
    self.markets[market].price_head = head
    log PricePosted(market=market, index=index, mark=mark, ts=ts, head=head)


@external
def apply_funding(market: uint256, rate: int256):
    """
    @notice Apply the funding of the next due interval (FUNDING_ROLE).
    @dev Funding timestamps are aligned to the UTC epoch; missed intervals are
         applied one call each, in order. index += rate x mark (last posted
         mark), truncated toward zero.
    @param market Market id.
    @param rate Funding rate of the interval, signed WAD fraction (longs pay when > 0).
    """
    access_control._check_role(FUNDING_ROLE, msg.sender)
    self._check_listed(market)
    self._check_live()
    m: Market = self.markets[market]
    assert m.mark_price > 0, "markets: no price"
    funding_ts: uint256 = (m.last_funding_ts // m.funding_interval + 1) * m.funding_interval
    assert block.timestamp >= funding_ts, "markets: funding too early"
    assert convert(abs(rate), uint256) <= m.funding_cap, "markets: rate above cap"
    assert convert(abs(rate - m.last_rate), uint256) <= m.funding_max_change, "markets: rate change too large"
    index: int256 = m.cumulative_index + rules._funding_index_step(rate, m.mark_price)
    self.markets[market].cumulative_index = index
    self.markets[market].last_funding_ts = funding_ts
    self.markets[market].last_rate = rate
    log FundingApplied(market=market, funding_ts=funding_ts, rate=rate, mark=m.mark_price, cumulative_index=index)


@view
@external
def next_funding_ts(market: uint256) -> uint256:
    """
    @notice The next funding timestamp of a market (UTC-aligned).
    @param market Market id.
    @return Seconds since the epoch at which apply_funding becomes allowed.
    """
    self._check_listed(market)
    interval: uint256 = self.markets[market].funding_interval
    return (self.markets[market].last_funding_ts // interval + 1) * interval


@view
@external
def price_digest(market: uint256, index: uint256, mark: uint256, ts: uint256) -> bytes32:
    """
    @notice The EIP-712 digest a price signer signs for a Price entry.
    @param market Market id.
    @param index Index price, WAD.
    @param mark Mark price, WAD.
    @param ts Price timestamp, seconds.
    @return The 32-byte digest (== engine.eip712.price_hash).
    """
    return self._price_digest(market, index, mark, ts)


@view
@external
def market_risk(market: uint256) -> IMarkets.MarketRisk:
    """
    @notice What the Exchange needs about one market.
    @param market Market id.
    @return tick, step, imf, mmf, last mark, cumulative funding index, liquidation
            fee rate, base maker and taker fee rates.
    """
    self._check_listed(market)
    return self._risk(market)


@view
@external
def risk_snapshot() -> DynArray[IMarkets.MarketRisk, MAX_MARKETS]:
    """
    @notice What the Exchange needs about every market, in id order.
    @return One entry per market; entry i is market i + 1.
    """
    out: DynArray[IMarkets.MarketRisk, MAX_MARKETS] = []
    for market: uint256 in range(1, MAX_MARKETS + 1):
        if market > self.market_count:
            break
        out.append(self._risk(market))
    return out


@view
@internal
def _risk(market: uint256) -> IMarkets.MarketRisk:
    return IMarkets.MarketRisk(
        tick_size=self.markets[market].tick_size,
        step_size=self.markets[market].step_size,
        imf=self.markets[market].imf,
        mmf=self.markets[market].mmf,
        mark=self.markets[market].mark_price,
        cumulative_index=self.markets[market].cumulative_index,
        liquidation_fee_rate=self.liquidation_fee_rate,
        maker_fee_rate=self.maker_fee_rate[market],
        taker_fee_rate=self.taker_fee_rate[market],
    )


@view
@internal
def _price_digest(market: uint256, index: uint256, mark: uint256, ts: uint256) -> bytes32:
    return eip712_domain_separator._hash_typed_data_v4(
        keccak256(abi_encode(PRICE_TYPEHASH, market, index, mark, ts))
    )


@view
@internal
def _check_listed(market: uint256):
    assert market >= 1 and market <= self.market_count, "markets: unknown market"


@view
@internal
def _check_governance(market: uint256):
    access_control._check_role(GOVERNANCE_ROLE, msg.sender)
    self._check_listed(market)


@view
@internal
def _check_live():
    # after the Exchange's final settlement starts, prices and funding are frozen
    if self.exchange != empty(address):
        assert not staticcall IExchange(self.exchange).final_settlement(), "markets: final settlement"


@pure
@internal
def _check_imf(imf: uint256, mmf: uint256):
    assert imf >= IMF_MIN and imf <= IMF_MAX and imf > mmf, "markets: imf out of bounds"


@pure
@internal
def _check_mmf(mmf: uint256, imf: uint256):
    assert mmf >= MMF_MIN and mmf < imf, "markets: mmf out of bounds"


@pure
@internal
def _check_interval(interval: uint256):
    assert interval >= INTERVAL_MIN and interval <= INTERVAL_MAX and DAY % interval == 0, "markets: funding interval out of bounds"


@pure
@internal
def _check_max_change(x: uint256):
    assert x > 0 and x <= FUNDING_MAX_CHANGE_MAX, "markets: funding max change out of bounds"
