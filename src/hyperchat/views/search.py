"""Search as you type: conversations whose title or messages match."""

from quart import Blueprint, render_template, request

from hyperchat.web.security import current_user

bp = Blueprint("search", __name__)

RESULTS = 20


@bp.get("/search")
async def index():
    """Show the conversations and messages that match `q`, with highlighted snippets."""
    from hyperchat.chat import search as full_text

    query = request.args.get("q", "")
    hits = await full_text.search(current_user(), query, limit=RESULTS) if query.strip() else []
    return await render_template("search/_results.html", query=query, hits=hits)
