"""engine.client against the real server: sync and async, orders signed with eth-account."""

from __future__ import annotations

import asyncio

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from engine.api.errors import ApiError
from engine.chain.node import derive_key
from engine.client import AsyncClient, Client, Signer
from engine.eip712 import order_message, typed_data
from tests.api.conftest import DOMAIN


def test_signer__order_params__same_signature_as_a_wallet(maker):
    order = maker.order(1, True, "1.5", "1999.99", nonce=7)
    params = maker.order_params(order)
    msg = encode_typed_data(full_message=typed_data(DOMAIN, "Order", order_message(order)))
    wallet = Account.sign_message(msg, maker.key)
    assert params["signature"] == "0x" + (wallet.r.to_bytes(32, "big") + wallet.s.to_bytes(
        32, "big") + bytes([wallet.v])).hex()
    assert (params["size"], params["limit_price"], params["max_fee_rate"]) == \
        ("1.5", "1999.99", "0.001")


def test_client__sync_round_trip__place_status_cancel(funded, stack):
    key = derive_key("maker").key
    with Client(stack[0].url, key=key) as client:
        client.connect()
        placed = client.place_order(1, False, "0.25", "2050")
        assert client.order_status(placed["order_hash"])["remaining"] == "0.25"
        assert [o["order_hash"] for o in client.open_orders()] == [placed["order_hash"]]
        assert client.book(1)["asks"] == [["2050", "0.25"]]
        assert client.cancel_order(placed["order_hash"])["status"] == "cancelled"
        with pytest.raises(ApiError) as info:
            client.cancel_order(placed["order_hash"])
        assert info.value.code == 1009
        assert client.cancel_all()["cancelled"] == []


def test_async_client__concurrent_orders_and_subscription__all_seen(funded, stack):
    async def run() -> tuple[list, list]:
        async with AsyncClient(stack[0].url, key=derive_key("maker").key) as client:
            await client.connect()
            seen: list = []

            async def listen() -> None:
                async for book in client.subscribe("book", market=1):
                    seen.append(book)
                    if len(book["asks"]) == 5:
                        return

            task = asyncio.create_task(listen())
            await asyncio.sleep(0.3)
            placed = await asyncio.gather(*(client.place_order(1, False, "1", str(2100 + i))
                                            for i in range(5)))
            await asyncio.wait_for(task, 10)
            return placed, seen

    placed, seen = asyncio.run(run())
    assert sorted(p["status"] for p in placed) == ["open"] * 5
    assert [lvl[0] for lvl in seen[-1]["asks"]] == ["2100", "2101", "2102", "2103", "2104"]


def test_signer__foreign_domain__rejected_with_4001(funded, stack):
    from engine.eip712 import Domain

    wrong = Signer(derive_key("maker").key, Domain(31337, "0x" + "99" * 20))
    err = funded.err("place_order", wrong.order_params(wrong.order(1, False, "1", "2100")))
    assert err["code"] == 4001
