"""Deploy the perpx contracts and wire their roles, with plain web3.py.

Works on the embedded py-evm chain and on any JSON-RPC node. Each role is a
different local key (DESIGN section 5): the settler posts batches, the price
signer signs prices (and never sends transactions), the funding keeper posts
funding, the guardian may pause new risk, governance sets parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from engine.chain.artifacts import artifact
from engine.chain.node import Chain
from engine.core.markets import MarketSpec, default_markets

ROLE_LABELS = ("admin", "settler", "price-signer", "funding", "guardian", "governance")


@dataclass
class Deployment:
    chain: Chain
    usdc: Contract
    markets: Contract
    exchange: Contract
    roles: dict[str, LocalAccount]
    market_ids: dict[str, int]

    def contract(self, name: str, address: str) -> Contract:
        return self.chain.w3.eth.contract(address=address, abi=artifact(name).abi)


def deploy_contract(chain: Chain, name: str, sender: LocalAccount, *args) -> Contract:
    """Deploy contract `name` from the build manifest, signed by `sender`."""
    art = artifact(name)
    factory = chain.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    receipt = chain.send(factory.constructor(*args), sender)
    return chain.w3.eth.contract(address=receipt["contractAddress"], abi=art.abi)


def deploy_all(chain: Chain, escape_delay_s: int = 7 * 24 * 3600,
               markets: tuple[MarketSpec, ...] = default_markets()) -> Deployment:
    """MockUSDC, Markets and Exchange, roles granted, the given markets listed."""
    roles = {label: chain.signer(label) for label in ROLE_LABELS}
    admin = roles["admin"]
    usdc = deploy_contract(chain, "MockUSDC", admin)
    mk = deploy_contract(chain, "Markets", admin)
    ex = deploy_contract(chain, "Exchange", admin, usdc.address, mk.address, escape_delay_s)
    chain.send(mk.functions.set_exchange(ex.address), admin)
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
    return Deployment(chain, usdc, mk, ex, roles, ids)
