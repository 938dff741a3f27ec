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


async def render_error(status: int, message: str, headers: dict[str, str] | None = None):
    headers = dict(headers or {})
    # A blueprint that speaks another API's error shape (the /v1 OpenAI API) registers it in
    # app.extensions["error_shapes"]: its errors, even those raised before its views run
    # (a bad key, a rate limit), come out in that shape.
    shape = current_app.extensions.get("error_shapes", {}).get(request.blueprint)
    if shape is not None:
        return jsonify(shape(status, message)), status, headers
    if wants_json():
        return jsonify({"ok": False, "error": message}), status, headers
    if htmx.is_request():
        # htmx 4 swaps error responses: send them to the page's alert region, not the target.
        headers.update(htmx.retarget("#alerts", "innerHTML"))
        body = await render_template("errors/_alert.html", message=message)
        return body, status, headers
    body = await render_template("errors/page.html", status=status, message=message)
    return body, status, headers


def init_app(app: Quart) -> None:
    @app.errorhandler(HTTPError)
    async def handle_http_error(error: HTTPError):
        return await render_error(error.status, error.message, error.headers)

    @app.errorhandler(HTTPException)
    async def handle_werkzeug_error(error: HTTPException):
        return await render_error(error.code or 500, error.description or error.name)
