"""``jupyter spaces``: run a domain server, or manage its users and spaces.

``jupyter spaces [server options]`` starts the domain server. ``jupyter spaces user ...``
and ``jupyter spaces space ...`` work on the store in ``--data-dir`` directly, so they
work with or without a running server (SQLite in WAL mode allows both at once).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from jupyter_core.application import JupyterApp

from .errors import SpacesError

COMMANDS = ("user", "space")
#: A login link's address when no server runs on the data directory and no --url is given.
DEFAULT_URL = "http://localhost:8888/"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jupyter spaces", description="Manage a Jupyter Spaces domain.")
    parser.add_argument("--data-dir", help="the domain's data directory (default: as the server's)")
    parser.add_argument("--db-url", help="SQLAlchemy URL of the store (default: SQLite in --data-dir)")
    groups = parser.add_subparsers(dest="group", required=True)

    user = groups.add_parser("user", help="manage users").add_subparsers(dest="command", required=True)
    add = user.add_parser("add", help="add a user; prints the new API token as the last line")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="make the user an administrator")
    add.add_argument("--display-name", help="shown name (default: the user name)")
    add.add_argument("--password-stdin", action="store_true", help="read a login password from stdin")
    user.add_parser("list", help="list users")
    rm = user.add_parser("remove", help="remove a user")
    rm.add_argument("name")
    tok = user.add_parser("token", help="make a new API token; prints it as the last line")
    tok.add_argument("name")
    tok.add_argument("--note", default="made with the CLI")
    link = user.add_parser("login-link", help="make a one-time browser login link")
    link.add_argument("name")
    link.add_argument(
        "--url", default="",
        help="the domain server's URL (default: the URL the server running on this data directory "
        "serves, else http://localhost:8888/)",
    )

    space = groups.add_parser("space", help="manage spaces").add_subparsers(dest="command", required=True)
    space.add_parser("list", help="list every space's metadata")
    create = space.add_parser("create", help="create a (stopped) space")
    create.add_argument("name")
    create.add_argument("--owner", required=True)
    create.add_argument("--sharing", choices=("private", "shared"), default="private")
    create.add_argument("--app-type", choices=("jupyterlab", "code-editor", "mlflow", "rstudio"), default="jupyterlab")
    create.add_argument("--display-name")
    create.add_argument("--instance-type")
    create.add_argument("--image")
    create.add_argument("--volume-gb", type=int)
    delete = space.add_parser("delete", help="delete a space and its volume")
    delete.add_argument("name")
    return parser


class _ConfigFiles(JupyterApp):
    """Reads the domain server's config files (jupyter_spaces_config.py/.json)."""

    name = "jupyter_spaces"


def _settings(args):
    from .domain.config import DomainConfig

    files = _ConfigFiles()
    files.load_config_file()
    config = files.config
    config.DomainConfig.merge(config.DomainApp)
    settings = DomainConfig(config=config)
    if args.data_dir:
        settings.data_dir = args.data_dir
    if args.db_url:
        settings.db_url = args.db_url
    return settings


def _running_url(data_dir: str) -> str:
    from .domain.config import server_url_file

    try:
        return server_url_file(data_dir).read_text().strip() or DEFAULT_URL
    except OSError:
        return DEFAULT_URL


def _table(rows: list[dict], keys: tuple[str, ...]) -> str:
    cells = [[str(r[k]) for k in keys] for r in rows]
    widths = [max([len(k)] + [len(c[i]) for c in cells]) for i, k in enumerate(keys)]
    lines = ["  ".join(k.upper().ljust(w) for k, w in zip(keys, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def _all(list_fn, query):
    items, cursor = [], None
    while True:
        page = list_fn(query.model_copy(update={"cursor": cursor, "limit": 500}))
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def run_command(argv: list[str]) -> int:
    from .domain.schemas import Page, SpaceCreate, SpaceQuery, TokenCreate, UserCreate
    from .domain.service import SYSTEM

    args = _parser().parse_args(argv)
    settings = _settings(args)
    service = settings.make_service()
    try:
        if args.group == "user":
            if args.command == "add":
                password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
                user = service.create_user(
                    SYSTEM,
                    UserCreate(name=args.name, display_name=args.display_name, admin=args.admin, password=password),
                )
                print(f"Added user {user['name']}{' (admin)' if user['admin'] else ''}. API token:")
                print(user["token"])
            elif args.command == "list":
                users = _all(lambda p: service.list_users(SYSTEM, p), Page())
                print(_table(users, ("name", "display_name", "admin", "color")))
            elif args.command == "remove":
                service.delete_user(SYSTEM, args.name)
                print(f"Removed user {args.name}.")
            elif args.command == "token":
                token = service.create_token(SYSTEM, args.name, TokenCreate(note=args.note))
                print(f"New API token for {args.name} (id {token['id']}):")
                print(token["token"])
            elif args.command == "login-link":
                url = args.url or _running_url(settings.data_dir)
                url = url if url.endswith("/") else url + "/"
                print(f"{url}login?token={service.login_link_token(SYSTEM, args.name)}")
        else:
            if args.command == "list":
                spaces = _all(lambda q: service.list_spaces(SYSTEM, q), SpaceQuery())
                print(_table(spaces, ("name", "owner", "sharing", "app_type", "instance_type", "status")))
            elif args.command == "create":
                fields = {
                    k: v
                    for k, v in dict(
                        name=args.name, sharing=args.sharing, app_type=args.app_type,
                        display_name=args.display_name, instance_type=args.instance_type,
                        image=args.image, volume_gb=args.volume_gb,
                    ).items()
                    if v is not None
                }
                space = service.create_space(SYSTEM, SpaceCreate(**fields), owner=args.owner)
                print(json.dumps(space, indent=2))
            elif args.command == "delete":
                from .domain.lifecycle import Lifecycle

                lifecycle = Lifecycle(service, settings.make_launcher(), asyncio.to_thread, base_url="/")
                asyncio.run(lifecycle.delete_space(SYSTEM, args.name))
                print(f"Deleted space {args.name} and its volume.")
    except SpacesError as e:
        print(f"error: {e.message}", file=sys.stderr)
        return 1
    except ValueError as e:  # pydantic's ValidationError is a ValueError
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        service.store.close()
    return 0


def _is_command(argv: list[str]) -> bool:
    """`jupyter spaces [--data-dir D] [--db-url U] user|space ...` manages; anything else serves."""
    i = 0
    while i < len(argv) and argv[i].split("=", 1)[0] in ("--data-dir", "--db-url"):
        i += 1 if "=" in argv[i] else 2
    return i < len(argv) and argv[i] in COMMANDS


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if _is_command(argv):
        sys.exit(run_command(argv))
    from .domain.app import DomainApp

    DomainApp.launch_instance(argv)


if __name__ == "__main__":
    main()
