"""OpenAI's chat-completions wire format for programs (/v1): checking a request, calling the
upstream through its one interface, and shaping what comes back.

A request is checked whole before anything is sent (OpenAI refuses unknown arguments, so do
we). The reply is relayed from the upstream's parsed events: text, tool-call fragments and
the finish reason as they arrive, usage at the end (the provider's, or our ~4 characters per
token estimate, marked `estimated`). Every call that reached the provider leaves a usage
record under the key's account, which the account's budgets then count.
"""

import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Constraint
from quart_schema import snake_to_camel

from hyperchat.metering import usage as usage_records
from hyperchat.metering.catalog import Catalog
from hyperchat.store.schema import UsageRecord
from hyperchat.upstream.client import Upstream, UpstreamError
from hyperchat.upstream.wire import (
    Event,
    Finish,
    ModelInfo,
    ReasoningDelta,
    StreamSummary,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from hyperchat.web.rendering import estimate_tokens

# Sent on to the provider as they are, after a type check.
PASSED_THROUGH = {"presence_penalty", "frequency_penalty", "logit_bias", "response_format",
                  "parallel_tool_calls", "reasoning_effort"}
# Understood but not offered: this server relays one choice of text and tool calls.
REFUSED = {
    "n": "Only one choice per request is supported (n must be 1).",
    "logprobs": "logprobs are not relayed by this server.",
    "top_logprobs": "logprobs are not relayed by this server.",
    "audio": "Audio output is not supported.",
    "modalities": "Only text output is supported.",
    "prediction": "Predicted outputs are not supported.",
    "functions": "`functions` is deprecated: send `tools`.",
    "function_call": "`function_call` is deprecated: send `tool_choice`.",
    "web_search_options": "Web search options are not supported.",
}
# A refused field may still be sent at its default, as SDKs sometimes do.
HARMLESS = {"n": (1, None), "logprobs": (False, None), "top_logprobs": (None,),
            "modalities": (["text"], None), "store": (False, None)}


class APIError(Exception):
    """An answer in OpenAI's error shape: `{"error": {"message", "type", "param", "code"}}`."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None,
                 headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.code, self.param = code, param
        self.headers = dict(headers or {})

    def body(self) -> dict:
        return error_body(self.message, self.type, self.code, self.param)


def error_body(message: str, type: str, code: str | None = None,
               param: str | None = None) -> dict:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def _bad(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


Probability = Annotated[float, Constraint(ge=0, le=1)]
Positive = Annotated[int, Constraint(ge=1)]


class ContentPart(BaseModel):
    """One part of a message's content: `{"type": "text", "text": ...}`, or another type
    passed to the provider as it is."""

    model_config = ConfigDict(strict=True, extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    include_usage: bool | None = None


class ChatCompletionRequest(BaseModel):
    """The body of POST /v1/chat/completions: OpenAI's fields, each of its JSON type and
    range; any other field is refused, as OpenAI refuses it. `topP` is seed 003's name for
    `top_p`."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={"example": {
        "model": "hyperchat/demo", "messages": [{"role": "user", "content": "Hello"}],
        "stream": False}})
    model: Annotated[str, Constraint(min_length=1)]
    messages: Annotated[list[ChatMessage], Constraint(min_length=1)]
    temperature: Annotated[float, Constraint(ge=0, le=2)] | None = None
    top_p: Probability | None = None
    topP: Probability | None = None
    max_tokens: Positive | None = None
    max_completion_tokens: Positive | None = None
    stop: str | Annotated[list[Annotated[str, Constraint(min_length=1)]],
                          Constraint(min_length=1, max_length=4)] | None = None
    seed: int | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    user: str | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    store: bool | None = None
    metadata: dict[str, str] | None = None
    # Passed through to the provider as they are.
    presence_penalty: Annotated[float, Constraint(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Constraint(ge=-2, le=2)] | None = None
    logit_bias: dict[str, float] | None = None
    response_format: dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    reasoning_effort: str | None = None
    # Understood but refused unless at their default (REFUSED says why).
    n: Any = None
    logprobs: Any = None
    top_logprobs: Any = None
    audio: Any = None
    modalities: Any = None
    prediction: Any = None
    functions: Any = None
    function_call: Any = None
    web_search_options: Any = None


# The answers' shapes, for /openapi.json (built as dicts on the hot path, not validated).


class ModelCard(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelCard]


class CompletionMessage(BaseModel):
    role: Literal["assistant"]
    content: str | None
    refusal: None
    tool_calls: list[dict[str, Any]] | None = None


class CompletionChoice(BaseModel):
    index: int
    message: CompletionMessage
    logprobs: None
    finish_reason: str


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    completion_tokens_details: dict[str, int] | None = None
    estimated: bool | None = None  # our estimate: the provider sent no usage


class ChatCompletion(BaseModel):
    """A whole reply; with `"stream": true` the answer is instead `text/event-stream`
    events of `chat.completion.chunk`, ending with `data: [DONE]`."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    system_fingerprint: str | None
    choices: list[CompletionChoice]
    usage: CompletionUsage


@dataclass
class CompletionRequest:
    model: str
    messages: list[dict]
    stream: bool = False
    include_usage: bool = False
    # The generation fields the provider receives, under OpenAI's names.
    options: dict[str, Any] = field(default_factory=dict)

    def prompt_text(self) -> str:
        return "".join(_text_of(m.get("content")) for m in self.messages)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _message(given: ChatMessage, at: int) -> dict:
    """A message as the provider receives it, after the rules its type cannot say."""
    param = f"messages[{at}]"
    role, content = given.role, given.content
    if isinstance(content, list):
        for part_at, part in enumerate(content):
            if part.type == "text" and part.text is None:
                raise _bad(f"`{param}.content[{part_at}].text` must be a string.",
                           f"{param}.content")
        content = [part.model_dump(exclude_none=True) for part in content]
    elif content is None and not (role == "assistant" and given.tool_calls):
        raise _bad(f"`{param}.content` is required.", f"{param}.content")
    message: dict[str, Any] = {"role": role, "content": content}
    if given.name is not None:
        message["name"] = given.name
    if given.tool_calls is not None:
        if role != "assistant":
            raise _bad(f"`{param}.tool_calls` must be a list of objects on an assistant "
                       "message.", f"{param}.tool_calls")
        message["tool_calls"] = given.tool_calls
    if role == "tool":
        if not given.tool_call_id:
            raise _bad(f"`{param}.tool_call_id` is required on a tool message.",
                       f"{param}.tool_call_id")
        message["tool_call_id"] = given.tool_call_id
    return message


def parse_request(body: ChatCompletionRequest, catalog: Catalog) -> CompletionRequest:
    """The rules a validated body's types cannot say; APIError (400, or 404 for an unknown
    model) otherwise."""
    sent = body.model_fields_set
    for name in REFUSED:
        if name in sent and getattr(body, name) not in HARMLESS.get(name, (None,)):
            raise _bad(REFUSED[name], name, "unsupported_parameter")
    if not catalog.knows(body.model):
        raise APIError(404, f"The model `{body.model}` does not exist or you do not have "
                       "access to it.", code="model_not_found", param="model")
    request = CompletionRequest(model=body.model, messages=[
        _message(m, at) for at, m in enumerate(body.messages)])
    request.stream = bool(body.stream)
    if body.stream_options is not None:
        if not request.stream:
            raise _bad("`stream_options` is only allowed when `stream` is true.",
                       "stream_options")
        request.include_usage = bool(body.stream_options.include_usage)
    options = request.options
    if body.temperature is not None:
        options["temperature"] = body.temperature
    if body.top_p is not None and body.topP is not None:
        raise _bad("Send `top_p` or `topP`, not both.", "topP")
    top_p = body.top_p if body.top_p is not None else body.topP
    if top_p is not None:
        options["top_p"] = top_p
    for name in ("max_tokens", "max_completion_tokens", "seed", "user", "tool_choice"):
        if (value := getattr(body, name)) is not None:
            options[name] = value
    if body.stop is not None:
        options["stop"] = [body.stop] if isinstance(body.stop, str) else body.stop
    if body.tools is not None:
        if not all(t.get("type") == "function" and isinstance(t.get("function"), dict)
                   and isinstance(t["function"].get("name"), str) for t in body.tools):
            raise _bad("`tools` must be a list of {\"type\": \"function\", \"function\": "
                       "{\"name\", ...}}.", "tools")
        options["tools"] = body.tools
    for name in PASSED_THROUGH:
        if (value := getattr(body, name)) is not None:
            options[name] = value
    return request


# --------------------------------------------------------------------------- the call


@dataclass
class Call:
    """One relayed completion: what streamed so far, and its timings for the overhead."""

    request: CompletionRequest
    owner: str
    api_key_id: int | None = None
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))
    summary: StreamSummary = field(default_factory=StreamSummary)
    usage: Usage | None = None
    started: float = field(default_factory=time.perf_counter)
    sent_at: float | None = None
    first_event_at: float | None = None
    first_text_at: float | None = None
    last_event_at: float | None = None
    reached_provider: bool = False
    # Set when the call is saved in a conversation (chat/saved_calls.py).
    conversation_id: int | None = None
    message_id: int | None = None

    @property
    def model(self) -> str:
        return self.summary.model or self.request.model

    def sent(self) -> None:
        if self.sent_at is None:
            self.sent_at = time.perf_counter()
        self.reached_provider = True

    def overhead_ms(self, until: float | None = None) -> float:
        """Time spent in this server: before the upstream call went out, and from the
        upstream's last event (or first, for a stream's headers) until `until`."""
        before = (self.sent_at or time.perf_counter()) - self.started
        after = 0.0
        if until is not None:
            mark = self.last_event_at or self.first_event_at
            after = max(0.0, until - mark) if mark else 0.0
        return (before + after) * 1000

    def see(self, event: Event) -> None:
        now = time.perf_counter()
        self.first_event_at = self.first_event_at or now
        self.last_event_at = now
        self.summary.apply(event)
        if isinstance(event, Usage):
            self.usage = event
        if isinstance(event, TextDelta | ToolCallDelta) and self.first_text_at is None:
            self.first_text_at = now

    def events(self, upstream: Upstream) -> AsyncIterator[Event]:
        return upstream.stream(self.request.messages, self.request.model,
                               options=self.request.options, on_sent=self.sent)

    # ------------------------------------------------------------------ usage

    def counts(self) -> tuple[int, int, bool]:
        """(prompt tokens, completion tokens, estimated)."""
        u = self.usage
        if u is not None and u.prompt_tokens is not None and u.completion_tokens is not None:
            return u.prompt_tokens, u.completion_tokens, False
        calls = "".join((c["name"] or "") + c["arguments"] for c in self.summary.tool_calls or [])
        completion = (estimate_tokens(self.summary.text) + estimate_tokens(calls)
                      + estimate_tokens(self.summary.reasoning or ""))
        return estimate_tokens(self.request.prompt_text()), completion, True

    def usage_json(self) -> dict:
        prompt, completion, estimated = self.counts()
        total = prompt + completion
        if not estimated and self.usage is not None and self.usage.total_tokens:
            total = self.usage.total_tokens
        body: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                                "total_tokens": total}
        if not estimated and self.usage is not None and self.usage.reasoning_tokens is not None:
            body["completion_tokens_details"] = {
                "reasoning_tokens": self.usage.reasoning_tokens}
        if estimated:
            body["estimated"] = True
        return body

    async def record(self, catalog: Catalog | None) -> UsageRecord | None:
        """The call's usage record (none when the provider was never reached)."""
        if not self.reached_provider:
            return None
        got_output = bool(self.summary.text or self.summary.tool_calls or self.summary.reasoning)
        if self.usage is None and not got_output:
            prompt, completion, estimated = 0, 0, False  # refused or cut before any output
        else:
            prompt, completion, estimated = self.counts()
        usage_json = self.usage_json() if (prompt or completion) else {}
        cost, source = usage_records.price(self.request.model, prompt, completion,
                                           None if estimated else self.usage, catalog)
        ttft = None
        if self.first_text_at is not None:
            ttft = round((self.first_text_at - (self.sent_at or self.started)) * 1000)
        return await UsageRecord.create(
            owner=self.owner, conversation_id=self.conversation_id, message_id=self.message_id,
            api_key_id=self.api_key_id,
            model=self.request.model,
            prompt_tokens=prompt, completion_tokens=completion,
            total_tokens=usage_json.get("total_tokens", 0), cost=cost, cost_source=source,
            tokens_estimated=estimated, ttft_ms=ttft)

    # ------------------------------------------------------------------ shapes

    def finish_reason(self) -> str:
        reason = self.summary.finish_reason
        if reason in (None, "", "error"):
            return "tool_calls" if self.summary.tool_calls else "stop"
        return reason

    def completion(self) -> dict:
        """The whole reply as a `chat.completion`."""
        message: dict[str, Any] = {"role": "assistant",
                                   "content": self.summary.text or None, "refusal": None}
        if self.summary.tool_calls:
            message["tool_calls"] = [
                {"id": c["id"] or f"call_{index}", "type": "function",
                 "function": {"name": c["name"] or "", "arguments": c["arguments"]}}
                for index, c in enumerate(self.summary.tool_calls)]
        return {"id": self.id, "object": "chat.completion", "created": self.created,
                "model": self.model, "system_fingerprint": None,
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": self.finish_reason()}],
                "usage": self.usage_json()}

    def chunk(self, delta: dict | None, finish_reason: str | None = None, *,
              usage: dict | None = None) -> dict:
        """One `chat.completion.chunk`; `delta=None` is the usage chunk (no choices)."""
        body: dict[str, Any] = {"id": self.id, "object": "chat.completion.chunk",
                                "created": self.created, "model": self.model,
                                "system_fingerprint": None}
        body["choices"] = [] if delta is None else [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
        if self.request.include_usage:
            body["usage"] = usage  # null on every chunk but the last, as OpenAI sends it
        return body


def camel_case(value: Any) -> Any:
    """A response in seed 003's camelCase (`finishReason`, `usage.promptTokens`...): every
    key renamed, values as they are (a tool call's `arguments` stay the provider's text)."""
    if isinstance(value, dict):
        return {snake_to_camel(key): camel_case(item) for key, item in value.items()}
    if isinstance(value, list):
        return [camel_case(item) for item in value]
    return value


def delta_of(event: Event) -> dict | None:
    """The `delta` a parsed upstream event becomes in a chunk; None for events that carry
    nothing to relay (model, usage, finish: those are sent once, at their place)."""
    if isinstance(event, TextDelta):
        return {"content": event.text}
    if isinstance(event, ToolCallDelta):
        call: dict[str, Any] = {"index": event.index}
        if event.id:
            call["id"], call["type"] = event.id, "function"
        function: dict[str, str] = {"arguments": event.arguments}
        if event.name:
            function["name"] = event.name
        call["function"] = function
        return {"tool_calls": [call]}
    if isinstance(event, ReasoningDelta):
        return {"reasoning": event.text}  # OpenRouter's field; OpenAI's clients ignore it
    return None


def is_relayed(event: Event) -> bool:
    return not isinstance(event, ModelInfo | Usage | Finish)


# --------------------------------------------------------------------------- errors


def provider_error(exc: UpstreamError) -> APIError:
    """The provider's failure in OpenAI's shape: its rate limits and refusals of the request
    keep their status; anything else is the gateway's (502, or 504 for a timeout)."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
    status = exc.status
    if status == 429:
        return APIError(429, exc.message, type="rate_limit_exceeded",
                        code="rate_limit_exceeded", headers=headers or {"Retry-After": "1"})
    if status in (400, 413, 422):
        return APIError(400, exc.message, code="provider_rejected_request")
    if status in (408, 504, 524) or (status is None and "timed out" in exc.message):
        return APIError(504, exc.message, type="api_error", code="provider_timeout")
    return APIError(502, exc.message, type="api_error", code="provider_error", headers=headers)
