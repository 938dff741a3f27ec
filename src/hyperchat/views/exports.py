"""Exports: one conversation as Markdown or JSON, or all of them as a zip of JSON files.
(The import that reads the JSON back is the sessions API's `import_`.)"""

from datetime import UTC, datetime

from quart import Blueprint, Response

from hyperchat.chat import exports
from hyperchat.web.access import Need, get_conversation
from hyperchat.web.security import current_user

bp = Blueprint("exports", __name__)


def attachment(body, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Private data: no shared cache, and no browser copy left behind.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/c/<int:conversation_id>/export.md")
async def markdown(conversation_id: int):
    """Download a conversation as a Markdown transcript."""
    conversation = await get_conversation(conversation_id, current_user(), Need.OWN)
    return attachment(await exports.to_markdown(conversation), "text/markdown",
                      f"conversation-{conversation.id}.md")


@bp.get("/c/<int:conversation_id>/export.json")
async def json(conversation_id: int):
    """Download a conversation as a hyperchat.conversation.v1 document."""
    conversation = await get_conversation(conversation_id, current_user(), Need.OWN)
    return attachment(await exports.to_json(conversation), "application/json",
                      f"conversation-{conversation.id}.json")


@bp.get("/export/all.zip")
async def archive():
    """Download every conversation not in the trash, one JSON file each, in a zip."""
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    # Streamed as it is made: a large account is never whole in memory.
    response = attachment(exports.to_zip(current_user()), "application/zip",
                          f"hyperchat-export-{day}.zip")
    response.timeout = None  # Quart's 60 s RESPONSE_TIMEOUT would cut a large one short
    return response
