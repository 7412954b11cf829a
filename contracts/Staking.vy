# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title Staking
@notice Stake JEX to earn the stakers' share of trading fees (USDC) and to
        lower your own trading fees by tier. Unstaked JEX waits out a
        cooldown before it can be withdrawn.
@dev Rewards use a reward-per-token accumulator: each notified amount adds
     amount * ACC / total_staked to `reward_per_token`; an account earns
     stake * (reward_per_token - its snapshot) / ACC. Both divisions round
     down, so the USDC owed to stakers never exceeds the USDC funded.
     Stakes are checkpointed by block (jex_checkpoints): fee tiers read the
     stake as of the block BEFORE the fill, so staking and trading in the
     same block earns no discount. Tier thresholds are not checkpointed: a
     governance change applies to every later check.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from snekmate.auth import ownable
from .modules import jex_checkpoints

# owner = governance: cooldown, tier thresholds, fee-router wiring
initializes: ownable
# stake histories per account, and the total under TOTAL_KEY
initializes: jex_checkpoints

exports: (
    ownable.owner,
    ownable.transfer_ownership,
)

WAD: constant(uint256) = 10**18
# accumulator scale: 10**36 keeps precision with 6-decimal USDC spread over
# up to 10**36 JEX wei of stake
ACC: constant(uint256) = 10**36
YEAR: constant(uint256) = 365 * 86400
EPOCH_LENGTH: constant(uint256) = 7 * 86400
N_TIERS: constant(uint256) = 6
MIN_COOLDOWN: constant(uint256) = 86400
MAX_COOLDOWN: constant(uint256) = 30 * 86400
MIN_THRESHOLD: constant(uint256) = 10**18
MAX_THRESHOLD: constant(uint256) = 10**7 * 10**18
# fee discounts of tiers 1..6: 5%, 10%, 15%, 20%, 30%, 40% (WAD fractions)
TIER_DISCOUNTS: constant(uint256[N_TIERS]) = [
    5 * 10**16, 10 * 10**16, 15 * 10**16, 20 * 10**16, 30 * 10**16, 40 * 10**16
]


struct PendingUnstake:
    amount: uint256
    ready_at: uint256


event Staked:
    account: indexed(address)
    amount: uint256
    stake: uint256
    total_staked: uint256


event UnstakeRequested:
    account: indexed(address)
    amount: uint256
    ready_at: uint256
    stake: uint256
    total_staked: uint256


event Withdrawn:
    account: indexed(address)
    amount: uint256


event RewardNotified:
    batch_id: indexed(uint256)
    amount: uint256
    distributed: uint256
    reward_per_token: uint256


event RewardPaid:
    account: indexed(address)
    amount: uint256


event UpdateCooldown:
    cooldown: uint256


event UpdateTierThresholds:
    thresholds: uint256[N_TIERS]


event UpdateFeeRouter:
    fee_router: address


jex: public(immutable(IERC20))
usdc: public(immutable(IERC20))
_USDC_TO_WAD: immutable(uint256)

fee_router: public(address)
cooldown: public(uint256)
tier_thresholds: public(uint256[N_TIERS])
pending: public(HashMap[address, PendingUnstake])

reward_per_token: public(uint256)
reward_per_token_paid: public(HashMap[address, uint256])
rewards: public(HashMap[address, uint256])
# funded while nobody was staked; handed out with the next notification
queued_rewards: public(uint256)
total_rewards_funded: public(uint256)
total_rewards_paid: public(uint256)
# epoch index (timestamp // EPOCH_LENGTH) -> USDC notified in it
epoch_rewards: public(HashMap[uint256, uint256])


@deploy
def __init__(jex_: IERC20, usdc_: IERC20):
    """
    @notice Deploy staking for JEX paying rewards in `usdc_`.
    @param jex_ The JEX token.
    @param usdc_ The reward token (the exchange's collateral).
    """
    ownable.__init__()
    jex_checkpoints.__init__()
    jex = jex_
    usdc = usdc_
    decimals: uint8 = staticcall IERC20Detailed(usdc_.address).decimals()
    assert decimals <= 18, "staking: token decimals above 18"
    _USDC_TO_WAD = 10 ** convert(18 - decimals, uint256)
    self.cooldown = 7 * 86400
    self.tier_thresholds = [
        1_000 * WAD, 5_000 * WAD, 10_000 * WAD, 50_000 * WAD, 100_000 * WAD, 250_000 * WAD
    ]


@external
def set_fee_router(fee_router_: address):
    """
    @notice Wire the FeeRouter, the only source of rewards, once.
    @param fee_router_ The FeeRouter contract.
    """
    ownable._check_owner()
    assert self.fee_router == empty(address), "staking: fee router already set"
    assert fee_router_ != empty(address), "staking: zero address"
    self.fee_router = fee_router_
    log UpdateFeeRouter(fee_router=fee_router_)


