"""The account page (password, sessions, API keys, export, deletion) and Bearer keys on
the JSON API."""

import io
import json
import zipfile

import pytest

from hyperchat.store.schema import ApiKey, Conversation, User, UserSession
from tests.accounts_helpers import PASSWORD, login, me, register, token_of
from tests.helpers import soup


async def post(client, path, data=None):
    return await client.post(path, form={**(data or {}), "csrf_token": await token_of(client)})


@pytest.fixture
async def alice(client):
    await register(client, "alice")
    return client


async def new_key(client, name="script") -> str:
    response = await post(client, "/account/keys", {"name": name})
    assert response.status_code == 201
    return soup(await response.get_data(as_text=True)).select_one("#new-key code").text


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


async def test_the_account_page_lists_sessions_and_marks_this_one(app, alice):
    await login(app.test_client(), "alice")
    page = soup(await (await alice.get("/account")).get_data(as_text=True))
    rows = page.select("#sessions tbody tr")
    assert len(rows) == 2
    assert sum("this browser" in row.text for row in rows) == 1


async def test_change_password_ends_the_other_sessions(app, alice):
    other = app.test_client()
    await login(other, "alice")
    response = await post(alice, "/account/password",
                          {"current": "not it at all", "password": "another long secret"})
    assert response.status_code == 403
    response = await post(alice, "/account/password", {"current": PASSWORD, "password": "short"})
    assert response.status_code == 400
    assert "at least 10" in soup(await response.get_data(as_text=True)).select_one(
        "#password-error").text
    response = await post(alice, "/account/password",
                          {"current": PASSWORD, "password": "another long secret"})
    assert response.status_code == 303
    assert (await me(alice))["authenticated"] is True
    assert (await me(other))["authenticated"] is False
    assert (await login(app.test_client(), "alice", "another long secret")).status_code == 200


async def test_ending_another_session_takes_its_access_at_once(app, alice):
    other = app.test_client()
    await login(other, "alice")
    theirs = await UserSession.all().order_by("-id").first()
    assert (await post(alice, f"/account/sessions/{theirs.id}/end")).status_code == 303
    assert (await other.get("/")).status_code == 303
    assert (await me(alice))["authenticated"] is True
    assert (await post(alice, f"/account/sessions/{theirs.id}/end")).status_code == 404


async def test_a_foreign_session_cannot_be_ended(app, alice):
    bob = app.test_client()
    await register(bob, "bob")
    bobs = await UserSession.filter(user__username="bob").first()
    assert (await post(alice, f"/account/sessions/{bobs.id}/end")).status_code == 404
    assert (await me(bob))["authenticated"] is True


async def test_sign_out_everywhere(app, alice):
    other = app.test_client()
    await login(other, "alice")
    response = await post(alice, "/account/sessions/end-all")
    assert response.status_code == 303
    assert await UserSession.all().count() == 0
    assert (await me(alice))["authenticated"] is False
    assert (await me(other))["authenticated"] is False


async def test_an_api_key_is_shown_once_stored_hashed_and_works_without_csrf(app, alice):
    key = await new_key(alice)
    row = await ApiKey.get()
    assert key.startswith(row.prefix + "_") and key not in row.key_hash
    page = await (await alice.get("/account")).get_data(as_text=True)
    assert key not in page and row.prefix in page
    program = app.test_client()
    response = await program.post("/api/chat/sessions/", json={"title": "From a script"},
                                  headers=bearer(key))
    assert response.status_code == 201
    assert "set-cookie" not in {name.lower() for name in response.headers.keys()}
    user = await User.get(username="alice")
    assert (await Conversation.get(title="From a script")).owner == f"u:{user.id}"
    assert (await ApiKey.get()).last_used_at is not None
    listing = await (await alice.get("/api/chat/sessions/")).get_json()
    assert [s["title"] for s in listing["sessions"]] == ["From a script"]


@pytest.mark.parametrize("name", ["", "   ", "k" * 101])
async def test_a_key_needs_a_name(alice, name):
    response = await post(alice, "/account/keys", {"name": name})
    assert response.status_code == 400
    assert await ApiKey.all().count() == 0


async def test_a_revoked_key_stops_at_once(app, alice):
    key = await new_key(alice)
    row = await ApiKey.get()
    assert (await post(alice, f"/account/keys/{row.id}/revoke")).status_code == 303
    response = await app.test_client().get("/api/chat/sessions/", headers=bearer(key))
    assert response.status_code == 401
    assert "revoked" in (await response.get_json())["error"]
    assert (await post(alice, f"/account/keys/{row.id}/revoke")).status_code == 404


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer hc_00000000_forged", "Bearer ",
                                    "bearer hc_" + "x" * 300])
async def test_a_bad_key_is_401_never_a_guest(app, header):
    response = await app.test_client().get("/api/chat/sessions/",
                                           headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_cookie_sessions_still_need_csrf(alice):
    response = await alice.post("/api/chat/sessions/", json={"title": "x"})
    assert response.status_code == 403


async def test_export_has_the_account_and_every_conversation(app, alice):
    key = await new_key(alice)
    await app.test_client().post("/api/chat/sessions/", json={"title": "One"}, headers=bearer(key))
    response = await alice.get("/account/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(await response.get_data()))
    names = archive.namelist()
    assert "account.json" in names and len(names) == 2
    account = json.loads(archive.read("account.json"))
    assert account["account"]["username"] == "alice"
    assert "password_hash" not in account["account"]
    assert all("key_hash" not in k for k in account["api_keys"])
    assert all("token_hash" not in s for s in account["sessions"])


async def test_delete_needs_the_password_then_removes_everything(app, alice):
    await register(app.test_client(), "bob")  # so alice is not the only account
    key = await new_key(alice)
    await app.test_client().post("/api/chat/sessions/", json={"title": "Mine"}, headers=bearer(key))
    assert (await post(alice, "/account/delete", {"password": "wrong wrong wrong"})
            ).status_code == 403
    await User.filter(username="bob").update(role="admin")
    response = await post(alice, "/account/delete", {"password": PASSWORD})
    assert response.status_code == 303
    assert not await User.exists(username="alice")
    assert await Conversation.all().count() == 0
    assert await ApiKey.all().count() == 0
    response = await app.test_client().get("/api/chat/sessions/", headers=bearer(key))
    assert response.status_code == 401
    assert (await me(alice))["authenticated"] is False


async def test_the_last_admin_cannot_delete_their_account(alice):
    response = await post(alice, "/account/delete", {"password": PASSWORD})
    assert response.status_code == 409
    assert await User.exists(username="alice")


async def test_a_guest_has_no_account_page(app):
    assert (await app.test_client().get("/account")).status_code == 401


@pytest.mark.parametrize(("agent", "label"), [
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
     "Safari/537.36", "Chrome on Linux"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0 Safari/537.36 Edg/120.0", "Edge on Windows"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "Safari on iPhone"),
    ("curl/8.5.0", "curl"), ("", "Unknown browser"), (None, "Unknown browser"),
])
def test_sessions_name_their_browser(agent, label):
    from hyperchat.accounts.sessions import browser_label

    assert browser_label(agent) == label
