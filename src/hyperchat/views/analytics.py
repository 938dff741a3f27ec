"""Analytics: votes, regenerations, edits and response times, as server-rendered charts."""

from quart import Blueprint, render_template

from hyperchat.metering import analytics
from hyperchat.web.security import current_user

bp = Blueprint("analytics", __name__)


@bp.get("/analytics")
async def show():
    """Show your analytics for the last 30 days."""
    return await render_template("analytics/show.html",
                                 board=await analytics.board(current_user()))