@external
def set_cooldown(cooldown_: uint256):
    """
    @notice Set the unstake cooldown (governance), 1 to 30 days.
    @param cooldown_ Seconds.
    """
    ownable._check_owner()
    assert cooldown_ >= MIN_COOLDOWN and cooldown_ <= MAX_COOLDOWN, "staking: cooldown out of bounds"
    self.cooldown = cooldown_
    log UpdateCooldown(cooldown=cooldown_)


@external
def set_tier_thresholds(thresholds: uint256[N_TIERS]):
    """
    @notice Set the stake needed for each fee tier (governance).
    @dev Strictly increasing, each within [1, 10,000,000] JEX.
    @param thresholds Stake in JEX wei for tiers 1..6.
    """
    ownable._check_owner()
    previous: uint256 = 0
    for t: uint256 in thresholds:
        assert t >= MIN_THRESHOLD and t <= MAX_THRESHOLD, "staking: threshold out of bounds"
        assert t > previous, "staking: thresholds not increasing"
        previous = t
    self.tier_thresholds = thresholds
    log UpdateTierThresholds(thresholds=thresholds)


@external
def stake(amount: uint256):
    """
    @notice Stake `amount` JEX (pulled with transferFrom).
    @param amount JEX wei.
    """
    assert amount > 0, "staking: zero amount"
    self._update_rewards(msg.sender)
    new_stake: uint256 = jex_checkpoints._add(msg.sender, amount)
    total: uint256 = jex_checkpoints._add(jex_checkpoints.TOTAL_KEY, amount)
    assert extcall jex.transferFrom(msg.sender, self, amount, default_return_value=True)
    log Staked(account=msg.sender, amount=amount, stake=new_stake, total_staked=total)


@external
def unstake(amount: uint256):
    """
    @notice Stop staking `amount` JEX now; it can be withdrawn after the
            cooldown. A new request adds to the pending amount and restarts
            the cooldown for all of it.
    @param amount JEX wei.
    """
    assert amount > 0, "staking: zero amount"
    assert amount <= jex_checkpoints._latest(msg.sender), "staking: amount exceeds stake"
    self._update_rewards(msg.sender)
    new_stake: uint256 = jex_checkpoints._sub(msg.sender, amount)
    total: uint256 = jex_checkpoints._sub(jex_checkpoints.TOTAL_KEY, amount)
    ready_at: uint256 = block.timestamp + self.cooldown
    self.pending[msg.sender] = PendingUnstake(
        amount=self.pending[msg.sender].amount + amount, ready_at=ready_at
    )
    log UnstakeRequested(
        account=msg.sender, amount=amount, ready_at=ready_at, stake=new_stake, total_staked=total
    )


@external
def withdraw() -> uint256:
    """
    @notice Withdraw all unstaked JEX whose cooldown is over.
    @return uint256 JEX wei sent to the caller.
    """
    p: PendingUnstake = self.pending[msg.sender]
    assert p.amount > 0, "staking: nothing to withdraw"
    assert block.timestamp >= p.ready_at, "staking: cooldown not over"
    self.pending[msg.sender] = empty(PendingUnstake)
    assert extcall jex.transfer(msg.sender, p.amount, default_return_value=True)
    log Withdrawn(account=msg.sender, amount=p.amount)
    return p.amount


@external
def claim() -> uint256:
    """
    @notice Pay the caller every USDC reward it has earned.
    @return uint256 USDC token units paid.
    """
    self._update_rewards(msg.sender)
    amount: uint256 = self.rewards[msg.sender]
    assert amount > 0, "staking: nothing to claim"
    self.rewards[msg.sender] = 0
    self.total_rewards_paid += amount
    assert extcall usdc.transfer(msg.sender, amount, default_return_value=True)
    log RewardPaid(account=msg.sender, amount=amount)
    return amount


@external
def notify_reward(batch_id: uint256, amount: uint256):
    """
    @notice Take the stakers' share of a batch's fees from the FeeRouter
            (pulled with transferFrom) and credit it to current stakers.
    @param batch_id The settlement batch the fees came from.
    @param amount USDC token units.
    """
    assert msg.sender == self.fee_router, "staking: caller is not the fee router"
    assert amount > 0, "staking: zero amount"
    self.total_rewards_funded += amount
    epoch: uint256 = block.timestamp // EPOCH_LENGTH
    self.epoch_rewards[epoch] += amount
    total: uint256 = jex_checkpoints._latest(jex_checkpoints.TOTAL_KEY)
    distributed: uint256 = 0
    if total == 0:
        self.queued_rewards += amount
    else:
        distributed = amount + self.queued_rewards
        self.queued_rewards = 0
        # rounds down: stakers are never credited more than was funded
        self.reward_per_token += distributed * ACC // total
    assert extcall usdc.transferFrom(msg.sender, self, amount, default_return_value=True)
    log RewardNotified(
        batch_id=batch_id, amount=amount, distributed=distributed, reward_per_token=self.reward_per_token
    )


