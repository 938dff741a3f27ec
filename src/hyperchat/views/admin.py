"""The admin page: accounts with their usage; create, approve, disable, reset a password,
grant or revoke admin. The last active admin can be neither disabled nor demoted."""

from quart import Blueprint, current_app, redirect, render_template, session, url_for
from tortoise.functions import Count, Sum

from hyperchat.accounts import owner_of, sessions, users
from hyperchat.accounts.users import AccountError
from hyperchat.store.schema import AccountRole, AccountStatus, UsageRecord, User
from hyperchat.web import payloads
from hyperchat.web.errors import BadRequest, NotFound
from hyperchat.web.security import require_admin

bp = Blueprint("admin", __name__)


async def _usage_by_owner(accounts: list[User]) -> dict[str, dict]:
    """Replies, tokens and cost per account, in one grouped query."""
    owners = [owner_of(user) for user in accounts]
    rows = await (UsageRecord.filter(owner__in=owners).group_by("owner")
                  .annotate(replies=Count("id"), tokens=Sum("total_tokens"), cost=Sum("cost"))
                  .values("owner", "replies", "tokens", "cost"))
    return {row["owner"]: row for row in rows}


async def _page(status: int = 200, *, error: str | None = None, reset_link: str | None = None,
                reset_for: User | None = None, values: dict | None = None):
    me = require_admin()
    accounts = await User.all().order_by("id")
    body = await render_template(
        "admin/index.html", me=me, accounts=accounts, usage=await _usage_by_owner(accounts),
        owner_of=owner_of, error=error, reset_link=reset_link, reset_for=reset_for,
        values=values or {}, notice=session.pop("notice", None),
        policy=current_app.config["SIGNUP_POLICY"])
    return body, status, {"Cache-Control": "private, no-store"}


async def _account(user_id: int) -> User:
    require_admin()
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound("That account does not exist.")
    return user


def _done(notice: str):
    session["notice"] = notice
    return redirect(url_for("admin.index"), 303)


@bp.get("/admin")
async def index():
    """List every account with its usage."""
    return await _page()


@bp.post("/admin/users")
@payloads.takes_body(username=payloads.Text(), email=payloads.Text(),
                     password=payloads.Text(), admin=payloads.Text())
async def create():
    """Create an account (the only way in when sign-up is closed)."""
    require_admin()
    form = payloads.body()
    values = {name: form.get(name) or "" for name in ("username", "email", "password", "admin")}
    try:
        user = await users.create(current_app.config, values["username"], values["password"],
                                  values["email"],
                                  role=AccountRole.ADMIN if values["admin"] else AccountRole.USER)
    except AccountError as error:
        return await _page(error.status, error=error.message,
                           values={"username": values["username"], "email": values["email"]})
    return _done(f"Account {user.username} created.")


@bp.post("/admin/users/<int:user_id>/status")
@payloads.takes_body(status=payloads.Text(50))
async def set_status(user_id: int):
    """Approve, disable or enable an account; a disabled one's sessions end at once."""
    user = await _account(user_id)
    raw = payloads.body().get("status") or ""
    if raw not in (AccountStatus.ACTIVE, AccountStatus.DISABLED):
        raise BadRequest("The status is active or disabled.")
    was_pending = user.status == AccountStatus.PENDING
    try:
        await users.change_role_or_status(user, status=AccountStatus(raw))
    except AccountError as error:
        return await _page(error.status, error=error.message)
    if raw == AccountStatus.DISABLED:
        await sessions.end_all(user)
        return _done(f"{user.username} is disabled: signed out everywhere, keys stopped.")
    return _done(f"{user.username} is {'approved' if was_pending else 'enabled'}.")


@bp.post("/admin/users/<int:user_id>/role")
@payloads.takes_body(role=payloads.Text(50))
async def set_role(user_id: int):
    """Grant or revoke admin."""
    user = await _account(user_id)
    raw = payloads.body().get("role") or ""
    if raw not in (AccountRole.ADMIN, AccountRole.USER):
        raise BadRequest("The role is admin or user.")
    try:
        await users.change_role_or_status(user, role=AccountRole(raw))
    except AccountError as error:
        return await _page(error.status, error=error.message)
    return _done(f"{user.username} is {'an admin' if raw == AccountRole.ADMIN else 'a user'}.")


@bp.post("/admin/users/<int:user_id>/reset")
async def reset(user_id: int):
    """Make a one-time password-reset link and show it to the admin (no email is sent)."""
    user = await _account(user_id)
    token = await users.make_reset_link_token(user)
    link = url_for("account.reset_password", token=token, _external=True)
    return await _page(201, reset_link=link, reset_for=user)
