"""/v1: OpenAI's chat-completions API for programs, opened with a Bearer API key.

Thin: chat/completions.py checks the request and shapes the reply; the account's limits
are metering/quotas.py's; errors come out in OpenAI's shape (registered below, so that those
raised before a view runs, a bad key or a rate limit, have it too).
"""

import asyncio
import json
import time
from contextlib import aclosing, suppress

from quart import Blueprint, Response, current_app, jsonify, stream_with_context
from quart_schema import document_response

from hyperchat.chat import completions, saved_calls
from hyperchat.chat.completions import APIError, Call
from hyperchat.metering import quotas
from hyperchat.store.schema import Status
from hyperchat.upstream.client import UpstreamError
from hyperchat.web import payloads
from hyperchat.web.access import get_conversation
from hyperchat.web.errors import json_api
from hyperchat.web.security import identity
from hyperchat.web.view_helpers import generations, publish_saved

bp = Blueprint("openai_api", __name__, url_prefix="/v1")
OVERHEAD_HEADER = "x-hyperchat-overhead-duration-ms"
# `camel`: the reply in seed 003's camelCase (finishReason, usage.promptTokens...).
CASING_HEADER = "X-Hyperchat-Casing"
# A session id, or `new`: the call is saved in that conversation (chat/saved_calls.py).
SESSION_HEADER = "X-Hyperchat-Session"
ESTIMATED_HEADER = "x-hyperchat-usage-estimated"

# What the app's own errors (HTTPError) become: OpenAI's type and code for each status.
_KINDS = {400: ("invalid_request_error", None), 401: ("invalid_request_error", "invalid_api_key"),
          403: ("permission_error", None), 404: ("invalid_request_error", "not_found"),
          405: ("invalid_request_error", "method_not_allowed"),
          429: ("rate_limit_exceeded", "rate_limit_exceeded")}


def _shape(status: int, message: str, param: str | None = None) -> dict:
    kind, code = _KINDS.get(status, ("api_error", None))
    return completions.error_body(message, kind, code, param)


@bp.record_once
def _register_shape(state) -> None:
    state.app.extensions.setdefault("error_shapes", {})[bp.name] = _shape


@bp.errorhandler(APIError)
async def _api_error(error: APIError):
    return jsonify(error.body()), error.status, error.headers


def _catalog():
    return current_app.extensions["catalog"]


def _model_json(model) -> dict:
    return {"id": model.id, "object": "model", "created": 0, "owned_by": model.provider}


@bp.get("/models")
@json_api
@document_response(completions.ModelList)
async def models():
    """List the models this server can answer with."""
    return jsonify({"object": "list", "data": [_model_json(m) for m in _catalog().models()]})


@bp.get("/models/<path:model_id>")
@json_api
@document_response(completions.ModelCard)
async def model(model_id: str):
    """Describe one model."""
    found = _catalog().get(model_id)
    if found is None:
        raise APIError(404, f"The model `{model_id}` does not exist.", code="model_not_found",
                       param="model")
    return jsonify(_model_json(found))


def _frame(payload: dict | str, camel: bool = False) -> bytes:
    if camel and isinstance(payload, dict):
        payload = completions.camel_case(payload)
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {data}\n\n".encode()


async def _shielded(work) -> None:
    """Finish `work` even when the request is being cancelled (the client went away)."""
    with suppress(asyncio.CancelledError):
        await asyncio.shield(asyncio.ensure_future(work))


async def _record(call: Call, catalog) -> None:
    """Write the call's usage record, even when the client went away: the provider may have
    billed what it sent."""
    await _shielded(call.record(catalog))


