"""Staff and test commands for the assistant's side of intake (registered by bot/__main__.py).

    python -m bot complaints submit --json FILE     one case number per line
    python -m bot complaints list [--json]          python -m bot complaints show CASE [--json]
    python -m bot deliveries list [--dead|--held] [--json]
    python -m bot deliveries show ID [--json]       python -m bot deliveries retry ID
    python -m bot dispatch [--once] [--poll-interval S]
    python -m bot callbacks serve [--port P]
    python -m bot callback-requests add|list|done
    python -m bot ratings list [--limit N] [--json]  python -m bot ratings summary
    python -m bot db upgrade
"""

import json
import signal
import sys
from pathlib import Path

from bot.intake.cli_support import (
    add_db_argument,
    add_json_argument,
    add_log_level_argument,
    configure_logging,
    print_fields,
    print_json,
    print_table,
)
from bot.intake.errors import ValidationFailed


def register(sub) -> None:
    _register_complaints(sub)
    _register_deliveries(sub)
    _register_dispatch(sub)
    _register_callbacks(sub)
    _register_callback_requests(sub)
    _register_ratings(sub)
    _register_db(sub)


def _register_complaints(sub) -> None:
    group = sub.add_parser("complaints", help="file and look up complaints and tip-offs")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    submit = actions.add_parser("submit", help="file complaints from a JSON file (one object or a list)")
    submit.add_argument("--json", dest="json_file", required=True, metavar="FILE", help="JSON file, or - for stdin")
    add_db_argument(submit)
    submit.set_defaults(handler=cmd_complaints_submit)
    listing = actions.add_parser("list", help="newest complaints first")
    listing.add_argument("--status", help="only complaints with this status")
    listing.add_argument("--limit", type=int, default=100)
    add_json_argument(listing)
    add_db_argument(listing)
    listing.set_defaults(handler=cmd_complaints_list)
    show = actions.add_parser("show", help="one complaint with its evidence, delivery and status history")
    show.add_argument("case", metavar="CASE", help="case number (IP-YYYYMMDD-XXXXXX) or uuid")
    add_json_argument(show)
    add_db_argument(show)
    show.set_defaults(handler=cmd_complaints_show)


def _register_deliveries(sub) -> None:
    group = sub.add_parser("deliveries", help="the outbox: deliveries to agencies, dead letters, retries")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="newest deliveries first")
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--dead", action="store_true", help="only dead letters")
    which.add_argument("--held", action="store_true", help="only deliveries held for manual forwarding")
    which.add_argument("--state", choices=("pending", "held", "delivered", "dead"))
    listing.add_argument("--limit", type=int, default=100)
    add_json_argument(listing)
    add_db_argument(listing)
    listing.set_defaults(handler=cmd_deliveries_list)
    show = actions.add_parser("show", help="one delivery and its attempts")
    show.add_argument("id", type=int, metavar="ID")
    add_json_argument(show)
    add_db_argument(show)
    show.set_defaults(handler=cmd_deliveries_show)
    retry = actions.add_parser("retry", help="send a dead or held delivery again")
    retry.add_argument("id", type=int, metavar="ID")
    add_db_argument(retry)
    retry.set_defaults(handler=cmd_deliveries_retry)


def _register_dispatch(sub) -> None:
    dispatch = sub.add_parser("dispatch", help="deliver queued complaints to agencies")
    dispatch.add_argument("--once", action="store_true", help="send everything due now, then exit")
    dispatch.add_argument("--poll-interval", type=float, default=1.0, metavar="S",
                          help="seconds to wait when nothing is due (default 1)")
    dispatch.add_argument("--batch", type=int, default=32, help="deliveries claimed at a time (default 32)")
    dispatch.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    dispatch.add_argument("--worker-id", help="name in leases and attempt logs (default host:pid:random)")
    add_log_level_argument(dispatch)
    add_db_argument(dispatch)
    dispatch.set_defaults(handler=cmd_dispatch)


def _register_callbacks(sub) -> None:
    group = sub.add_parser("callbacks", help="the status callback endpoint agencies post to")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser("serve", help="serve POST /agency/callback")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5056)
    add_log_level_argument(serve)
    add_db_argument(serve)
    serve.set_defaults(handler=cmd_callbacks_serve)


