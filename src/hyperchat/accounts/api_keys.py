"""API keys: `Authorization: Bearer hc_<prefix>_<secret>`, for programs.

Stored as sha256 (the key is 256 random bits; a slow hash would only slow every request),
with the visible prefix to tell keys apart. Every request looks its key up, so a revoked key,
a disabled account or a deleted one stops at once on every worker. `last_used_at` is written
at most once a minute.
"""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from hyperchat.accounts.lookup import with_account
from hyperchat.store.schema import AccountStatus, ApiKey, User

NAME_MAX = 100
USED_EVERY = timedelta(minutes=1)
SCHEME = "hc_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create(user: User, name: str) -> tuple[ApiKey, str]:
    """Make a key; return its row and the key itself, which is shown this once."""
    prefix = SCHEME + secrets.token_hex(4)
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    row = await ApiKey.create(user=user, name=name, prefix=prefix, key_hash=_hash(key))
    return row, key


async def authenticate(key: str) -> ApiKey | None:
    """The live key row (its account loaded) for a Bearer key, or None."""
    if not key.startswith(SCHEME) or len(key) > 200:
        return None
    found = await with_account(ApiKey, "key_hash", _hash(key))
    if found is None or found.revoked_at is not None \
            or found.user.status != AccountStatus.ACTIVE:
        return None
    now = datetime.now(UTC)
    if found.last_used_at is None or now - found.last_used_at > USED_EVERY:
        found.last_used_at = now
        await ApiKey.filter(id=found.id).update(last_used_at=now)
    return found


async def revoke(user: User, key_id: int) -> bool:
    revoked = await ApiKey.filter(id=key_id, user_id=user.id, revoked_at=None).update(
        revoked_at=datetime.now(UTC))
    return revoked > 0
