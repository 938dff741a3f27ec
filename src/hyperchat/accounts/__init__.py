"""Accounts: who a person is when they are more than a guest.

An account owns rows through the same `owner` columns a guest's random id fills, as the
string "u:<id>" (`owner_of`). A guest id (`secrets.token_urlsafe`) never contains ":", so the
two cannot collide; every existing query and index keeps working unchanged; and moving a
guest's data into an account is one UPDATE per table (merge.py).
"""

from hyperchat.store.schema import User

OWNER_PREFIX = "u:"


def owner_of(user) -> str:
    """The owner string an account's rows carry."""
    return f"{OWNER_PREFIX}{user.id}"


def is_account_owner(owner: str) -> bool:
    return owner.startswith(OWNER_PREFIX)


async def account_names(owners) -> dict[str, str]:
    """The usernames behind a set of owner strings, in one query; guests are left out."""
    ids = [int(o.removeprefix(OWNER_PREFIX)) for o in owners
           if is_account_owner(o) and o.removeprefix(OWNER_PREFIX).isdigit()]
    if not ids:
        return {}
    return {f"{OWNER_PREFIX}{row['id']}": row["username"]
            for row in await User.filter(id__in=ids).values("id", "username")}
