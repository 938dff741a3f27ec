"""Identity, CSRF protection, the session cookie's flags and the response security
headers.

Identity is decided here once per request (`identify`), and `current_user()` returns the
owner string every owner column holds: an account's "u:<id>" (accounts/__init__.py) or a
guest's random id. Three ways in, in this order:

- `Authorization: Bearer <API key>`: the key's account; no CSRF token (a browser never adds
  this header by itself), and no cookie is read or set.
- the signed session cookie's sign-in token: the account of that server-side session (one
  query, the session and its account together, once per request: a stream resolves it when it
  opens, never per frame).
- otherwise, with GUEST_MODE on, the random guest id the cookie holds (made on first visit).
"""

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from quart import Quart, current_app, g, redirect, request, session, url_for
from quart.sessions import SecureCookieSessionInterface

from hyperchat.accounts import api_keys, merge, owner_of, sessions
from hyperchat.config import yes_no
from hyperchat.store.schema import AccountRole, User
from hyperchat.web import htmx, payloads
from hyperchat.web.errors import Forbidden, Unauthorized, wants_json

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_HEADER = "X-CSRF-Token"
# Names the browser tab a request comes from, so that a conversation's channel does not send
# a tab the change its own response already made (web/view_helpers.py).
TAB_HEADER = "X-Tab-Id"
# What a browser with no identity may still open when guest mode is off.
PUBLIC_BLUEPRINTS = {"auth", "health", "assets", "api_docs"}
# APIs for programs that only a Bearer API key opens: no cookie, no CSRF token, no guest.
BEARER_ONLY_BLUEPRINTS = {"openai_api"}
PUBLIC_ENDPOINTS = {"static", "openapi", "shares.show", "account.reset_password",
                    "account.reset_password_form"}

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


@dataclass(frozen=True)
class Identity:
    owner: str
    user: User | None = None
    # The account_session row (cookie) or the api_key row (Bearer) that let this request in.
    session_id: int | None = None
    api_key_id: int | None = None


def identity() -> Identity | None:
    return g.get("identity")


def current_user() -> str:
    """The owner string of whoever makes this request (an account's, or a guest's)."""
    found = g.get("identity")
    if found is None:
        raise Unauthorized("Sign in first.")
    return found.owner


def current_account() -> User | None:
    found = g.get("identity")
    return found.user if found else None


def require_account() -> User:
    user = current_account()
    if user is None:
        raise Unauthorized("Sign in first.")
    return user


def require_admin() -> User:
    user = require_account()
    if user.role != AccountRole.ADMIN:
        raise Forbidden("Only an admin can do that.")
    return user


def csrf_token() -> str:
    return session.get("csrf", "")


def htmx_headers() -> dict[str, str]:
    """The headers every htmx request sends, rendered once on <body> (hx-headers). The tab's
    id is left blank: a rendered page can be shown in two tabs (Duplicate tab, a restore from
    the cache), so only the tab itself can tell them apart (static/tab.js fills it in)."""
    return {CSRF_HEADER: csrf_token(), TAB_HEADER: ""}


def client_address() -> str:
    # The socket's peer, or the client a listed proxy names (web/proxies.py rewrites the
    # scope); a client's own X-Forwarded-For is never believed.
    return request.remote_addr or "unknown"


def safe_next(target: str | None, default: str) -> str:
    """Follow `?next=` only to a path on this site: "/c/1" yes; "//evil", "https://evil",
    "/\\evil" and anything with a scheme or host, no."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(c in target for c in "\r\n\t\\"):
        return default
    return target


def _new_browser_session(permanent: bool) -> None:
    session.clear()
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = permanent


async def sign_in(user: User, remember: bool) -> dict[str, int]:
    """Start a new server-side session for `user` in this browser (a new token: no
    fixation), after moving a guest's data into the account. Return what moved."""
    current = identity()
    moved = {}
    if current is not None and current.user is None:
        moved = await merge.merge_guest(current.owner, owner_of(user))
    old = session.get("account")
    if old:
        await sessions.end(old)
    token = await sessions.start(current_app.config, user, remember, client_address(),
                                 request.headers.get("User-Agent"))
    # A fresh cookie: new CSRF token, no guest id (signing out later starts a new guest).
    _new_browser_session(permanent=remember)
    session["account"] = token
    return moved


async def sign_out() -> None:
    token = session.get("account")
    if token:
        await sessions.end(token)
    _new_browser_session(permanent=True)


def _public() -> bool:
    return (request.blueprint in PUBLIC_BLUEPRINTS or request.endpoint in PUBLIC_ENDPOINTS
            or request.endpoint is None)


