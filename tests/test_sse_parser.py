"""The upstream wire parser, fed byte-exact captures in every split and every line ending."""

import json
from decimal import Decimal
from functools import cache

import pytest

from hyperchat.upstream.wire import (
    MALFORMED,
    Done,
    Finish,
    ModelInfo,
    ReasoningDelta,
    StreamError,
    StreamParser,
    StreamSummary,
    TextDelta,
    ToolCallDelta,
    Usage,
    parse_error_body,
)
from tests.fake_upstream import STREAMS_DIR

STREAMS = STREAMS_DIR
EXPECTED = json.loads((STREAMS / "expected.json").read_text(encoding="utf-8"))
HTTP_ERRORS = json.loads((STREAMS / "http_errors.json").read_text(encoding="utf-8"))
CAPTURES = sorted(EXPECTED)
LINE_ENDINGS = {"lf": b"\n", "crlf": b"\r\n", "cr": b"\r"}


@cache
def _capture(name: str, ending: str = "lf") -> bytes:
    # The captures use LF only, and JSON escapes any \r or \n inside strings, so a plain
    # replace gives the same stream with other line endings.
    return (STREAMS / name).read_bytes().replace(b"\n", LINE_ENDINGS[ending])


def _expected(name: str) -> tuple[StreamSummary, int]:
    fields = dict(EXPECTED[name])
    comments = fields.pop("keepalive_comments")
    cost = fields["cost"]
    fields["cost"] = None if cost is None else Decimal(cost)
    return StreamSummary(**fields), comments


def _parse(*pieces: bytes) -> tuple[StreamParser, list]:
    parser = StreamParser()
    events = [event for piece in pieces for event in parser.feed(piece)]
    return parser, events + parser.close()


@cache
def _reference(name: str) -> tuple[list, StreamSummary, int]:
    _, events = _parse(_capture(name))
    return events, *_expected(name)


def _assert_matches_capture(name: str, pieces: list[bytes], where: str) -> None:
    reference_events, summary, comments = _reference(name)
    parser, events = _parse(*pieces)
    assert events == reference_events, where
    assert parser.summary == summary, where
    assert parser.keepalive_comments == comments, where


def _chunk(**fields) -> bytes:
    return b"data: " + json.dumps(fields, ensure_ascii=False).encode() + b"\n\n"


def _delta(**delta) -> bytes:
    return _chunk(choices=[{"index": 0, "delta": delta, "finish_reason": None}])


# --- the captures -------------------------------------------------------------------------


@pytest.mark.parametrize("name", CAPTURES)
def test_capture_fed_whole_gives_expected_summary(name):
    parser, _ = _parse(_capture(name))
    summary, comments = _expected(name)
    assert parser.summary == summary
    assert parser.keepalive_comments == comments


@pytest.mark.parametrize("name", CAPTURES)
def test_capture_split_in_two_at_every_byte_gives_same_events_and_summary(name):
    data = _capture(name)
    for cut in range(len(data) + 1):
        _assert_matches_capture(name, [data[:cut], data[cut:]], f"cut at byte {cut}")


# Two feeds at every byte cost one full parse per byte, about half a second per capture. The LF
# test above pays that; for CRLF and CR, paying it again would triple the file's runtime, so the
# two tests below cover every byte as a cut point for a fraction of the time: two feeds around
# every line break (where the endings differ), and strided feeds that cut at every byte.


@pytest.mark.parametrize("ending", ["crlf", "cr"])
@pytest.mark.parametrize("name", CAPTURES)
def test_capture_split_in_two_around_every_line_break_gives_same_events_and_summary(
        name, ending):
    data = _capture(name, ending)
    breaks = [i for i, byte in enumerate(data) if byte in b"\r\n"]
    cuts = {cut for i in breaks for cut in range(i - 1, i + 3) if 0 <= cut <= len(data)}
    for cut in sorted(cuts):
        _assert_matches_capture(name, [data[:cut], data[cut:]], f"cut at byte {cut}")


@pytest.mark.parametrize("ending", LINE_ENDINGS)
@pytest.mark.parametrize("name", CAPTURES)
def test_capture_cut_at_every_byte_by_strided_feeds_gives_same_events_and_summary(name, ending):
    data = _capture(name, ending)
    stride = 97  # run `offset` cuts at offset, offset + 97, ...: every byte is a cut in one run
    for offset in range(stride):
        pieces = [data[:offset]] + [data[i:i + stride] for i in range(offset, len(data), stride)]
        _assert_matches_capture(name, pieces, f"cuts at {offset} + k * {stride}")


@pytest.mark.parametrize("ending", LINE_ENDINGS)
@pytest.mark.parametrize("name", CAPTURES)
def test_capture_fed_one_byte_at_a_time_gives_same_events_and_summary(name, ending):
    data = _capture(name, ending)
    _assert_matches_capture(name, [data[i:i + 1] for i in range(len(data))], "one byte a feed")


