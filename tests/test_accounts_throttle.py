"""Brute force: sign-ins limited per name and per address with growing locks, one answer
whether the name exists or not, and hashes redone when the Argon2 parameters change."""

from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher

from hyperchat.store.schema import SignInThrottle, User
from tests.accounts_helpers import PASSWORD, login, register


async def unlock():
    """Let the current locks run out (as time would)."""
    await SignInThrottle.all().update(locked_until=datetime.now(UTC) - timedelta(seconds=1))


async def test_a_name_locks_after_the_free_failures_and_each_lock_is_longer(app, client):
    await register(client, "alice")
    attacker = app.test_client()
    for _ in range(4):
        assert (await login(attacker, "alice", "guess guess 1")).status_code == 401
    assert (await login(attacker, "alice", "guess guess 5")).status_code == 401  # 5th: locks
    response = await login(attacker, "alice", PASSWORD)  # even the right one, while locked
    assert response.status_code == 429
    first = int(response.headers["Retry-After"])
    assert "Too many failed sign-ins" in (await response.get_json())["error"]
    await unlock()
    assert (await login(attacker, "alice", "guess guess 6")).status_code == 401
    second = int((await login(attacker, "alice", PASSWORD)).headers["Retry-After"])
    assert second > first
    await unlock()
    assert (await login(attacker, "alice", PASSWORD)).status_code == 200
    assert not await SignInThrottle.exists(key="name:alice")  # a success clears the name


async def test_a_name_that_does_not_exist_locks_the_same_way(app, client):
    for _ in range(5):
        response = await login(client, "nobody", "guess guess 1")
        assert response.status_code == 401
        assert (await response.get_json())["error"] == "Wrong username or password."
    assert (await login(client, "nobody", "guess guess 1")).status_code == 429


async def test_the_name_is_counted_in_its_normalized_form(app, client):
    await register(client, "alice")
    attacker = app.test_client()
    for name in ("Alice", "ALICE", "ａｌｉｃｅ", "alice", " alice "):
        await login(attacker, name, "guess guess 1")
    assert (await login(attacker, "alice", PASSWORD)).status_code == 429


async def test_an_address_locks_after_many_names(app, client):
    await register(client, "alice")
    attacker = app.test_client()
    for n in range(20):
        assert (await login(attacker, f"user{n}", "guess guess 1")).status_code == 401
    response = await login(attacker, "alice", PASSWORD)
    assert response.status_code == 429


async def test_a_missing_account_still_costs_one_argon2_verification(app, client, monkeypatch):
    await register(client, "alice")
    calls = []
    original = PasswordHasher.verify

    def counting(self, hash, password):
        calls.append(hash)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    await login(app.test_client(), "alice", "wrong wrong wrong")
    await login(app.test_client(), "nobody", "wrong wrong wrong")
    assert len(calls) == 2
    assert all(h.startswith("$argon2id$") for h in calls)
    assert calls[0] != calls[1]  # the second is the dummy hash


async def test_sign_in_redoes_the_hash_when_the_parameters_change(app, client):
    await register(client, "alice")
    before = (await User.get(username="alice")).password_hash
    assert "t=1," in before
    app.app.config["ARGON2_TIME_COST"] = 2
    assert (await login(app.test_client(), "alice")).status_code == 200
    after = (await User.get(username="alice")).password_hash
    assert "t=2," in after and after != before
    assert (await login(app.test_client(), "alice")).status_code == 200


async def test_the_hourly_purge_drops_expired_sessions_and_quiet_counts(app, client):
    from hyperchat.accounts import sessions, throttle
    from hyperchat.store.schema import UserSession

    await register(client, "alice")
    for n in range(2):
        await login(app.test_client(), f"nobody{n}", "guess guess 1")
    past = datetime.now(UTC) - timedelta(days=2)
    await SignInThrottle.filter(key="name:nobody0").update(updated_at=past)
    await UserSession.all().update(expires_at=past)
    assert await sessions.purge_expired() == 1
    assert await throttle.forget_quiet() == 1
    assert await SignInThrottle.exists(key="name:nobody1")
