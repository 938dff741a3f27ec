"""Third-party front-end files, served from the pinned npm packages (npm ci), never copied."""

from pathlib import Path

from quart import Blueprint, Response, abort, send_from_directory

from hyperchat.web.rendering import pygments_css

bp = Blueprint("assets", __name__)

NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"
# The allowlist: exactly the files pages load, nothing else from node_modules.
VENDOR_FILES = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "hx-sse.min.js": "htmx.org/dist/ext/hx-sse.min.js",
    # The API docs page (views/api_docs.py).
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
}
MAX_AGE = 7 * 24 * 3600  # versions are pinned; a new pin changes the files, restart clears


@bp.get("/vendor/<name>")
async def vendor(name: str):
    """Serve one allowlisted file from node_modules."""
    relative = VENDOR_FILES.get(name)
    if relative is None:
        abort(404)
    return _cached(await send_from_directory(NODE_MODULES, relative))


@bp.get("/assets/pygments.css")
async def code_styles():
    """Serve the syntax-highlighting classes used by server-rendered code blocks."""
    return _cached(Response(pygments_css(), mimetype="text/css"))


def _cached(response: Response) -> Response:
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    return response
