"""JSON-RPC 2.0 over HTTP (POST / or /rpc) and WebSocket (/ws), on starlette + uvicorn.

- GET /schema.json serves engine/api/schema.json; GET /health a liveness probe.
- A body is one request or a batch (a JSON array). Each request is checked for
  its envelope (-32600), its method (-32601) and its params (-32602) before it
  runs; a bad request in a batch gets its own error and the others still run.
  Requests without an `id` are notifications: they run, nothing is answered.
- Consecutive `place_order` requests in a batch are placed by one
  `place_many` call (one journal transaction); the batch's answers stay in
  request order.
- Methods run on a pool of worker threads: the sequencer blocks until the
  journal has committed, and signature checks are CPU work, so none of it runs
  on the event loop. The loop only parses, routes and writes.
- On a WebSocket, `subscribe` / `unsubscribe` manage pushes (engine/api/feed.py);
  every message runs as its own task, and answers and notifications share one
  ordered outgoing queue per connection.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from engine.api import wire
from engine.api.errors import ApiCode, ApiError
from engine.api.feed import Connection
from engine.api.schema import SCHEMA_PATH
from engine.api.service import ExchangeService

MAX_BODY = 8 * 1024 * 1024
MAX_BATCH = 1000
_ID_TYPES = (str, int, type(None))


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _error(rid: Any, exc: ApiError) -> dict:
    return {"jsonrpc": "2.0", "id": rid, "error": exc.as_json()}


class RpcHandler:
    """Parses JSON-RPC payloads and runs them on the service's worker threads."""

    def __init__(self, service: ExchangeService, workers: int = 32) -> None:
        self.service = service
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="api")

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def handle(self, raw: bytes | str, conn: Connection | None) -> Any:
        """The response object (or list) for a payload, None if it held only notifications."""
        if len(raw) > MAX_BODY:
            return _error(None, ApiError(ApiCode.TOO_LARGE,
                                         f"body: {len(raw)} bytes, at most {MAX_BODY}"))
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(None, ApiError(ApiCode.PARSE_ERROR, f"body: not valid JSON ({exc})"))
        if isinstance(payload, list):
            if not payload:
                return _error(None, ApiError(ApiCode.INVALID_REQUEST,
                                             "batch: an empty array is not a request"))
            if len(payload) > MAX_BATCH:
                return _error(None, ApiError(ApiCode.TOO_LARGE, f"batch: {len(payload)} "
                                             f"requests, at most {MAX_BATCH}"))
            out = await self._batch(payload, conn)
            return out or None
        return await self._one(payload, conn)

    def _envelope(self, req: Any) -> tuple[Any, str, Any, bool]:
        """(id, method, params, is_notification), or ApiError(-32600) (with its id)."""
        if not isinstance(req, dict):
            raise ApiError(ApiCode.INVALID_REQUEST, "request: must be a JSON object")
        rid = req.get("id")
        if not isinstance(rid, _ID_TYPES) or isinstance(rid, bool):
            raise ApiError(ApiCode.INVALID_REQUEST, "id: must be a string, integer or null")
        if req.get("jsonrpc") != "2.0":
            raise ApiError(ApiCode.INVALID_REQUEST, "jsonrpc: must be \"2.0\"", {"id": rid})
        method = req.get("method")
        if not isinstance(method, str):
            raise ApiError(ApiCode.INVALID_REQUEST, "method: must be a string", {"id": rid})
        extra = set(req) - {"jsonrpc", "id", "method", "params"}
        if extra:
            raise ApiError(ApiCode.INVALID_REQUEST,
                           f"{sorted(extra)[0]}: not a JSON-RPC request member", {"id": rid})
        return rid, method, req.get("params"), "id" not in req

    async def _one(self, req: Any, conn: Connection | None) -> dict | None:
        try:
            rid, method, params, note = self._envelope(req)
        except ApiError as exc:
            return _error((exc.data or {}).get("id"), exc)
        try:
            if method in ("subscribe", "unsubscribe"):
                result = self._subscription(method, params, conn)
            else:
                params = self.service.check_params(method, params)
                result = await self._run(self.service.call, method, params)
        except ApiError as exc:
            return None if note else _error(rid, exc)
        except Exception as exc:  # a bug: answer, log, keep serving
            import logging

            logging.getLogger(__name__).exception("internal error in %s", method)
            return None if note else _error(rid, ApiError(ApiCode.INTERNAL_ERROR,
                                                          f"{method}: internal error {exc!r}"))
        return None if note else {"jsonrpc": "2.0", "id": rid, "result": result}

    async def _batch(self, reqs: list, conn: Connection | None) -> list[dict]:
        out: list[dict] = []
        i = 0
        while i < len(reqs):
            run = []
            while i < len(reqs) and isinstance(reqs[i], dict) and \
                    reqs[i].get("method") == "place_order":
                run.append(reqs[i])
                i += 1
            if len(run) > 1:
                out.extend(await self._place_run(run))
                continue
            if run:
                i -= 1
            resp = await self._one(reqs[i], conn)
            i += 1
            if resp is not None:
                out.append(resp)
        return out

    async def _place_run(self, run: list[dict]) -> list[dict]:
        """Consecutive place_order requests of a batch, placed in one place_many call."""
        slots: list[tuple[Any, bool, dict | None]] = []
        good: list[dict] = []
        for req in run:
            try:
                rid, method, params, note = self._envelope(req)
                params = self.service.check_params(method, params)
            except ApiError as exc:
                slots.append(((exc.data or {}).get("id", req.get("id")),
                              "id" not in req, _error(None, exc)))
                continue
            slots.append((rid, note, None))
            good.append(params)
        results = iter(await self._run(self.service.place_many, good) if good else [])
        out = []
        for rid, note, err in slots:
            if err is None:
                res = next(results)
                err = {"jsonrpc": "2.0", "id": rid, **res}
            else:
                err["id"] = rid
            if not note:
                out.append(err)
        return out

    def _subscription(self, method: str, params: Any, conn: Connection | None) -> dict:
        if conn is None:
            raise ApiError(ApiCode.WEBSOCKET_ONLY,
                           f"method: {method} needs a WebSocket connection (ws://.../ws)")
        params = self.service.check_params(method, params)
        feed = self.service.feed
        if method == "unsubscribe":
            sub = conn.subs.get(params["subscription"])
            if sub is None:
                raise ApiError(ApiCode.UNKNOWN_SUBSCRIPTION,
                               f"subscription: {params['subscription']!r} is not active on this "
                               "connection")
            feed.unsubscribe(sub)
            return {"unsubscribed": True}
        channel, market = params["channel"], params.get("market")
        account = params.get("account")
        if channel == "book" and market is None:
            raise ApiError(ApiCode.INVALID_PARAMS, "market: required for the book channel")
        if channel == "account":
            if account is None:
                raise ApiError(ApiCode.INVALID_PARAMS, "account: required for the account "
                               "channel")
            account = wire.to_address(account, "account")
        if market is not None and market not in self.service.specs:
            raise ApiError(1001, f"market: {market} is not listed")
        sub = feed.subscribe(conn, channel, market, account, params.get("depth", 20))
        return {"subscription": sub.id}