@bp.post("/chat/completions")
@json_api
@payloads.takes_json(completions.ChatCompletionRequest)
@document_response(completions.ChatCompletion)
async def create_completion():
    """Answer a chat completion, whole or streamed as chunks.

    With `X-Hyperchat-Session: <id>` or `new` the call is also saved in that conversation;
    with `X-Hyperchat-Casing: camel` the answer's keys are camelCase."""
    camel = payloads.header(CASING_HEADER, payloads.Choice("camel", "snake")) == "camel"
    named = saved_calls.session_id(payloads.header(SESSION_HEADER, payloads.Text(20)))
    call = Call(request=completions.parse_request(payloads.model(), _catalog()),
                owner=identity().owner, api_key_id=identity().api_key_id)
    await quotas.check(call.owner)
    session = None
    if named is not None:
        session = Session(*await saved_calls.open_session(
            call.owner, named, call.request.messages,
            lambda id_: get_conversation(id_, call.owner)))
    if call.request.stream:
        return await _streamed(call, camel, session)
    try:
        async with aclosing(call.events(generations().upstream)) as events:
            async for event in events:
                call.see(event)
    except BaseException as exc:
        if session is not None:
            await saved_calls.forget(session.conversation)
        await _record(call, _catalog())
        if isinstance(exc, UpstreamError):
            raise completions.provider_error(exc) from None
        raise
    headers = {}
    if session is not None:
        await session.save(call, Status.COMPLETE)
        headers[SESSION_HEADER] = str(session.conversation.id)
    await _record(call, _catalog())
    body = call.completion()
    if camel:
        body = completions.camel_case(body)
    headers[OVERHEAD_HEADER] = f"{call.overhead_ms(until=time.perf_counter()):.2f}"
    if call.counts()[2]:
        headers[ESTIMATED_HEADER] = "true"
    return jsonify(body), 200, headers


class Session:
    """The conversation a call is saved in; its save appears in the conversation's open
    tabs, as an action in the app does."""

    def __init__(self, conversation, new: bool):
        self.conversation, self.new = conversation, new
        self.app = current_app._get_current_object()

    async def save(self, call: Call, status: Status) -> None:
        saved = await saved_calls.save(self.conversation, self.new, call, status)
        await publish_saved(self.app, saved.conversation, saved.before)


async def _streamed(call: Call, camel: bool, session: Session | None):
    # The stream outlives this request's teardown: it gives its place back when it ends.
    release = quotas.hand_over()
    catalog = _catalog()  # the body is sent outside the app context
    events = call.events(generations().upstream)
    try:
        # Wait for the provider's first event, so that its refusal (a 429, a bad request) is
        # still an HTTP status, which is what clients act on.
        first = await anext(events)
        call.see(first)
    except BaseException as exc:
        release()
        await events.aclose()
        if session is not None:
            await saved_calls.forget(session.conversation)
        await _record(call, catalog)
        if isinstance(exc, UpstreamError):
            raise completions.provider_error(exc) from None
        raise

    async def body():
        status = Status.STOPPED  # until it ends well: a client that went away stops it
        try:
            yield _frame(call.chunk({"role": "assistant", "content": ""}), camel)
            if (delta := completions.delta_of(first)) is not None:
                yield _frame(call.chunk(delta), camel)
            try:
                async for event in events:
                    call.see(event)
                    if (delta := completions.delta_of(event)) is not None:
                        yield _frame(call.chunk(delta), camel)
            except UpstreamError as exc:
                # Mid-stream: the status is sent, so the error rides in the stream, as
                # OpenAI's own errors do; clients raise it.
                status = Status.ERROR
                yield _frame(completions.provider_error(exc).body())
                return
            status = Status.COMPLETE
            yield _frame(call.chunk({}, call.finish_reason()), camel)
            if call.request.include_usage:
                yield _frame(call.chunk(None, usage=call.usage_json()), camel)
            yield _frame("[DONE]")
        finally:
            # A client that went away cancels this: the provider's request is closed too.
            release()
            await events.aclose()
            if session is not None:
                await _shielded(session.save(call, status))
            await _record(call, catalog)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no",
               OVERHEAD_HEADER: f"{call.overhead_ms(until=time.perf_counter()):.2f}"}
    if session is not None:
        headers[SESSION_HEADER] = str(session.conversation.id)
    # Saved in a session, the end renders the conversation's change (its bubbles' URLs need
    # this request's context); otherwise the stream needs no context at all.
    chunks = stream_with_context(body)() if session is not None else body()
    response = Response(chunks, content_type="text/event-stream", headers=headers)
    response.timeout = None
    return response
