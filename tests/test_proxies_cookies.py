"""Trusted proxies (forwarded headers believed only from listed addresses), the session
cookie's flags and where it is never sent, and redirects that stay on this site."""

import pytest

from hyperchat import create_app
from hyperchat.config import ConfigError
from hyperchat.store.schema import ActionLog, Conversation
from hyperchat.web.proxies import TrustedProxies, parse_networks
from tests.helpers import csrf, exchange, soup

PROXY = ("10.0.0.2", 51000)
CLIENT = "203.0.113.7"


def scope(peer, headers: dict[str, str], scheme="http"):
    return {"type": "http", "scheme": scheme, "client": peer,
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}


def resolved(trusted: str, peer, headers: dict[str, str], scheme="http"):
    middleware = TrustedProxies(None, parse_networks(trusted))
    result = middleware.resolve(scope(peer, headers, scheme))
    return result["client"][0], result["scheme"]


@pytest.mark.parametrize(("trusted", "peer", "headers", "expected"), [
    # Never by default, never from an address not listed.
    ("", PROXY, {"X-Forwarded-For": CLIENT}, ("10.0.0.2", "http")),
    ("10.0.0.9", PROXY, {"X-Forwarded-For": CLIENT}, ("10.0.0.2", "http")),
    # From a listed proxy (an address or a network).
    ("10.0.0.2", PROXY, {"X-Forwarded-For": CLIENT}, (CLIENT, "http")),
    ("10.0.0.0/8", PROXY, {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https"},
     (CLIENT, "https")),
    # A client's own X-Forwarded-For is kept on the left: the walk from the right stops at
    # the first address that is not a listed proxy.
    ("10.0.0.0/8", PROXY, {"X-Forwarded-For": f"1.2.3.4, {CLIENT}"}, (CLIENT, "http")),
    ("10.0.0.0/8", PROXY, {"X-Forwarded-For": f"1.2.3.4, {CLIENT}, 10.0.0.5"},
     (CLIENT, "http")),
    # Every hop listed: the leftmost is the client.
    ("10.0.0.0/8", PROXY, {"X-Forwarded-For": "10.0.0.7, 10.0.0.5"}, ("10.0.0.7", "http")),
    # Not an address: the walk ends at the last proxy that wrote one.
    ("10.0.0.0/8", PROXY, {"X-Forwarded-For": "garbage"}, ("10.0.0.2", "http")),
    ("10.0.0.0/8", PROXY, {"X-Forwarded-For": f"{CLIENT}, unknown, 10.0.0.5"},
     ("10.0.0.5", "http")),
    # RFC 7239 Forwarded, with quotes, IPv6 brackets and ports; it wins over X-Forwarded-For.
    ("10.0.0.0/8", PROXY, {"Forwarded": f'for="{CLIENT}:4711";proto=https',
                           "X-Forwarded-For": "9.9.9.9"}, (CLIENT, "https")),
    ("10.0.0.0/8", PROXY, {"Forwarded": 'for="[2001:db8::1]:4711", for=10.0.0.5'},
     ("2001:db8::1", "http")),
    ("::1", ("::1", 5000), {"X-Forwarded-For": CLIENT}, (CLIENT, "http")),
    # Only http and https are schemes.
    ("10.0.0.2", PROXY, {"X-Forwarded-Proto": "javascript"}, ("10.0.0.2", "http")),
])
def test_forwarded_headers_are_believed_only_from_listed_proxies(trusted, peer, headers,
                                                                 expected):
    assert resolved(trusted, peer, headers) == expected


@pytest.mark.parametrize("value", ["10.0.0.300", "proxy.example.com", "10.0.0.0/99"])
def test_a_proxy_setting_that_is_not_an_address_stops_the_app(app_config, value):
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        create_app({**app_config, "TRUSTED_PROXIES": value})


def test_the_proxy_setting_is_read_from_the_environment(monkeypatch, app_config):
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.2, 192.168.0.0/16")
    app = create_app({k: v for k, v in app_config.items()})
    assert [str(n) for n in app.config["TRUSTED_PROXIES"]] == ["10.0.0.2/32", "192.168.0.0/16"]


async def audited_address(app_config, fake_upstream, trusted: str) -> str:
    app = create_app({**app_config, "TRUSTED_PROXIES": trusted})
    async with app.test_app() as test_app:
        client = test_app.test_client()
        base = {"client": PROXY}
        headers = {"X-Forwarded-For": CLIENT}
        await client.get("/", scope_base=base, headers=headers)
        q, a = await exchange(client, fake_upstream, "hi", "hello")
        token = await csrf(client)
        response = await client.post(f"/rate_message/{a}", json={"rating": 1},
                                     headers={"X-CSRF-Token": token, **headers},
                                     scope_base=base)
        assert response.status_code == 200
        return (await ActionLog.get(action_type="vote")).client_ip


async def test_the_audit_log_records_the_client_behind_a_listed_proxy(app_config,
                                                                      fake_upstream):
    assert await audited_address(app_config, fake_upstream, "10.0.0.0/8") == CLIENT


async def test_the_audit_log_records_the_peer_without_a_proxy_setting(app_config,
                                                                      fake_upstream):
    assert await audited_address(app_config, fake_upstream, "") == PROXY[0]


# --------------------------------------------------------------------------- cookies


@pytest.mark.parametrize("path", ["/static/style.css", "/vendor/htmx.min.js",
                                  "/assets/pygments.css"])
async def test_static_and_vendor_files_never_set_a_cookie(app, path):
    fresh = app.test_client()
    response = await fresh.get(path)
    assert response.status_code == 200
    assert response.headers.getlist("Set-Cookie") == []
    assert "Cookie" not in response.headers.get("Vary", "")
    # A browser that has an identity is not sent its cookie again either.
    await fresh.get("/")
    response = await fresh.get(path)
    assert response.headers.getlist("Set-Cookie") == []


async def test_a_response_that_sets_a_cookie_is_never_publicly_cached(app_config):
    app = create_app(app_config)

    @app.get("/test-public")
    async def public_page():
        # A page that asks for public caching, on the visit that gives the browser its
        # identity (so its cookie is set).
        response = await app.make_response("x")
        response.cache_control.public = True
        response.cache_control.max_age = 60
        return response

    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/test-public")
    assert response.headers.getlist("Set-Cookie")
    assert not response.cache_control.public and response.cache_control.private


def session_cookie(response) -> str:
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))