@external
@view
def earned(account: address) -> uint256:
    """
    @notice USDC `account` could claim now.
    @param account The staker.
    @return uint256 USDC token units.
    """
    return self.rewards[account] + self._pending_reward(account)


@external
@view
def stake_of(account: address) -> uint256:
    """
    @notice Current stake of `account`.
    @param account The staker.
    @return uint256 JEX wei.
    """
    return jex_checkpoints._latest(account)


@external
@view
def total_staked() -> uint256:
    """
    @notice JEX staked in total now.
    @return uint256 JEX wei.
    """
    return jex_checkpoints._latest(jex_checkpoints.TOTAL_KEY)


@external
@view
def stake_at(account: address, block_number: uint256) -> uint256:
    """
    @notice Stake of `account` at the end of block `block_number`.
    @param account The staker.
    @param block_number A block strictly before the current one.
    @return uint256 JEX wei.
    """
    assert block_number < block.number, "staking: future lookup"
    return jex_checkpoints._value_at(account, block_number)


@external
@view
def total_staked_at(block_number: uint256) -> uint256:
    """
    @notice Total stake at the end of block `block_number`.
    @param block_number A block strictly before the current one.
    @return uint256 JEX wei.
    """
    assert block_number < block.number, "staking: future lookup"
    return jex_checkpoints._value_at(jex_checkpoints.TOTAL_KEY, block_number)


@external
@view
def discount_at(account: address, block_number: uint256) -> uint256:
    """
    @notice Fee discount of `account` for a fill in block `block_number`,
            from its stake at the end of the block before.
    @param account The trader.
    @param block_number The fill's block, at most the current one.
    @return uint256 Discount, WAD fraction (0, 5%, ..., 40%).
    """
    return self._discount_at(account, block_number)


@external
@view
def max_fee_rate(base_rate: uint256, account: address, block_number: uint256) -> uint256:
    """
    @notice The highest fee rate the Exchange may charge `account` on a fill
            in block `block_number`: base_rate x (1 - discount), rounded down.
    @param base_rate The market's maker or taker fee rate, WAD fraction.
    @param account The trader.
    @param block_number The fill's block, at most the current one.
    @return uint256 Rate, WAD fraction.
    """
    # rounds down: the trader is never charged above its discounted rate
    return base_rate * (WAD - self._discount_at(account, block_number)) // WAD


@external
@view
def tier_of(stake_amount: uint256) -> uint256:
    """
    @notice The fee tier a stake reaches: 0 (none) to 6.
    @param stake_amount JEX wei.
    @return uint256 Tier.
    """
    return self._tier(stake_amount)


@external
@view
def tier_discounts() -> uint256[N_TIERS]:
    """
    @notice Discounts of tiers 1..6, WAD fractions.
    @return uint256[6] Discounts.
    """
    return TIER_DISCOUNTS


@external
@view
def annualized_yield() -> uint256:
    """
    @notice USDC earned per staked JEX per year at the pace of the last
            complete epoch (7 days), WAD: last epoch's rewards / total staked
            x (year / epoch). Multiply by the JEX price in USDC for a rate.
    @return uint256 USDC per JEX per year, WAD (0 when nothing is staked).
    """
    total: uint256 = jex_checkpoints._latest(jex_checkpoints.TOTAL_KEY)
    epoch: uint256 = block.timestamp // EPOCH_LENGTH
    if total == 0 or epoch == 0:
        return 0
    last: uint256 = self.epoch_rewards[epoch - 1]
    # rounds down: a yield is never overstated
    return last * _USDC_TO_WAD * WAD * YEAR // (total * EPOCH_LENGTH)


@external
@view
def current_epoch() -> uint256:
    """
    @notice Index of the current reward epoch (timestamp // 7 days).
    @return uint256 Epoch.
    """
    return block.timestamp // EPOCH_LENGTH


@internal
@view
def _tier(stake_amount: uint256) -> uint256:
    tier: uint256 = 0
    for t: uint256 in self.tier_thresholds:
        if stake_amount < t:
            break
        tier += 1
    return tier


@internal
@view
def _discount_at(account: address, block_number: uint256) -> uint256:
    assert block_number <= block.number, "staking: future lookup"
    assert block_number > 0, "staking: no block before genesis"
    tier: uint256 = self._tier(jex_checkpoints._value_at(account, block_number - 1))
    if tier == 0:
        return 0
    return TIER_DISCOUNTS[tier - 1]


@internal
@view
def _pending_reward(account: address) -> uint256:
    # rounds down: an account is never credited more than its share
    delta: uint256 = self.reward_per_token - self.reward_per_token_paid[account]
    return jex_checkpoints._latest(account) * delta // ACC


@internal
def _update_rewards(account: address):
    self.rewards[account] += self._pending_reward(account)
    self.reward_per_token_paid[account] = self.reward_per_token
