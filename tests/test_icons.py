"""Icons: every icon a template names exists in the pinned Font Awesome Free, and is inlined."""

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from jinja2 import Environment

from hyperchat.web import icons

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
# icon("name") or icon("name", "regular"), as the templates call the global.
CALL = re.compile(r"""\bicon\(\s*(['"])(?P<name>[^'"]*)\1"""
                  r"""(?:\s*,\s*(?:style=)?(['"])(?P<style>[^'"]*)\3)?""")


def icon_calls() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for match in CALL.finditer(path.read_text()):
            found.append((str(path.relative_to(TEMPLATES)), match["name"],
                          match["style"] or "solid"))
    return found


def test_templates_name_icons():
    assert len(icon_calls()) > 20


@pytest.mark.parametrize(("template", "name", "style"), icon_calls(),
                         ids=lambda v: v if isinstance(v, str) else None)
def test_every_icon_a_template_names_exists(template, name, style):
    assert icons.svg(name, style).startswith("<svg ")


def test_templates_draw_icons_only_through_the_macro():
    """No <i class="fa-..."> (a class with no rule is a black square) and no other icon path."""
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"<i\b", text), path
        assert "fa-solid" not in text and "fa-regular" not in text, path


@pytest.mark.parametrize(("name", "style"), [("no-such-icon", "solid"), ("copy", "brands"),
                                             ("../regular/copy", "solid"), ("", "solid")])
def test_an_unknown_icon_fails_the_render(name, style):
    with pytest.raises(icons.UnknownIcon):
        icons.icon(name, style)
    template = Environment().from_string('{{ icon(name, style) }}')
    with pytest.raises(icons.UnknownIcon):
        template.render(icon=icons.icon, name=name, style=style)


def test_an_icon_is_inline_decorative_svg_painted_in_the_text_colour():
    markup = BeautifulSoup(str(icons.icon("gear", label="Settings")), "html.parser")
    svg = markup.select_one("svg")
    assert svg["aria-hidden"] == "true" and svg["focusable"] == "false"
    assert svg["data-icon"] == "solid/gear" and "icon" in svg["class"]
    assert svg["viewbox"] and svg.select_one("path")["d"]
    assert "<!--" not in str(markup)  # the licence comment is said once, in base.html
    assert markup.select_one("span.visually-hidden").text == "Settings"


def test_icons_are_read_once():
    icons.svg.cache_clear()
    icons.svg("gear")
    icons.svg("gear")
    assert icons.svg.cache_info().hits == 1 and icons.svg.cache_info().misses == 1
