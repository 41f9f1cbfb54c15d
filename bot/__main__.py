"""python -m bot COMMAND: staff and test commands for complaint intake and delivery to agencies.

Run without arguments for the list of commands; each takes --help. The command groups live in
bot/intake/cli.py (the assistant's side) and bot/intake/agency/cli.py (the reference agency).
"""

import argparse
import sys
from typing import List, Optional


def build_parser() -> argparse.ArgumentParser:
    from bot.intake import cli as intake_cli
    from bot.intake.agency import cli as agency_cli

    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Complaint intake and delivery to agencies (see docs/intake.md)."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    intake_cli.register(sub)
    agency_cli.register(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    from bot.intake.cli_support import run_guarded

    return run_guarded(handler, args)


if __name__ == "__main__":
    sys.exit(main())
