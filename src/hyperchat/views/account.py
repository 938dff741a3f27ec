"""The account page: password, sessions, API keys, export, deletion; and the one-time
password-reset link an admin hands out."""

from datetime import UTC, datetime

from quart import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    session,
    url_for,
)

from hyperchat.accounts import api_keys, records, sessions, users
from hyperchat.accounts.passwords import Hashing
from hyperchat.accounts.users import AccountError
from hyperchat.store.schema import ApiKey, UserSession
from hyperchat.web import payloads
from hyperchat.web.errors import NotFound
from hyperchat.web.security import identity, require_account, sign_out

bp = Blueprint("account", __name__)


async def _page(status: int = 200, *, error: str | None = None, section: str | None = None,
                new_key: str | None = None):
    user = require_account()
    body = await render_template(
        "account/show.html", user=user, error=error, section=section, new_key=new_key,
        notice=session.pop("notice", None), this_session=identity().session_id,
        sessions=await UserSession.filter(user_id=user.id).order_by("-last_seen_at"),
        keys=await ApiKey.filter(user_id=user.id).order_by("-created_at"))
    return body, status, {"Cache-Control": "private, no-store"}


def _done(notice: str):
    session["notice"] = notice
    return redirect(url_for("account.show"), 303)


async def _check_password(password: str) -> None:
    user = require_account()
    if not await Hashing(current_app.config).verify(user.password_hash, password or ""):
        raise AccountError("That is not your current password.", 403, field="current")


@bp.get("/account")
async def show():
    """Show the account page."""
    return await _page()


@bp.post("/account/password")
@payloads.takes_body(current=payloads.Text(), password=payloads.Text())
async def change_password():
    """Change the password; every other session of the account ends."""
    user = require_account()
    form = payloads.body()
    try:
        await _check_password(form.get("current") or "")
        await users.set_password(current_app.config, user, form.get("password") or "")
    except AccountError as error:
        return await _page(error.status, error=error.message, section="password")
    ended = await sessions.end_all(user, keep_id=identity().session_id)
    return _done(f"Password changed. {ended} other session(s) signed out.")


@bp.post("/account/sessions/<int:session_id>/end")
async def end_session(session_id: int):
    """End one of the account's sessions (this browser's signs it out)."""
    user = require_account()
    if not await UserSession.exists(id=session_id, user_id=user.id):
        raise NotFound("That session does not exist (it may have ended already).")
    if session_id == identity().session_id:
        await sign_out()
        return redirect(url_for("auth.sign_in_page"), 303)
    await UserSession.filter(id=session_id, user_id=user.id).delete()
    return _done("That session is signed out.")


@bp.post("/account/sessions/end-all")
async def end_all_sessions():
    """Sign out everywhere, this browser included."""
    await sessions.end_all(require_account())
    await sign_out()
    session["notice"] = "Signed out everywhere."
    return redirect(url_for("auth.sign_in_page"), 303)


@bp.post("/account/keys")
@payloads.takes_body(name=payloads.Text())
async def create_key():
    """Make a named API key and show it, this once."""
    user = require_account()
    name = (payloads.body().get("name") or "").strip()
    if not name or len(name) > api_keys.NAME_MAX:
        return await _page(400, error=f"Name the key (1 to {api_keys.NAME_MAX} characters).",
                           section="keys")
    _, key = await api_keys.create(user, name)
    return await _page(201, new_key=key)


@bp.post("/account/keys/<int:key_id>/revoke")
async def revoke_key(key_id: int):
    """Revoke an API key: it stops working at once."""
    if not await api_keys.revoke(require_account(), key_id):
        raise NotFound("That key does not exist or is revoked already.")
    return _done("The key is revoked.")


@bp.get("/account/export")
async def export():
    """Download everything the account owns, as a zip of JSON files."""
    user = require_account()
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    response = Response(await records.export(user), mimetype="application/zip")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="hyperchat-account-{user.id}-{day}.zip"')
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/account/delete")
@payloads.takes_body(password=payloads.Text())
async def delete():
    """Delete the account and everything it owns, after the password is given again."""
    user = require_account()
    form = payloads.body()
    try:
        await _check_password(form.get("password") or "")
        if user.role == "admin" and await users.active_admins() <= 1:
            raise AccountError("You are the last admin: make another admin first.", 409)
    except AccountError as error:
        return await _page(error.status, error=error.message, section="delete")
    await records.delete(user)
    await sign_out()
    session["notice"] = "Your account and all its data are deleted."
    return redirect(url_for("auth.sign_in_page"), 303)


@bp.get("/reset/<token>")
async def reset_password(token: str):
    """Show the form of a one-time password-reset link."""
    user = await users.by_reset_token(token)
    if user is None:
        raise NotFound("This reset link is not valid: it was used, replaced or has expired.")
    return await render_template("account/reset.html", user=user, token=token, error=None)


@bp.post("/reset/<token>")
@payloads.takes_body(password=payloads.Text())
async def reset_password_form(token: str):
    """Set a new password from a one-time link; every session of the account ends."""
    user = await users.by_reset_token(token)
    if user is None:
        raise NotFound("This reset link is not valid: it was used, replaced or has expired.")
    password = payloads.body().get("password") or ""
    try:
        await users.set_password(current_app.config, user, password)
    except AccountError as error:
        body = await render_template("account/reset.html", user=user, token=token,
                                     error=error.message)
        return body, error.status
    await sessions.end_all(user)
    session["notice"] = "Your password is set. Sign in with it."
    return redirect(url_for("auth.sign_in_page"), 303)

