"""Incremental parser for OpenAI-compatible chat-completions streams (OpenRouter, OpenAI).

Pure: bytes in, events out, no I/O. The traps it handles, each tested byte by byte in
tests/test_sse_parser.py against captures in tests/streams/:
  framing  any line break (\r\n, \n, \r), comments (": OPENROUTER PROCESSING" keep-alives),
           events split anywhere across reads, raw U+2028 inside JSON strings;
  usage    may ride on any chunk, the last one wins; costs are JS floats kept exact;
  errors   an error object mid-stream wins over `choices`; error bodies may be JSON, JSON
           inside a string, or an HTML page; Retry-After in seconds.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from typing import Any


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(frozen=True)
class ModelInfo:
    model: str
    provider: str | None


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    reasoning_tokens: int | None
    cost: Decimal | None


@dataclass(frozen=True)
class Finish:
    reason: str
    native_reason: str | None


@dataclass(frozen=True)
class StreamError:
    code: int | str | None
    message: str
    metadata: dict | None


@dataclass(frozen=True)
class Done:
    pass


Event = TextDelta | ReasoningDelta | ToolCallDelta | ModelInfo | Usage | Finish | StreamError | Done

MALFORMED = "upstream sent malformed data"


@dataclass
class StreamSummary:
    """Everything the chat code keeps from one stream, folded from the events."""

    id: str | None = None
    model: str | None = None
    provider: str | None = None
    text: str = ""
    reasoning: str | None = None
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    saw_done: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost: Decimal | None = None
    error: dict | None = None
    tool_calls: list[dict] | None = None

    def __post_init__(self) -> None:
        # Fragments of parallel calls interleave; `index` says which call each belongs to.
        # Not a field, so asdict() and == see only tool_calls.
        self._calls_by_index: dict[int, dict] = {}

    def apply(self, event: Event) -> None:
        """Fold one event into the summary."""
        if isinstance(event, TextDelta):  # by far the most frequent: tested first
            self.text += event.text
        elif isinstance(event, ReasoningDelta):
            self.reasoning = (self.reasoning or "") + event.text
        elif isinstance(event, ToolCallDelta):
            call = self._calls_by_index.get(event.index)
            if call is None:
                call = {"id": None, "name": None, "arguments": ""}
                self._calls_by_index[event.index] = call
                self.tool_calls = [c for _, c in sorted(self._calls_by_index.items())]
            call["id"] = event.id or call["id"]
            call["name"] = event.name or call["name"]
            call["arguments"] += event.arguments
        elif isinstance(event, ModelInfo):
            self.model, self.provider = event.model, event.provider
        elif isinstance(event, Usage):
            # The usage chunk replaces, never adds: it is the total for the whole request.
            self.prompt_tokens = event.prompt_tokens
            self.completion_tokens = event.completion_tokens
            self.reasoning_tokens = event.reasoning_tokens
            self.cost = event.cost
        elif isinstance(event, Finish):
            self.finish_reason, self.native_finish_reason = event.reason, event.native_reason
        elif isinstance(event, StreamError):
            self.error = {"code": event.code, "message": event.message, "metadata": event.metadata}
        elif isinstance(event, Done):
            self.saw_done = True


# One line break is \r\n, \n or \r; the regex tries \r\n first so a pair is one break.
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"
# Costs are JS floats such as 3.8e-7; Decimal keeps them exact. One decoder, built once.
_JSON = json.JSONDecoder(parse_float=Decimal)


class StreamParser:
    """Turn the raw bytes of a 200 streaming response into events, fed in any split."""

    def __init__(self) -> None:
        self.summary = StreamSummary()
        self.keepalive_comments = 0
        self._buffer = b""
        self._skip_lf = False  # the previous feed ended in \r: a leading \n completes that break
        self._first_line = True
        self._event_name = ""
        self._data: list[str] = []

    def feed(self, data: bytes) -> list[Event]:
        if not data:
            return []
        buffer = self._buffer + data
        if self._skip_lf and buffer.startswith(b"\n"):
            buffer = buffer[1:]
        # A \r at the very end may be the first half of \r\n: handle its line now (a CR-only
        # stream must not wait) and swallow the \n if the next feed starts with it.
        self._skip_lf = buffer.endswith(b"\r")
        *lines, self._buffer = _LINE_BREAK.split(buffer)
        events: list[Event] = []
        for line in lines:
            events += self._line(line)
        return events

    def close(self) -> list[Event]:
        """End of input: handle a last line without a line break and a last event without a
        blank line (a dropped connection must not swallow what did arrive)."""
        events = self._line(self._buffer) if self._buffer else []
        self._buffer = b""
        return events + self._line(b"")

    def _line(self, raw: bytes) -> list[Event]:
        if self._first_line:
            self._first_line = False
            raw = raw.removeprefix(_BOM)
        if not raw:
            return self._dispatch()
        # Decode per line, after splitting on bytes: str.splitlines() would also break on
        # U+2028 and friends, which Node leaves raw inside JSON strings.
        line = raw.decode("utf-8", errors="replace")
        if line.startswith(":"):
            self.keepalive_comments += 1
            return []
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event_name = value
        return []  # id:, retry: and unknown fields carry nothing we use

    def _dispatch(self) -> list[Event]:
        event_name, data = self._event_name, self._data
        self._event_name, self._data = "", []
        if not data and event_name != "error":
            return []
        events = self._events_for("\n".join(data), event_name)
        for event in events:
            self.summary.apply(event)
        return events

    def _events_for(self, payload: str, event_name: str) -> list[Event]:
        if payload.strip() == "[DONE]":
            return [Done()]
        try:
            chunk = _JSON.decode(payload)
        except (ValueError, RecursionError):
            chunk = None
        if event_name == "error":
            return [_error_event(chunk, payload)]
        if not isinstance(chunk, dict):
            return [StreamError(code=None, message=MALFORMED, metadata=None)]
        return self._chunk_events(chunk)

    def _chunk_events(self, chunk: dict) -> list[Event]:
        events: list[Event] = []
        if _text(chunk.get("id")):
            self.summary.id = chunk["id"]
        model = _text(chunk.get("model")) or self.summary.model
        provider = _text(chunk.get("provider")) or self.summary.provider
        if model and (model, provider) != (self.summary.model, self.summary.provider):
            events.append(ModelInfo(model, provider))
        # An error object wins whatever `choices` holds. It comes first so a consumer that
        # stops at the error has it; the choices (finish_reason "error") are still read after.
        if chunk.get("error"):
            events.append(_error_event(chunk, ""))
        choices = chunk.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            events += _choice_events(choices[0])
        # Usage may ride on any chunk, with or without choices; the last one wins.
        if isinstance(chunk.get("usage"), dict):
            events.append(_usage(chunk["usage"]))
        return events


def _choice_events(choice: dict) -> list[Event]:
    events: list[Event] = []
    delta = choice.get("delta")
    if isinstance(delta, dict):
        if _text(delta.get("reasoning")):
            events.append(ReasoningDelta(delta["reasoning"]))
        if _text(delta.get("content")):
            events.append(TextDelta(delta["content"]))
        tool_calls = delta.get("tool_calls")
        for position, call in enumerate(tool_calls if isinstance(tool_calls, list) else []):
            if isinstance(call, dict):
                events.append(_tool_call(call, position))
    if _text(choice.get("finish_reason")):
        events.append(Finish(choice["finish_reason"], _text(choice.get("native_finish_reason"))))
    return events


def _tool_call(call: dict, position: int) -> ToolCallDelta:
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    index = call.get("index")
    return ToolCallDelta(
        index=index if _is_int(index) else position,
        id=_text(call.get("id")),
        name=_text(function.get("name")),
        arguments=function.get("arguments") if isinstance(function.get("arguments"), str) else "",
    )


def _usage(usage: dict) -> Usage:
    details = usage.get("completion_tokens_details")
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
    return Usage(
        prompt_tokens=_int(usage.get("prompt_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")),
        total_tokens=_int(usage.get("total_tokens")),
        reasoning_tokens=_int(reasoning),
        cost=_decimal(usage.get("cost")),
    )


def _error_event(body: Any, raw_text: str) -> StreamError:
    """Build a StreamError from `{"error": {...}}`, a bare error object, or plain text."""
    error = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        metadata = error.get("metadata")
        return StreamError(
            code=code if _is_int(code) or isinstance(code, str) else None,
            message=_error_message(error) or "upstream reported an error",
            metadata=metadata if isinstance(metadata, dict) else None,
        )
    message = error if _text(error) else raw_text.strip()
    return StreamError(code=None, message=message or "upstream reported an error", metadata=None)


def _error_message(error: dict) -> str | None:
    """Return the most useful message in an error object.

    Upstream messages are sometimes a whole JSON error body in a string (GH-2698), and a
    generic "Provider returned error" often hides the real cause in metadata.raw (GH-OMNI)."""
    message = _text(error.get("message"))
    message = _nested_message(message) or message
    metadata = error.get("metadata") if isinstance(error.get("metadata"), dict) else {}
    cause = _nested_message(_text(metadata.get("raw")))
    if cause and cause != message:
        provider = _text(metadata.get("provider_name"))
        prefix = f"{message} ({provider})" if message and provider else message or provider
        message = f"{prefix}: {cause}" if prefix else cause
    return message


def _nested_message(text: str | None) -> str | None:
    """Return the message inside a JSON-encoded error body, else None."""
    if not text or not text.lstrip().startswith("{"):
        return None
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict):
        return None
    error = body.get("error", body)
    if isinstance(error, dict):
        return _text(error.get("message"))
    return _text(error)


def parse_error_body(
    status: int, body: bytes, headers: Mapping[str, str]
) -> tuple[str, int | None]:
    """For a non-200 response sent before any SSE: return (a human message, retry-after seconds).

    The body should be `{"error": {...}}` but may be anything, including an HTML page from a
    proxy or nothing at all; the message then falls back to the HTTP status."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        parsed = json.loads(text) if text else None
    except (ValueError, RecursionError):
        parsed = None
    error = parsed.get("error", parsed) if isinstance(parsed, dict) else None
    message = None
    availability: dict = {}
    if isinstance(error, dict):
        message = _error_message(error)
        if isinstance(error.get("availability"), dict):
            availability = error["availability"]
    elif isinstance(error, str):
        message = _nested_message(error) or _text(error.strip())
    elif parsed is None:
        # A plain-text body ("upstream connect error") is worth showing; HTML or binary is not.
        plain = " ".join(text.split())[:200]
        message = plain if plain.isprintable() and not plain.startswith("<") else None
    if not message:
        message = f"Upstream returned HTTP {status}{_reason(status)}"

    retry_after = _retry_after_header(headers)
    if retry_after is None and _is_int(availability.get("retry_after")):
        retry_after = max(availability["retry_after"], 0)
    return message, retry_after


def _retry_after_header(headers: Mapping[str, str]) -> int | None:
    # Only the delta-seconds form: OpenRouter documents seconds, and an HTTP-date would need
    # a clock this pure module does not have.
    for key, value in headers.items():
        if key.lower() == "retry-after":
            value = value.strip()
            return int(value) if value.isascii() and value.isdigit() else None
    return None


def _reason(status: int) -> str:
    try:
        return f" ({HTTPStatus(status).phrase})"
    except ValueError:
        return ""  # 524 and 529 are Cloudflare/Anthropic codes with no standard phrase


def _text(value: Any) -> str | None:
    """Return value if it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: Any) -> int | None:
    return value if _is_int(value) else None


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if _is_int(value):
        return Decimal(value)  # `"cost": 0` (BYOK) parses as an int, not through parse_float
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None
