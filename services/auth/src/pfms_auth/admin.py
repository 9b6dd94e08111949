"""`pfms-auth-admin`: the operator command that grants and revokes roles (there is no HTTP route for it).

It reads the auth service's own settings (`PFMS_AUTH_DATABASE_URL`, …) and writes the `users` table
directly, so it runs where the service runs (a shell in its container, a Kubernetes Job). What it prints
is the record of the change (the shell or Job log keeps it):

    pfms-auth-admin grant --email ops@example.com --role admin
    pfms-auth-admin revoke --email ops@example.com --role admin
    pfms-auth-admin list --role admin
"""

import argparse
import asyncio
import sys

from pydantic import TypeAdapter, ValidationError

from pfms_auth import roles
from pfms_auth.schemas import Email
from pfms_auth.settings import Settings
from pfms_platform.db import Database


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pfms-auth-admin", description="Grant and revoke account roles.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("grant", "give an account a role"), ("revoke", "take a role from an account")):
        one = sub.add_parser(name, help=help_text, description=f"{help_text.capitalize()}; its next token shows it.")
        one.add_argument("--email", required=True)
        one.add_argument("--role", required=True, choices=sorted(roles.KNOWN))
    listing = sub.add_parser("list", help="the accounts that have a role")
    listing.add_argument("--role", required=True, choices=sorted(roles.KNOWN))
    return parser


async def _run(settings: Settings, args: argparse.Namespace) -> str:
    db = Database(settings.database_url, pool_size=1, service=settings.service_name)
    try:
        async with db.sessions() as session, session.begin():
            if args.command == "list":
                return "\n".join(await roles.holders(session, args.role))
            email = TypeAdapter(Email).validate_python(args.email)
            done = await roles.change(session, email, args.role, grant=args.command == "grant")
    finally:
        await db.dispose()
    state = "now" if done.changed else "already"
    return f"{done.email}: {state} {', '.join(done.roles) or 'no roles'}"


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        print(asyncio.run(_run(Settings(), args)))
    except (ValidationError, roles.UnknownAccount) as exc:
        print(f"pfms-auth-admin: {exc}", file=sys.stderr)
        sys.exit(1)
