"""Sign-in attempts limited per account name and per address, with growing delays.

After `SIGN_IN_FREE_FAILURES` failures (per name; four times as many per address, which
many people may share) each further failure locks that key for twice as long as the last,
from `SIGN_IN_LOCK_SECONDS` up to `SIGN_IN_MAX_LOCK_SECONDS`. Counts live in the database,
so every worker sees the same ones; a key quiet for `SIGN_IN_FORGET_SECONDS` starts over.
Names are counted whether or not the account exists, so a lock reveals nothing.
"""

import math
from datetime import UTC, datetime, timedelta

from tortoise.expressions import F, Q

from hyperchat.store.schema import SignInThrottle


class Locked(Exception):
    def __init__(self, retry_after: float):
        super().__init__(retry_after)
        self.retry_after = max(1, math.ceil(retry_after))


def keys(username_key: str, address: str) -> list[tuple[str, int]]:
    return [(f"name:{username_key}", 1), (f"address:{address}", 4)]


async def check(config, username_key: str, address: str) -> None:
    """Raise Locked while either key is locked."""
    now = datetime.now(UTC)
    rows = await SignInThrottle.filter(
        key__in=[key for key, _ in keys(username_key, address)], locked_until__gt=now)
    if rows:
        raise Locked(max((row.locked_until - now).total_seconds() for row in rows))


async def failed(config, username_key: str, address: str) -> None:
    now = datetime.now(UTC)
    forget = timedelta(seconds=float(config["SIGN_IN_FORGET_SECONDS"]))
    for key, scale in keys(username_key, address):
        row, created = await SignInThrottle.get_or_create(key=key, defaults={"failures": 0})
        if not created and row.updated_at < now - forget:
            row.failures = 0
            await row.save(update_fields=["failures", "updated_at"])
        await SignInThrottle.filter(key=key).update(failures=F("failures") + 1, updated_at=now)
        await row.refresh_from_db(fields=["failures"])
        free = int(config["SIGN_IN_FREE_FAILURES"]) * scale
        if row.failures >= free:
            seconds = min(float(config["SIGN_IN_LOCK_SECONDS"]) * 2 ** (row.failures - free),
                          float(config["SIGN_IN_MAX_LOCK_SECONDS"]))
            await SignInThrottle.filter(key=key).update(
                locked_until=now + timedelta(seconds=seconds), updated_at=now)


async def succeeded(username_key: str) -> None:
    """A right password clears its name's count (not the address's: one good account must
    not let an address go on guessing others)."""
    await SignInThrottle.filter(key=f"name:{username_key}").delete()


async def forget_quiet(after: timedelta = timedelta(days=1)) -> int:
    """Drop counts with no failure for a day and no lock left (the hourly purge)."""
    now = datetime.now(UTC)
    return await SignInThrottle.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lte=now),
        updated_at__lt=now - after).delete()