def test_capture_events_come_in_wire_order():
    _, events = _parse(_capture("g_openrouter_tool_calls.sse"))
    assert events[0] == ModelInfo("openai/gpt-4o-mini", "OpenAI")
    assert events[1] == ToolCallDelta(0, "call_Qw3rTy7UiOp9AsDf2GhJkL1z", "get_weather", "")
    assert events[-3:] == [
        Finish("tool_calls", "tool_calls"),
        Usage(81, 17, 98, 0, Decimal("0.00002235")),
        Done(),
    ]


# --- framing and decoding -----------------------------------------------------------------


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u0085"], ids=["U+2028", "U+2029", "U+0085"])
def test_raw_unicode_line_separator_inside_json_string_does_not_split_the_line(char):
    data = _delta(content=f"a{char}b")
    assert char.encode() in data  # really raw on the wire, not \u-escaped
    for pieces in ([data], [data[i:i + 1] for i in range(len(data))]):
        _, events = _parse(*pieces)
        assert events == [TextDelta(f"a{char}b")]


def test_multibyte_characters_split_across_feeds_decode_intact():
    text = "亚 é 🙂"
    data = _delta(content=text)
    for cut in range(len(data) + 1):
        _, events = _parse(data[:cut], data[cut:])
        assert events == [TextDelta(text)], f"cut at byte {cut}"


def test_data_lines_of_one_event_join_with_newline():
    _, events = _parse(b'data: {"choices":[{"delta":\ndata: {"content":"hi"}}]}\n\n')
    assert events == [TextDelta("hi")]


def test_crlf_straddling_two_feeds_is_one_line_break_not_a_blank_line():
    # Were the \n after a feed-final \r taken as a blank line, the event would end after its
    # first data line and both halves would be malformed JSON.
    _, events = _parse(b'data: {"choices":[{"delta":\r', b'\ndata: {"content":"hi"}}]}\r',
                       b"\n\r", b"\n")
    assert events == [TextDelta("hi")]


def test_cr_only_stream_emits_each_event_without_waiting_for_more_bytes():
    parser = StreamParser()
    assert parser.feed(_delta(content="hi").replace(b"\n", b"\r")) == [TextDelta("hi")]


def test_data_without_space_after_colon_and_comments_inside_an_event_are_handled():
    data = (b': OPENROUTER PROCESSING\n\n'
            b'data:{"choices":[{"delta":\n: ping\ndata:{"content":"x"}}]}\n\n')
    parser, events = _parse(data)
    assert events == [TextDelta("x")]
    assert parser.keepalive_comments == 2


def test_leading_utf8_bom_is_ignored_even_split_across_feeds():
    data = b"\xef\xbb\xbf" + _delta(content="hi")
    _, events = _parse(*(data[i:i + 1] for i in range(len(data))))
    assert events == [TextDelta("hi")]


@pytest.mark.parametrize("ending", [b"", b"\n", b"\r", b"\r\n"], ids=["none", "lf", "cr", "crlf"])
def test_stream_cut_before_done_leaves_saw_done_false_and_close_flushes_last_event(ending):
    parser = StreamParser()
    assert parser.feed(_delta(content="Once")) == [TextDelta("Once")]
    assert parser.feed(b'data: {"choices":[{"delta":{"content":" upon"}}]}' + ending) == []
    assert parser.close() == [TextDelta(" upon")]
    assert parser.summary.text == "Once upon"
    assert parser.summary.saw_done is False
    assert parser.summary.finish_reason is None


# --- chunk contents -----------------------------------------------------------------------


def test_usage_is_taken_from_a_chunk_that_also_has_choices():
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    _, events = _parse(_chunk(choices=[{"delta": {"content": "Hi"}, "finish_reason": None}],
                              usage=usage))
    assert events == [TextDelta("Hi"), Usage(5, 2, 7, None, None)]


def test_last_usage_wins():
    parser, _ = _parse(
        _chunk(choices=[], usage={"prompt_tokens": 1, "completion_tokens": 1, "cost": 1}),
        _chunk(choices=[], usage=None),  # OpenAI sends usage: null on every other chunk
        _chunk(choices=[], usage={"prompt_tokens": 9, "completion_tokens": 4}),
    )
    assert (parser.summary.prompt_tokens, parser.summary.completion_tokens) == (9, 4)
    assert parser.summary.cost is None


@pytest.mark.parametrize(("raw", "cost"), [
    (b"3.8e-7", Decimal("3.8e-7")),
    (b"0.00000705", Decimal("0.00000705")),
    (b"0", Decimal(0)),  # BYOK: OpenRouter's fee is 0, an int on the wire
    (b"null", None),
])
def test_cost_is_exact_decimal(raw, cost):
    parser, _ = _parse(b'data: {"choices":[],"usage":{"prompt_tokens":1,"cost":' + raw + b"}}\n\n")
    assert parser.summary.cost == cost
    assert parser.summary.cost is None or isinstance(parser.summary.cost, Decimal)


