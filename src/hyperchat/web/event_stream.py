"""Server-sent events framing: the one place that writes the wire format to browsers."""

import re

_NEWLINES = re.compile(r"\r\n|\r|\n")


def frame(data: str, *, event: str | None = None, id: int | str | None = None) -> bytes:
    """Encode one event. Every line of `data` gets its own `data:` prefix (rendered HTML is
    multi-line), so the client reassembles it with the newlines intact."""
    parts = []
    if id is not None:
        parts.append(f"id: {id}")
    if event is not None:
        parts.append(f"event: {event}")
    # Parsers strip exactly one space after "data:", so a token's own leading space survives.
    parts.extend(f"data: {line}" for line in _NEWLINES.split(data))
    return ("\n".join(parts) + "\n\n").encode()


def position(id: int | str) -> bytes:
    """An event with only an id: the client's Last-Event-ID moves on, nothing is dispatched."""
    return f"id: {id}\n\n".encode()


def comment(text: str = "ping") -> bytes:
    """A keep-alive that every client ignores, for proxies and dead-peer detection."""
    return f": {text}\n\n".encode()


HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx would otherwise buffer the whole reply
}
