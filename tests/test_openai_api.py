"""/v1 with the official `openai` SDK as the client, sync and async, against the app served
by hypercorn on a loopback port, with the fake upstream behind it (SQLite and PostgreSQL)."""

import asyncio
import json
import socket
from dataclasses import dataclass, field

import httpx
import openai
import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config

from hyperchat import create_app
from hyperchat.accounts import api_keys, owner_of
from hyperchat.chat.conversations import title_from
from hyperchat.live import tab_events
from hyperchat.store.schema import Conversation, Message, UsageRecord, User
from tests.conftest import marked_config
from tests.fake_upstream import Fixture, HttpError, InBandError, Stall, Tokens

MODEL = "openai/gpt-4o-mini"
HELLO = [{"role": "user", "content": "Say hi"}]


@dataclass
class Served:
    base_url: str
    key: str
    owner: str
    key_id: int
    app: object = None
    # Every SDK client made, closed at the end of the test (an open socket is a warning).
    clients: list = field(default_factory=list)

    def sync(self, key: str | None = None) -> openai.OpenAI:
        self.clients.append(openai.OpenAI(base_url=self.base_url, api_key=key or self.key,
                                          max_retries=0))
        return self.clients[-1]

    def async_(self, key: str | None = None) -> openai.AsyncOpenAI:
        self.clients.append(openai.AsyncOpenAI(base_url=self.base_url,
                                               api_key=key or self.key, max_retries=0))
        return self.clients[-1]

    async def close(self) -> None:
        for client in self.clients:
            if isinstance(client, openai.AsyncOpenAI):
                await client.close()
            else:
                client.close()

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=10,
                                 headers={"Authorization": f"Bearer {self.key}"})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def served(request, app_config):
    """The app behind a real HTTP server (hypercorn, this test's event loop), and an API key."""
    app = create_app({**app_config, **marked_config(request.node)})
    port = _free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = config.errorlog = None
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    async with httpx.AsyncClient() as probe:
        for _ in range(200):
            try:
                await probe.get(f"http://127.0.0.1:{port}/health")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    user = await User.create(username="prog", username_key="prog", password_hash="-")
    row, key = await api_keys.create(user, "tests")
    found = Served(f"http://127.0.0.1:{port}/v1", key, owner_of(user), row.id, app)
    yield found
    await found.close()
    stop.set()
    await server


async def _records(owner: str) -> list[UsageRecord]:
    return await UsageRecord.filter(owner=owner).order_by("id")


async def _wait_records(owner: str, count: int) -> list[UsageRecord]:
    for _ in range(100):
        records = await _records(owner)
        if len(records) >= count:
            return records
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {count} usage records, found {len(records)}")


# --------------------------------------------------------------------------- models


async def test_models_lists_the_catalog_in_openais_shape(served):
    page = await asyncio.to_thread(lambda: served.sync().models.list())
    ids = [m.id for m in page.data]
    assert MODEL in ids and "hyperchat/demo" in ids
    assert all(m.object == "model" for m in page.data)
    found = await served.async_().models.retrieve("hyperchat/demo")
    assert found.owned_by == "hyperchat"


# --------------------------------------------------------------------------- answers


async def test_sync_completion_relays_text_finish_and_usage(served, fake_upstream):
    fake_upstream.enqueue(Tokens(["Hel", "lo", "!"], prompt_tokens=11))
    completion = await asyncio.to_thread(lambda: served.sync().chat.completions.create(
        model=MODEL, messages=HELLO))
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Hello!"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (11, 3)
    assert completion.usage.total_tokens == 14
    [record] = await _records(served.owner)
    assert (record.model, record.prompt_tokens, record.completion_tokens) == (MODEL, 11, 3)
    assert record.conversation_id is None and not record.tokens_estimated
    assert record.api_key_id == served.key_id
    assert record.cost is not None  # the provider's usage.cost