def test_null_delta_missing_choices_and_empty_content_produce_no_text():
    parser, events = _parse(
        _chunk(model="m/x", choices=[{"delta": None}]),
        _chunk(choices=[]),
        _chunk(model=""),
        _chunk(choices=[{"delta": {}}]),
        _delta(role="assistant", content=""),
        _delta(content=None, refusal=None),
    )
    assert events == [ModelInfo("m/x", None)]
    assert parser.summary.text == ""
    assert parser.summary.model == "m/x"


def test_model_info_is_emitted_first_time_and_on_each_change_only():
    _, events = _parse(
        _chunk(model="openai/gpt-4o", provider="OpenAI", choices=[]),
        _chunk(model="openai/gpt-4o", provider="OpenAI", choices=[]),
        _chunk(model="openai/gpt-4o", provider="Azure", choices=[]),
        _chunk(choices=[]),
    )
    assert events == [ModelInfo("openai/gpt-4o", "OpenAI"), ModelInfo("openai/gpt-4o", "Azure")]


def test_reasoning_is_kept_apart_from_text():
    parser, events = _parse(_delta(reasoning="think", content=""), _delta(content="answer"))
    assert events == [ReasoningDelta("think"), TextDelta("answer")]
    assert (parser.summary.reasoning, parser.summary.text) == ("think", "answer")


def test_interleaved_parallel_tool_calls_are_assembled_by_index():
    def call(index, arguments, **first):
        fields = {"index": index, "function": {"arguments": arguments}}
        if first:
            fields["id"] = first["id"]
            fields["function"]["name"] = first["name"]
        return _delta(tool_calls=[fields])

    parser, _ = _parse(
        call(1, "", id="call_b", name="get_time"),
        call(0, '{"city":', id="call_a", name="get_weather"),
        call(1, '{"tz":"UTC"}'),
        call(0, '"Paris"}'),
    )
    assert parser.summary.tool_calls == [
        {"id": "call_a", "name": "get_weather", "arguments": '{"city":"Paris"}'},
        {"id": "call_b", "name": "get_time", "arguments": '{"tz":"UTC"}'},
    ]


# --- errors inside a 200 stream -----------------------------------------------------------

NESTED_429 = json.dumps(
    {"error": {"code": 429, "message": "Resource has been exhausted"}}, indent=2)

