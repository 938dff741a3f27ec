"""The sign-in, sign-up and sign-out pages, `?next=`, guest mode off, and a guest's data
carried into the account."""

import pytest

from hyperchat.accounts import merge
from hyperchat.store.schema import (
    ActionLog,
    Budget,
    Conversation,
    MessageFeedback,
    UsageRecord,
    User,
    UserSession,
)
from tests.accounts_helpers import PASSWORD, login, me, register, token_of
from tests.helpers import csrf, finished, owner_of, send, soup


async def form_post(client, path, data, token=None):
    token = token if token is not None else await csrf(client)
    return await client.post(path, form={**data, "csrf_token": token})


async def test_sign_up_page_creates_and_signs_in_then_follows_next(client):
    page = soup(await (await client.get("/sign-up?next=/usage")).get_data(as_text=True))
    form = page.select_one("form.auth-form")
    assert form["action"] == "/sign-up?next=/usage"
    assert page.select_one("#username").has_attr("autofocus")
    response = await form_post(client, form["action"],
                               {"username": "alice", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/usage"
    assert (await me(client))["user"]["username"] == "alice"


async def test_sign_up_page_shows_the_error_and_keeps_the_name(client):
    response = await form_post(client, "/sign-up", {"username": "bob", "password": "short"})
    assert response.status_code == 400
    page = soup(await response.get_data(as_text=True))
    assert "at least 10" in page.select_one("#form-error").text
    assert page.select_one("#username")["value"] == "bob"
    assert await User.all().count() == 0


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                                    "javascript:alert(1)", "http:/evil", "/%0d%0aSet-Cookie:x"])
async def test_next_pointing_to_another_site_is_not_followed(client, target):
    await register(client, "alice")
    await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": await token_of(client)})
    response = await form_post(client, "/sign-in?next=" + target,
                               {"username": "alice", "password": PASSWORD})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//")
    assert "evil" not in location or location.startswith("/%")


async def test_sign_in_page_wrong_password_answers_401_without_saying_which(client):
    await register(client, "alice")
    await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": await token_of(client)})
    response = await form_post(client, "/sign-in",
                               {"username": "alice", "password": "nope nope nope"})
    assert response.status_code == 401
    page = soup(await response.get_data(as_text=True))
    assert page.select_one("#form-error").text == "Wrong username or password."
    assert page.select_one("#password").get("value") is None


