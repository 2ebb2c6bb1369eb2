"""`crossforce users list|add|demo-accounts`: the people who may sign in."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from coordination.core.console import EXIT_OK, Parser, actor, open_session, print_json, say
from coordination.errors import InputError
from coordination.models.users import ROLES


def register(sub: Any) -> None:
    """Add ``users`` to the top-level sub-parsers."""
    users = sub.add_parser("users", help="users").add_subparsers(
        dest="users_command", required=True, parser_class=Parser
    )
    users_list = users.add_parser("list", help="list users")
    users_list.add_argument("--json", action="store_true", help="print JSON")
    users_list.set_defaults(handler=_cmd_users_list)
    users_add = users.add_parser(
        "add", help="add a user and set their password (asked twice, or read from stdin)"
    )
    users_add.add_argument("username")
    users_add.add_argument("--force", required=True, metavar="CODE", help="ONS force code")
    users_add.add_argument(
        "--role", required=True, choices=list(ROLES), help="what the user may do"
    )
    users_add.add_argument("--display-name", metavar="NAME", help="default: the username")
    users_add.add_argument("--bcu", metavar="CODE", help="BCU code (Met users)")
    users_add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin instead of asking",
    )
    users_add.set_defaults(handler=_cmd_users_add)
    demo = users.add_parser(
        "demo-accounts", help="print the demo accounts of development mode (none in production)"
    )
    demo.set_defaults(handler=_cmd_users_demo_accounts)


def _cmd_users_list(args: argparse.Namespace) -> int:
    from coordination.security.users import list_users

    with open_session() as session:
        users = list_users(session)
    if args.json:
        print_json(users)
        return EXIT_OK
    if not users:
        say("No users yet.")
    for u in users:
        say(f"{u.username:<20} {u.display_name:<30} {u.force_code}  {u.role}")
    return EXIT_OK


def _read_new_password(args: argparse.Namespace) -> str:
    """The new password: one line of stdin with --password-stdin, else asked twice."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InputError("--password-stdin: no password on stdin")
        return password
    try:
        first = getpass.getpass(f"Password for {args.username}: ")
        second = getpass.getpass("Same password again: ")
    except EOFError:
        raise InputError("No password given: type it, or use --password-stdin") from None
    if first != second:
        raise InputError("The two passwords differ: nothing was changed")
    return first


def _cmd_users_add(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from coordination.core.settings import get_settings
    from coordination.models import UserCreate
    from coordination.security.auth import check_password_policy, set_password
    from coordination.security.users import create_user

    settings = get_settings()
    try:
        data = UserCreate(
            username=args.username,
            display_name=args.display_name or args.username,
            force_code=args.force,
            role=args.role,
            bcu_code=args.bcu,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "user"
        raise InputError(f"{field}: {first['msg']}") from None
    password = _read_new_password(args)
    # Checked before anything is written, so a weak password leaves no half-made user.
    check_password_policy(password, username=data.username, min_length=settings.min_password_length)
    with open_session() as session:
        user = create_user(session, actor=actor(args), data=data)
        set_password(session, actor=actor(args), username=user.username, password=password)
    say(f"Added {user.username} ({user.role.replace('_', ' ')}, {user.force_code}).")
    return EXIT_OK


def _cmd_users_demo_accounts(_args: argparse.Namespace) -> int:
    from coordination.core.settings import get_settings
    from coordination.security.users import DEMO_PASSWORD, list_demo_accounts

    if get_settings().env == "production":
        # Production has no demo accounts and no default password to print.
        return EXIT_OK
    with open_session() as session:
        accounts = list_demo_accounts(session)
    if not accounts:
        return EXIT_OK
    say("DEMO ACCOUNTS (development only; synthetic users, never in production)")
    say(f"  password for each: {DEMO_PASSWORD}")
    for u in accounts:
        where = f"{u.force_code}{'/' + u.bcu_code if u.bcu_code else ''}"
        say(f"  {u.username:<24} {u.role.replace('_', ' '):<17} {where:<13} {u.display_name}")
    return EXIT_OK