async def test_request_fields_reach_the_provider(served, fake_upstream):
    fake_upstream.enqueue(Tokens(["ok"]), Tokens(["ok"]))
    client = served.async_()
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {}}}}]
    await client.chat.completions.create(
        model=MODEL, messages=messages, temperature=0.3, top_p=0.9, max_tokens=50,
        stop=["END"], seed=7, user="u-1", tools=tools, tool_choice="auto")
    await client.chat.completions.create(model=MODEL, messages=HELLO,
                                         max_completion_tokens=20, extra_body={"topP": 0.5})
    first, second = (r["json"] for r in fake_upstream.requests[:2])
    assert first["messages"] == messages
    assert {k: first[k] for k in ("temperature", "top_p", "max_tokens", "stop", "seed", "user",
                                  "tools", "tool_choice")} == {
        "temperature": 0.3, "top_p": 0.9, "max_tokens": 50, "stop": ["END"], "seed": 7,
        "user": "u-1", "tools": tools, "tool_choice": "auto"}
    assert first["stream"] is True and first["model"] == MODEL
    assert second["top_p"] == 0.5 and second["max_completion_tokens"] == 20
    assert "topP" not in second


async def test_async_stream_sends_chunks_usage_and_done(served, fake_upstream):
    fake_upstream.enqueue(Tokens(["A", "B", "C"], prompt_tokens=5))
    stream = await served.async_().chat.completions.create(
        model=MODEL, messages=HELLO, stream=True, stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "ABC"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert chunks[-1].choices == []
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (5, 3)
    assert all(c.usage is None for c in chunks[:-1])
    [record] = await _wait_records(served.owner, 1)
    assert record.completion_tokens == 3


async def test_stream_ends_with_done_and_no_usage_unless_asked(served, fake_upstream):
    fake_upstream.enqueue(Tokens(["x"]))
    async with served.http() as http:
        response = await http.post("/chat/completions", json={
            "model": MODEL, "messages": HELLO, "stream": True})
    frames = [line[6:] for line in response.text.split("\n\n") if line.startswith("data: ")]
    assert response.headers["content-type"].startswith("text/event-stream")
    assert frames[-1] == "[DONE]"
    assert all("usage" not in json.loads(f) for f in frames[:-1])


async def test_usage_is_estimated_and_marked_when_the_provider_sends_none(served,
                                                                          fake_upstream):
    fake_upstream.enqueue(Tokens(["Hello", " there"], usage=False),
                          Tokens(["Hello"], usage=False))
    stream = await served.async_().chat.completions.create(
        model=MODEL, messages=HELLO, stream=True, stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]
    usage = chunks[-1].usage
    assert usage.completion_tokens == 3 and usage.prompt_tokens == 2
    assert usage.model_extra == {"estimated": True}
    raw = await served.async_().chat.completions.with_raw_response.create(
        model=MODEL, messages=HELLO)
    assert raw.headers["x-hyperchat-usage-estimated"] == "true"
    assert raw.parse().usage.model_extra == {"estimated": True}
    records = await _wait_records(served.owner, 2)
    assert all(r.tokens_estimated for r in records)


async def test_with_raw_response_has_the_overhead_header(served, fake_upstream):
    fake_upstream.enqueue(Tokens(["hi"]), Tokens(["hi"]))
    raw = await asyncio.to_thread(
        lambda: served.sync().chat.completions.with_raw_response.create(
            model=MODEL, messages=HELLO))
    assert raw.status_code == 200
    assert 0 <= float(raw.headers["x-hyperchat-overhead-duration-ms"]) < 5000
    assert raw.parse().choices[0].message.content == "hi"
    raw = await served.async_().chat.completions.with_raw_response.create(
        model=MODEL, messages=HELLO, stream=True)
    assert float(raw.headers["x-hyperchat-overhead-duration-ms"]) >= 0
    assert "".join([c.choices[0].delta.content or "" async for c in raw.parse()
                    if c.choices]) == "hi"


async def test_tool_call_deltas_are_relayed(served, fake_upstream):
    fake_upstream.enqueue(Fixture("g_openrouter_tool_calls.sse"),
                          Fixture("g_openrouter_tool_calls.sse"))
    client = served.async_()
    tools = [{"type": "function", "function": {"name": "get_weather"}}]
    stream = await client.chat.completions.create(model=MODEL, messages=HELLO, tools=tools,
                                                  stream=True)
    chunks = [chunk async for chunk in stream]
    calls = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or []]
    assert calls[0].id == "call_Qw3rTy7UiOp9AsDf2GhJkL1z" and calls[0].type == "function"
    assert calls[0].function.name == "get_weather"
    arguments = "".join(call.function.arguments or "" for call in calls)
    assert json.loads(arguments)["location"]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    whole = await client.chat.completions.create(model=MODEL, messages=HELLO, tools=tools)
    [call] = whole.choices[0].message.tool_calls
    assert call.function.name == "get_weather" and call.function.arguments == arguments
    assert whole.choices[0].finish_reason == "tool_calls"
    assert whole.choices[0].message.content is None


