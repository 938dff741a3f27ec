"""Server-side sign-in sessions: the cookie carries a random token, the database its sha256.

A new token at every sign-in (no fixation); ending a session deletes its row, which every
worker sees at that browser's next request. One query per request finds the session and its
account together (`lookup`); `last_seen_at` is written at most once a minute.
"""

import secrets
from datetime import UTC, datetime, timedelta

from hyperchat.accounts.lookup import with_account
from hyperchat.accounts.users import token_hash
from hyperchat.store.schema import AccountStatus, User, UserSession

SEEN_EVERY = timedelta(minutes=1)


def lifetime(config, remember: bool) -> timedelta:
    if remember:
        return timedelta(days=float(config["REMEMBER_ME_DAYS"]))
    return timedelta(hours=float(config["SESSION_HOURS"]))


async def start(config, user: User, remember: bool, client_ip: str | None,
                user_agent: str | None) -> str:
    """Open a session for `user`; return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    await UserSession.create(token_hash=token_hash(token), user=user, remember=remember,
                             expires_at=datetime.now(UTC) + lifetime(config, remember),
                             client_ip=client_ip, user_agent=(user_agent or "")[:500] or None)
    return token


async def lookup(token: str) -> UserSession | None:
    """The live session for a cookie's token, its account loaded; None when it was ended,
    has expired, or its account is no longer active."""
    found = await with_account(UserSession, "token_hash", token_hash(token))
    now = datetime.now(UTC)
    if found is None or found.expires_at <= now or found.user.status != AccountStatus.ACTIVE:
        return None
    if now - found.last_seen_at > SEEN_EVERY:
        found.last_seen_at = now
        await UserSession.filter(id=found.id).update(last_seen_at=now)
    return found


async def end(token: str) -> None:
    await UserSession.filter(token_hash=token_hash(token)).delete()


async def end_all(user: User, keep_id: int | None = None) -> int:
    """End every session of `user` but `keep_id`; return how many ended."""
    query = UserSession.filter(user_id=user.id)
    if keep_id is not None:
        query = query.exclude(id=keep_id)
    return await query.delete()


async def purge_expired() -> int:
    return await UserSession.filter(expires_at__lte=datetime.now(UTC)).delete()


# Most specific first: Edge and Opera say "Chrome" too, Chrome says "Safari".
BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
            ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"),
            ("curl/", "curl"), ("python-", "Python"))
SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
           ("Windows", "Windows"), ("Mac OS X", "macOS"), ("Linux", "Linux"))


def browser_label(user_agent: str | None) -> str:
    """A session's browser as a person names it ("Firefox on Linux"), for the account page."""
    agent = user_agent or ""
    browser = next((name for mark, name in BROWSERS if mark in agent), None)
    system = next((name for mark, name in SYSTEMS if mark in agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (agent[:40] if agent else "Unknown browser")
