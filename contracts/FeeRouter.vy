# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title FeeRouter
@notice Splits the trading fees the Exchange settled, batch by batch, by
        governed shares: the insurance fund, stakers (Staking), the buyback
        (BuybackBurn) and the treasury.
@dev Definitions, per routed batch with settled fees F (USDC token units):
       insurance   = floor(F x insurance_share)
       net revenue = F - insurance
       stakers     = floor(net x staker_share)
       buyback     = floor(net x buyback_share)      (20% by default)
       treasury    = net - stakers - buyback         (gets the rounding dust)
     staker_share + buyback_share + treasury_share == 1 (WAD); the treasury
     share is implied by the remainder, so the pieces always sum to F.
     Per-epoch (7 days, UTC-aligned) totals of fees, net revenue and buyback
     are kept so anyone can check the buyback got its share of each epoch.
"""

from ethereum.ercs import IERC20
from snekmate.auth import ownable

# owner = governance: shares, treasury, one-time Exchange wiring
initializes: ownable

exports: (
    ownable.owner,
    ownable.transfer_ownership,
)


interface IInsuranceFund:
    def deposit_fee_share(batch_id: uint256, amount: uint256): nonpayable


interface IStaking:
    def notify_reward(batch_id: uint256, amount: uint256): nonpayable


interface IBuybackBurn:
    def fund(batch_id: uint256, amount: uint256): nonpayable


WAD: constant(uint256) = 10**18
EPOCH_LENGTH: constant(uint256) = 7 * 86400
MAX_INSURANCE_SHARE: constant(uint256) = 5 * 10**17
MAX_STAKER_SHARE: constant(uint256) = 8 * 10**17
MIN_BUYBACK_SHARE: constant(uint256) = 5 * 10**16
MAX_BUYBACK_SHARE: constant(uint256) = 5 * 10**17


event FeesRouted:
    batch_id: indexed(uint256)
    epoch: indexed(uint256)
    fees: uint256
    insurance: uint256
    net_revenue: uint256
    stakers: uint256
    buyback: uint256
    treasury: uint256


event UpdateInsuranceShare:
    insurance_share: uint256


event UpdateRevenueShares:
    staker_share: uint256
    buyback_share: uint256
    treasury_share: uint256


event UpdateTreasury:
    treasury: address


event UpdateExchange:
    exchange: address


usdc: public(immutable(IERC20))
insurance_fund: public(immutable(address))
staking: public(immutable(address))
buyback: public(immutable(address))

exchange: public(address)
treasury: public(address)
insurance_share: public(uint256)
staker_share: public(uint256)
buyback_share: public(uint256)
last_routed_batch: public(uint256)

total_fees: public(uint256)
total_to_insurance: public(uint256)
total_to_stakers: public(uint256)
total_to_buyback: public(uint256)
total_to_treasury: public(uint256)
epoch_fees: public(HashMap[uint256, uint256])
epoch_net_revenue: public(HashMap[uint256, uint256])
epoch_buyback: public(HashMap[uint256, uint256])


@deploy
def __init__(usdc_: IERC20, insurance_fund_: address, staking_: address, buyback_: address, treasury_: address):
    """
    @notice Deploy the router with default shares: insurance 10% of fees;
            of net revenue, stakers 50%, buyback 20%, treasury 30%.
    @param usdc_ The fee token.
    @param insurance_fund_ The InsuranceFund.
    @param staking_ The Staking contract.
    @param buyback_ The BuybackBurn contract.
    @param treasury_ The treasury address.
    """
    assert insurance_fund_ != empty(address) and staking_ != empty(address), "fee_router: zero address"
    assert buyback_ != empty(address) and treasury_ != empty(address), "fee_router: zero address"
    ownable.__init__()
    usdc = usdc_
    insurance_fund = insurance_fund_
    staking = staking_
    buyback = buyback_
    self.treasury = treasury_
    self.insurance_share = 10**17
    self.staker_share = 5 * 10**17
    self.buyback_share = 2 * 10**17


@external
def set_exchange(exchange_: address):
    """
    @notice Wire the Exchange, the only caller of route_fees, once.
    @param exchange_ The Exchange contract.
    """
    ownable._check_owner()
    assert self.exchange == empty(address), "fee_router: exchange already set"
    assert exchange_ != empty(address), "fee_router: zero address"
    self.exchange = exchange_
    log UpdateExchange(exchange=exchange_)


@external
def set_insurance_share(share: uint256):
    """
    @notice Set the insurance fund's share of gross fees (governance), 0-50%.
    @param share WAD fraction.
    """
    ownable._check_owner()
    assert share <= MAX_INSURANCE_SHARE, "fee_router: insurance share out of bounds"
    self.insurance_share = share
    log UpdateInsuranceShare(insurance_share=share)


@external
def set_revenue_shares(staker_share_: uint256, buyback_share_: uint256, treasury_share_: uint256):
    """
    @notice Set how net revenue splits (governance); the three must sum to 1.
    @dev Stakers at most 80%, buyback 5% to 50%.
    @param staker_share_ WAD fraction of net revenue to stakers.
    @param buyback_share_ WAD fraction of net revenue to the buyback.
    @param treasury_share_ WAD fraction of net revenue to the treasury.
    """
    ownable._check_owner()
    assert staker_share_ <= MAX_STAKER_SHARE, "fee_router: staker share out of bounds"
    assert buyback_share_ >= MIN_BUYBACK_SHARE and buyback_share_ <= MAX_BUYBACK_SHARE, "fee_router: buyback share out of bounds"
    assert staker_share_ + buyback_share_ + treasury_share_ == WAD, "fee_router: shares do not sum to one"
    self.staker_share = staker_share_
    self.buyback_share = buyback_share_
    log UpdateRevenueShares(staker_share=staker_share_, buyback_share=buyback_share_, treasury_share=treasury_share_)


@external
def set_treasury(treasury_: address):
    """
    @notice Set the treasury address (governance).
    @param treasury_ The new treasury.
    """
    ownable._check_owner()
    assert treasury_ != empty(address), "fee_router: zero address"
    self.treasury = treasury_
    log UpdateTreasury(treasury=treasury_)


@external
def route_fees(batch_id: uint256, amount: uint256):
    """
    @notice Split the fees settled in `batch_id` (pulled from the Exchange
            with transferFrom) and pay every share out.
    @dev Batches route in increasing order, each once.
    @param batch_id The settlement batch.
    @param amount Fees settled in it, USDC token units.
    """
    assert msg.sender == self.exchange, "fee_router: caller is not the exchange"
    assert batch_id > self.last_routed_batch, "fee_router: batch already routed"
    assert amount > 0, "fee_router: zero amount"
    self.last_routed_batch = batch_id

    # each share rounds down; the treasury takes the remainder
    to_insurance: uint256 = amount * self.insurance_share // WAD
    net: uint256 = amount - to_insurance
    to_stakers: uint256 = net * self.staker_share // WAD
    to_buyback: uint256 = net * self.buyback_share // WAD
    to_treasury: uint256 = net - to_stakers - to_buyback

    epoch: uint256 = block.timestamp // EPOCH_LENGTH
    self.epoch_fees[epoch] += amount
    self.epoch_net_revenue[epoch] += net
    self.epoch_buyback[epoch] += to_buyback
    self.total_fees += amount
    self.total_to_insurance += to_insurance
    self.total_to_stakers += to_stakers
    self.total_to_buyback += to_buyback
    self.total_to_treasury += to_treasury

    assert extcall usdc.transferFrom(msg.sender, self, amount, default_return_value=True)
    if to_insurance > 0:
        assert extcall usdc.approve(insurance_fund, to_insurance, default_return_value=True)
        extcall IInsuranceFund(insurance_fund).deposit_fee_share(batch_id, to_insurance)
    if to_stakers > 0:
        assert extcall usdc.approve(staking, to_stakers, default_return_value=True)
        extcall IStaking(staking).notify_reward(batch_id, to_stakers)
    if to_buyback > 0:
        assert extcall usdc.approve(buyback, to_buyback, default_return_value=True)
        extcall IBuybackBurn(buyback).fund(batch_id, to_buyback)
    if to_treasury > 0:
        assert extcall usdc.transfer(self.treasury, to_treasury, default_return_value=True)
    log FeesRouted(
        batch_id=batch_id, epoch=epoch, fees=amount, insurance=to_insurance, net_revenue=net,
        stakers=to_stakers, buyback=to_buyback, treasury=to_treasury,
    )


@external
@view
def treasury_share() -> uint256:
    """
    @notice The treasury's share of net revenue: 1 - stakers - buyback.
    @return uint256 WAD fraction.
    """
    return WAD - self.staker_share - self.buyback_share


@external
@view
def preview_split(amount: uint256) -> uint256[5]:
    """
    @notice How `amount` of fees would split now.
    @param amount Fees, USDC token units.
    @return uint256[5] [insurance, net revenue, stakers, buyback, treasury].
    """
    to_insurance: uint256 = amount * self.insurance_share // WAD
    net: uint256 = amount - to_insurance
    to_stakers: uint256 = net * self.staker_share // WAD
    to_buyback: uint256 = net * self.buyback_share // WAD
    return [to_insurance, net, to_stakers, to_buyback, net - to_stakers - to_buyback]
