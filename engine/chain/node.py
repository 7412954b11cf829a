"""A connection to an EVM chain: the embedded py-evm chain or any JSON-RPC node.

`Chain` hides the two differences the rest of engine/chain cares about:
how time is moved (tests and the demo run an accelerated clock) and which
keys sign transactions (always local keys, so the same code drives py-evm,
anvil or a real network).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from engine.core.errors import PerpxError


class ChainError(PerpxError, RuntimeError):
    """The chain refused or could not do what was asked."""


def derive_key(label: str) -> LocalAccount:
    """A deterministic local key for a named role ("settler", "trader-3", ...).

    For local chains only: anyone can derive these keys."""
    return Account.from_key(keccak(text=f"perpx local key: {label}"))


@dataclass
class Chain:
    """A Web3 connection plus time control and a funded set of local signers."""

    w3: Web3
    kind: str  # "pyevm" or "rpc"
    tester: object | None = None  # eth_tester.EthereumTester for "pyevm"
    signers: dict[str, LocalAccount] = field(default_factory=dict)

    @classmethod
    def pyevm(cls) -> Chain:
        """The embedded py-evm chain, in process (real gas accounting)."""
        from eth_tester import EthereumTester, PyEVMBackend
        from web3 import EthereumTesterProvider

        tester = EthereumTester(PyEVMBackend())
        return cls(Web3(EthereumTesterProvider(tester)), "pyevm", tester)

    @classmethod
    def rpc(cls, url: str) -> Chain:
        """Any JSON-RPC node (anvil, a testnet, ...)."""
        w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
        if not w3.is_connected():
            raise ChainError(f"no JSON-RPC node answers at {url}")
        return cls(w3, "rpc")

    @property
    def chain_id(self) -> int:
        return self.w3.eth.chain_id

    def now(self) -> int:
        """Timestamp of the latest block, in seconds."""
        return self.w3.eth.get_block("latest")["timestamp"]

    def set_time(self, ts: int) -> None:
        """Mine a block at `ts` (seconds); time only moves forward."""
        if ts <= self.now():
            return
        if self.kind == "pyevm":
            self.tester.time_travel(ts)
        else:
            self.w3.provider.make_request("evm_setNextBlockTimestamp", [ts])
            self.w3.provider.make_request("evm_mine", [])

    def advance(self, seconds: int) -> None:
        self.set_time(self.now() + seconds)

    def signer(self, label: str, fund_wei: int = 10**20) -> LocalAccount:
        """The local key for `label`, funded with ether on first use and able to send."""
        if label in self.signers:
            return self.signers[label]
        acct = derive_key(label)
        faucet = self.w3.eth.accounts[0]
        if self.w3.eth.get_balance(acct.address) < fund_wei // 2:
            tx = self.w3.eth.send_transaction({"from": faucet, "to": acct.address, "value": fund_wei})
            self.w3.eth.wait_for_transaction_receipt(tx)
        self.signers[label] = acct
        return acct

    def send(self, call, sender: LocalAccount, gas: int | None = None, wait: bool = True):
        """Sign `call` (a web3 contract function call) with `sender`'s local key and send it.

        Returns the receipt (or the tx hash with wait=False). A revert raises
        ChainError carrying the contract's revert message."""
        params = {"from": sender.address, "nonce": self.w3.eth.get_transaction_count(sender.address)}
        try:
            params["gas"] = gas or int(call.estimate_gas({"from": sender.address}) * 1.2) + 50_000
            tx = call.build_transaction(params)
        except Exception as exc:  # web3 raises ContractLogicError with the reason
            raise ChainError(f"{call.fn_name} reverted: {_reason(exc)}") from exc
        signed = sender.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        if not wait:
            return tx_hash
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt["status"] != 1:
            raise ChainError(f"{call.fn_name} failed in block {receipt['blockNumber']}")
        return receipt


def _reason(exc: Exception) -> str:
    msg = getattr(exc, "message", None) or str(exc)
    return msg.replace("execution reverted: ", "")
