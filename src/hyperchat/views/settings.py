"""Conversation settings: title, mode, with_ai, default model and whether the AI answers
every message in a room. Members read them; the owner and admins change them; JSON
through PUT /conversations/<id>, HTML through the settings page."""

from pydantic import BaseModel, ConfigDict
from quart import Blueprint, current_app, jsonify, redirect, render_template, url_for
from quart_schema import document_response

from hyperchat.accounts import is_account_owner
from hyperchat.chat import rooms
from hyperchat.live import tab_events
from hyperchat.metering import model_choice
from hyperchat.store.schema import Conversation, Mode
from hyperchat.web import htmx, payloads
from hyperchat.web.access import Need, get_conversation
from hyperchat.web.errors import BadRequest, json_api
from hyperchat.web.security import current_user
from hyperchat.web.view_helpers import publish

bp = Blueprint("settings", __name__)

FIELDS = ("title", "mode", "with_ai", "default_model_id", "ai_answers_all")
TAKES = {"title": payloads.Text(), "mode": payloads.Text(20), "with_ai": payloads.Flag(),
         "default_model_id": payloads.Text(), "ai_answers_all": payloads.Flag()}


class SettingsChange(payloads.Body):
    """Fields left out stay as they are; an unknown field is refused (a typo would
    otherwise be a silent no-op)."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = None
    mode: str | None = None
    with_ai: bool | None = None
    default_model_id: str | None = None
    ai_answers_all: bool | None = None


class Settings(BaseModel):
    id: int
    title: str
    mode: str
    with_ai: bool
    default_model_id: str | None
    ai_answers_all: bool
    archived: bool
    created_at: str
    updated_at: str


def summary(conversation: Conversation) -> dict:
    return {"id": conversation.id, "title": conversation.title, "mode": str(conversation.mode),
            "with_ai": conversation.with_ai, "default_model_id": conversation.default_model_id,
            "ai_answers_all": conversation.ai_answers_all,
            "archived": conversation.archived,
            "created_at": conversation.created_at.isoformat(),
            "updated_at": conversation.updated_at.isoformat()}


def validated(payload: dict) -> dict:
    """The changes in `payload` (only the fields present, typed by web/payloads.py),
    checked; BadRequest otherwise."""
    changes = {}
    if "title" in payload:
        title = payload["title"]
        if not isinstance(title, str) or not 1 <= len(title.strip()) <= 200:
            raise BadRequest("title must be 1 to 200 characters.")
        changes["title"] = " ".join(title.split())
    if "mode" in payload:
        if payload["mode"] not in {m.value for m in Mode}:
            raise BadRequest("mode must be one of: solo, partner, group.")
        changes["mode"] = Mode(payload["mode"])
    if "with_ai" in payload:
        if not isinstance(payload["with_ai"], bool):
            raise BadRequest("with_ai must be true or false.")
        changes["with_ai"] = payload["with_ai"]
    if "ai_answers_all" in payload:
        if not isinstance(payload["ai_answers_all"], bool):
            raise BadRequest("ai_answers_all must be true or false.")
        changes["ai_answers_all"] = payload["ai_answers_all"]
    if "default_model_id" in payload:
        changes["default_model_id"] = model_choice.known_model(payload["default_model_id"],
                                                          what="default_model_id")
    return changes


async def apply(conversation: Conversation, changes: dict) -> Conversation:
    """Save `changes`; a mode that holds fewer people than the room has, or a room for a
    guest (guests cannot be invited, so a guest's conversations stay solo), is refused."""
    mode = changes.get("mode")
    if mode is not None and mode != Mode.SOLO and not is_account_owner(conversation.owner):
        raise BadRequest("Partner and group rooms need an account: sign up or sign in, "
                         "then invite people.")
    if mode is not None:
        await rooms.check_mode(conversation, mode, current_app.config["ROOM_MAX_PEOPLE"])
    if changes:
        await Conversation.filter(id=conversation.id).update(**changes)
        await conversation.refresh_from_db()
        # Every open tab (every member's) shows the room as it is now.
        await publish(conversation.id, tab_events.ROOM_CHANGED, "")
    return conversation


@bp.get("/conversations/<int:conversation_id>")
@json_api
@document_response(Settings)
async def show(conversation_id: int):
    """The conversation's settings as JSON (owner only)."""
    conversation = await get_conversation(conversation_id, current_user())
    return jsonify(summary(conversation))


@bp.put("/conversations/<int:conversation_id>")
@json_api
@payloads.takes_json(SettingsChange)
@document_response(Settings)
async def update(conversation_id: int):
    """Change settings from a JSON body; fields left out stay as they are (owner and
    admins)."""
    conversation = await get_conversation(conversation_id, current_user(), Need.MANAGE)
    # Only what was sent: a null is sent, and refused by the rule of its field.
    changes = validated(payloads.model().model_dump(exclude_unset=True))
    conversation = await apply(conversation, changes)
    return jsonify(summary(conversation))


@bp.get("/c/<int:conversation_id>/settings")
async def edit(conversation_id: int):
    """The settings page (owner only)."""
    conversation = await get_conversation(conversation_id, current_user())
    return await render_template("settings/show.html", conversation=conversation,
                                 models=model_choice.catalog().models(), saved=False)


@bp.post("/c/<int:conversation_id>/settings")
@payloads.takes_body(**{**TAKES, "with_ai": payloads.Flag(checkbox=True),
                        "ai_answers_all": payloads.Flag(checkbox=True)})
async def save(conversation_id: int):
    """Save the settings form, then back to the conversation (or the form with its error)."""
    conversation = await get_conversation(conversation_id, current_user(), Need.MANAGE)
    try:
        await apply(conversation, validated(payloads.body()))
    except BadRequest as error:
        body = await render_template("settings/show.html", conversation=conversation,
                                     models=model_choice.catalog().models(), error=error.message,
                                     saved=False)
        return body, 400
    if htmx.is_request():
        return await render_template("settings/show.html", conversation=conversation,
                                     models=model_choice.catalog().models(), saved=True)
    return redirect(url_for("conversations.show", conversation_id=conversation.id), 303)
