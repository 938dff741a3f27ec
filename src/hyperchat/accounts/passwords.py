"""Password rules and Argon2id hashing (argon2-cffi).

Argon2 takes the whole password (no 72-byte cut as with bcrypt), so the only upper bound is
an explicit one that refuses, never truncates. Hashing and verifying run in a thread: each
takes tens of milliseconds of CPU and memory on purpose, which must not stall the event loop.
"""

import asyncio
import functools
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MAX_LENGTH = 1024
COMMON = frozenset(
    line.strip().casefold()
    for line in (Path(__file__).with_name("common_passwords.txt").read_text().splitlines())
    if line.strip() and not line.startswith("#"))


class PasswordRejected(ValueError):
    """A new password that breaks a rule; the message says which."""


def check_rules(password: str, min_length: int, username: str = "") -> None:
    if len(password) < min_length:
        raise PasswordRejected(f"The password needs at least {min_length} characters.")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"The password can have at most {MAX_LENGTH} characters.")
    if password.casefold() in COMMON:
        raise PasswordRejected("That password is among the most common ones: choose another.")
    if username and password.casefold() == username.casefold():
        raise PasswordRejected("The password cannot be the username.")


@functools.cache
def hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


@functools.cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return hasher(time_cost, memory_cost, parallelism).hash("not the password of anyone")


class Hashing:
    """The server's Argon2id parameters (ARGON2_* settings)."""

    def __init__(self, config):
        self.params = (int(config["ARGON2_TIME_COST"]), int(config["ARGON2_MEMORY_COST"]),
                       int(config["ARGON2_PARALLELISM"]))
        self.hasher = hasher(*self.params)

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches. Without an account (`stored` None), a dummy hash is
        verified all the same, so the answer takes as long either way."""
        target = stored if stored is not None else _dummy_hash(*self.params)
        try:
            ok = await asyncio.to_thread(self.hasher.verify, target, password)
        except (VerificationError, InvalidHashError):
            ok = False
        return ok and stored is not None

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)
