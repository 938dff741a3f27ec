"""Status-carrying errors, rendered once as a page, an htmx fragment or JSON."""

import functools

from quart import Quart, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from hyperchat.web import htmx


class HTTPError(Exception):
    status = 500

    def __init__(self, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


    @staticmethod
    def with_status(status: int, message: str, headers: dict[str, str] | None = None):
        error = HTTPError(message, headers=headers)
        error.status = status
        return error


class BadRequest(HTTPError):
    status = 400


class FieldError(BadRequest):
    """Input refused because of one or more fields; `field` is the first (OpenAI's `param`)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class Unauthorized(HTTPError):
    status = 401


class Forbidden(HTTPError):
    status = 403


class NotFound(HTTPError):
    status = 404


def json_api(view):
    """Mark a view whose every answer, errors included, is JSON."""

    @functools.wraps(view)
    async def wrapper(*args, **kwargs):
        g.json_api = True
        return await view(*args, **kwargs)

    # Seen before the view runs too: input refused by web/payloads.py's hook is answered
    # in JSON as well.
    wrapper.json_api = True
    return wrapper


def wants_json() -> bool:
    if g.get("json_api") or request.is_json:
        return True
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if getattr(view, "json_api", False):
        return True
    accept = request.accept_mimetypes
    return accept.best_match(["text/html", "application/json"]) == "application/json"


async def render_error(error: "HTTPError | int", message: str | None = None,
                       headers: dict[str, str] | None = None):
    """Render an HTTPError (or a status and a message) as the client asked."""
    field = None
    if isinstance(error, HTTPError):
        status, message, headers = error.status, error.message, error.headers
        field = getattr(error, "field", None)
    else:
        status = error
    headers = dict(headers or {})
    # A blueprint that speaks another API's error shape (the /v1 OpenAI API) registers it in
    # app.extensions["error_shapes"]: its errors, even those raised before its views run
    # (a bad key, a rate limit), come out in that shape.
    shape = _error_shape()
    if shape is not None:
        return jsonify(shape(status, message, field)), status, headers
    if wants_json():
        return jsonify({"ok": False, "error": message}), status, headers
    if htmx.is_request():
        # htmx 4 swaps error responses: send them to the page's alert region, not the target.
        headers.update(htmx.retarget("#alerts", "innerHTML"))
        body = await render_template("errors/_alert.html", message=message)
        return body, status, headers
    body = await render_template("errors/page.html", status=status, message=message)
    return body, status, headers


def _error_shape():
    """The error shape of the blueprint this request is for: the one whose route matched,
    or, for a path no route matches (a 404, a 405), the one whose prefix it is under."""
    shapes = current_app.extensions.get("error_shapes", {})
    if request.blueprint is not None or not shapes:
        return shapes.get(request.blueprint)
    for name, shape in shapes.items():
        prefix = current_app.blueprints[name].url_prefix
        if prefix and (request.path == prefix or request.path.startswith(prefix + "/")):
            return shape
    return None


def init_app(app: Quart) -> None:
    @app.errorhandler(HTTPError)
    async def handle_http_error(error: HTTPError):
        return await render_error(error)

    @app.errorhandler(HTTPException)
    async def handle_werkzeug_error(error: HTTPException):
        # A 405 keeps its Allow header.
        headers = {k: v for k, v in error.get_headers() if k.lower() == "allow"}
        return await render_error(error.code or 500, error.description or error.name, headers)
