"""The chat sessions JSON API: camelCase conversations for a JS client.

Every answer is JSON, errors included: `{"ok": false, "error": "..."}` with 400 for bad
input, 403 for a missing CSRF token and 404 for a conversation that is unknown *or not
yours* (unlike the HTML pages' 403, the API does not confirm that an id exists).
"""

from typing import Annotated

from pydantic import BaseModel
from pydantic import Field as Constraint
from quart import Blueprint, current_app, g, jsonify, request, url_for
from quart_schema import document_response

from hyperchat.chat import conversations, exports, rooms, versions
from hyperchat.chat.conversations import View, message_counts
from hyperchat.chat.exports import iso
from hyperchat.store.schema import Conversation, Message, Role
from hyperchat.web import payloads
from hyperchat.web.access import Need, get_conversation
from hyperchat.web.api_shapes import SessionStats
from hyperchat.web.errors import BadRequest, json_api
from hyperchat.web.security import current_user

bp = Blueprint("sessions_api", __name__, url_prefix="/api/chat/sessions")

PAGE_SIZE = 30
PAGE_SIZE_MAX = 100
PAGE_MAX = 1_000_000  # far beyond any list: an offset within every column type
QUERY_MAX = 500  # characters of a search query
# Search hits considered for `q` (hits may be messages: several can name one conversation).
SEARCH_HITS = 1000


@bp.app_url_value_preprocessor
def answer_in_json(_endpoint, _values):
    # The earliest hook: it runs before the app's CSRF check (so its 403 is JSON too) and
    # even when no route matched (a 404 or 405 under the prefix). json_api alone only takes
    # effect once a view is called.
    if request.path.startswith(bp.url_prefix):
        g.json_api = True


class Session(BaseModel):
    id: int
    title: str
    createdAt: str
    updatedAt: str
    lastActivityAt: str | None
    archived: bool
    deletedAt: str | None
    messageCount: int
    sharedAt: str | None
    shareId: str | None
    shareUrl: str | None


class SessionMessage(BaseModel):
    id: int
    role: str
    content: str
    reasoning: str | None
    createdAt: str | None
    status: str
    rating: int
    modelIdUsed: str | None
    promptTokens: int | None
    completionTokens: int | None
    tokensEstimated: bool
    error: str | None


class SessionWithMessages(Session):
    messages: list[SessionMessage]


class SessionPage(BaseModel):
    sessions: list[Session]
    page: int
    pageSize: int
    total: int
    hasMore: bool


class Listing(payloads.Query):
    page: Annotated[int, Constraint(ge=1, le=PAGE_MAX)] = 1
    pageSize: Annotated[int, Constraint(ge=1, le=PAGE_SIZE_MAX)] = PAGE_SIZE
    archived: payloads.TrueFalse = False
    q: Annotated[str, Constraint(max_length=QUERY_MAX)] = ""


# Optional, but not null: a default of None is never validated, a null sent is (refused).
class NewSession(payloads.Body):
    title: str = None


class SessionChange(payloads.Body):
    title: str = None
    archived: bool = None


class Deletion(payloads.Query):
    permanent: payloads.TrueFalse = False


def route(rule: str, **options):
    """Register an API view; a trailing slash is optional."""
    return bp.route(rule, strict_slashes=False, **options)


def camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.title() for word in rest)


def session_json(conversation: Conversation, message_count: int) -> dict:
    shared = conversation.shared_at is not None
    return {
        "id": conversation.id,
        "title": conversation.title,
        "createdAt": iso(conversation.created_at),
        "updatedAt": iso(conversation.updated_at),
        "lastActivityAt": iso(conversation.last_activity_at),
        "archived": conversation.archived,
        "deletedAt": iso(conversation.deleted_at),
        "messageCount": message_count,
        "sharedAt": iso(conversation.shared_at),
        "shareId": conversation.share_id if shared else None,
        "shareUrl": url_for("shares.show", share_id=conversation.share_id, _external=True)
        if shared else None,
    }


def message_json(message: Message) -> dict:
    """A message as the export writes it, with its id, without `finishedAt`."""
    document = exports.message_dict(message)
    del document["finishedAt"]
    # A reasoning model's thought process, as the app shows it: null with
    # CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS off. (Exports keep it: the person's data.)
    if not current_app.config["CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS"]:
        document["reasoning"] = None
    return {"id": message.id, **document, "author": author_json(message)}


def author_json(message: Message) -> dict | None:
    """Who wrote it (`message` annotated by versions.annotate): a person's account, or on a
    reply the model and the person who asked for it. Usernames only in rooms (a solo
    conversation's are all its owner's); user_id null for a guest."""
    who = getattr(message, "author_who", None)
    if who is None:
        return None
    person = {"user_id": rooms.account_id(who), "username": message.author_name}
    if message.role == Role.ASSISTANT:
        return {"model": message.model_id_used, "asked_by": person}
    return person


async def one_session_json(conversation: Conversation) -> dict:
    counts = await message_counts([conversation.id])
    return session_json(conversation, counts.get(conversation.id, 0))


