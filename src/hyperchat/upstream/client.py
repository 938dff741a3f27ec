"""The one narrow interface to an OpenAI-compatible chat-completions server.

`Upstream.stream(messages, model)` is an async iterator of parsed events (text, model,
usage, finish). Every failure, before or during the stream, is raised as `UpstreamError`
with a message fit to show a person; what was streamed before it stays with the caller.
"""

import functools
import ssl
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from hyperchat.upstream import demo
from hyperchat.upstream.transport import CONNECTING, REQUEST_SENT, AiohttpTransport
from hyperchat.upstream.wire import (
    Done,
    Event,
    Finish,
    StreamError,
    StreamParser,
    parse_error_body,
)


class UpstreamError(Exception):
    """The model could not answer; `message` is what the person is told."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process: reading the CA bundle takes about 0.1 s of CPU, which each
    new client (a worker's start, every test's app) would otherwise pay again."""
    return httpx.create_ssl_context()


class Upstream:
    def __init__(self, *, base_url: str, api_key: str | None, connect_timeout: float,
                 read_timeout: float, demo_token_delay: float = 0.02):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        # For /health: the HTTP status of the latest attempt (None: no answer at all) and when.
        self.last_status: int | None = None
        self.last_seen: datetime | None = None
        timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout, write=30.0, pool=30.0)
        # The demo model is an OpenAI-compatible endpoint served in-process by an httpx
        # transport, so its replies take exactly the path a real provider's do. Every other
        # URL goes through aiohttp (see transport.py): every live reply holds one connection,
        # unlimited, kept alive for the next replies. The transport reads the proxy settings
        # from the environment itself, so httpx must not put its own proxy transport first.
        self.client = httpx.AsyncClient(
            timeout=timeout, transport=AiohttpTransport(verify=tls_context()), trust_env=False,
            mounts={demo.BASE_URL: demo.DemoTransport(token_delay=demo_token_delay)},
        )

    def _seen(self, status: int | None) -> None:
        self.last_status, self.last_seen = status, datetime.now(UTC)

    async def aclose(self) -> None:
        await self.client.aclose()

    def _endpoint(self, model: str) -> tuple[str, dict[str, str]]:
        if model == demo.MODEL_ID:
            return demo.BASE_URL, {}
        headers = {"HTTP-Referer": "https://github.com/hyperchat", "X-Title": "hyperchat"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return self.base_url, headers

    async def stream(self, messages: Sequence[ChatMessage | Mapping], model: str, *,
                     temperature: float | None = None,
                     options: Mapping[str, object] | None = None,
                     on_sent: Callable[[], None] | None = None) -> AsyncIterator[Event]:
        """Yield parsed events of one streamed completion; raise UpstreamError on any failure.
        Messages are ChatMessages, or OpenAI message objects sent as they are (the /v1 API's
        tool calls and content parts). `options` are more request fields under OpenAI's
        names (top_p, stop, tools...), checked by the caller. `on_sent()` is called (perhaps
        more than once) as soon as the wait is the network's: the request written to a
        connection, a new connection being opened, or the answer already here."""
        base, headers = self._endpoint(model)
        body = {
            **(options or {}),
            "model": model,
            "messages": [{"role": m.role, "content": m.content}
                         if isinstance(m, ChatMessage) else dict(m) for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if temperature is not None:
            body["temperature"] = temperature
        parser = StreamParser()
        finished = answered = False
        extensions = {"trace": _tracer(on_sent)} if on_sent is not None else None
        try:
            async with self.client.stream("POST", f"{base}/chat/completions", json=body,
                                          headers=headers, extensions=extensions) as response:
                if on_sent is not None:
                    on_sent()  # a transport without traces (the demo's) answers at once
                answered = True
                self._seen(response.status_code)
                if response.status_code != 200:
                    raw = await response.aread()
                    message, retry_after = parse_error_body(response.status_code, raw,
                                                            response.headers)
                    if response.status_code == 429:
                        message = _rate_limited(message)
                    raise UpstreamError(message, status=response.status_code,
                                        retry_after=retry_after)
                async for data in response.aiter_raw():
                    for event in parser.feed(data):
                        if isinstance(event, StreamError):
                            raise UpstreamError(_in_band_message(event), status=_int(event.code))
                        if isinstance(event, Finish | Done):
                            finished = True
                        yield event
                for event in parser.close():
                    if isinstance(event, StreamError):
                        raise UpstreamError(_in_band_message(event), status=_int(event.code))
                    finished = finished or isinstance(event, Finish | Done)
                    yield event
        except httpx.ConnectTimeout as exc:
            self._seen(None)
            raise UpstreamError(
                "Could not reach the model provider (connection timed out).") from exc
        except httpx.ConnectError as exc:
            self._seen(None)
            raise UpstreamError("Could not connect to the model provider.") from exc
        except httpx.ReadTimeout as exc:
            if not answered:
                self._seen(None)
            raise UpstreamError("The model provider stopped responding (read timed out).") from exc
        except httpx.TransportError as exc:
            if not answered:
                self._seen(None)
            raise UpstreamError("The connection to the model provider was lost mid-reply.") from exc
        if not finished:
            # EOF with neither [DONE] nor a finish_reason: the reply was cut short.
            raise UpstreamError("The model provider cut the reply short: the stream ended "
                                "before the model said it had finished.")


# The trace events after which the request waits on the network, not on this process.
_WAITING = frozenset({CONNECTING, REQUEST_SENT})


def _tracer(on_sent: Callable[[], None]):
    """A `trace` extension (httpcore's events, which the transport emits) that calls
    `on_sent` at the first network wait."""
    async def trace(event: str, info: dict) -> None:
        if event in _WAITING:
            on_sent()
    return trace


def _rate_limited(message: str) -> str:
    """Say plainly that it is a rate limit; keep the provider's words when they add something
    (OpenRouter names the limit and how to lift it)."""
    if message == parse_error_body(429, b"", {})[0]:  # only the bare HTTP status: no details
        return "Rate limited by the provider"
    return f"Rate limited by the provider: {message.rstrip('.')}"


def _in_band_message(event: StreamError) -> str:
    code = f" ({event.code})" if event.code not in (None, "") else ""
    return f"The model provider reported an error{code}: {event.message}"


def _int(code: int | str | None) -> int | None:
    try:
        return int(code)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