@pytest.mark.config(DEFAULT_MODEL="hyperchat/demo", DEMO_TOKEN_DELAY=0)
async def test_the_demo_model_answers_with_no_provider(served, fake_upstream):
    completion = await served.async_().chat.completions.create(
        model="hyperchat/demo", messages=[{"role": "user", "content": [
            {"type": "text", "text": "ping pong"}]}])
    assert "ping pong" in completion.choices[0].message.content
    assert fake_upstream.requests == []


# --------------------------------------------------------------------------- errors


async def test_a_bad_key_is_an_authentication_error(served, fake_upstream):
    with pytest.raises(openai.AuthenticationError) as caught:
        await served.async_(key="hc_nope").chat.completions.create(model=MODEL, messages=HELLO)
    assert caught.value.status_code == 401
    assert caught.value.body["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        await asyncio.to_thread(lambda: served.sync(key="hc_nope").models.list())
    assert fake_upstream.requests == []


async def test_no_key_is_401_in_openais_shape_even_with_a_cookie(served):
    async with httpx.AsyncClient(base_url=served.base_url) as http:
        await http.get(served.base_url.removesuffix("/v1") + "/")  # a guest cookie
        response = await http.post("/chat/completions", json={"model": MODEL,
                                                                "messages": HELLO})
    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"


async def test_an_unknown_model_is_not_found(served, fake_upstream):
    with pytest.raises(openai.NotFoundError) as caught:
        await served.async_().chat.completions.create(model="nope/nothing", messages=HELLO)
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        await asyncio.to_thread(lambda: served.sync().models.retrieve("nope/nothing"))
    assert fake_upstream.requests == []


@pytest.mark.parametrize(("fields", "param"), [
    ({"temperature": 3}, "temperature"),
    ({"top_p": -1}, "top_p"),
    ({"top_p": 0.5, "topP": 0.5}, "topP"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"seed": "x"}, "seed"),
    ({"n": 2}, "n"),
    ({"logprobs": True}, "logprobs"),
    ({"frobnicate": 1}, "frobnicate"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
    ({"tools": [{"type": "function"}]}, "tools"),
    ({"stream_options": {"include_usage": True}}, "stream_options"),
])
async def test_a_bad_request_is_refused_before_the_provider(served, fake_upstream, fields,
                                                            param):
    fields = dict(fields)
    messages = fields.pop("messages", HELLO)
    with pytest.raises(openai.BadRequestError) as caught:
        # extra_body: sent as it is, past the SDK's own checks.
        await served.async_().chat.completions.create(model=MODEL, messages=messages,
                                                      extra_body=fields)
    assert caught.value.param == param
    assert fake_upstream.requests == []
    assert await _records(served.owner) == []


@pytest.mark.config(RATE_LIMIT_PER_MINUTE=1)
async def test_the_accounts_rate_limit_is_a_rate_limit_error(served, fake_upstream):
    fake_upstream.enqueue(Tokens(["one"]))
    await served.async_().chat.completions.create(model=MODEL, messages=HELLO)
    with pytest.raises(openai.RateLimitError) as caught:
        await asyncio.to_thread(lambda: served.sync().chat.completions.create(
            model=MODEL, messages=HELLO))
    assert int(caught.value.response.headers["Retry-After"]) >= 1
    assert caught.value.code == "rate_limit_exceeded"
    assert len(fake_upstream.requests) == 1


@pytest.mark.config(DAILY_TOKEN_BUDGET=10)
async def test_a_spent_budget_is_a_rate_limit_error(served, fake_upstream):
    fake_upstream.enqueue(Tokens(["a", "b"], prompt_tokens=20))
    await served.async_().chat.completions.create(model=MODEL, messages=HELLO)
    with pytest.raises(openai.RateLimitError) as caught:
        await served.async_().chat.completions.create(model=MODEL, messages=HELLO)
    assert "budget" in caught.value.message
    assert int(caught.value.response.headers["Retry-After"]) > 60


@pytest.mark.config(CONCURRENT_GENERATIONS=1)
async def test_concurrent_streams_past_the_limit_are_refused_until_one_ends(served,
                                                                             fake_upstream):
    fake_upstream.enqueue(Stall(after_tokens=["a"], seconds=0.5), Tokens(["b"]))
    client = served.async_()
    first = await client.chat.completions.create(model=MODEL, messages=HELLO, stream=True)
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model=MODEL, messages=HELLO, stream=True)
    assert "at once" in caught.value.message
    assert "".join([c.choices[0].delta.content or "" async for c in first if c.choices]) == "a"
    second = await client.chat.completions.create(model=MODEL, messages=HELLO)
    assert second.choices[0].message.content == "b"


