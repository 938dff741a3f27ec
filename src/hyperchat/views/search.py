"""Search as you type: conversations whose title or messages match."""

from quart import Blueprint, render_template

from hyperchat.web import payloads
from hyperchat.web.security import current_user

bp = Blueprint("search", __name__)

RESULTS = 20
QUERY_MAX = 500  # characters of a search; a longer one is refused, not cut


@bp.get("/search")
@payloads.takes_query(q=payloads.Text(QUERY_MAX))
async def index():
    """Show the conversations and messages that match `q`, with highlighted snippets."""
    from hyperchat.chat import search as full_text

    query = payloads.query().get("q", "")
    hits = await full_text.search(current_user(), query, limit=RESULTS) if query.strip() else []
    return await render_template("search/_results.html", query=query, hits=hits)
