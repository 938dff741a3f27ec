"""Icons: Font Awesome Free SVGs inlined into the markup, read once from the pinned npm package.

Inline, so every icon is painted with the first frame (no request, no CSS rule to forget) and
an unknown name fails the render instead of drawing a black square.
"""

import re
from functools import cache
from pathlib import Path

from markupsafe import Markup, escape

ICON_DIR = Path(__file__).resolve().parents[3] / "node_modules/@fortawesome/fontawesome-free/svgs"
STYLES = ("solid", "regular")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_OPEN = re.compile(r"^<svg\b([^>]*)>")


class UnknownIcon(LookupError):
    """A template named an icon that the pinned Font Awesome Free does not have."""


@cache
def svg(name: str, style: str = "solid") -> str:
    """The icon's markup, decorative (aria-hidden): the control around it carries the name."""
    path = ICON_DIR / style / f"{name}.svg"
    if style not in STYLES or not re.fullmatch(r"[a-z0-9-]+", name) or not path.is_file():
        raise UnknownIcon(f"no Font Awesome Free icon {style}/{name} in {ICON_DIR}")
    text = _COMMENT.sub("", path.read_text(encoding="utf-8")).strip()
    match = _OPEN.match(text)
    if match is None:
        raise UnknownIcon(f"{path} is not an <svg> file")
    attributes = match.group(1)
    return (f'<svg class="icon icon-{name}" data-icon="{style}/{name}" aria-hidden="true" '
            f'focusable="false"{attributes}>{text[match.end():]}')


def icon(name: str, style: str = "solid", label: str | None = None) -> Markup:
    """An inline icon; with `label`, a visually hidden name follows it for screen readers."""
    markup = svg(name, style)
    if label:
        markup += f'<span class="visually-hidden">{escape(label)}</span>'
    return Markup(markup)
