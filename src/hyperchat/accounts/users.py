"""Accounts themselves: names, sign-up under the server's policy, sign-in, passwords."""

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hyperchat.accounts import throttle
from hyperchat.accounts.passwords import Hashing, PasswordRejected, check_rules
from hyperchat.store.schema import AccountRole, AccountStatus, User

USERNAME_MAX = 32
EMAIL_MAX = 254
# Letters and digits of any script, and . _ -; no spaces, no look-alike punctuation.
USERNAME_PATTERN = re.compile(r"[\w.-]+")
POLICIES = ("open", "approval", "closed")
RESET_LINK_HOURS = 24


class AccountError(ValueError):
    """A refusal with the message to show and its HTTP status."""

    status = 400

    def __init__(self, message: str, status: int | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if status is not None:
            self.status = status


def username_key(username: str) -> str:
    """The form names are compared in: NFKC then casefold (then NFKC again, since casefold
    can leave a string that NFKC changes), so "Alice", "alice" and "ａｌｉｃｅ" are one."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def clean_username(raw: str) -> str:
    username = unicodedata.normalize("NFKC", (raw or "").strip())
    if not username:
        raise AccountError("Choose a username.", field="username")
    if len(username) > USERNAME_MAX:
        raise AccountError(f"The username can have at most {USERNAME_MAX} characters.",
                           field="username")
    if not USERNAME_PATTERN.fullmatch(username):
        raise AccountError("A username has letters, digits, dots, dashes and underscores only.",
                           field="username")
    return username


def clean_email(raw: str | None) -> str | None:
    email = (raw or "").strip()
    if not email:
        return None
    local, at, domain = email.rpartition("@")
    if (len(email) > EMAIL_MAX or not at or not local or "." not in domain
            or any(c.isspace() for c in email)):
        raise AccountError("That email address does not look right (it is optional).",
                           field="email")
    return email


def check_password(config, password: str, username: str = "") -> None:
    try:
        check_rules(password or "", int(config["PASSWORD_MIN_LENGTH"]), username)
    except PasswordRejected as error:
        raise AccountError(str(error), field="password") from None


async def create(config, username: str, password: str, email: str | None = None, *,
                 role: AccountRole = AccountRole.USER,
                 status: AccountStatus = AccountStatus.ACTIVE) -> User:
    """Create an account after checking every field; a taken name is a 409."""
    username = clean_username(username)
    email = clean_email(email)
    check_password(config, password, username)
    key = username_key(username)
    if await User.exists(username_key=key):
        raise AccountError("That username is taken.", 409, field="username")
    password_hash = await Hashing(config).hash(password)
    try:
        return await User.create(username=username, username_key=key, email=email,
                                 password_hash=password_hash, role=role, status=status)
    except IntegrityError:
        # Taken between the check and the insert.
        raise AccountError("That username is taken.", 409, field="username") from None


async def sign_up(config, username: str, password: str, email: str | None = None) -> User:
    """Sign up under SIGNUP_POLICY. The first account is an active admin whatever the policy
    (someone must be able to approve the others); the CLI can make it instead."""
    policy = config["SIGNUP_POLICY"]
    first = not await User.exists()
    if policy == "closed" and not first:
        raise AccountError("Sign-up is closed here: an admin creates accounts.", 403)
    pending = policy == "approval" and not first
    user = await create(config, username, password, email,
                        status=AccountStatus.PENDING if pending else AccountStatus.ACTIVE)
    if first:
        # Decided after the insert: of two sign-ups racing on an empty table, only the one
        # with the lowest id becomes admin.
        lowest = await User.all().order_by("id").first()
        if lowest is not None and lowest.id == user.id:
            user.role, user.status = AccountRole.ADMIN, AccountStatus.ACTIVE
            await user.save(update_fields=["role", "status"])
    return user


WRONG = "Wrong username or password."


@dataclass
class SignInRefused(Exception):
    message: str
    status: int
    retry_after: int | None = None


async def authenticate(config, username: str, password: str, address: str) -> User:
    """Return the account whose password this is, or raise SignInRefused. Whether the name
    or the password was wrong is never said, and takes as long either way; the status of an
    account (pending, disabled) is told only to someone who gave its password."""
    if not username or not password or len(username) > USERNAME_MAX * 4 \
            or len(password) > 4096:
        raise SignInRefused(WRONG, 401)
    key = username_key(username.strip())
    try:
        await throttle.check(config, key, address)
    except throttle.Locked as locked:
        raise SignInRefused(f"Too many failed sign-ins. Try again in {locked.retry_after} s.",
                            429, locked.retry_after) from None
    user = await User.get_or_none(username_key=key)
    hashing = Hashing(config)
    if not await hashing.verify(user.password_hash if user else None, password):
        await throttle.failed(config, key, address)
        raise SignInRefused(WRONG, 401)
    await throttle.succeeded(key)
    if user.status == AccountStatus.PENDING:
        raise SignInRefused("Your account is waiting for an admin's approval.", 403)
    if user.status == AccountStatus.DISABLED:
        raise SignInRefused("This account is disabled. Ask an admin.", 403)
    fields = ["last_sign_in_at"]
    user.last_sign_in_at = datetime.now(UTC)
    if hashing.needs_rehash(user.password_hash):
        user.password_hash = await hashing.hash(password)
        fields.append("password_hash")
    await user.save(update_fields=fields)
    return user


async def set_password(config, user: User, password: str) -> None:
    check_password(config, password, user.username)
    user.password_hash = await Hashing(config).hash(password)
    user.reset_token_hash = None
    user.reset_expires_at = None
    await user.save(update_fields=["password_hash", "reset_token_hash", "reset_expires_at"])


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def make_reset_link_token(user: User) -> str:
    """A one-time token for a password-reset link (shown to the admin who asked: no email is
    sent). A new one replaces the last."""
    token = secrets.token_urlsafe(32)
    user.reset_token_hash = token_hash(token)
    user.reset_expires_at = datetime.now(UTC) + timedelta(hours=RESET_LINK_HOURS)
    await user.save(update_fields=["reset_token_hash", "reset_expires_at"])
    return token


async def by_reset_token(token: str) -> User | None:
    user = await User.get_or_none(reset_token_hash=token_hash(token))
    if user is None or user.reset_expires_at is None \
            or user.reset_expires_at < datetime.now(UTC):
        return None
    return user


async def active_admins() -> int:
    return await User.filter(role=AccountRole.ADMIN, status=AccountStatus.ACTIVE).count()


async def change_role_or_status(user: User, *, role: AccountRole | None = None,
                                status: AccountStatus | None = None) -> None:
    """Change an account's role or status; the last active admin can lose neither."""
    async with in_transaction():
        losing_admin = (user.role == AccountRole.ADMIN and user.status == AccountStatus.ACTIVE
                        and (role == AccountRole.USER
                             or status not in (None, AccountStatus.ACTIVE)))
        if losing_admin and await active_admins() <= 1:
            raise AccountError("This is the last admin: make another admin first.", 409)
        if role is not None:
            user.role = role
        if status is not None:
            user.status = status
        await user.save(update_fields=["role", "status"])


def describe(user: User) -> dict:
    """An account as the JSON API shows it."""
    return {"id": user.id, "username": user.username, "email": user.email,
            "role": str(user.role), "status": str(user.status),
            "created_at": user.created_at.isoformat() if user.created_at else None}
