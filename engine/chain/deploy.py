"""Deploy the perpx contracts and wire their roles, with plain web3.py.

Works on the embedded py-evm chain and on any JSON-RPC node. Each role is a
different local key (DESIGN section 5): the settler posts batches, the price
signer signs prices (and never sends transactions), the funding keeper posts
funding, the guardian may pause new risk, governance sets parameters (the
`governance` key and the JEX Governor both hold GOVERNANCE_ROLE on Markets),
the treasury receives the JEX supply and the treasury share of fees.

The JEX economy (docs/token.md) is deployed first and wired into the
Exchange's constructor: Staking (fee tiers), FeeRouter (Exchange.sweep_fees),
InsuranceFund (insurance balance, bad debt). The Governor owns FeeRouter,
Staking, BuybackBurn and InsuranceFund, holds GOVERNANCE_ROLE on Markets and
GUARDIAN_ROLE on the Exchange (council pause), and its whitelist is locked.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector
from web3.contract import Contract

from engine.chain.artifacts import artifact
from engine.chain.node import Chain
from engine.core.markets import MarketSpec, default_markets

ROLE_LABELS = ("admin", "settler", "price-signer", "funding", "guardian", "governance",
               "treasury")

JEX_SUPPLY = 100_000_000 * 10**18  # JEX wei, minted to the treasury
BUYBACK_REFERENCE_PRICE = 4 * 10**18  # JEX per USDC (JEX at 0.25 USDC), WAD
# Governor(voting delay blocks, voting period blocks, quorum WAD, timelock s):
# the shortest the Governor allows, so local chains can run a proposal
GOVERNOR_PARAMS = (1, 5, 4 * 10**16, 3600)
# Markets setters governance may call (each enforces its own bounds)
MARKETS_SETTERS = (
    "add_market(uint256,uint256,uint256,uint256,uint256,uint256,uint256)",
    "set_tick_size(uint256,uint256)", "set_step_size(uint256,uint256)",
    "set_imf(uint256,uint256)", "set_mmf(uint256,uint256)",
    "set_funding_interval(uint256,uint256)", "set_funding_cap(uint256,uint256)",
    "set_funding_max_change(uint256,uint256)", "set_liquidation_fee_rate(uint256)",
    "set_maker_fee_rate(uint256,uint256)", "set_taker_fee_rate(uint256,uint256)",
)
JEX_SETTERS = {
    "router": ("set_insurance_share(uint256)", "set_revenue_shares(uint256,uint256,uint256)",
               "set_treasury(address)"),
    "staking": ("set_cooldown(uint256)", "set_tier_thresholds(uint256[6])"),
    "buyback": ("set_auction_duration(uint256)", "set_multipliers(uint256,uint256)"),
}


@dataclass
class Deployment:
    chain: Chain
    usdc: Contract
    markets: Contract
    exchange: Contract
    roles: dict[str, LocalAccount]
    market_ids: dict[str, int]
    jex: Contract | None = None
    insurance_fund: Contract | None = None
    staking: Contract | None = None
    buyback: Contract | None = None
    fee_router: Contract | None = None
    governor: Contract | None = None

    def contract(self, name: str, address: str) -> Contract:
        return self.chain.w3.eth.contract(address=address, abi=artifact(name).abi)


def deploy_contract(chain: Chain, name: str, sender: LocalAccount, *args) -> Contract:
    """Deploy contract `name` from the build manifest, signed by `sender`."""
    art = artifact(name)
    factory = chain.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    receipt = chain.send(factory.constructor(*args), sender)
    return chain.w3.eth.contract(address=receipt["contractAddress"], abi=art.abi)


def selector(signature: str) -> bytes:
    """The 4-byte selector of a function signature such as "set_imf(uint256,uint256)"."""
    return function_signature_to_4byte_selector(signature)


def deploy_all(chain: Chain, escape_delay_s: int = 7 * 24 * 3600,
               markets: tuple[MarketSpec, ...] = default_markets()) -> Deployment:
    """MockUSDC, the JEX economy, Markets and Exchange, roles granted, the
    given markets listed, the Governor wired and its whitelist locked."""
    roles = {label: chain.signer(label) for label in ROLE_LABELS}
    admin = roles["admin"]
    treasury = roles["treasury"].address
    usdc = deploy_contract(chain, "MockUSDC", admin)
    jex = deploy_contract(chain, "JexToken", admin, treasury, JEX_SUPPLY)
    fund = deploy_contract(chain, "InsuranceFund", admin, usdc.address, jex.address)
    staking = deploy_contract(chain, "Staking", admin, jex.address, usdc.address)
    buyback = deploy_contract(chain, "BuybackBurn", admin, usdc.address, jex.address,
                              BUYBACK_REFERENCE_PRICE)
    router = deploy_contract(chain, "FeeRouter", admin, usdc.address, fund.address,
                             staking.address, buyback.address, treasury)
    mk = deploy_contract(chain, "Markets", admin)
    ex = deploy_contract(chain, "Exchange", admin, usdc.address, mk.address, escape_delay_s,
                         staking.address, router.address, fund.address)
    chain.send(mk.functions.set_exchange(ex.address), admin)
    for call in (fund.functions.set_exchange(ex.address),
                 fund.functions.set_fee_router(router.address),
                 staking.functions.set_fee_router(router.address),
                 buyback.functions.set_fee_router(router.address),
                 router.functions.set_exchange(ex.address)):
        chain.send(call, admin)
    for role, label in (("GOVERNANCE_ROLE", "governance"), ("FUNDING_ROLE", "funding"),
                        ("PRICE_SIGNER_ROLE", "price-signer")):
        chain.send(mk.functions.grantRole(getattr(mk.functions, role)().call(),
                                          roles[label].address), admin)
    for role, label in (("SETTLER_ROLE", "settler"), ("GUARDIAN_ROLE", "guardian")):
        chain.send(ex.functions.grantRole(getattr(ex.functions, role)().call(),
                                          roles[label].address), admin)
    ids: dict[str, int] = {}
    for spec in markets:
        call = mk.functions.add_market(spec.tick_size, spec.step_size, spec.imf, spec.mmf,
                                       spec.funding_interval_s, spec.funding_cap,
                                       spec.funding_max_change)
        chain.send(call, roles["governance"])
        ids[spec.symbol] = mk.functions.market_count().call()
        if ids[spec.symbol] != spec.market_id:
            raise ValueError(f"market {spec.symbol} listed as {ids[spec.symbol]}, "
                             f"engine expects {spec.market_id}")
        for call in (mk.functions.set_maker_fee_rate(ids[spec.symbol], spec.maker_fee_rate),
                     mk.functions.set_taker_fee_rate(ids[spec.symbol], spec.taker_fee_rate)):
            chain.send(call, roles["governance"])
    gov = _deploy_governor(chain, admin, jex, mk, ex, router, staking, buyback, fund)
    return Deployment(chain, usdc, mk, ex, roles, ids, jex, fund, staking, buyback, router, gov)


def _deploy_governor(chain: Chain, admin: LocalAccount, jex: Contract, mk: Contract,
                     ex: Contract, router: Contract, staking: Contract, buyback: Contract,
                     fund: Contract) -> Contract:
    """The Governor: whitelist of parameter setters, council pause, ownerships, locked."""
    gov = deploy_contract(chain, "Governor", admin, jex.address, *GOVERNOR_PARAMS)
    chain.send(mk.functions.grantRole(mk.functions.GOVERNANCE_ROLE().call(), gov.address), admin)
    chain.send(ex.functions.grantRole(ex.functions.GUARDIAN_ROLE().call(), gov.address), admin)
    targets = [(mk, sig) for sig in MARKETS_SETTERS]
    targets += [(router, sig) for sig in JEX_SETTERS["router"]]
    targets += [(staking, sig) for sig in JEX_SETTERS["staking"]]
    targets += [(buyback, sig) for sig in JEX_SETTERS["buyback"]]
    for target, sig in targets:
        chain.send(gov.functions.set_whitelisted(target.address, selector(sig), True), admin)
    chain.send(gov.functions.set_pause_target(ex.address, selector("pause()")), admin)
    for owned in (router, staking, buyback, fund):
        chain.send(owned.functions.transfer_ownership(gov.address), admin)
    chain.send(gov.functions.lock_whitelist(), admin)
    return gov