async def test_the_cookie_is_secure_over_https_and_not_over_http(app):
    assert "Secure" not in session_cookie(await app.test_client().get("/"))
    response = await app.test_client().get("/", scheme="https")
    assert "Secure" in session_cookie(response)


@pytest.mark.parametrize(("trusted", "secure"), [("10.0.0.2", True), ("", False)])
async def test_the_cookie_is_secure_behind_a_listed_proxy_that_says_https(app_config, trusted,
                                                                         secure):
    app = create_app({**app_config, "TRUSTED_PROXIES": trusted})
    async with app.test_app() as test_app:
        response = await test_app.test_client().get(
            "/", scope_base={"client": PROXY}, headers={"X-Forwarded-Proto": "https"})
        assert ("Secure" in session_cookie(response)) is secure


@pytest.mark.parametrize(("setting", "secure"), [("true", True), (True, True),
                                                 ("false", False), ("auto", False)])
async def test_the_secure_flag_can_be_forced(app_config, setting, secure):
    app = create_app({**app_config, "SESSION_COOKIE_SECURE": setting})
    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/")
        assert ("Secure" in session_cookie(response)) is secure


def test_an_unreadable_secure_setting_stops_the_app(app_config):
    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECURE"):
        create_app({**app_config, "SESSION_COOKIE_SECURE": "sometimes"})


# --------------------------------------------------------------------------- redirects


@pytest.mark.parametrize(("referrer", "location"), [
    ("http://localhost/c/5?view=archived", "/c/5?view=archived"),
    ("/conversations?view=trash", "/conversations?view=trash"),
    ("https://evil.example/phish", "/"),
    ("//evil.example/phish", "/"),
    ("http://localhost.evil.example/", "/"),
    ("https://localhost/c/5", "/"),  # another scheme is another origin
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
    (None, "/"),
])
async def test_a_form_post_redirects_only_to_a_page_of_this_site(client, referrer, location):
    token = await csrf(client)
    await client.post("/messages", form={"content": "hi", "csrf_token": token},
                      headers={"HX-Request": "true"})
    conversation = await Conversation.get()
    headers = {"Referer": referrer} if referrer else {}
    response = await client.post(f"/c/{conversation.id}/archive",
                                 form={"csrf_token": token}, headers=headers)
    assert response.status_code == 303
    assert response.headers["Location"] == location


async def test_html_routes_answer_404_for_someone_elses_ids(app, client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "mine", "reply")
    conversation = await Conversation.get()
    stranger = app.test_client()
    token = await csrf(stranger)
    for method, path in [("get", f"/c/{conversation.id}"),
                         ("get", f"/c/{conversation.id}/settings"),
                         ("get", f"/c/{conversation.id}/share"),
                         ("get", f"/messages/{a}/edit"),
                         ("post", f"/messages/{a}/delete"),
                         ("post", f"/c/{conversation.id}/archive")]:
        unknown = path.replace(str(conversation.id), "999999").replace(f"/{a}/", "/999999/")
        mine = await getattr(stranger, method)(path, headers={"X-CSRF-Token": token})
        missing = await getattr(stranger, method)(unknown, headers={"X-CSRF-Token": token})
        assert mine.status_code == missing.status_code == 404, path
        # Word for word the same page: nothing tells that the id exists.
        assert soup(await mine.get_data(as_text=True)).select_one("main").get_text() == \
            soup(await missing.get_data(as_text=True)).select_one("main").get_text()
