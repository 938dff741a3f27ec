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
from typing import Any

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

ROLES = {"system", "developer", "user", "assistant", "tool"}
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
KNOWN = {"model", "messages", "temperature", "top_p", "topP", "max_tokens",
         "max_completion_tokens", "stop", "seed", "stream", "stream_options", "user", "tools",
         "tool_choice", "store", "metadata"} | PASSED_THROUGH | set(REFUSED)
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


def _number(body: dict, name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _bad(f"`{name}` must be a number from {low:g} to {high:g}.", name)
    return value


def _positive_int(body: dict, name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _bad(f"`{name}` must be a positive integer.", name)
    return value


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


def _message(raw: Any, at: int) -> dict:
    param = f"messages[{at}]"
    if not isinstance(raw, dict):
        raise _bad(f"`{param}` must be an object.", param)
    role = raw.get("role")
    if role not in ROLES:
        raise _bad(f"`{param}.role` must be one of {', '.join(sorted(ROLES))}.", f"{param}.role")
    content = raw.get("content")
    tool_calls = raw.get("tool_calls")
    if isinstance(content, list):
        for part_at, part in enumerate(content):
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise _bad(f"`{param}.content[{part_at}]` must be an object with a `type`.",
                           f"{param}.content")
            if part["type"] == "text" and not isinstance(part.get("text"), str):
                raise _bad(f"`{param}.content[{part_at}].text` must be a string.",
                           f"{param}.content")
    elif content is None:
        if not (role == "assistant" and tool_calls):
            raise _bad(f"`{param}.content` is required.", f"{param}.content")
    elif not isinstance(content, str):
        raise _bad(f"`{param}.content` must be a string or an array of content parts.",
                   f"{param}.content")
    message: dict[str, Any] = {"role": role, "content": content}
    if isinstance(raw.get("name"), str):
        message["name"] = raw["name"]
    if tool_calls is not None:
        if role != "assistant" or not isinstance(tool_calls, list) \
                or not all(isinstance(c, dict) for c in tool_calls):
            raise _bad(f"`{param}.tool_calls` must be a list of objects on an assistant "
                       "message.", f"{param}.tool_calls")
        message["tool_calls"] = tool_calls
    if role == "tool":
        if not isinstance(raw.get("tool_call_id"), str) or not raw["tool_call_id"]:
            raise _bad(f"`{param}.tool_call_id` is required on a tool message.",
                       f"{param}.tool_call_id")
        message["tool_call_id"] = raw["tool_call_id"]
    return message


def parse_request(body: Any, catalog: Catalog) -> CompletionRequest:
    """Check a request body whole; raise APIError (400, or 404 for an unknown model)."""
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    for name in body:
        if name not in KNOWN:
            raise _bad(f"Unrecognized request argument supplied: {name}", name)
        if name in REFUSED and body[name] not in HARMLESS.get(name, (None,)):
            raise _bad(REFUSED[name], name, "unsupported_parameter")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("`model` is required.", "model")
    if not catalog.knows(model):
        raise APIError(404, f"The model `{model}` does not exist or you do not have access "
                       "to it.", code="model_not_found", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("`messages` must be a non-empty array.", "messages")
    request = CompletionRequest(model=model,
                                messages=[_message(m, at) for at, m in enumerate(messages)])
    stream = body.get("stream")
    if stream not in (None, True, False):
        raise _bad("`stream` must be a boolean.", "stream")
    request.stream = bool(stream)
    stream_options = body.get("stream_options")
    if stream_options is not None:
        if not isinstance(stream_options, dict) \
                or stream_options.get("include_usage") not in (None, True, False):
            raise _bad("`stream_options` must be an object like {\"include_usage\": true}.",
                       "stream_options")
        if not request.stream:
            raise _bad("`stream_options` is only allowed when `stream` is true.",
                       "stream_options")
        request.include_usage = bool(stream_options.get("include_usage"))
    options = request.options
    if (temperature := _number(body, "temperature", 0, 2)) is not None:
        options["temperature"] = temperature
    if body.get("top_p") is not None and body.get("topP") is not None:
        raise _bad("Send `top_p` or `topP`, not both.", "topP")
    top_p = _number(body, "top_p", 0, 1)
    top_p = _number(body, "topP", 0, 1) if top_p is None else top_p
    if top_p is not None:
        options["top_p"] = top_p
    for name in ("max_tokens", "max_completion_tokens"):
        if (value := _positive_int(body, name)) is not None:
            options[name] = value
    stop = body.get("stop")
    if stop is not None:
        if isinstance(stop, str):
            stop = [stop]
        if not isinstance(stop, list) or not 1 <= len(stop) <= 4 \
                or not all(isinstance(s, str) and s for s in stop):
            raise _bad("`stop` must be a string or up to 4 strings.", "stop")
        options["stop"] = stop
    seed = body.get("seed")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise _bad("`seed` must be an integer.", "seed")
        options["seed"] = seed
    if body.get("user") is not None:
        if not isinstance(body["user"], str):
            raise _bad("`user` must be a string.", "user")
        options["user"] = body["user"]
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list) or not all(
                isinstance(t, dict) and t.get("type") == "function"
                and isinstance(t.get("function"), dict)
                and isinstance(t["function"].get("name"), str) for t in tools):
            raise _bad("`tools` must be a list of {\"type\": \"function\", \"function\": "
                       "{\"name\", ...}}.", "tools")
        options["tools"] = tools
    tool_choice = body.get("tool_choice")
    if tool_choice is not None:
        if not (tool_choice in ("none", "auto", "required") or isinstance(tool_choice, dict)):
            raise _bad("`tool_choice` must be none, auto, required or an object.",
                       "tool_choice")
        options["tool_choice"] = tool_choice
    for name in PASSED_THROUGH:
        if body.get(name) is not None:
            options[name] = body[name]
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
            owner=self.owner, conversation=None, message_id=None, api_key_id=self.api_key_id,
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
