"""The admin page: the list with usage, create, approve, disable, reset links, roles, and the
last admin kept."""

import pytest

from hyperchat.accounts import api_keys
from hyperchat.store.schema import AccountRole, AccountStatus, UsageRecord, User, UserSession
from tests.accounts_helpers import PASSWORD, login, me, register, token_of
from tests.helpers import soup


async def post(client, path, data=None):
    return await client.post(path, form={**(data or {}), "csrf_token": await token_of(client)})


@pytest.fixture
async def admin(app, client):
    await register(client, "root")
    return client


async def user(app, name="bob"):
    other = app.test_client()
    await register(other, name)
    return other, await User.get(username=name)


async def test_the_list_shows_every_account_with_its_usage(app, admin):
    _, bob = await user(app)
    await UsageRecord.create(owner=f"u:{bob.id}", model="m", total_tokens=1234, cost="0.5")
    await UsageRecord.create(owner=f"u:{bob.id}", model="m", total_tokens=1000, cost="0.25")
    page = soup(await (await admin.get("/admin")).get_data(as_text=True))
    row = page.select_one(f'#accounts tr[data-user-id="{bob.id}"]')
    cells = [td.text.strip() for td in row.select("td")]
    assert cells[:5] == ["user", "active", "2", "2,234", "$0.75"]
    assert page.select_one("#accounts tr th .badge").text == "you"


async def test_only_admins_open_the_admin_page(app, admin):
    bob_client, _ = await user(app)
    assert (await bob_client.get("/admin")).status_code == 403
    assert (await post(bob_client, "/admin/users", {"username": "x", "password": PASSWORD})
            ).status_code == 403
    guest = app.test_client()
    assert (await guest.get("/admin")).status_code == 401


@pytest.mark.config(SIGNUP_POLICY="approval")
async def test_approve_lets_a_pending_account_sign_in(app, admin):
    await register(app.test_client(), "pat")
    pat = await User.get(username="pat")
    assert pat.status == AccountStatus.PENDING
    assert (await login(app.test_client(), "pat")).status_code == 403
    response = await post(admin, f"/admin/users/{pat.id}/status", {"status": "active"})
    assert response.status_code == 303
    assert (await login(app.test_client(), "pat")).status_code == 200


async def test_disable_stops_sessions_and_keys_at_once(app, admin):
    bob_client, bob = await user(app)
    _, key = await api_keys.create(bob, "script")
    keyed = app.test_client()
    assert (await keyed.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"})
            ).status_code == 200
    await post(admin, f"/admin/users/{bob.id}/status", {"status": "disabled"})
    assert (await me(bob_client))["authenticated"] is False
    assert await UserSession.filter(user_id=bob.id).count() == 0
    response = await keyed.get("/api/chat/sessions/", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401
    await post(admin, f"/admin/users/{bob.id}/status", {"status": "active"})
    response = await keyed.get("/api/chat/sessions/", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200


async def test_the_last_admin_can_be_neither_demoted_nor_disabled(app, admin):
    root = await User.get(username="root")
    response = await post(admin, f"/admin/users/{root.id}/role", {"role": "user"})
    assert response.status_code == 409
    assert "last admin" in soup(await response.get_data(as_text=True)).select_one(
        ".form-error").text
    assert (await post(admin, f"/admin/users/{root.id}/status", {"status": "disabled"})
            ).status_code == 409
    _, bob = await user(app)
    assert (await post(admin, f"/admin/users/{bob.id}/role", {"role": "admin"})).status_code == 303
    assert (await post(admin, f"/admin/users/{root.id}/role", {"role": "user"})).status_code == 303
    assert (await User.get(id=root.id)).role == AccountRole.USER


@pytest.mark.parametrize(("path", "data"), [("role", {"role": "owner"}),
                                            ("status", {"status": "pending"}),
                                            ("status", {})])
async def test_bad_role_or_status_is_refused(app, admin, path, data):
    _, bob = await user(app)
    assert (await post(admin, f"/admin/users/{bob.id}/{path}", data)).status_code == 400


async def test_unknown_account_is_404(admin):
    assert (await post(admin, "/admin/users/999/status", {"status": "active"})).status_code == 404
    assert (await post(admin, "/admin/users/999/reset")).status_code == 404


async def test_a_reset_link_is_shown_once_works_once_and_ends_sessions(app, admin):
    bob_client, bob = await user(app)
    response = await post(admin, f"/admin/users/{bob.id}/reset")
    link = soup(await response.get_data(as_text=True)).select_one("#reset-link code").text
    path = link.split("//", 1)[1].split("/", 1)[1]
    stranger = app.test_client()
    page = await stranger.get("/" + path)
    assert page.status_code == 200
    response = await post(stranger, "/" + path, {"password": "short"})
    assert response.status_code == 400
    response = await post(stranger, "/" + path, {"password": "a brand new secret"})
    assert response.status_code == 303
    assert (await me(bob_client))["authenticated"] is False
    assert (await login(app.test_client(), "bob", "a brand new secret")).status_code == 200
    assert (await stranger.get("/" + path)).status_code == 404


async def test_the_reset_link_works_without_guest_mode(app, admin):
    _, bob = await user(app)
    link = soup(await (await post(admin, f"/admin/users/{bob.id}/reset")).get_data(
        as_text=True)).select_one("#reset-link code").text
    app.app.config["GUEST_MODE"] = False
    assert (await app.test_client().get("/" + link.split("/", 3)[3])).status_code == 200


@pytest.mark.config(SIGNUP_POLICY="closed")
async def test_admins_create_accounts_when_sign_up_is_closed(app, admin):
    assert (await register(app.test_client(), "eve")).status_code == 403
    response = await post(admin, "/admin/users",
                          {"username": "Eve", "password": PASSWORD, "admin": "1"})
    assert response.status_code == 303
    eve = await User.get(username="Eve")
    assert eve.role == AccountRole.ADMIN and eve.status == AccountStatus.ACTIVE
    response = await post(admin, "/admin/users", {"username": "EVE", "password": PASSWORD})
    assert response.status_code == 409
