"""The colour scheme a page is rendered in: the person's choice from the theme cookie."""

from quart import request

COOKIE = "theme"
THEMES = ("light", "dark", "system")
MAX_AGE = 365 * 24 * 3600


def current_theme() -> str:
    """"light" or "dark" when the person chose one, "system" (follow the device) otherwise."""
    chosen = request.cookies.get(COOKIE, "")
    return chosen if chosen in ("light", "dark") else "system"