class ApiApp:
    """The starlette application around an `RpcHandler`."""

    def __init__(self, service: ExchangeService, workers: int = 32) -> None:
        self.service = service
        self.rpc = RpcHandler(service, workers)
        routes = [Route("/", self.http, methods=["POST"]),
                  Route("/rpc", self.http, methods=["POST"]),
                  Route("/schema.json", self.schema, methods=["GET"]),
                  Route("/health", self.health, methods=["GET"]),
                  WebSocketRoute("/ws", self.websocket)]
        self.app = Starlette(routes=routes, lifespan=self._lifespan)

    @asynccontextmanager
    async def _lifespan(self, app: Starlette):  # noqa: ANN202
        loop = asyncio.get_running_loop()
        feed = self.service.feed
        feed.attach_loop(loop)
        feed.book_reader = lambda m, d: loop.run_in_executor(self.rpc.executor,
                                                             self.service.book, m, d)
        yield
        self.rpc.executor.shutdown(wait=False, cancel_futures=True)

    async def http(self, request: Request) -> Response:
        size = int(request.headers.get("content-length") or 0)
        if size > MAX_BODY:
            body = _error(None, ApiError(ApiCode.TOO_LARGE, f"body: {size} bytes, at most "
                                         f"{MAX_BODY}"))
            return Response(_dumps(body), media_type="application/json")
        out = await self.rpc.handle(await request.body(), None)
        if out is None:
            return Response(status_code=204)
        return Response(_dumps(out), media_type="application/json")

    async def schema(self, request: Request) -> Response:
        return FileResponse(SCHEMA_PATH, media_type="application/schema+json")

    async def health(self, request: Request) -> Response:
        halted = self.service.sequencer.halted
        return JSONResponse({"ok": halted is None, "last_seq": self.service.sequencer.last_seq})

    async def websocket(self, ws: WebSocket) -> None:
        await ws.accept()
        conn = Connection()
        sender = asyncio.create_task(self._sender(ws, conn))
        tasks: set[asyncio.Task] = set()
        try:
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                raw = msg.get("text") if msg.get("text") is not None else msg.get("bytes", b"")
                task = asyncio.create_task(self._ws_message(raw, conn))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        except WebSocketDisconnect:
            pass
        finally:
            self.service.feed.drop(conn)
            sender.cancel()

    async def _ws_message(self, raw: str | bytes, conn: Connection) -> None:
        out = await self.rpc.handle(raw, conn)
        if out is not None:
            conn.push(out)

    async def _sender(self, ws: WebSocket, conn: Connection) -> None:
        try:
            while True:
                msg = await conn.queue.get()
                if conn.overflow:
                    await ws.close(code=1013, reason="subscriber too slow: queue overflow")
                    return
                await ws.send_text(_dumps(msg))
        except (WebSocketDisconnect, RuntimeError, asyncio.CancelledError):
            return


class ApiServer:
    """uvicorn serving `ApiApp` on a background thread (tests, `perpx up`)."""

    def __init__(self, service: ExchangeService, host: str = "127.0.0.1", port: int = 0,
                 workers: int = 32) -> None:
        self.api = ApiApp(service, workers)
        self.host = host
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit it: a response's head and body are written separately,
        # and Nagle plus delayed ACKs would hold the body for 40 ms.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(self.api.app, log_level="warning", lifespan="on",
                                ws_max_size=MAX_BODY, timeout_keep_alive=30)
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    def start(self, timeout: float = 10.0) -> ApiServer:
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                        name="api-server", daemon=True)
        self._thread.start()
        waited = 0.0
        while not self.server.started:
            if waited > timeout or not self._thread.is_alive():
                raise RuntimeError(f"the API server did not start on {self.url}")
            threading.Event().wait(0.02)
            waited += 0.02
        return self

    def serve_forever(self, on_ready: Any = None) -> None:
        """Run in the calling thread until SIGINT / SIGTERM (uvicorn drains then returns);
        `on_ready()` is called once the server accepts connections."""
        if on_ready is not None:
            def wait_ready() -> None:
                while not self.server.started and not self.server.should_exit:
                    threading.Event().wait(0.01)
                if self.server.started:
                    on_ready()

            threading.Thread(target=wait_ready, name="api-ready", daemon=True).start()
        self.server.run(sockets=[self.sock])

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