def _register_callback_requests(sub) -> None:
    group = sub.add_parser("callback-requests", help="citizens waiting for a person to call them back")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="record a callback request")
    add.add_argument("--phone", required=True)
    add.add_argument("--message", required=True)
    add.add_argument("--channel", default="cli")
    add.add_argument("--sender-id")
    add_db_argument(add)
    add.set_defaults(handler=cmd_callback_requests_add)
    listing = actions.add_parser("list", help="oldest first")
    listing.add_argument("--pending", action="store_true", help="only those not yet handled")
    listing.add_argument("--limit", type=int, default=100)
    add_json_argument(listing)
    add_db_argument(listing)
    listing.set_defaults(handler=cmd_callback_requests_list)
    done = actions.add_parser("done", help="mark a callback request handled")
    done.add_argument("id", type=int, metavar="ID")
    add_db_argument(done)
    done.set_defaults(handler=cmd_callback_requests_done)


def _register_ratings(sub) -> None:
    group = sub.add_parser("ratings", help="citizens' 1-5 satisfaction ratings of guidance and filings")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="newest first")
    listing.add_argument("--limit", type=int, default=100)
    add_json_argument(listing)
    add_db_argument(listing)
    listing.set_defaults(handler=cmd_ratings_list)
    summary = actions.add_parser("summary", help="per topic: count, average and count per score (JSON)")
    add_db_argument(summary)
    summary.set_defaults(handler=cmd_ratings_summary)


def _register_db(sub) -> None:
    group = sub.add_parser("db", help="the store's schema")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    upgrade = actions.add_parser("upgrade", help="migrate the database to the newest schema")
    add_db_argument(upgrade)
    upgrade.set_defaults(handler=cmd_db_upgrade)


def _store(args):
    from bot.intake.store import open_store

    return open_store(args.db)


