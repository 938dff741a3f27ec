"""The colour scheme: chosen in the sidebar, kept in a cookie, rendered into <html>."""

import pytest

from tests.helpers import csrf, soup


async def choose(client, theme: str, **extra):
    token = await csrf(client)
    return await client.post("/appearance", form={"theme": theme, "csrf_token": token, **extra})


async def html_of(client):
    return soup(await (await client.get("/")).get_data(as_text=True))


async def test_a_new_person_follows_the_system_scheme(client):
    page = await html_of(client)
    assert not page.html.has_attr("data-theme")
    assert page.select_one('meta[name="color-scheme"]')["content"] == "light dark"
    pressed = page.select('.theme-switch button[aria-pressed="true"]')
    assert [b["value"] for b in pressed] == ["system"]


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_a_chosen_scheme_is_rendered_into_html_on_every_page(client, theme):
    response = await choose(client, theme, next="/usage")
    assert response.status_code == 303 and response.headers["Location"] == "/usage"
    assert f"theme={theme}" in response.headers["Set-Cookie"]
    for path in ("/", "/usage", "/analytics"):
        page = soup(await (await client.get(path)).get_data(as_text=True))
        assert page.html["data-theme"] == theme, path
        assert page.select_one('meta[name="color-scheme"]')["content"] == theme


async def test_system_forgets_the_choice(client):
    await choose(client, "dark")
    response = await choose(client, "system")
    assert response.status_code == 303
    assert not (await html_of(client)).html.has_attr("data-theme")


async def test_the_script_gets_json_and_stays_on_the_page(client):
    token = await csrf(client)
    response = await client.post("/appearance", form={"theme": "dark", "csrf_token": token},
                                 headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert await response.get_json() == {"ok": True, "theme": "dark"}
    assert (await html_of(client)).html["data-theme"] == "dark"


@pytest.mark.parametrize("theme", ["", "blue", "DARK"])
async def test_an_unknown_scheme_is_refused(client, theme):
    response = await choose(client, theme)
    assert response.status_code == 400
    assert "theme must be one of: light, dark, system" in await response.get_data(as_text=True)


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "/\\evil", ""])
async def test_next_never_leaves_the_site(client, next_url):
    response = await choose(client, "light", next=next_url)
    assert response.headers["Location"] == "/"


async def test_a_forged_cookie_value_is_ignored(client):
    client.set_cookie("localhost", "theme", "<script>")
    assert not (await html_of(client)).html.has_attr("data-theme")


async def test_choosing_needs_the_csrf_token(client):
    await csrf(client)
    response = await client.post("/appearance", form={"theme": "dark"})
    assert response.status_code in (400, 403)


def test_code_highlighting_has_a_theme_for_each_scheme():
    """Each token's colour is a light-dark() pair, so dark code is drawn with the dark theme
    whether the system or the person chose dark (color-scheme follows data-theme)."""
    from hyperchat.web.rendering import pygments_css
    rules = {line.split(" {")[0]: line for line in pygments_css().splitlines()}
    assert "color: light-dark(#008000, #FF7B72)" in rules[".markdown pre code .k"]
    assert "color: light-dark(#3D7B7B, #8B949E)" in rules[".markdown pre code .c"]
    assert all("light-dark(" in rule for rule in rules.values() if "color" in rule)
    # No box background from the themes: the stylesheet's --code-bg draws the box in both.
    assert ".markdown pre code {" not in pygments_css()
