"""The `eoplex` command: `eoplex run` starts the local stack, `eoplex admin ...` manages it."""

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    """The command line of `eoplex`."""
    from eoplex import admin

    parser = argparse.ArgumentParser(prog="eoplex", description="An openEO back-end.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run",
        help="start the whole back-end on 127.0.0.1 (OPENEO_PORT, OPENEO_STATE_DIR)",
    )
    admin.add_admin_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `eoplex` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "run":
        from eoplex.stack import run_stack

        return run_stack()
    from eoplex.admin import run_admin

    return run_admin(args)


if __name__ == "__main__":
    sys.exit(main())
