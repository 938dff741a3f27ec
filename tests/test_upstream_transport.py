"""The upstream's transport (httpx's interface on aiohttp): each failure raised as the httpx
exception that names it, connections kept alive and closed when a reply is abandoned, and
the moment the request is on the wire reported. Against real loopback servers."""

import asyncio
import socket
from contextlib import aclosing

import httpx
import pytest

from hyperchat.upstream.client import ChatMessage, Upstream, UpstreamError
from hyperchat.upstream.transport import CONNECTING, REQUEST_SENT, AiohttpTransport
from hyperchat.upstream.wire import TextDelta
from tests.fake_upstream import Drop, Hang, Stall, Tokens
from tests.test_stream import listener_that_never_accepts

HELLO = [ChatMessage("user", "hello")]


@pytest.fixture
async def upstream(fake_upstream):
    client = Upstream(base_url=fake_upstream.url, api_key="key", connect_timeout=2,
                      read_timeout=2)
    yield client
    await client.aclose()


async def texts(upstream: Upstream, **kwargs) -> str:
    async with aclosing(upstream.stream(HELLO, "m", **kwargs)) as events:
        return "".join([e.text async for e in events if isinstance(e, TextDelta)])


async def test_replies_stream_and_share_one_kept_alive_connection(upstream, fake_upstream):
    fake_upstream.enqueue(Tokens(["a", "b"]), Tokens(["c"]))
    assert await texts(upstream) == "ab"
    assert await texts(upstream) == "c"
    first, second = fake_upstream.requests
    assert first["conn"] == second["conn"]
    # The request went out as httpx built it: the key, the JSON body.
    assert first["headers"]["authorization"] == "Bearer key"
    assert first["json"]["messages"] == [{"role": "user", "content": "hello"}]


async def test_an_abandoned_reply_closes_its_connection(upstream, fake_upstream):
    """A stop (the iterator closed mid-stream) must hang up, so the provider stops too; the
    next reply gets a new connection."""
    fake_upstream.enqueue(Tokens([f"t{i} " for i in range(50)], interval=0.05), Tokens(["x"]))
    async with aclosing(upstream.stream(HELLO, "m")) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                break
    for _ in range(100):
        if fake_upstream.disconnects:
            break
        await asyncio.sleep(0.02)
    assert fake_upstream.disconnects == 1
    assert await texts(upstream) == "x"
    assert fake_upstream.requests[1]["conn"] != fake_upstream.requests[0]["conn"]


async def test_the_request_is_reported_sent_before_the_answer(upstream, fake_upstream):
    seen: list[str] = []

    async def trace(event: str, info: dict) -> None:
        seen.append(event)

    transport: AiohttpTransport = upstream.client._transport
    fake_upstream.enqueue(Tokens(["ok"], ttft=0.1))
    request = upstream.client.build_request("POST", f"{fake_upstream.url}/chat/completions",
                                            json={"model": "m", "stream": True, "messages": []},
                                            extensions={"trace": trace})
    response = await transport.handle_async_request(request)
    # A new connection, then the body written, both before the status line came back.
    assert seen == [CONNECTING, REQUEST_SENT]
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    await response.aread()
    await response.aclose()


async def test_each_failure_is_the_httpx_exception_that_names_it(fake_upstream):
    def client(url: str, **timeouts) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=AiohttpTransport(verify=True), base_url=url,
                                 timeout=httpx.Timeout(2, **timeouts))

    body = {"model": "m", "stream": True, "messages": []}
    # Refused: nothing listens on port 9.
    async with client("http://127.0.0.1:9") as http:
        with pytest.raises(httpx.ConnectError):
            await http.post("/x", json=body)
    # A listener that never accepts: the connect times out.
    with listener_that_never_accepts() as port:
        async with client(f"http://127.0.0.1:{port}", connect=0.2) as http:
            with pytest.raises(httpx.ConnectTimeout):
                await http.post("/x", json=body)
    async with client(fake_upstream.url, read=0.3) as http:
        # The server reads the request and hangs up without answering.
        fake_upstream.enqueue(Hang(seconds=0.1))
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post("/chat/completions", json=body)
        # Silent after the headers: the read times out.
        fake_upstream.enqueue(Stall(after_tokens=["a"], seconds=2))
        with pytest.raises(httpx.ReadTimeout):
            await http.post("/chat/completions", json=body)
        # Cut mid-body (FIN before the last chunk, then an RST): a read error.
        for reset in (False, True):
            fake_upstream.enqueue(Drop(after_tokens=["a", "b"], reset=reset))
            with pytest.raises(httpx.ReadError):
                await http.post("/chat/completions", json=body)
    # Not HTTP at all.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        async def answer_garbage():
            loop = asyncio.get_running_loop()
            conn, _ = await loop.sock_accept(server)
            await loop.sock_recv(conn, 65536)
            await loop.sock_sendall(conn, b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
            conn.close()

        server.setblocking(False)
        garbage = asyncio.create_task(answer_garbage())
        async with client(f"http://127.0.0.1:{port}") as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post("/x", json=body)
        await garbage


async def test_the_person_is_told_which_failure_it_was(upstream, fake_upstream):
    fake_upstream.enqueue(Drop(after_tokens=["par", "tial"]))
    with pytest.raises(UpstreamError, match="lost mid-reply"):
        await texts(upstream)
    refused = Upstream(base_url="http://127.0.0.1:9/api/v1", api_key=None, connect_timeout=2,
                       read_timeout=2)
    try:
        with pytest.raises(UpstreamError, match=r"^Could not connect to the model provider\.$"):
            await texts(refused)
    finally:
        await refused.aclose()


async def test_the_environments_proxy_is_used_unless_no_proxy_names_the_host(fake_upstream,
                                                                             monkeypatch):
    """HTTP_PROXY applies as it did with httpx: the request goes to the proxy (the fake
    stands in for it and sees the absolute URL), except for hosts in NO_PROXY."""
    proxy = fake_upstream.url.removesuffix("/api/v1")
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("NO_PROXY", "direct.invalid")
    body = {"model": "m", "stream": True, "messages": []}
    async with httpx.AsyncClient(transport=AiohttpTransport(verify=True), trust_env=False) as http:
        await http.post("http://provider.invalid/api/v1/chat/completions", json=body)
        assert fake_upstream.requests[-1]["path"] == \
            "http://provider.invalid/api/v1/chat/completions"
        with pytest.raises(httpx.ConnectError):  # not proxied: resolving it fails
            await http.post("http://direct.invalid/api/v1/chat/completions", json=body)
