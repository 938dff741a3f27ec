"""The auth JSON API (/api/v1/auth/...): register, login, logout, me, and every refusal."""

import pytest

from hyperchat.store.schema import AccountRole, AccountStatus, Conversation, User, UserSession
from tests.accounts_helpers import PASSWORD, login, me, register, token_of


async def test_first_account_is_an_active_admin_and_is_signed_in(client):
    response = await register(client, "Alice", email="alice@example.org")
    assert response.status_code == 201
    body = await response.get_json()
    assert body["user"]["username"] == "Alice"
    assert body["user"]["role"] == "admin" and body["signed_in"] is True
    who = await me(client)
    assert who["authenticated"] and who["user"]["username"] == "Alice"
    assert await UserSession.all().count() == 1


async def test_later_accounts_are_users(app, client):
    await register(client, "alice")
    response = await register(app.test_client(), "bob")
    assert (await response.get_json())["user"]["role"] == "user"


@pytest.mark.parametrize("name", ["Alice", "alice", "ALICE", "ＡＬＩＣＥ", "ａｌｉｃｅ"])
async def test_a_name_taken_in_any_case_or_width_is_refused(app, client, name):
    await register(client, "alice")
    response = await register(app.test_client(), name)
    assert response.status_code == 409
    body = await response.get_json()
    assert body == {"ok": False, "error": "That username is taken.", "field": "username"}
    assert await User.all().count() == 1


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"username": ""}, "username", "Choose a username."),
    ({"username": "   "}, "username", "Choose a username."),
    ({"username": "a" * 33}, "username", "at most 32"),
    ({"username": "has space"}, "username", "letters, digits"),
    ({"username": "semi;colon"}, "username", "letters, digits"),
    ({"password": ""}, "password", "at least 10"),
    ({"password": "short"}, "password", "at least 10"),
    ({"password": "x" * 1025}, "password", "at most 1024"),
    ({"password": "Password123"}, "password", "most common"),
    ({"username": "longusername", "password": "LongUserName"}, "password",
     "cannot be the username"),
    ({"email": "not-an-email"}, "email", "does not look right"),
    ({"email": "a@" + "b" * 260 + ".org"}, "email", "does not look right"),
])
async def test_bad_fields_are_refused_with_the_field_named(client, fields, field, message):
    payload = {"username": "carol", "password": PASSWORD, **fields}
    response = await register(client, payload.pop("username"), payload.pop("password"), **payload)
    assert response.status_code == 400
    body = await response.get_json()
    assert body["field"] == field and message in body["error"]
    assert await User.all().count() == 0


async def test_a_long_password_is_kept_whole_not_truncated(app, client):
    long = "p" * 100 + "A"
    await register(client, "dave", long)
    other = app.test_client()
    assert (await login(other, "dave", "p" * 100 + "B")).status_code == 401
    assert (await login(other, "dave", long)).status_code == 200


async def test_non_string_fields_are_a_bad_request(client):
    await client.get("/")
    response = await client.post("/api/v1/auth/register", json={"username": 5, "password": []},
                                 headers={"X-CSRF-Token": await token_of(client)})
    assert response.status_code == 400
    response = await client.post("/api/v1/auth/login", json=["x"],
                                 headers={"X-CSRF-Token": await token_of(client)})
    assert response.status_code == 400


async def test_login_logout_and_me(app, client):
    await register(client, "alice")
    other = app.test_client()
    assert (await me(other))["authenticated"] is False
    response = await login(other, "ALICE")
    assert response.status_code == 200
    assert (await me(other))["user"]["username"] == "alice"
    response = await other.post("/api/v1/auth/logout",
                                headers={"X-CSRF-Token": await token_of(other)})
    assert response.status_code == 200
    assert (await me(other))["authenticated"] is False
    assert await UserSession.all().count() == 1  # only the first client's


@pytest.mark.parametrize(("username", "password"), [
    ("alice", "wrong password!!"), ("nobody", PASSWORD), ("", ""), ("alice", "")])
