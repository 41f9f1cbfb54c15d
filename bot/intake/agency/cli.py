"""`python -m bot agency serve|list|set-status`: run the reference agency intake server and act as
the agency (list what arrived, change a request's status and post the signed callback)."""

import os
import sys

from bot.intake.cli_support import (
    add_json_argument,
    add_log_level_argument,
    configure_logging,
    print_json,
    print_table,
)
from bot.intake.endpoints import MIN_SECRET_LENGTH
from bot.intake.errors import ConfigError, IntakeError
from bot.intake.statuses import AGENCY_STATUSES

DEFAULT_SECRET_ENV = "AGENCY_SECRET"


def register(sub) -> None:
    group = sub.add_parser("agency", help="the reference agency intake server (also the test double)")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    _register_serve(actions)
    listing = actions.add_parser("list", help="requests the agency has received, oldest first")
    listing.add_argument("--db", required=True, metavar="URL", help="the agency's database URL")
    add_json_argument(listing)
    listing.set_defaults(handler=cmd_list)
    status = actions.add_parser("set-status", help="change a request's status and post the signed callback")
    status.add_argument("id", metavar="ID", help="service_request_id (or Idempotency-Key, or case number)")
    status.add_argument("status", metavar="STATUS", choices=AGENCY_STATUSES, help=" | ".join(AGENCY_STATUSES))
    status.add_argument("note", metavar="NOTE")
    status.add_argument("--db", required=True, metavar="URL")
    status.add_argument("--callback-url", help="default: the one `agency serve` was started with")
    _add_secret_arguments(status, "default: the one `agency serve` was started with")
    status.set_defaults(handler=cmd_set_status)


def _register_serve(actions) -> None:
    serve = actions.add_parser("serve", help="serve the intake API (openapi.yaml)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8311)
    serve.add_argument("--db", required=True, metavar="URL", help="the agency's database URL")
    _add_secret_arguments(serve, f"default --secret-env {DEFAULT_SECRET_ENV}")
    serve.add_argument("--callback-url", help="the assistant's POST /agency/callback URL (kept for set-status)")
    serve.add_argument("--assign-later", action="store_true", help="answer 202 with a token instead of an id")
    faults = serve.add_argument_group("fault injection (tests)")
    faults.add_argument("--fail-first", type=int, default=0, metavar="N", help="answer the first N POSTs with an error")
    faults.add_argument("--fail-status", type=int, default=500, metavar="CODE", help="their status (default 500)")
    faults.add_argument("--retry-after", type=int, metavar="S", help="send Retry-After: S with them")
    faults.add_argument("--delay", type=float, default=0.0, metavar="S", help="hold answers S seconds after storing")
    faults.add_argument("--delay-first", type=int, default=0, metavar="N", help="only the first N POSTs (0: all)")
    add_log_level_argument(serve, default="WARNING")
    serve.set_defaults(handler=cmd_serve)


def _add_secret_arguments(parser, default_help: str) -> None:
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--secret", help="the shared secret (visible in ps: prefer --secret-env)")
    secret.add_argument("--secret-env", metavar="VAR", help=f"read the secret from this variable ({default_help})")


def resolve_secret(args, fallback_env: str = "") -> str:
    if args.secret:
        value, where = args.secret, "--secret"
    else:
        name = args.secret_env or fallback_env
        if not name:
            return ""
        value, where = os.environ.get(name, ""), f"environment variable {name}"
        if not value:
            if args.secret_env:
                raise ConfigError(f"{where} is not set")
            return ""
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigError(f"the secret from {where} must be at least {MIN_SECRET_LENGTH} characters")
    return value


def cmd_serve(args) -> int:
    from bot.intake.agency.records import open_agency_db, save_settings
    from bot.intake.agency.server import Faults, create_agency_app
    from bot.intake.serving import run_app

    configure_logging(args.log_level)
    secret = resolve_secret(args, DEFAULT_SECRET_ENV)
    if not secret:
        raise ConfigError(f"no secret: pass --secret-env VAR (or set {DEFAULT_SECRET_ENV}) or --secret")
    db = open_agency_db(args.db)
    save_settings(db, {"secret": secret, "callback_url": args.callback_url})
    faults = Faults(fail_first=args.fail_first, fail_status=args.fail_status, retry_after=args.retry_after,
                    delay=args.delay, delay_first=args.delay_first)
    print(f"agency intake: http://{args.host}:{args.port}/requests", file=sys.stderr)
    try:
        run_app(create_agency_app(db, secret, faults, args.assign_later), args.host, args.port)
    finally:
        db.close()
    return 0


def cmd_list(args) -> int:
    from bot.intake.agency.records import list_records, open_agency_db

    with open_agency_db(args.db) as db:
        rows = list_records(db)
    if args.json:
        print_json([record.as_dict(receipts) for record, receipts in rows])
    else:
        print_table(((r.service_request_id, r.case_number, r.service_code, r.request_kind, r.status, receipts)
                     for r, receipts in rows), ("service_request_id", "case_number", "service", "kind", "status",
                                                "receipts"))
    return 0


def cmd_set_status(args) -> int:
    from bot.intake.agency.notifier import CallbackError, post_callback
    from bot.intake.agency.records import callback_document, load_settings, mark_event, open_agency_db, prepare_event
    from bot.intake.timeutil import utcnow

    with open_agency_db(args.db) as db:
        stored = load_settings(db)
        url = args.callback_url or stored.get("callback_url")
        secret = resolve_secret(args) or stored.get("secret", "")
        if not url or not secret:
            missing = "callback URL (--callback-url)" if not url else "secret (--secret-env VAR)"
            raise ConfigError(f"no {missing}: pass it, or start `agency serve` with it")
        record, event = prepare_event(db, args.id, args.status, args.note, utcnow())
        try:
            answer = post_callback(url, secret, record.agency_id, callback_document(record, event))
        except CallbackError as exc:
            mark_event(db, event.id, None, str(exc))
            raise IntakeError(f"status saved, but the callback failed (run again to resend): {exc}") from None
        mark_event(db, event.id, utcnow(), None)
    print_json(dict(answer, service_request_id=record.service_request_id, event_id=event.event_id))
    return 0
