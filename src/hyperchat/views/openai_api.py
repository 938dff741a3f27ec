"""/v1: OpenAI's chat-completions API for programs, opened with a Bearer API key.

Thin: chat/completions.py checks the request and shapes the reply; the account's limits
are metering/quotas.py's; errors come out in OpenAI's shape (registered below, so that those
raised before a view runs, a bad key or a rate limit, have it too).
"""

import asyncio
import json
import time
from contextlib import aclosing, suppress

from quart import Blueprint, Response, current_app, jsonify

from hyperchat.chat import completions
from hyperchat.chat.completions import APIError, Call
from hyperchat.metering import quotas
from hyperchat.upstream.client import UpstreamError
from hyperchat.web import payloads
from hyperchat.web.errors import json_api
from hyperchat.web.security import identity
from hyperchat.web.view_helpers import generations

bp = Blueprint("openai_api", __name__, url_prefix="/v1")
OVERHEAD_HEADER = "x-hyperchat-overhead-duration-ms"
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
async def models():
    """List the models this server can answer with."""
    return jsonify({"object": "list", "data": [_model_json(m) for m in _catalog().models()]})


@bp.get("/models/<path:model_id>")
@json_api
async def model(model_id: str):
    """Describe one model."""
    found = _catalog().get(model_id)
    if found is None:
        raise APIError(404, f"The model `{model_id}` does not exist.", code="model_not_found",
                       param="model")
    return jsonify(_model_json(found))


def _frame(payload: dict | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {data}\n\n".encode()


async def _record(call: Call, catalog) -> None:
    """Write the call's usage record even when the request is being cancelled (the client
    went away): the provider may have billed what it sent."""
    with suppress(asyncio.CancelledError):
        await asyncio.shield(asyncio.ensure_future(call.record(catalog)))


@bp.post("/chat/completions")
@json_api
@payloads.takes_json(completions.ChatCompletionRequest)
async def create_completion():
    """Answer a chat completion, whole or streamed as chunks."""
    call = Call(request=completions.parse_request(payloads.model(), _catalog()),
                owner=identity().owner, api_key_id=identity().api_key_id)
    await quotas.check(call.owner)
    if call.request.stream:
        return await _streamed(call)
    try:
        async with aclosing(call.events(generations().upstream)) as events:
            async for event in events:
                call.see(event)
    except UpstreamError as exc:
        raise completions.provider_error(exc) from None
    finally:
        await _record(call, _catalog())
    body = call.completion()
    headers = {OVERHEAD_HEADER: f"{call.overhead_ms(until=time.perf_counter()):.2f}"}
    if body["usage"].get("estimated"):
        headers[ESTIMATED_HEADER] = "true"
    return jsonify(body), 200, headers


async def _streamed(call: Call):
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
        await _record(call, catalog)
        if isinstance(exc, UpstreamError):
            raise completions.provider_error(exc) from None
        raise

    async def body():
        try:
            yield _frame(call.chunk({"role": "assistant", "content": ""}))
            if (delta := completions.delta_of(first)) is not None:
                yield _frame(call.chunk(delta))
            try:
                async for event in events:
                    call.see(event)
                    if (delta := completions.delta_of(event)) is not None:
                        yield _frame(call.chunk(delta))
            except UpstreamError as exc:
                # Mid-stream: the status is sent, so the error rides in the stream, as
                # OpenAI's own errors do; clients raise it.
                yield _frame(completions.provider_error(exc).body())
                return
            yield _frame(call.chunk({}, call.finish_reason()))
            if call.request.include_usage:
                yield _frame(call.chunk(None, usage=call.usage_json()))
            yield _frame("[DONE]")
        finally:
            # A client that went away cancels this: the provider's request is closed too.
            release()
            await events.aclose()
            await _record(call, catalog)

    response = Response(body(), content_type="text/event-stream", headers={
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
        OVERHEAD_HEADER: f"{call.overhead_ms(until=time.perf_counter()):.2f}"})
    response.timeout = None
    return response