async def test_wrong_name_or_password_get_one_answer(app, client, username, password):
    await register(client, "alice")
    response = await login(app.test_client(), username, password)
    assert response.status_code == 401
    assert (await response.get_json())["error"] == "Wrong username or password."


async def test_a_new_session_id_at_every_sign_in(app, client):
    await register(client, "alice")
    other = app.test_client()
    await login(other, "alice")
    async with other.session_transaction() as session:
        first = session["account"]
    await login(other, "alice")
    async with other.session_transaction() as session:
        second = session["account"]
    assert first != second
    assert await UserSession.all().count() == 2  # the first client's and the new one


@pytest.mark.config(SIGNUP_POLICY="approval")
async def test_pending_and_disabled_accounts_cannot_sign_in(app, client):
    await register(client, "admin")
    response = await register(app.test_client(), "pat")
    body = await response.get_json()
    assert response.status_code == 201 and body["pending"] is True and body["signed_in"] is False
    response = await login(app.test_client(), "pat")
    assert response.status_code == 403 and "approval" in (await response.get_json())["error"]
    await User.filter(username="pat").update(status=AccountStatus.DISABLED)
    response = await login(app.test_client(), "pat")
    assert response.status_code == 403 and "disabled" in (await response.get_json())["error"]


@pytest.mark.config(SIGNUP_POLICY="closed")
async def test_closed_sign_up_refuses_all_but_the_first(app, client):
    assert (await register(client, "root")).status_code == 201
    response = await register(app.test_client(), "eve")
    assert response.status_code == 403 and "closed" in (await response.get_json())["error"]
    assert await User.filter(role=AccountRole.ADMIN).count() == 1


async def test_login_without_csrf_token_is_forbidden(app, client):
    await register(client, "alice")
    other = app.test_client()
    await other.get("/")
    response = await other.post("/api/v1/auth/login",
                                json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert (await me(other))["authenticated"] is False


@pytest.mark.parametrize(("username", "password"), [("a" * 500, PASSWORD), ("alice", "x" * 5000)])
async def test_over_long_sign_in_fields_are_refused_without_hashing(app, client, username,
                                                                     password):
    await register(client, "alice")
    response = await login(app.test_client(), username, password)
    assert response.status_code == 401
    assert (await response.get_json())["error"] == "Wrong username or password."


async def test_signing_in_as_another_account_moves_nothing(app, client):
    await register(client, "alice")
    await client.post("/api/chat/sessions/", json={"title": "Alice's"},
                      headers={"X-CSRF-Token": await token_of(client)})
    await register(app.test_client(), "bob")
    assert (await login(client, "bob")).status_code == 200
    assert (await me(client))["user"]["username"] == "bob"
    assert (await (await client.get("/api/chat/sessions/")).get_json())["sessions"] == []
    alice = await User.get(username="alice")
    assert (await Conversation.get(title="Alice's")).owner == f"u:{alice.id}"


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("GUEST_MODE", "false", False), ("GUEST_MODE", "yes", True),
    ("HYPERCHAT_GUEST_MODE", "0", False), ("SIGNUP_POLICY", "Approval", "approval"),
    ("REMEMBER_ME_DAYS", "7", 7.0)])
def test_account_settings_come_from_the_environment(monkeypatch, variable, value, expected):
    from hyperchat import create_app

    monkeypatch.setenv(variable, value)
    name = variable.removeprefix("HYPERCHAT_")
    assert create_app({"SECRET_KEY": "x"}).config[name] == expected


@pytest.mark.parametrize(("variable", "value"), [("GUEST_MODE", "maybe"),
                                                 ("SIGNUP_POLICY", "sometimes")])
def test_a_bad_account_setting_stops_the_app(monkeypatch, variable, value):
    from hyperchat import create_app
    from hyperchat.config import ConfigError

    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        create_app({"SECRET_KEY": "x"})
