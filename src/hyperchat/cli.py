"""The `hyperchat` command: serve, migrate, and manage accounts from a shell.

    hyperchat serve                      # as `python -m hyperchat`
    hyperchat migrate
    hyperchat create-user NAME [--admin] [--email E] [--password-stdin]
    hyperchat reset-password NAME [--password-stdin]
    hyperchat list-users

Passwords are asked for twice on a terminal (never taken as an argument, which would land in
the shell's history and the process list), or read from the first line of standard input.
"""

import argparse
import asyncio
import getpass
import sys

from hyperchat import create_app
from hyperchat.config import ConfigError
from hyperchat.store import database as db


class Refused(Exception):
    """A command that cannot go on; the message is printed and the exit status is 1."""


def read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise Refused("The two passwords differ.")
    return first


async def with_database(config: dict, work):
    await db.migrate(config["DATABASE_URL"])
    await db.connect(config["DATABASE_URL"])
    try:
        return await work()
    finally:
        await db.disconnect()


async def create_user(config, args) -> str:
    from hyperchat.accounts.users import AccountError, create
    from hyperchat.store.schema import AccountRole

    password = read_password(args.password_stdin)
    try:
        user = await create(config, args.username, password, args.email,
                            role=AccountRole.ADMIN if args.admin else AccountRole.USER)
    except AccountError as error:
        raise Refused(error.message) from None
    return f"created {user.role} {user.username} (id {user.id})"


async def reset_password(config, args) -> str:
    from hyperchat.accounts import sessions
    from hyperchat.accounts.users import AccountError, set_password, username_key
    from hyperchat.store.schema import User

    user = await User.get_or_none(username_key=username_key(args.username.strip()))
    if user is None:
        raise Refused(f"no account named {args.username!r}")
    try:
        await set_password(config, user, read_password(args.password_stdin))
    except AccountError as error:
        raise Refused(error.message) from None
    ended = await sessions.end_all(user)
    return f"password of {user.username} changed; {ended} session(s) signed out"


async def list_users(config, args) -> str:
    from hyperchat.store.schema import User

    lines = [f"{'id':>4}  {'username':<32}  {'role':<5}  {'status':<8}  created"]
    for user in await User.all().order_by("id"):
        lines.append(f"{user.id:>4}  {user.username:<32}  {user.role:<5}  {user.status:<8}  "
                     f"{user.created_at:%Y-%m-%d %H:%M}")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="hyperchat", description=__doc__.split("\n\n")[0])
    commands = main.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the app (HOST, PORT, WORKERS from the environment)")
    commands.add_parser("migrate", help="apply the database migrations")
    create = commands.add_parser("create-user", help="create an account")
    create.add_argument("username")
    create.add_argument("--admin", action="store_true", help="make it an admin")
    create.add_argument("--email")
    create.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input")
    reset = commands.add_parser("reset-password", help="set an account's password")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true")
    commands.add_parser("list-users", help="list the accounts")
    return main


ACCOUNT_COMMANDS = {"create-user": create_user, "reset-password": reset_password,
                    "list-users": list_users}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "serve":
        from hyperchat.__main__ import start

        start()
        return 0
    try:
        config = create_app({"RUN_MIGRATIONS": False}).config
        if args.command == "migrate":
            applied = asyncio.run(db.migrate(config["DATABASE_URL"]))
            print("\n".join(applied) if applied else "up to date")
            return 0
        command = ACCOUNT_COMMANDS[args.command]
        print(asyncio.run(with_database(config, lambda: command(config, args))))
        return 0
    except (ConfigError, Refused) as error:
        print(f"hyperchat: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
