"""The hand-written scripts: loaded by the layout, one file per feature, and no URL of the
app written in them (the server renders URLs into the markup with url_for)."""

import re
from pathlib import Path

import pytest

from tests.helpers import soup

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "static").glob("*.js"))
# A string literal that starts with "/" and a path character ('/c/', "/messages",
# `/share/${id}`), or a path right after a template literal's ${...} (`${origin}/share/`).
# "/" alone (the search key) is no path.
APP_PATH = re.compile(r"""(["'`]|\})/[\w$.{-]""")


def test_the_pattern_finds_the_urls_it_is_meant_to():
    for written in ('fetch("/rate_message/" + id)', "htmx.ajax('GET', '/c/1/share')",
                    "`/messages/${id}/feedback`", '"/share/" + id', "`${origin}/share/${id}`",
                    "`/${path}`"):
        assert APP_PATH.search(written), written
    for innocent in ('key === "/"', "/^[\\w+\\-/]+$/.test(zone)",
                     "`tz=${zone}; path=/; max-age=1`", "a / b"):
        assert not APP_PATH.search(innocent), innocent


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_no_script_writes_a_url_of_the_app(script):
    hits = [f"{script.name}:{number}: {line.strip()}"
            for number, line in enumerate(script.read_text().splitlines(), 1)
            if APP_PATH.search(line)]
    assert not hits, "render a data-*-url attribute with url_for instead:\n" + "\n".join(hits)


# Scripts of the pages that do not use the layout, and the template that loads each.
STANDALONE = {"api_docs.js": "api_docs/show.html"}


def test_the_layout_loads_every_script_and_only_those():
    layout = (ROOT / "templates" / "base.html").read_text()
    loaded = set(re.findall(r'"(\w+\.js)"', layout))
    assert loaded == {p.name for p in SCRIPTS} - set(STANDALONE)
    for script, template in STANDALONE.items():
        assert f"'{script}'" in (ROOT / "templates" / template).read_text()


async def test_every_script_a_page_loads_is_served_in_the_order_written(client):
    page = soup(await (await client.get("/")).get_data(as_text=True))
    sources = [s["src"] for s in page.select("script[src]")]
    ours = [src for src in sources if src.startswith("/static/")]
    # sidebar.js before the two that use what it shares (window.hyperchat).
    assert ours.index("/static/sidebar.js") < ours.index("/static/focus.js")
    assert ours.index("/static/sidebar.js") < ours.index("/static/keyboard.js")
    for src in sources:
        response = await client.get(src)
        assert response.status_code == 200, src
        assert "javascript" in response.mimetype, src
