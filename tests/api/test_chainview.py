"""get_last_batch against a real chain: the scripted scenario settles batch 1 on py-evm,
then the API reads it back from Exchange.last_batch_id and the BatchSettled log."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from engine.api.chainview import ChainView
from engine.api.server import ApiServer
from engine.api.service import ExchangeService
from engine.eip712 import Domain
from engine.journal import Journal
from engine.sequencer import Sequencer
from tests.api.conftest import Rpc


@pytest.fixture(scope="module")
def settled():
    from engine.chain.artifacts import compile_contracts
    from engine.scenario import Scenario

    compile_contracts()
    return Scenario(Console(file=io.StringIO())).run()


def test_get_last_batch__batch_settled_on_chain__id_seqs_and_tx(settled, tmp_path):
    d = settled
    seq = Sequencer.open(Journal(tmp_path / "journal.db"), None)
    service = ExchangeService(seq, Domain(d.chain.chain_id, d.exchange.address),
                              chain=ChainView(d.exchange))
    with ApiServer(service) as server:
        rpc = Rpc(server.url)
        batch = rpc.ok("get_last_batch")
        info = rpc.ok("get_info")
    seq.close()
    assert (batch["batch_id"], batch["first_seq"], batch["last_seq"]) == (1, 1, 2)
    assert batch["journal_digest"] == "0x" + "00" * 32
    receipt = d.chain.w3.eth.get_transaction_receipt(batch["tx_hash"])
    assert (receipt["status"], receipt["to"], receipt["blockNumber"]) == \
        (1, d.exchange.address, batch["block_number"])
    assert info["chain_connected"] is True and info["dev"] is False


def test_get_last_batch__no_batch_yet__zero_and_nulls(tmp_path):
    from engine.chain.deploy import deploy_all
    from engine.chain.node import Chain

    d = deploy_all(Chain.pyevm())
    assert ChainView(d.exchange).last_batch() == {
        "batch_id": 0, "first_seq": None, "last_seq": None, "journal_digest": None,
        "tx_hash": None, "block_number": None}
