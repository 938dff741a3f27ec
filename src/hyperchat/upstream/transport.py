"""httpx's interface on aiohttp's connection pool and C HTTP parser, for the upstream.

Every token of every reply is one chunk read from the provider. Through httpx's own stack
(httpcore, h11, anyio, a cancel scope per read) a chunk cost about 350 us of CPU at 50
streams; through aiohttp's C parser and protocol-driven reads, about 70 us (`make bench`).
The rest of the app keeps httpx's API (clients, mounts, timeouts, exceptions), so the demo
model's in-process transport and every caller are unchanged.

The httpx-aiohttp package does the same, but maps a refused connection and a server that
hangs up mid-reply to `ConnectTimeout`, and has no way to say when a request is on the wire;
both matter here (the person is told which failure it was, and the POST answers as soon as
the request is sent), hence this small module.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import aiohttp
import httpx
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

# The httpcore trace events (an httpx request's `trace` extension) this transport emits, at
# the same moments: the request now waits on the network, not on this process.
CONNECTING = "connection.connect_tcp.started"
REQUEST_SENT = "http11.receive_response_headers.started"


@contextmanager
def _as_httpx(request: httpx.Request, answered: bool = False) -> Iterator[None]:
    """Raise aiohttp's failures as the httpx exception that says the same thing."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:  # before a connection: connect timeout
        raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
    except aiohttp.SocketTimeoutError as exc:  # a read waited longer than the read timeout
        raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
    except aiohttp.ClientConnectorError as exc:  # refused, unreachable, DNS, TLS handshake
        raise httpx.ConnectError(str(exc), request=request) from exc
    except aiohttp.InvalidURL as exc:
        raise httpx.UnsupportedProtocol(str(exc), request=request) from exc
    except aiohttp.ClientResponseError as exc:  # not HTTP, or malformed
        raise httpx.RemoteProtocolError(str(exc), request=request) from exc
    except aiohttp.ServerDisconnectedError as exc:
        if answered:
            raise httpx.ReadError(str(exc), request=request) from exc
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                        request=request) from exc
    except (aiohttp.ClientError, ConnectionError) as exc:  # reset, cut chunk
        error = httpx.ReadError if answered else httpx.WriteError
        raise error(str(exc) or type(exc).__name__, request=request) from exc
    except TimeoutError as exc:  # a timeout aiohttp did not classify (waiting for the pool)
        raise httpx.PoolTimeout(str(exc) or "timed out", request=request) from exc


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request):
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # iter_any: whatever has arrived, as soon as it arrives (one chunk per token).
        with _as_httpx(self._request, answered=True):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        # Read to the end: the connection goes back to the pool. Not to the end (a stop,
        # a client gone): close it, so the provider sees the disconnect and stops generating.
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


async def _trace(event: str, context: SimpleNamespace | None) -> None:
    trace = getattr(context, "trace", None) if context is not None else None
    if trace is not None:
        await trace(event, {})


async def _on_connection_create_start(session, context, params) -> None:
    await _trace(CONNECTING, context.trace_request_ctx)


async def _on_request_chunk_sent(session, context, params) -> None:
    await _trace(REQUEST_SENT, context.trace_request_ctx)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (its pool: unlimited connections, kept alive) per transport,
    made on first use inside the running event loop, as aiohttp requires."""

    def __init__(self, *, verify: ssl.SSLContext, keepalive_expiry: float = 15.0):
        self._ssl = verify
        self._keepalive = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], tuple[URL | None, aiohttp.BasicAuth | None]] = {}

    async def _proxy_for(self, url: httpx.URL) -> tuple[URL | None, aiohttp.BasicAuth | None]:
        """The proxy for a host from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, the
        proxy's credentials in .netrc), read once per host: aiohttp's own trust_env reads
        them, .netrc file included, in a worker thread on every request."""
        key = (url.scheme, url.host)
        if key not in self._proxies:
            self._proxies[key] = await asyncio.to_thread(_env_proxy, URL(str(url)))
        return self._proxies[key]

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            traces = aiohttp.TraceConfig()
            traces.on_connection_create_start.append(_on_connection_create_start)
            traces.on_request_chunk_sent.append(_on_request_chunk_sent)
            connector = aiohttp.TCPConnector(limit=0, ssl=self._ssl,
                                             keepalive_timeout=self._keepalive)
            # auto_decompress off: httpx decodes, as with its own transport. The proxy
            # settings of the environment apply as they did with httpx (see _proxy_for).
            self._session = aiohttp.ClientSession(connector=connector, trace_configs=[traces],
                                                  auto_decompress=False)
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        session = self._session_now()
        body = await request.aread()
        proxy, proxy_auth = await self._proxy_for(request.url)
        with _as_httpx(request):
            response = await session.request(
                request.method, str(request.url),
                headers=[(k.decode("latin-1"), v.decode("latin-1"))
                         for k, v in request.headers.raw],
                data=body or None, allow_redirects=False, proxy=proxy, proxy_auth=proxy_auth,
                timeout=aiohttp.ClientTimeout(total=None, connect=timeout.get("pool"),
                                              sock_connect=timeout.get("connect"),
                                              sock_read=timeout.get("read")),
                trace_request_ctx=SimpleNamespace(trace=request.extensions.get("trace")),
            )
        extensions = {"http_version": f"HTTP/{response.version.major}.{response.version.minor}"
                      .encode()}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("latin-1", "replace")
        return httpx.Response(response.status, headers=response.raw_headers,
                              stream=_Body(response, request), request=request,
                              extensions=extensions)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            # aiohttp closes TLS transports on the loop's next turns; let them finish.
            await asyncio.sleep(0)


def _env_proxy(url: URL) -> tuple[URL | None, aiohttp.BasicAuth | None]:
    try:
        return get_env_proxy_for_url(url)
    except LookupError:  # none set for this scheme, or NO_PROXY covers the host
        return None, None