@pytest.mark.parametrize(("reply", "error", "status"), [
    (HttpError(429, {"error": {"code": 429, "message": "slow down"}}, {"Retry-After": "7"}),
     openai.RateLimitError, 429),
    (HttpError(400, {"error": {"code": 400, "message": "context too long"}}),
     openai.BadRequestError, 400),
    (HttpError(500, {"error": {"code": 500, "message": "boom"}}),
     openai.InternalServerError, 502),
])
async def test_provider_errors_are_mapped(served, fake_upstream, reply, error, status):
    fake_upstream.enqueue(reply, reply)
    with pytest.raises(error) as caught:
        await served.async_().chat.completions.create(model=MODEL, messages=HELLO)
    assert caught.value.status_code == status
    if status == 429:
        assert caught.value.response.headers["Retry-After"] == "7"
    with pytest.raises(error):  # streaming too: the refusal comes before any chunk
        await served.async_().chat.completions.create(model=MODEL, messages=HELLO,
                                                      stream=True)
    records = await _wait_records(served.owner, 2)
    assert all(r.total_tokens == 0 for r in records)


async def test_a_provider_error_mid_stream_is_raised_by_the_sdk(served, fake_upstream):
    fake_upstream.enqueue(InBandError(after_tokens=["par", "tial"]))
    stream = await served.async_().chat.completions.create(model=MODEL, messages=HELLO,
                                                           stream=True)
    text = ""
    with pytest.raises(openai.APIError) as caught:
        async for chunk in stream:
            text += chunk.choices[0].delta.content or "" if chunk.choices else ""
    assert text == "partial"
    assert "Provider disconnected" in caught.value.message
    [record] = await _wait_records(served.owner, 1)
    assert record.tokens_estimated and record.completion_tokens > 0


@pytest.mark.parametrize("stream", [True, False])
async def test_a_client_that_goes_away_cancels_the_provider_request(served, fake_upstream,
                                                                    stream):
    fake_upstream.enqueue(Stall(after_tokens=["so", "far"], seconds=30))
    async with served.http() as http:
        body = {"model": MODEL, "messages": HELLO, "stream": stream}
        if stream:
            response = await http.send(http.build_request("POST", "/chat/completions",
                                                          json=body), stream=True)
            async for line in response.aiter_lines():
                if '"far"' in line:
                    break
            await response.aclose()
        else:
            with pytest.raises(httpx.ReadTimeout):
                await http.post("/chat/completions", json=body,
                                timeout=httpx.Timeout(10, read=0.5))
    await fake_upstream.wait_for_idle_async(timeout=5)
    [record] = await _wait_records(served.owner, 1)
    assert record.completion_tokens > 0 and record.tokens_estimated


@pytest.mark.config(GUEST_MODE=False)
async def test_without_guests_no_key_is_still_a_401_not_a_sign_in_redirect(served):
    async with httpx.AsyncClient(base_url=served.base_url) as http:
        response = await http.get("/models")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "invalid_api_key"


