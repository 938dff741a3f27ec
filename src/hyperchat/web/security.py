"""Session identity, CSRF protection and the response security headers."""

import hmac
import secrets

from quart import Quart, request, session

from hyperchat.web.errors import Forbidden

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_HEADER = "X-CSRF-Token"
# Names the browser tab a request comes from, so that a conversation's channel does not send
# a tab the change its own response already made (web/view_helpers.py).
TAB_HEADER = "X-Tab-Id"

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def current_user() -> str:
    """The random identifier that owns this browser's conversations."""
    return session["user_identifier"]


def csrf_token() -> str:
    return session.get("csrf", "")


def htmx_headers() -> dict[str, str]:
    """The headers every htmx request sends, rendered once on <body> (hx-headers). The tab's
    id is left blank: a rendered page can be shown in two tabs (Duplicate tab, a restore from
    the cache), so only the tab itself can tell them apart (static/tab.js fills it in)."""
    return {CSRF_HEADER: csrf_token(), TAB_HEADER: ""}


def init_app(app: Quart) -> None:
    @app.before_request
    async def check_csrf_then_identify():
        if request.method in UNSAFE_METHODS:
            expected = session.get("csrf")
            sent = request.headers.get(CSRF_HEADER)
            if sent is None and request.mimetype in ("application/x-www-form-urlencoded",
                                                     "multipart/form-data"):
                sent = (await request.form).get("csrf_token")
            # A session without a token rejects everything: "" must never equal "".
            if not expected or not sent or not hmac.compare_digest(expected, sent):
                raise Forbidden("Missing or invalid CSRF token. Reload the page and try again.")
        if "user_identifier" not in session:
            session["user_identifier"] = secrets.token_urlsafe(16)
            session["csrf"] = secrets.token_urlsafe(32)
            session.permanent = True

    @app.after_request
    async def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

