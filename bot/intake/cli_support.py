"""What every command shares: the --db option, JSON or plain output, logging, and turning errors
into one clear line on stderr (exit 2 for bad input or config, 1 for everything else)."""

import argparse
import json
import logging
import os
import sys
from typing import Any, Callable, Iterable, List, Optional, Sequence

from sqlalchemy.exc import SQLAlchemyError

from bot.intake.errors import ConfigError, Conflict, IntakeError, NotFound, StoreError, ValidationFailed


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", help="database URL (default: $DATABASE_URL, else sqlite var/ipr.db)")


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON array (or object) instead of text")


def add_log_level_argument(parser: argparse.ArgumentParser, default: str = "INFO") -> None:
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", default),
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"), help=f"(default {default})")


def configure_logging(level: str) -> None:
    from bot.privacy.logs import MaskingFilter

    logging.basicConfig(level=getattr(logging, level), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # complaints carry phone numbers: mask every line
        handler.addFilter(MaskingFilter())
    for noisy in ("alembic", "sanic.root", "sanic.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, getattr(logging, level)))


def print_json(document: Any) -> None:
    print(json.dumps(document, ensure_ascii=False, indent=None))


def print_table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> None:
    table: List[List[str]] = [list(headers)] + [["" if cell is None else str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def print_fields(document: dict, keys: Optional[Sequence[str]] = None) -> None:
    for key in keys or list(document):
        value = document.get(key)
        if value not in (None, "", []):
            print(f"{key}: {value}")


def error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def run_guarded(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command; report failures in one line each, never as a traceback."""
    try:
        return handler(args)
    except ValidationFailed as exc:
        for problem in exc.problems:
            error(problem)
        return 2
    except (ConfigError, Conflict) as exc:
        error(str(exc))
        return 2
    except (NotFound, StoreError, IntakeError) as exc:
        error(str(exc))
        return 1
    except SQLAlchemyError as exc:
        error(f"database: {getattr(exc, 'orig', None) or exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug or a broken data file: still one line, unless asked for more
        if os.environ.get("IPR_TRACEBACK"):
            raise
        error(f"unexpected {type(exc).__name__}: {exc} (set IPR_TRACEBACK=1 to see where)")
        return 1
