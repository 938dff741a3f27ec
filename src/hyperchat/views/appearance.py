"""Appearance: the person's colour scheme (light, dark, or the system's), kept in a cookie so
the server renders it into <html> and the first paint is already in the right scheme."""

from quart import Blueprint, jsonify, redirect

from hyperchat.web import payloads
from hyperchat.web.errors import BadRequest, wants_json
from hyperchat.web.theme import COOKIE, MAX_AGE, THEMES

bp = Blueprint("appearance", __name__)


@bp.post("/appearance")
@payloads.takes_body(theme=payloads.Text(20), next=payloads.Text(2000))
async def update():
    """Remember the chosen scheme, then back to the page it was chosen on."""
    form = payloads.body()
    theme = form.get("theme") or ""
    if theme not in THEMES:
        raise BadRequest(f"theme must be one of: {', '.join(THEMES)}.")
    if wants_json():
        response = jsonify({"ok": True, "theme": theme})
    else:
        response = redirect(local_path(form.get("next") or ""), 303)
    if theme == "system":
        response.delete_cookie(COOKIE, path="/")
    else:
        response.set_cookie(COOKIE, theme, max_age=MAX_AGE, path="/", samesite="Lax",
                            httponly=True)
    return response


def local_path(next_url: str) -> str:
    """`next` if it is a path on this site; "/" otherwise (never another origin)."""
    if next_url.startswith("/") and not next_url.startswith(("//", "/\\")):
        return next_url
    return "/"
