"""Members of a room: the list, invites by username and by link, roles, removal, leaving,
and the join page of an invite link. HTML for the page's members panel; the same routes
under /api/conversations/<id>/members answer JSON.

Every change is published to the conversation's channel as a `members_changed` event: each
open tab re-renders its panel for the person looking, and a tab whose person is no longer in
the room loses the room there and then (views/actions.py:channel)."""

from datetime import UTC, datetime

from quart import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from hyperchat.accounts import OWNER_PREFIX
from hyperchat.chat import rooms
from hyperchat.live import tab_events
from hyperchat.store.schema import Conversation, MemberRole
from hyperchat.web import htmx, payloads
from hyperchat.web.access import Need, get_conversation
from hyperchat.web.errors import BadRequest, Unauthorized, wants_json
from hyperchat.web.security import current_account, current_user
from hyperchat.web.view_helpers import publish, room_context

bp = Blueprint("members", __name__)
# Each view answers at its page's URL and under API; the page's URL is registered first
# (the decorator nearest the function), so that url_for builds it for the templates.

API = "/api/conversations/<int:conversation_id>/members"


@bp.before_request
async def api_answers_json():
    # The /api/ routes answer JSON, errors included, whatever the client accepts.
    if request.path.startswith("/api/"):
        g.json_api = True
EXPIRY_DAYS = payloads.Number(0, rooms.INVITE_MAX_DAYS,
                              message=f"expires_in_days must be 0 (never) to "
                                      f"{rooms.INVITE_MAX_DAYS}.")
MAX_USES = payloads.Integer(0, rooms.INVITE_MAX_USES)


def group_max() -> int:
    return current_app.config["ROOM_MAX_PEOPLE"]


def person_json(person: rooms.Person) -> dict:
    return {"user_id": rooms.account_id(person.who), "username": person.name,
            "role": str(person.role), "initials": person.initials,
            "joined_at": person.joined_at.isoformat() if person.joined_at else None}


async def answer_change(conversation: Conversation, status: int = 200, **extra):
    """After a change: JSON gets the members, htmx the panel; the other tabs are told."""
    await publish(conversation.id, tab_events.MEMBERS_CHANGED, "")
    return await render_panel(conversation, status, **extra)


async def render_panel(conversation: Conversation, status: int = 200, **extra):
    context = await room_context(conversation, **extra)
    if wants_json():
        return jsonify({"conversation_id": conversation.id, "mode": str(conversation.mode),
                        "capacity": context["capacity"],
                        "members": [person_json(p) for p in context["people"]]}), status
    if not htmx.is_request():
        return redirect(url_for("conversations.show", conversation_id=conversation.id), 303)
    return await render_template("members/_panel.html", open=True, **context), status


async def refused(conversation: Conversation, error: BadRequest):
    """A refused change: JSON and plain forms get the error; htmx, the panel saying it."""
    if wants_json() or not htmx.is_request():
        raise error
    return await render_panel(conversation, error.status, error=error.message)


@bp.get(API)
@bp.get("/c/<int:conversation_id>/members")
async def index(conversation_id: int):
    """List the people in a room, with their roles (any member)."""
    conversation = await get_conversation(conversation_id, current_user())
    return await render_panel(conversation)


@bp.post(API)
@bp.post("/c/<int:conversation_id>/members")
@payloads.takes_body(username=payloads.Text(200))
async def invite(conversation_id: int):
    """Add an account to the room by its username (owner and admins)."""
    conversation = await get_conversation(conversation_id, current_user(), Need.MANAGE)
    try:
        await rooms.invite_by_username(conversation, payloads.body().get("username"),
                                       group_max())
    except BadRequest as error:
        return await refused(conversation, error)
    return await answer_change(conversation, 201 if wants_json() else 200)


@bp.patch(API + "/<int:user_id>")
@bp.post("/c/<int:conversation_id>/members/<int:user_id>/role")
@payloads.takes_body(role=payloads.Choice("admin", "member"))
async def set_role(conversation_id: int, user_id: int):
    """Make someone an admin or a member again (the owner only)."""
    conversation = await get_conversation(conversation_id, current_user(), Need.OWN)
    role = payloads.body().get("role")
    if role is None:
        raise BadRequest("role must be admin or member.")
    await rooms.set_role(conversation, user_id, MemberRole(role))
    return await answer_change(conversation)


@bp.delete(API + "/<int:user_id>")
@bp.post("/c/<int:conversation_id>/members/<int:user_id>/remove")
async def remove(conversation_id: int, user_id: int):
    """Take someone out of the room (owner and admins; only the owner removes an admin)."""
    conversation = await get_conversation(conversation_id, current_user(), Need.MANAGE)
    if f"{OWNER_PREFIX}{user_id}" == current_user():
        raise BadRequest("To leave the room yourself, use Leave.")
    await rooms.remove(conversation, user_id, conversation.viewer_role)
    return await answer_change(conversation)


@bp.post(API + "/leave")
@bp.post("/c/<int:conversation_id>/leave")
async def leave(conversation_id: int):
    """Leave a room you are in (the owner cannot: they delete it instead)."""
    conversation = await get_conversation(conversation_id, current_user())
    await rooms.leave(conversation, current_user())
    await publish(conversation.id, tab_events.MEMBERS_CHANGED, "")
    if wants_json():
        return "", 204
    target = url_for("conversations.new")
    if htmx.is_request():
        return "", 204, {htmx.HX_REDIRECT: target}
    return redirect(target, 303)


@bp.post("/c/<int:conversation_id>/invites")
@payloads.takes_body(expires_in_days=EXPIRY_DAYS, max_uses=MAX_USES)
async def create_invite(conversation_id: int):
    """Make an invite link (owner and admins); its address is shown once."""
    conversation = await get_conversation(conversation_id, current_user(), Need.MANAGE)
    form = payloads.body()
    try:
        _, token = await rooms.create_invite(conversation, current_user(),
                                             form.get("expires_in_days") or None,
                                             form.get("max_uses") or None)
    except BadRequest as error:
        return await refused(conversation, error)
    link = url_for("members.join_page", token=token, _external=True)
    if wants_json():
        return jsonify({"url": link}), 201
    return await render_panel(conversation, new_link=link)


@bp.post("/c/<int:conversation_id>/invites/<int:invite_id>/revoke")
async def revoke_invite(conversation_id: int, invite_id: int):
    """Revoke an invite link: it answers 404 from now on (owner and admins)."""
    conversation = await get_conversation(conversation_id, current_user(), Need.MANAGE)
    await rooms.revoke(conversation, invite_id)
    return await render_panel(conversation)


@bp.get("/join/<token>")
async def join_page(token: str):
    """Show what an invite link leads to, with a Join button (an account is needed)."""
    link = await rooms.invite_for(token)
    conversation = link.conversation
    return await render_template(
        "members/join.html", conversation=conversation, token=token, link=link,
        people=await rooms.people(conversation), account=current_account(),
        already=current_account() is not None
        and await rooms.role_of(conversation, current_user()) is not None,
        now=datetime.now(UTC))


@bp.post("/join/<token>")
async def join(token: str):
    """Join the room an invite link names, then open it."""
    user = current_account()
    if user is None:
        raise Unauthorized("Sign in or sign up first: guests cannot join rooms.")
    conversation = await rooms.join(token, user, group_max())
    await publish(conversation.id, tab_events.MEMBERS_CHANGED, "")
    target = url_for("conversations.show", conversation_id=conversation.id)
    if wants_json():
        return jsonify({"conversation_id": conversation.id, "url": target})
    return redirect(target, 303)