def read_items(path: str) -> list:
    """The objects in a JSON file holding one object or a list of them."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed([f"{path}: cannot read: {exc}"]) from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ValidationFailed([f"{path}: not valid JSON: {exc}"]) from None
    items = document if isinstance(document, list) else [document]
    bad = [f"item {i}: expected a JSON object" for i, item in enumerate(items) if not isinstance(item, dict)]
    if bad or not items:
        raise ValidationFailed(bad or [f"{path}: no complaints in the file"])
    return items


def cmd_complaints_submit(args) -> int:
    from bot.intake.service import prepare_all, submit_many

    items = read_items(args.json_file)
    prepare_all(items)  # every item is checked before the database is touched
    with _store(args) as store:
        for complaint in submit_many(store, items):
            print(complaint.case_number)
    return 0


def cmd_complaints_list(args) -> int:
    from bot.intake.service import list_complaints

    with _store(args) as store:
        complaints = list_complaints(store, status=args.status, limit=args.limit)
    if args.json:
        print_json([c.summary() for c in complaints])
    else:
        print_table(((c.case_number, c.kind, c.category, c.agency_id, c.status, c.summary()["created_at"])
                     for c in complaints), ("case_number", "kind", "category", "agency", "status", "created_at"))
    return 0


def cmd_complaints_show(args) -> int:
    from bot.intake.service import find_complaint
    from bot.intake.tracking import history

    with _store(args) as store:
        complaint = find_complaint(store, args.case)
        document = dict(complaint.as_dict(), history=[e.as_dict() for e in history(store, complaint.id)])
    if args.json:
        print_json(document)
        return 0
    print_fields({k: v for k, v in document.items() if k not in ("evidence", "deliveries", "history")})
    for item in document["evidence"]:
        print(f"evidence: {item['kind']} {item['url_or_media_id']} {item['note'] or ''}".rstrip())
    for delivery in document["deliveries"]:
        print(f"delivery {delivery['id']}: {delivery['state']} to {delivery['agency_id']}, "
              f"{delivery['attempts']} attempt(s){_suffix(delivery.get('last_error'))}")
    for event in document["history"]:
        print(f"history: {event['occurred_at']} {event['status']}{_suffix(event.get('note'))}")
    return 0


def _suffix(text) -> str:
    return f": {text}" if text else ""


def cmd_deliveries_list(args) -> int:
    from bot.intake.outbox import list_deliveries

    states = ["dead"] if args.dead else ["held"] if args.held else [args.state] if args.state else []
    with _store(args) as store:
        deliveries = list_deliveries(store, states, args.limit)
    if args.json:
        print_json([d.as_dict() for d in deliveries])
    else:
        print_table(((d.id, d.complaint.case_number, d.agency_id, d.state, d.attempts,
                      d.dead_reason or d.last_error or "") for d in deliveries),
                    ("id", "case_number", "agency", "state", "attempts", "error"))
    return 0


def cmd_deliveries_show(args) -> int:
    from bot.intake.outbox import delivery_attempts, get_delivery

    with _store(args) as store:
        delivery = get_delivery(store, args.id)
        attempts = delivery_attempts(store, args.id)
    document = dict(delivery.as_dict(), attempts=[a.as_dict() for a in attempts])
    if args.json:
        print_json(document)
    else:
        print_fields({k: v for k, v in document.items() if k != "attempts"})
        for attempt in document["attempts"]:
            print(f"attempt {attempt['number']}: {attempt['started_at']} {attempt['outcome']} "
                  f"{attempt['http_status'] or ''}{_suffix(attempt['error'])}")
    return 0


def cmd_deliveries_retry(args) -> int:
    from bot.intake.endpoints import default_endpoints
    from bot.intake.outbox import retry_delivery
    from bot.intake.settings import DeliverySettings
    from bot.intake.timeutil import utcnow

    endpoints, settings = default_endpoints(), DeliverySettings.from_env()
    with _store(args) as store:
        delivery = retry_delivery(store, args.id, settings, utcnow())
    print(f"delivery {delivery.id} queued again")
    if endpoints.is_local(delivery.agency_id):
        print(f"note: agency {delivery.agency_id} has no intake endpoint: the dispatcher will hold it again",
              file=sys.stderr)
    return 0


def cmd_dispatch(args) -> int:
    from bot.intake.client import AgencyClient
    from bot.intake.dispatcher import Dispatcher
    from bot.intake.endpoints import default_endpoints
    from bot.intake.settings import DeliverySettings

    configure_logging(args.log_level)
    settings = DeliverySettings.from_env()
    endpoints = default_endpoints()
    store = _store(args)
    client = AgencyClient.from_settings(settings)
    dispatcher = Dispatcher(store, endpoints, client, settings, batch=args.batch, concurrency=args.concurrency,
                            worker_id=args.worker_id)
    previous = {signum: signal.signal(signum, lambda *_: dispatcher.stop.set())
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        summary = dispatcher.run_once() if args.once else dispatcher.run_forever(max(0.01, args.poll_interval))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        client.close()
        store.close()
    print_json(summary)
    return 0


def cmd_callbacks_serve(args) -> int:
    import logging

    from bot.intake.callback_server import CALLBACK_PATH, create_app
    from bot.intake.endpoints import default_endpoints
    from bot.intake.serving import run_app

    configure_logging(args.log_level)
    endpoints = default_endpoints()
    store = _store(args)
    if not endpoints.configured():
        logging.getLogger(__name__).warning("no agency endpoints configured: every callback will be refused (401)")
    print(f"status callbacks: POST http://{args.host}:{args.port}{CALLBACK_PATH}", file=sys.stderr)
    try:
        run_app(create_app(store, endpoints), args.host, args.port)
    finally:
        store.close()
    return 0


def cmd_callback_requests_add(args) -> int:
    from bot.intake.callback_requests import create_callback_request

    with _store(args) as store:
        row = create_callback_request(store, {"phone": args.phone, "message": args.message, "channel": args.channel,
                                              "sender_id": args.sender_id})
    print(row.id)
    return 0


def cmd_callback_requests_list(args) -> int:
    from bot.intake.callback_requests import list_callback_requests

    with _store(args) as store:
        rows = list_callback_requests(store, pending_only=args.pending, limit=args.limit)
    if args.json:
        print_json([row.as_dict() for row in rows])
    else:
        print_table(((r.id, r.as_dict()["created_at"], r.channel, r.phone, "yes" if r.handled else "no", r.message)
                     for r in rows), ("id", "created_at", "channel", "phone", "handled", "message"))
    return 0


def cmd_callback_requests_done(args) -> int:
    from bot.intake.callback_requests import mark_callback_handled

    with _store(args) as store:
        row = mark_callback_handled(store, args.id)
    print(f"callback request {row.id} handled")
    return 0


def cmd_ratings_list(args) -> int:
    from bot.intake.ratings import list_ratings

    with _store(args) as store:
        rows = list_ratings(store, limit=args.limit)
    if args.json:
        print_json([row.as_dict() for row in rows])
    else:
        print_table(((r.id, r.as_dict()["created_at"], r.channel, r.topic, r.score, r.case_number, r.sender_id)
                     for r in rows), ("id", "created_at", "channel", "topic", "score", "case_number", "sender_id"))
    return 0


def cmd_ratings_summary(args) -> int:
    from bot.intake.ratings import rating_summary

    with _store(args) as store:
        print_json(rating_summary(store))
    return 0


def cmd_db_upgrade(args) -> int:
    from bot.intake.store import current_revision

    with _store(args) as store:
        print(f"{store.url}: at revision {current_revision(store.engine)} (head)")
    return 0
