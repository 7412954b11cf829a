"""JSON-RPC error codes of the perpx API, and the one exception that carries them.

Codes (docs/api.md holds the published table; a test pins the two together):
- the JSON-RPC 2.0 standard codes (-32700 .. -32603) for transport problems;
- the engine's reject codes (1xxx validation, 2xxx risk, 3xxx matching,
  engine/core/codes.py) unchanged, when the engine, or the API checking the
  same rule before the engine sees the command, refuses an order or cancel;
- 4xxx for what only the API checks: signatures, the EIP-712 domain, rate
  limits, subscriptions, the chain connection.
Every message starts with the name of the offending field (`size: ...`).
"""

from __future__ import annotations

from enum import IntEnum

from engine.core.codes import DESCRIPTIONS, RejectCode
from engine.core.errors import PerpxError


class ApiCode(IntEnum):
    """Error codes only the API produces (the engine's RejectCodes are used as they are)."""

    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    ENGINE_UNAVAILABLE = -32000
    BAD_SIGNATURE = 4001
    WRONG_CHAIN_ID = 4002
    WRONG_CONTRACT = 4003
    UNKNOWN_SUBSCRIPTION = 4004
    CHAIN_UNAVAILABLE = 4005
    STALE_NONCE = 4006
    TOO_LARGE = 4007
    WEBSOCKET_ONLY = 4008
    RATE_LIMITED = 4029


API_DESCRIPTIONS: dict[ApiCode, str] = {
    ApiCode.PARSE_ERROR: "the body is not valid JSON",
    ApiCode.INVALID_REQUEST: "not a JSON-RPC 2.0 request object (or an empty batch)",
    ApiCode.METHOD_NOT_FOUND: "no method of that name",
    ApiCode.INVALID_PARAMS: "a parameter is missing, unknown, or of the wrong type or format",
    ApiCode.INTERNAL_ERROR: "a bug in the server; the request did not change state",
    ApiCode.ENGINE_UNAVAILABLE: "the sequencer halted or is closed; restart recovers from the journal",
    ApiCode.BAD_SIGNATURE: "the signature is malformed or does not recover the trader",
    ApiCode.WRONG_CHAIN_ID: "chain_id is not the chain this exchange settles on",
    ApiCode.WRONG_CONTRACT: "verifying_contract is not this exchange's Exchange contract",
    ApiCode.UNKNOWN_SUBSCRIPTION: "no subscription with that id on this connection",
    ApiCode.CHAIN_UNAVAILABLE: "no chain is connected to this engine",
    ApiCode.STALE_NONCE: "a cancel-all nonce (unix ms) outside the 60 s window, or already used",
    ApiCode.TOO_LARGE: "too many requests in a batch, orders in a call, or bytes in a body",
    ApiCode.WEBSOCKET_ONLY: "subscriptions need a WebSocket connection",
    ApiCode.RATE_LIMITED: "the account sent more orders and cancels than its rate limit allows",
}


def code_name(code: int) -> str:
    """The symbolic name of any API error code (ApiCode or RejectCode)."""
    for enum in (ApiCode, RejectCode):
        try:
            return enum(code).name
        except ValueError:
            continue
    return "UNKNOWN"


def all_codes() -> dict[int, tuple[str, str]]:
    """code -> (name, meaning) for every code the API can answer with."""
    out = {int(c): (c.name, API_DESCRIPTIONS[c]) for c in ApiCode}
    out.update({int(c): (c.name, DESCRIPTIONS[c]) for c in RejectCode})
    return dict(sorted(out.items()))


class ApiError(PerpxError, ValueError):
    """A request the API refuses: a JSON-RPC error `code` and a `message` naming the field."""

    def __init__(self, code: int, message: str, data: dict | None = None) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.data = data

    def as_json(self) -> dict:
        """The JSON-RPC `error` object."""
        data = {"name": code_name(self.code)}
        if self.data:
            data.update(self.data)
        return {"code": self.code, "message": self.message, "data": data}


def invalid(field: str, what: str) -> ApiError:
    """A -32602 naming `field`."""
    return ApiError(ApiCode.INVALID_PARAMS, f"{field}: {what}")