async def test_a_body_that_is_not_a_json_object_is_a_400(served, fake_upstream):
    async with served.http() as http:
        response = await http.post("/chat/completions", content=b"[1, 2]",
                                   headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert fake_upstream.requests == []


# --------------------------------------------------------------------------- seed 003's camelCase

# The seed's request, exactly, but for its model (one this catalog has) and its `tools`,
# which are not OpenAI's function tools (refused: see the next test).
SEED_REQUEST = {
    "model": "gemini-2.5-flash-preview-04-17",
    "messages": [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi there!"}
    ],
    "temperature": 1.0,
    "topP": 0.95,
    "tools": ["url-context", "image-generation"],
    "stream": True
}
CAMEL = {"X-Hyperchat-Casing": "camel"}


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


async def test_the_seeds_request_in_camel_case_answers_in_the_seeds_shape(served,
                                                                         fake_upstream):
    reply = "Hello! How can I help you today?"
    # 15 tokens, as the seed's usage counts them.
    fake_upstream.enqueue(Tokens([reply[i:i + 2] for i in range(0, 28, 2)] + [reply[28:]],
                                 prompt_tokens=10))
    body = {**{k: v for k, v in SEED_REQUEST.items() if k != "tools"}, "model": MODEL,
            "stream": False}
    async with served.http() as http:
        response = await http.post("/chat/completions", json=body, headers=CAMEL)
    assert response.status_code == 200
    answer = response.json()
    assert answer["id"].startswith("chatcmpl-")
    assert answer["choices"][0]["message"] == {
        "role": "assistant", "content": "Hello! How can I help you today?", "refusal": None}
    assert answer["choices"][0]["finishReason"] == "stop"
    usage = answer["usage"]
    assert (usage["promptTokens"], usage["completionTokens"], usage["totalTokens"]) == (
        10, 15, 25)
    assert not any("_" in key for key in _keys(answer))
    sent = fake_upstream.requests[0]["json"]
    assert (sent["temperature"], sent["top_p"]) == (1.0, 0.95)  # topP, under OpenAI's name


async def test_the_seeds_stream_in_camel_case_parses_as_the_seed_reads_it(served,
                                                                          fake_upstream):
    fake_upstream.enqueue(Tokens(["Hello", " there"], prompt_tokens=3))
    body = {**{k: v for k, v in SEED_REQUEST.items() if k != "tools"}, "model": MODEL,
            "stream_options": {"include_usage": True}}
    async with served.http() as http:
        response = await http.post("/chat/completions", json=body, headers=CAMEL)
    lines = [line for line in response.text.split("\n\n") if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    # As the seed's useChatApi.ts reads them: choices[0].delta.content, in order.
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks
                   if c["choices"])
    assert text == "Hello there"
    assert chunks[-2]["choices"][0]["finishReason"] == "stop"
    assert chunks[-1]["usage"]["promptTokens"] == 3 and "totalTokens" in chunks[-1]["usage"]
    assert not any("_" in key for c in chunks for key in _keys(c))


async def test_the_seeds_studio_tools_are_refused_naming_the_field(served, fake_upstream):
    async with served.http() as http:
        response = await http.post("/chat/completions", headers=CAMEL,
                                   json={**SEED_REQUEST, "model": MODEL})
    assert response.status_code == 400
    assert response.json()["error"]["param"].startswith("tools[0]")
    assert fake_upstream.requests == []


async def test_an_unknown_casing_is_a_400(served, fake_upstream):
    async with served.http() as http:
        response = await http.post("/chat/completions", json={"model": MODEL,
                                                                "messages": HELLO},
                                   headers={"X-Hyperchat-Casing": "kebab"})
    assert response.status_code == 400
    assert "X-Hyperchat-Casing" in response.json()["error"]["message"]


# --------------------------------------------------------------------------- saved sessions


def _follow(served, conversation_id: int, position: str):
    return served.app.extensions["events"].follow(conversation_id, position, keepalive=5)


async def _next_change(events) -> tab_events.Event:
    async with asyncio.timeout(5):
        async for event in events:
            if event is not None and event.type == tab_events.THREAD_CHANGED:
                return event
    raise AssertionError("no thread change published")


async def test_a_call_saved_in_a_new_session_is_a_conversation_titled_by_the_rule(
        served, fake_upstream):
    fake_upstream.enqueue(Tokens(["Deco", "rators wrap."], prompt_tokens=9))
    question = "How do I use Python decorators in my code?"
    raw = await served.async_().chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "system", "content": "Be brief."},
                               {"role": "user", "content": question}],
        extra_headers={"X-Hyperchat-Session": "new"})
    conversation = await Conversation.get(id=int(raw.headers["X-Hyperchat-Session"]))
    assert conversation.owner == served.owner and conversation.title == title_from(question)
    messages = await Message.filter(conversation_id=conversation.id).order_by("id")
    assert [(str(m.role), m.content, str(m.status)) for m in messages] == [
        ("system", "Be brief.", "complete"), ("user", question, "complete"),
        ("assistant", "Decorators wrap.", "complete")]
    assert messages[2].parent_id == messages[1].id and messages[2].prompt_tokens == 9
    [record] = await _records(served.owner)
    assert (record.conversation_id, record.message_id) == (conversation.id, messages[2].id)


