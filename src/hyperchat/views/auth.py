"""Sign-up, sign-in and sign-out: the pages, and the JSON API (/api/v1/auth/...)."""

from typing import Any

from pydantic import BaseModel
from quart import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    session,
    url_for,
)
from quart_schema import document_response

from hyperchat.accounts import users
from hyperchat.accounts.users import AccountError, SignInRefused
from hyperchat.store.schema import AccountStatus, User
from hyperchat.web import payloads
from hyperchat.web.errors import HTTPError, json_api
from hyperchat.web.security import (
    client_address,
    csrf_token,
    current_account,
    safe_next,
    sign_in,
    sign_out,
)

bp = Blueprint("auth", __name__)


def _next() -> str:
    return safe_next(payloads.query().get("next"), url_for("conversations.new"))


# Where to go after signing in: every page and form of this blueprint passes it on.
takes_next = payloads.takes_query(next=payloads.Text(2000))
CREDENTIALS = {"username": payloads.Text(), "email": payloads.Text(),
               "password": payloads.Text(), "remember": payloads.Raw()}


async def _form() -> dict:
    form = payloads.body()
    return {name: form.get(name) or "" for name in ("username", "email", "password", "remember")}


async def _page(template: str, status: int = 200, *, error: str | None = None,
                field: str | None = None, values: dict | None = None, headers=None):
    policy = current_app.config["SIGNUP_POLICY"]
    # Closed: only the very first account may still sign up (to become the admin).
    closed = policy == "closed" and await User.exists()
    body = await render_template(template, error=error, field=field, values=values or {},
                                 next=_next(), notice=session.pop("notice", None),
                                 policy=policy, closed=closed)
    return body, status, headers or {}


@bp.get("/sign-in")
@takes_next
async def sign_in_page():
    """Show the sign-in form."""
    return await _page("auth/sign_in.html")


@bp.post("/sign-in")
@takes_next
@payloads.takes_body(**CREDENTIALS)
async def sign_in_form():
    """Sign in from the form; a guest's chats come along."""
    values = await _form()
    try:
        user = await users.authenticate(current_app.config, values["username"],
                                        values["password"], client_address())
    except SignInRefused as refused:
        headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else None
        return await _page("auth/sign_in.html", refused.status, error=refused.message,
                           values={"username": values["username"]}, headers=headers)
    await sign_in(user, remember=bool(values["remember"]))
    return redirect(_next(), 303)


@bp.get("/sign-up")
@takes_next
async def sign_up_page():
    """Show the sign-up form."""
    return await _page("auth/sign_up.html")


@bp.post("/sign-up")
@takes_next
@payloads.takes_body(**CREDENTIALS)
async def sign_up_form():
    """Create an account from the form; when it may sign in at once, sign in."""
    values = await _form()
    try:
        user = await users.sign_up(current_app.config, values["username"], values["password"],
                                   values["email"])
    except AccountError as error:
        return await _page("auth/sign_up.html", error.status, error=error.message,
                           field=error.field, values={"username": values["username"],
                                                      "email": values["email"]})
    if user.status == AccountStatus.PENDING:
        session["notice"] = ("Your account is created and waits for an admin's approval. "
                             "Sign in once it is approved.")
        return redirect(url_for("auth.sign_in_page", next=_next()), 303)
    await _first_sign_in(user, bool(values["remember"]))
    return redirect(_next(), 303)


async def _first_sign_in(user: User, remember: bool) -> dict[str, int]:
    """Sign a new account in, bringing the guest's data; if that fails, the sign-up is undone
    too, so that both sides stay as they were."""
    try:
        return await sign_in(user, remember)
    except BaseException:
        await User.filter(id=user.id).delete()
        raise


@bp.post("/sign-out")
async def sign_out_form():
    """End this browser's session on the server."""
    await sign_out()
    return redirect(url_for("auth.sign_in_page"), 303)


class Credentials(payloads.Body):
    # Left out or null: empty, which users.py refuses with its own message and field.
    username: str | None = None
    password: str | None = None
    email: str | None = None
    # Any JSON value, read for its truth (a checkbox's value in the form).
    remember: Any = None


class SignedIn(BaseModel):
    ok: bool
    user: dict
    moved: dict
    csrf_token: str


class Registered(SignedIn):
    pending: bool
    signed_in: bool


class Whoami(BaseModel):
    authenticated: bool
    user: dict | None
    guest_mode: bool
    csrf_token: str


class SignedOut(BaseModel):
    ok: bool
    csrf_token: str


@bp.post("/api/v1/auth/register")
@json_api
@payloads.takes_json(Credentials)
@document_response(Registered, 201)
async def register():
    """Create an account; when it may sign in at once, this client is signed in."""
    payload = payloads.model()
    try:
        user = await users.sign_up(current_app.config, payload.username or "",
                                   payload.password or "", payload.email or "")
    except AccountError as error:
        return jsonify({"ok": False, "error": error.message, "field": error.field}), error.status
    pending = user.status == AccountStatus.PENDING
    moved = {} if pending else await _first_sign_in(user, bool(payload.remember))
    return jsonify({"ok": True, "user": users.describe(user), "pending": pending,
                    "signed_in": not pending, "moved": moved,
                    "csrf_token": csrf_token()}), 201


@bp.post("/api/v1/auth/login")
@json_api
@payloads.takes_json(Credentials)
@document_response(SignedIn)
async def login():
    """Sign in with a username and password; a guest's chats come along."""
    payload = payloads.model()
    try:
        user = await users.authenticate(current_app.config, payload.username or "",
                                        payload.password or "", client_address())
    except SignInRefused as refused:
        headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else {}
        raise HTTPError.with_status(refused.status, refused.message, headers) from None
    moved = await sign_in(user, remember=bool(payload.remember))
    return jsonify({"ok": True, "user": users.describe(user), "moved": moved,
                    "csrf_token": csrf_token()})


@bp.post("/api/v1/auth/logout")
@json_api
@document_response(SignedOut)
async def logout():
    """End this client's session."""
    await sign_out()
    return jsonify({"ok": True, "csrf_token": csrf_token()})


@bp.get("/api/v1/auth/me")
@json_api
@document_response(Whoami)
async def me():
    """Who this client is: an account, a guest, or nobody; and its CSRF token."""
    user = current_account()
    return jsonify({"authenticated": user is not None,
                    "user": users.describe(user) if user else None,
                    "guest_mode": current_app.config["GUEST_MODE"],
                    "csrf_token": csrf_token()})
