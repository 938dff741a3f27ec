"""htmx request/response headers, kept in one module (their names changed between htmx 2 and 4)."""

import json

from quart import request

HX_REQUEST = "HX-Request"
# Sent (with HX-Request) when back/forward makes htmx 4 re-fetch the page to swap into <body>.
HX_HISTORY_RESTORE = "HX-History-Restore-Request"
HX_PUSH_URL = "HX-Push-Url"
HX_RETARGET = "HX-Retarget"
HX_RESWAP = "HX-Reswap"
HX_TRIGGER = "HX-Trigger"
HX_REDIRECT = "HX-Redirect"
# The page's URL, sent with every htmx request.
HX_CURRENT_URL = "HX-Current-URL"


def is_request() -> bool:
    """True when htmx made this request for a fragment. A history restore is made by htmx
    too, but it replaces the whole <body>, so it gets the full page."""
    return (request.headers.get(HX_REQUEST) == "true"
            and request.headers.get(HX_HISTORY_RESTORE) != "true")


def retarget(selector: str, swap: str) -> dict[str, str]:
    return {HX_RETARGET: selector, HX_RESWAP: swap}


def vary(response):
    """One URL serving both a page and a fragment must tell caches so."""
    response.vary.add(HX_REQUEST)
    response.vary.add(HX_HISTORY_RESTORE)
    return response


def trigger_on_body(event: str) -> dict[str, str]:
    """Fire `event` on <body>: the element that made the request may be gone after the swap
    (an Undo button inside the toast it replaced), and events on detached nodes reach nobody."""
    return {HX_TRIGGER: json.dumps({event: {"target": "body"}})}