async def test_a_call_saved_in_a_session_appends_its_turn_and_shows_in_open_tabs(
        served, fake_upstream):
    conversation = await Conversation.create(owner=served.owner, title="Mine")
    events = _follow(served, conversation.id,
                     await served.app.extensions["events"].position(conversation.id))
    fake_upstream.enqueue(Tokens(["first"]), Tokens(["sec", "ond"]))
    client = served.async_()
    headers = {"X-Hyperchat-Session": str(conversation.id)}
    await client.chat.completions.create(model=MODEL, messages=HELLO, extra_headers=headers)
    first = await _next_change(events)
    # The client sends the history it keeps: only the turn after it is new.
    stream = await client.chat.completions.create(
        model=MODEL, stream=True, extra_headers=headers,
        messages=[*HELLO, {"role": "assistant", "content": "first"},
                  {"role": "user", "content": "Again"}])
    async for _chunk in stream:
        pass
    second = await _next_change(events)
    messages = await Message.filter(conversation_id=conversation.id).order_by("id")
    assert [(str(m.role), m.content) for m in messages] == [
        ("user", "Say hi"), ("assistant", "first"), ("user", "Again"),
        ("assistant", "second")]
    assert (await Conversation.get(id=conversation.id)).title == "Mine"
    assert f'id="msg-{messages[1].id}"' in first.html
    assert f'id="msg-{messages[3].id}"' in second.html and "second" in second.html


async def test_someone_elses_session_is_not_found_in_openais_shape(served, fake_upstream):
    theirs = await Conversation.create(owner="someone-else", title="Theirs")
    with pytest.raises(openai.NotFoundError) as caught:
        await served.async_().chat.completions.create(
            model=MODEL, messages=HELLO, extra_headers={"X-Hyperchat-Session": str(theirs.id)})
    assert set(caught.value.body) == {"message", "type", "param", "code"}
    assert fake_upstream.requests == []
    assert await Message.filter(conversation_id=theirs.id).count() == 0


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "x" * 30])
async def test_a_malformed_session_header_is_a_400(served, fake_upstream, value):
    with pytest.raises(openai.BadRequestError):
        await served.async_().chat.completions.create(
            model=MODEL, messages=HELLO, extra_headers={"X-Hyperchat-Session": value})
    assert fake_upstream.requests == []


async def test_a_session_needs_a_user_turn_to_save(served, fake_upstream):
    conversation = await Conversation.create(owner=served.owner, title="Mine")
    with pytest.raises(openai.BadRequestError) as caught:
        await served.async_().chat.completions.create(
            model=MODEL, messages=[*HELLO, {"role": "assistant", "content": "Hi"}],
            extra_headers={"X-Hyperchat-Session": str(conversation.id)})
    assert "user message" in caught.value.message
    assert fake_upstream.requests == []


async def test_a_provider_refusal_leaves_no_new_session_behind(served, fake_upstream):
    fake_upstream.enqueue(HttpError(400, {"error": {"code": 400, "message": "no"}}))
    with pytest.raises(openai.BadRequestError):
        await served.async_().chat.completions.create(
            model=MODEL, messages=HELLO, extra_headers={"X-Hyperchat-Session": "new"})
    assert await Conversation.filter(owner=served.owner).count() == 0


async def test_without_a_session_only_usage_is_stored(served, fake_upstream):
    fake_upstream.enqueue(Tokens(["ok"]))
    await served.async_().chat.completions.create(model=MODEL, messages=HELLO)
    assert await Conversation.all().count() == 0 and await Message.all().count() == 0
    assert len(await _records(served.owner)) == 1


# --------------------------------------------------------------------------- unknown paths


async def test_a_wrong_method_and_an_unknown_path_answer_in_openais_shape(served):
    async with served.http() as http:
        wrong = await http.get("/chat/completions")
        unknown = await http.post("/embeddings", json={"input": "x"})
    assert wrong.status_code == 405 and "POST" in wrong.headers["Allow"]
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert unknown.status_code == 404
    assert set(unknown.json()["error"]) == {"message", "type", "param", "code"}
    assert unknown.json()["error"]["code"] == "not_found"