async def load(conversation_id: int, need: Need = Need.READ) -> Conversation:
    """The caller's conversation, or 404 whether it is unknown or someone else's (403 for
    a room's member who may not do this)."""
    return await get_conversation(conversation_id, current_user(), need)


async def matching_ids(owner: str, query: str, archived: bool) -> list[int]:
    """Conversation ids for a full-text query, best first, each once."""
    from hyperchat.chat import search

    hits = await search.search(owner, query, limit=SEARCH_HITS, archived=archived)
    return list(dict.fromkeys(hit.conversation_id for hit in hits))


@route("/", methods=["GET"])
@json_api
@payloads.takes_query(Listing)
@document_response(SessionPage)
async def index():
    """List the caller's sessions, most recent activity first (or best match for `q`)."""
    args = payloads.query_model()
    page, page_size, archived = args.page, args.pageSize, args.archived
    query = args.q.strip()
    owner = current_user()
    listed = conversations.owned_by(owner, View.ARCHIVED if archived else View.ACTIVE)
    offset = (page - 1) * page_size
    if query:
        # The search scopes to the owner, the archive flag and no trash, and decides the
        # order; loading the page through `listed` re-checks the scope all the same.
        ids = await matching_ids(owner, query, archived)
        page_ids = ids[offset:offset + page_size]
        found = {c.id: c for c in await listed.filter(id__in=page_ids)}
        total, rows = len(ids), [found[i] for i in page_ids if i in found]
    else:
        total = await listed.count()
        rows = await listed.offset(offset).limit(page_size)
    counts = await message_counts([c.id for c in rows])
    return jsonify({
        "sessions": [session_json(c, counts.get(c.id, 0)) for c in rows],
        "page": page,
        "pageSize": page_size,
        "total": total,
        "hasMore": offset + page_size < total,
    })


@route("/", methods=["POST"])
@json_api
@payloads.takes_json(NewSession)
@document_response(Session, 201)
async def create():
    """Create an empty session, titled "New chat" unless a title is given."""
    given = payloads.model().title
    title = conversations.clean_title(given) if given is not None else "New chat"
    conversation = await Conversation.create(owner=current_user(), title=title)
    return await created(conversation)


async def created(conversation: Conversation):
    location = url_for(".show", conversation_id=conversation.id)
    return jsonify(await one_session_json(conversation)), 201, {"Location": location}


@route("/stats/", methods=["GET"])
@json_api
@document_response(SessionStats)
async def stats():
    """Count the caller's sessions (active, archived, trash), messages and tokens."""
    counts = await conversations.stats(current_user())
    return jsonify({camel(key): value for key, value in counts.items()})


@route("/import/", methods=["POST"])
@json_api
@payloads.takes_document()
@document_response(Session, 201)
async def import_():
    """Create a session from a `hyperchat.conversation.v1` export (see exports.py)."""
    conversation = await exports.import_conversation(
        payloads.document(), current_user(), exports.TextLimits.of(current_app.config))
    return await created(conversation)


@route("/<int:conversation_id>/", methods=["GET"])
@json_api
@document_response(SessionWithMessages)
async def show(conversation_id: int):
    """Show one session with all its messages, oldest first."""
    conversation = await load(conversation_id)
    messages = await versions.annotate(list(await versions.shown(conversation.id)
                                            .order_by("id")))
    body = session_json(conversation, len(messages))
    body["messages"] = [message_json(m) for m in messages]
    return jsonify(body)


@route("/<int:conversation_id>/", methods=["PUT"])
@json_api
@payloads.takes_json(SessionChange)
@document_response(Session)
async def update(conversation_id: int):
    """Rename and/or (un)archive a session; every field is checked before any is saved."""
    conversation = await load(conversation_id, Need.MANAGE)
    change = payloads.model()
    if change.title is None and change.archived is None:
        raise BadRequest('Send "title" and/or "archived".')
    title = conversations.clean_title(change.title) if change.title is not None else None
    archived = change.archived
    if title is not None:
        await conversations.rename(conversation, title)
    if archived is not None:
        await conversations.set_archived(conversation, archived)
    return jsonify(await one_session_json(conversation))


@route("/<int:conversation_id>/", methods=["DELETE"])
@json_api
@payloads.takes_query(Deletion)
@document_response(Session)
async def delete(conversation_id: int):
    """Move a session to the trash (200, the session); `?permanent=true` deletes it for
    good with its messages and share link (204)."""
    conversation = await load(conversation_id, Need.OWN)
    if payloads.query_model().permanent:
        await conversations.delete_permanently(conversation)
        return "", 204
    if conversation.deleted_at is None:  # again: keep the first date, the purge counts from it
        await conversations.move_to_trash(conversation)
    return jsonify(await one_session_json(conversation))


@route("/<int:conversation_id>/restore/", methods=["POST"])
@json_api
@document_response(Session)
async def restore(conversation_id: int):
    """Take a session out of the trash (a session not in the trash is left as it is)."""
    conversation = await load(conversation_id, Need.OWN)
    if conversation.deleted_at is not None:
        await conversations.restore(conversation)
    return jsonify(await one_session_json(conversation))