IN_BAND_ERRORS = {
    # Error-only event before any token (keep-alives had already committed the 200), [obs GH-2698].
    "before-first-token-int-code-nested-json-message": (
        [], {"error": {"message": NESTED_429, "code": 429}},
        StreamError(429, "Resource has been exhausted", None), None),
    "before-first-token-openai-string-code": (
        [], {"error": {"message": "You exceeded your current quota.", "type": "insufficient_quota",
                       "param": None, "code": "insufficient_quota"}},
        StreamError("insufficient_quota", "You exceeded your current quota.", None), None),
    # The documented mid-stream shape: error next to choices with finish_reason "error".
    "after-tokens-int-code-with-choices": (
        ["Once", " upon"],
        {"id": "gen-1", "model": "openai/gpt-4o", "provider": "OpenAI",
         "error": {"code": 429, "message": "Rate limit exceeded",
                   "metadata": {"error_type": "rate_limit_exceeded"}},
         "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]},
        StreamError(429, "Rate limit exceeded", {"error_type": "rate_limit_exceeded"}), "error"),
    "after-tokens-string-code-empty-choices": (
        ["Once"],
        {"error": {"code": "server_error", "message": "Provider disconnected unexpectedly"},
         "choices": []},
        StreamError("server_error", "Provider disconnected unexpectedly", None), None),
    "after-tokens-no-code-no-choices": (
        ["Once"], {"error": {"message": "Upstream timed out"}},
        StreamError(None, "Upstream timed out", None), None),
}


@pytest.mark.parametrize(("tokens", "chunk", "error", "finish"), IN_BAND_ERRORS.values(),
                         ids=IN_BAND_ERRORS)
def test_in_band_error_object_becomes_stream_error(tokens, chunk, error, finish):
    parser, events = _parse(*(_delta(content=token) for token in tokens), _chunk(**chunk))
    assert error in events
    assert parser.summary.error == {"code": error.code, "message": error.message,
                                    "metadata": error.metadata}
    assert parser.summary.text == "".join(tokens)
    assert parser.summary.finish_reason == finish
    assert parser.summary.saw_done is False


@pytest.mark.parametrize(("data", "error"), [
    (b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
     StreamError(None, "Overloaded", None)),
    (b'{"message":"Bad gateway","code":502}', StreamError(502, "Bad gateway", None)),
    (b"upstream went away", StreamError(None, "upstream went away", None)),
], ids=["error-envelope", "bare-error-object", "plain-text"])
def test_event_named_error_becomes_stream_error(data, error):
    parser, events = _parse(b"event: error\ndata: " + data + b"\n\n")
    assert events == [error]
    assert parser.summary.error["message"] == error.message


def test_event_field_without_space_after_colon_is_recognised():
    _, events = _parse(b'event:error\ndata:{"error":{"message":"Overloaded"}}\n\n')
    assert events == [StreamError(None, "Overloaded", None)]


@pytest.mark.parametrize("payload", [b'{"choices": [', b"42", b'"text"', b"{'single': 1}"])
def test_malformed_data_becomes_stream_error_and_parsing_continues(payload):
    _, events = _parse(b"data: " + payload + b"\n\n", _delta(content="ok"))
    assert events == [StreamError(None, MALFORMED, None), TextDelta("ok")]


# --- errors before the stream (non-200 JSON bodies) ----------------------------------------

HTTP_ERROR_CASES = [
    pytest.param(case, id=f"{service}-{case['status']}-{n}")
    for service in ("openrouter", "openai")
    for n, case in enumerate(HTTP_ERRORS[service])
]


@pytest.mark.parametrize("case", HTTP_ERROR_CASES)
def test_parse_error_body_gives_upstream_message_and_retry_after(case):
    headers = case.get("headers", {})
    message, retry_after = parse_error_body(
        case["status"], json.dumps(case["body"]).encode(), headers)
    assert case["body"]["error"]["message"] in message
    assert "{" not in message
    expected_retry = int(headers["Retry-After"]) if "Retry-After" in headers else None
    assert retry_after == expected_retry


def test_parse_error_body_rate_limits_give_60_and_40_seconds():
    rate_limits = [case for case in HTTP_ERRORS["openrouter"] if case["status"] == 429]
    assert [parse_error_body(429, json.dumps(case["body"]).encode(), case["headers"])[1]
            for case in rate_limits] == [60, 40]


def test_parse_error_body_uses_availability_retry_after_when_header_missing():
    capacity = next(case for case in HTTP_ERRORS["openrouter"] if "availability" in
                    case["body"]["error"] and case["status"] == 429)
    assert parse_error_body(429, json.dumps(capacity["body"]).encode(), {})[1] == 40


def test_parse_error_body_surfaces_the_cause_hidden_in_metadata_raw():
    raw_case = next(case for case in HTTP_ERRORS["openrouter"]
                    if "raw" in case["body"]["error"].get("metadata", {}))
    message, _ = parse_error_body(400, json.dumps(raw_case["body"]).encode(), {})
    assert message == ("Provider returned error (Crucible): "
                       "Model 'moonshotai/kimi-k2.6' supports at most 1 image per prompt.")


@pytest.mark.parametrize("value", ["Wed, 21 Oct 2015 07:28:00 GMT", "soon", "-5", "1.5", ""])
def test_parse_error_body_ignores_retry_after_that_is_not_whole_seconds(value):
    body = b'{"error":{"code":429,"message":"Rate limit exceeded"}}'
    assert parse_error_body(429, body, {"Retry-After": value}) == ("Rate limit exceeded", None)


def test_parse_error_body_reads_retry_after_case_insensitively():
    assert parse_error_body(503, b"", {"retry-after": " 7 "})[1] == 7


@pytest.mark.parametrize(("status", "body", "message"), [
    (502, b"<html><body><h1>502 Bad Gateway</h1></body></html>",
     "Upstream returned HTTP 502 (Bad Gateway)"),
    (503, b"upstream connect error or disconnect/reset before headers",
     "upstream connect error or disconnect/reset before headers"),
    (500, b"\xff\xfe\x00garbage{", "Upstream returned HTTP 500 (Internal Server Error)"),
    (503, b"", "Upstream returned HTTP 503 (Service Unavailable)"),
    (529, b"  \n", "Upstream returned HTTP 529"),
    (400, b'["not", "an", "object"]', "Upstream returned HTTP 400 (Bad Request)"),
    (400, b'{"error": {}}', "Upstream returned HTTP 400 (Bad Request)"),
    (401, b'{"error": "Invalid API key"}', "Invalid API key"),
    (422, b'{"message": "Unprocessable"}', "Unprocessable"),
], ids=["html", "plain-text", "invalid-utf8", "empty", "blank", "json-list", "empty-error",
        "error-string", "top-level-message"])
def test_parse_error_body_tolerates_bodies_that_are_not_an_error_object(status, body, message):
    assert parse_error_body(status, body, {}) == (message, None)