def _sign_in_required(message: str):
    """A page asks to sign in by redirecting there (and back after); htmx is sent to the
    sign-in page; anything else is a 401."""
    back = request.full_path.rstrip("?")
    if request.method != "GET":
        # Come back to the page the request was made from, not to a POST endpoint.
        page = urlsplit(request.headers.get(htmx.HX_CURRENT_URL, ""))
        back = safe_next(page.path + (f"?{page.query}" if page.query else ""), "/")
    target = url_for("auth.sign_in_page", next=back)
    if not wants_json():
        session["notice"] = message
    if request.method == "GET" and not wants_json() and not htmx.is_request():
        return redirect(target, 303)
    headers = {htmx.HX_REDIRECT: target} if htmx.is_request() else {}
    raise Unauthorized(message, headers=headers)


def is_static() -> bool:
    """Static and vendor files: the same bytes for everyone, cached publicly, so they never
    create an identity nor carry a cookie (a shared cache would hand one to many visitors)."""
    return request.endpoint == "static" or request.blueprint == "assets"


class SessionCookies(SecureCookieSessionInterface):
    """The signed session cookie, with three rules on top of Quart's:
    - never on a static or vendor response;
    - `Secure` when SESSION_COOKIE_SECURE says so, or, when it is unset ("auto"), when the
      request came over HTTPS (its scheme, which a trusted proxy's header sets: web/proxies.py);
    - a response that sets a cookie is never publicly cacheable."""

    def get_cookie_secure(self, app: Quart) -> bool:
        setting = app.config["SESSION_COOKIE_SECURE"]
        return request.scheme == "https" if setting is None else setting

    def should_set_cookie(self, app: Quart, session) -> bool:
        return not is_static() and super().should_set_cookie(app, session)

    async def save_session(self, app: Quart, session, response) -> None:
        await super().save_session(app, session, response)
        if response is not None and response.headers.getlist("Set-Cookie") \
                and response.cache_control.public:
            response.cache_control.public = False
            response.cache_control.private = True


def cookie_secure_setting(value) -> bool | None:
    """SESSION_COOKIE_SECURE from any layer: unset, empty or "auto" is None (from the
    request's scheme); else yes/no."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "auto")):
        return None
    return yes_no("SESSION_COOKIE_SECURE", value)


def init_app(app: Quart) -> None:
    app.config["SESSION_COOKIE_SECURE"] = cookie_secure_setting(
        app.config.get("SESSION_COOKIE_SECURE"))
    app.session_interface = SessionCookies()

    @app.before_request
    async def identify():
        g.identity = None
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            key = await api_keys.authenticate(header[7:].strip())
            if key is None:
                raise Unauthorized("That API key is not valid: it was revoked, or its account "
                                   "is disabled or gone.",
                                   headers={"WWW-Authenticate": 'Bearer realm="hyperchat"'})
            g.identity = Identity(owner_of(key.user), key.user, api_key_id=key.id)
            return None
        if request.blueprint in BEARER_ONLY_BLUEPRINTS:
            raise Unauthorized("Send an API key: `Authorization: Bearer <key>` (make one on "
                               "your account page).",
                               headers={"WWW-Authenticate": 'Bearer realm="hyperchat"'})
        if request.method in UNSAFE_METHODS:
            expected = session.get("csrf")
            sent = request.headers.get(CSRF_HEADER)
            # An upload (payloads.takes_stream) is read as it streams: its token comes in
            # the header, never by reading the whole body first.
            if sent is None and request.mimetype in ("application/x-www-form-urlencoded",
                                                     "multipart/form-data") \
                    and not payloads.spec_of(request.endpoint).stream:
                sent = dict(await payloads.form_pairs()).get("csrf_token")
            # A session without a token rejects everything: "" must never equal "".
            if not expected or not sent or not hmac.compare_digest(expected, sent):
                raise Forbidden("Missing or invalid CSRF token. Reload the page and try again.")
        if is_static():
            return None
        if "csrf" not in session:
            _new_browser_session(permanent=True)
        ended = False
        token = session.get("account")
        if token:
            found = await sessions.lookup(token)
            if found is not None:
                g.identity = Identity(owner_of(found.user), found.user, session_id=found.id)
                return None
            # Ended from another browser, expired, or the account was disabled: this browser
            # is signed out, and starts over as a new guest (never the one merged before).
            csrf = session["csrf"]
            _new_browser_session(permanent=True)
            session["csrf"] = csrf
            ended = True
        if app.config["GUEST_MODE"]:
            if "user_identifier" not in session:
                session["user_identifier"] = secrets.token_urlsafe(16)
            g.identity = Identity(session["user_identifier"])
        if _public():
            return None
        if ended:
            return _sign_in_required("Your session has ended. Sign in again.")
        if g.identity is None:
            return _sign_in_required("Sign in to chat.")
        return None

    @app.after_request
    async def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