@pytest.mark.parametrize("path", ["/sign-in", "/sign-up", "/sign-out"])
@pytest.mark.parametrize("token", [None, "", "forged"])
async def test_forms_without_the_csrf_token_are_forbidden(client, path, token):
    await register(client, "alice")
    await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": await token_of(client)})
    data = {"username": "alice", "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = await client.post(path, form=data)
    assert response.status_code == 403
    assert (await me(client))["authenticated"] is False


async def test_sign_out_ends_the_session_on_the_server(client):
    await register(client, "alice")
    async with client.session_transaction() as session:
        stolen = session["account"]
    response = await form_post(client, "/sign-out", {})
    assert response.status_code == 303
    assert await UserSession.all().count() == 0
    assert (await me(client))["authenticated"] is False
    async with client.session_transaction() as session:  # a replayed old cookie
        session["account"] = stolen
    assert (await me(client))["authenticated"] is False


async def test_the_sidebar_names_the_account_or_offers_to_sign_in(client):
    page = soup(await (await client.get("/")).get_data(as_text=True))
    assert page.select_one("#who .who-name").text == "Guest"
    assert page.select_one('#who a[href^="/sign-in"]')
    await register(client, "alice")
    page = soup(await (await client.get("/")).get_data(as_text=True))
    assert page.select_one("#who .who-name").text.startswith("alice")
    assert page.select_one('#who form[action="/sign-out"]')


async def test_an_ended_session_sends_the_page_to_sign_in(app, client):
    await register(client, "alice")
    await UserSession.all().delete()
    response = await client.get("/usage")
    assert response.status_code == 303
    assert response.headers["Location"] == "/sign-in?next=/usage"
    page = soup(await (await client.get(response.headers["Location"])).get_data(as_text=True))
    assert "session has ended" in page.select_one(".notice").text
    # The browser starts over as a new guest, with none of the account's chats.
    assert (await me(client))["authenticated"] is False


async def test_an_ended_session_gets_401_from_the_json_api(client):
    await register(client, "alice")
    await UserSession.all().delete()
    response = await client.get("/api/chat/sessions/", headers={"Accept": "application/json"})
    assert response.status_code == 401


# ------------------------------------------------------------------ guest mode off


@pytest.mark.parametrize("path", ["/", "/usage", "/analytics", "/account", "/c/1"])
@pytest.mark.config(GUEST_MODE=False)
async def test_without_guest_mode_pages_lead_to_sign_in(app, path):
    client = app.test_client()
    response = await client.get(path)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/sign-in?next=")


@pytest.mark.config(GUEST_MODE=False)
async def test_without_guest_mode_sign_in_health_and_shares_stay_open(app):
    client = app.test_client()
    assert (await client.get("/sign-in")).status_code == 200
    assert (await client.get("/sign-up")).status_code == 200
    assert (await client.get("/health")).status_code in (200, 503)
    assert (await client.get("/share/doesnotexist")).status_code == 404
    response = await client.post("/messages", headers={"HX-Request": "true"},
                                 form={"content": "x", "csrf_token": await token_of(client)})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/sign-in")
    await register(client, "alice")
    assert (await client.get("/")).status_code == 200


# ------------------------------------------------------------------ the guest's data


async def guest_with_everything(client, fake_upstream, text="hello"):
    """A guest conversation with a reply, its usage record, feedback, audit and a budget."""
    token = await csrf(client)
    await send(client, text, token=token)
    conversation = await Conversation.filter(title__not="").order_by("-id").first()
    reply = await finished((await conversation.messages.filter(role="assistant").first()).id)
    await client.post(f"/rate_message/{reply.id}", json={"rating": 1},
                      headers={"X-CSRF-Token": token})
    await client.post("/usage/budget", form={"daily_tokens": "5000", "csrf_token": token})
    return conversation


async def counts(owner):
    return {model.__name__: await model.filter(owner=owner).count()
            for model in (Conversation, UsageRecord, MessageFeedback, ActionLog, Budget)}


async def test_sign_up_carries_the_guests_chats_and_records(client, fake_upstream):
    await guest_with_everything(client, fake_upstream)
    guest = await owner_of(client)
    before = await counts(guest)
    assert before["Conversation"] == 1 and before["UsageRecord"] == 1
    assert before["MessageFeedback"] == 1 and before["ActionLog"] >= 1 and before["Budget"] == 1
    await register(client, "alice")
    user = await User.get(username="alice")
    assert await counts(f"u:{user.id}") == before
    assert set((await counts(guest)).values()) == {0}
    listing = await (await client.get("/api/chat/sessions/")).get_json()
    assert len(listing["sessions"]) == 1


async def test_sign_in_adds_the_guests_chats_to_the_accounts_own(app, client, fake_upstream):
    await register(client, "alice")
    await guest_with_everything(client, fake_upstream, "as alice")
    await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": await token_of(client)})
    await guest_with_everything(client, fake_upstream, "as a guest")
    user = await User.get(username="alice")
    owner = f"u:{user.id}"
    account_before, guest_before = await counts(owner), await counts(await owner_of(client))
    total = await Conversation.all().count()
    await login(client, "alice")
    after = await counts(owner)
    assert after["Conversation"] == (account_before["Conversation"]
                                     + guest_before["Conversation"]) == 2
    assert after["UsageRecord"] == 2 and after["MessageFeedback"] == 2
    assert after["Budget"] == 1  # the account's own budget wins; the guest's is dropped
    assert await Conversation.all().count() == total  # nothing copied


async def test_a_merge_failing_midway_leaves_both_sides_as_they_were(client, fake_upstream,
                                                                     monkeypatch):
    await guest_with_everything(client, fake_upstream)
    guest = await owner_of(client)
    before = await counts(guest)
    original = merge.owned_models

    def failing():
        # The last table raises after the others were updated inside the transaction.
        models = original()

        class Broken:
            _meta = models[-1]._meta

            @staticmethod
            def filter(**_):
                raise RuntimeError("disk full")

        return [*models[:-1], Broken]

    monkeypatch.setattr(merge, "owned_models", failing)
    response = await register(client, "alice")
    assert response.status_code == 500
    assert await counts(guest) == before
    # The sign-up is undone with it: trying again later finds the name free.
    assert await User.all().count() == 0
    assert (await me(client))["authenticated"] is False


async def test_usage_analytics_and_the_audit_log_name_the_account(client, fake_upstream):
    conversation = await guest_with_everything(client, fake_upstream)
    page = soup(await (await client.get("/usage")).get_data(as_text=True))
    assert page.select_one("#whose").text.startswith("Guest")
    await register(client, "alice")
    for path in ("/usage", "/analytics", f"/c/{conversation.id}/activity"):
        page = soup(await (await client.get(path)).get_data(as_text=True))
        assert page.select_one("#whose strong").text == "alice", path
    page = soup(await (await client.get(f"/c/{conversation.id}/activity")).get_data(
        as_text=True))
    assert {td.text for td in page.select("td.activity-by")} == {"alice"}


async def test_a_guests_shared_chat_stays_shared_after_sign_up(client, fake_upstream):
    conversation = await guest_with_everything(client, fake_upstream)
    token = await csrf(client)
    assert (await client.post(f"/c/{conversation.id}/share", form={"csrf_token": token},
                              headers={"HX-Request": "true"})).status_code == 200
    share_id = (await Conversation.get(id=conversation.id)).share_id
    await register(client, "alice")
    assert (await client.get(f"/share/{share_id}")).status_code == 200
    assert (await client.get(f"/c/{conversation.id}/share")).status_code == 200


@pytest.mark.parametrize("remember", [True, False])
async def test_remember_me_sets_how_long_the_sign_in_lasts(app, client, remember):
    await register(client, "alice")
    await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": await token_of(client)})
    data = {"username": "alice", "password": PASSWORD}
    if remember:
        data["remember"] = "1"
    response = await form_post(client, "/sign-in", data)
    cookie = response.headers["Set-Cookie"]
    assert ("Expires=" in cookie) is remember  # else a cookie that ends with the browser
    row = await UserSession.all().order_by("-id").first()
    days = (row.expires_at - row.created_at).total_seconds() / 86400
    assert round(days, 2) == (30 if remember else 1)


async def test_an_expired_session_is_signed_out(client):
    from datetime import UTC, datetime, timedelta

    await register(client, "alice")
    await UserSession.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (await me(client))["authenticated"] is False


@pytest.mark.config(SIGNUP_POLICY="approval")
async def test_the_sign_up_form_under_approval_and_closed(app, client):
    await register(client, "root")
    other = app.test_client()
    response = await form_post(other, "/sign-up", {"username": "pat", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"].startswith("/sign-in")
    page = soup(await (await other.get(response.headers["Location"])).get_data(as_text=True))
    assert "waits for an admin's approval" in page.select_one(".notice").text
    assert (await me(other))["authenticated"] is False
    app.app.config["SIGNUP_POLICY"] = "closed"
    page = soup(await (await other.get("/sign-up")).get_data(as_text=True))
    assert page.select_one("#closed") and not page.select_one("form.auth-form")
    response = await form_post(other, "/sign-up", {"username": "eve", "password": PASSWORD})
    assert response.status_code == 403
    assert "closed" in soup(await response.get_data(as_text=True)).select_one("#form-error").text
