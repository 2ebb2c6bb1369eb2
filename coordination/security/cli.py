"""`crossforce users list|add|demo-accounts|token …`: the people who may sign in, and their tokens.

In production the first admin is added with `crossforce users add NAME --role admin` while no admin
exists (the ``system:setup`` service account may do that and nothing else); afterwards an admin
adds users, signed in with `--as` and a password or with `CROSSFORCE_TOKEN`.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from coordination.core.console import (
    EXIT_OK,
    Parser,
    actor,
    count,
    open_session,
    print_json,
    record_id,
    say,
)
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

    token = users.add_parser("token", help="personal API tokens for the command line")
    tokens = token.add_subparsers(dest="token_command", required=True, parser_class=Parser)
    create = tokens.add_parser("create", help="make a token for yourself (shown once)")
    create.add_argument("--name", required=True, help="what it is for, e.g. 'laptop'")
    create.add_argument(
        "--days", type=count(1, 366), default=90, help="how long it lasts (default 90 days)"
    )
    create.set_defaults(handler=_cmd_token_create)
    listing = tokens.add_parser("list", help="your tokens (an admin sees everyone's)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_cmd_token_list)
    revoke = tokens.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("id", type=record_id, help="the token's id (from `users token list`)")
    revoke.set_defaults(handler=_cmd_token_revoke)


def _cmd_users_list(args: argparse.Namespace) -> int:
    from coordination.security.users import list_users

    with open_session() as session:
        users = list_users(session, actor=actor(args))
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
    from coordination.security.users import create_user, has_admin

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
        # Outside development, with no admin yet, the first admin is created by the setup
        # service account; afterwards an admin, signed in, adds users.
        bootstrap = settings.env != "development" and not has_admin(session)
        who = "system:setup" if bootstrap else actor(args)
        user = create_user(session, actor=who, data=data)
        set_password(session, actor=who, username=user.username, password=password)
    say(f"Added {user.username} ({user.role.replace('_', ' ')}, {user.force_code}).")
    return EXIT_OK


def _cmd_users_demo_accounts(_args: argparse.Namespace) -> int:
    from coordination.core.settings import get_settings
    from coordination.security.demo_listing import demo_account_lines
    from coordination.security.users import DEMO_PASSWORD

    if get_settings().env == "production":
        # Production has no demo accounts and no default password to print.
        return EXIT_OK
    with open_session() as session:
        accounts = demo_account_lines(session)
    if not accounts:
        return EXIT_OK
    say("DEMO ACCOUNTS (development only; synthetic users, never in production)")
    say(f"  password for each: {DEMO_PASSWORD}")
    for a in accounts:
        where = a.force + (f", {a.bcu}" if a.bcu else "")
        say(f"  {a.username:<24} {a.role:<17} {where:<47} {a.display_name}")
    return EXIT_OK


def _cmd_token_create(args: argparse.Namespace) -> int:
    from coordination.security.tokens import create_token

    with open_session() as session:
        token, row = create_token(session, actor=actor(args), name=args.name, days=args.days)
    say(f"Token {row.id} ({row.name}), valid until {row.expires_at:%Y-%m-%d}:")
    say(f"  {token}")
    say("Keep it like a password: it is shown only now. Use it as CROSSFORCE_TOKEN.")
    return EXIT_OK


def _cmd_token_list(args: argparse.Namespace) -> int:
    from coordination.security.tokens import list_tokens

    with open_session() as session:
        rows = list_tokens(session, actor=actor(args))
    if args.json:
        print_json(rows)
        return EXIT_OK
    if not rows:
        say("No tokens.")
    for t in rows:
        state = "revoked" if t.revoked_at else f"until {t.expires_at:%Y-%m-%d}"
        used = f", last used {t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else ""
        say(f"{t.id:>4}  {t.prefix}…  {t.name}  ({state}{used})")
    return EXIT_OK


def _cmd_token_revoke(args: argparse.Namespace) -> int:
    from coordination.security.tokens import revoke_token

    with open_session() as session:
        row = revoke_token(session, actor=actor(args), token_id=args.id)
    say(f"Token {row.id} ({row.name}) is revoked.")
    return EXIT_OK
