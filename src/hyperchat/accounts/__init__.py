"""Accounts: who a person is when they are more than a guest.

An account owns rows through the same `owner` columns a guest's random id fills, as the
string "u:<id>" (`owner_of`). A guest id (`secrets.token_urlsafe`) never contains ":", so the
two cannot collide; every existing query and index keeps working unchanged; and moving a
guest's data into an account is one UPDATE per table (merge.py).
"""

OWNER_PREFIX = "u:"


def owner_of(user) -> str:
    """The owner string an account's rows carry."""
    return f"{OWNER_PREFIX}{user.id}"


def is_account_owner(owner: str) -> bool:
    return owner.startswith(OWNER_PREFIX)
