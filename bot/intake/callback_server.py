"""POST /agency/callback: agencies report status changes here, signed like our requests to them.

    python -m bot callbacks serve --port 5056

Headers X-Agency-Id, X-Timestamp, X-Signature (HMAC-SHA256 with the agency's secret from the
intake config). Body {service_request_id | complaint_uuid, status, note, updated_at, event_id}.
200 recorded or duplicate; 400 bad JSON or fields; 401 unknown agency, forged or expired
signature (nothing changes); 404 not a request we sent to that agency; 413 body over 64 KiB;
503 when the store is unavailable (retry later). Never a 500.
"""

import asyncio
import json
import logging
import time
from typing import Callable

from sanic import Sanic, response
from sqlalchemy.exc import SQLAlchemyError

from bot.intake.db import Database
from bot.intake.endpoints import Endpoints
from bot.intake.errors import NotFound, ValidationFailed
from bot.intake.schemas import StatusCallbackIn, parse
from bot.intake.serving import json_error, new_app
from bot.intake.signing import SIGNATURE_HEADER, SIGNATURE_WINDOW_SECONDS, TIMESTAMP_HEADER, SignatureError, verify
from bot.intake.tracking import record_agency_status

log = logging.getLogger(__name__)

CALLBACK_PATH = "/agency/callback"
AGENCY_HEADER = "X-Agency-Id"
MAX_BODY_BYTES = 64 * 1024


class CallbackHandler:
    def __init__(self, store: Database, endpoints: Endpoints, clock: Callable[[], float] = time.time) -> None:
        self.store, self.endpoints, self.clock = store, endpoints, clock

    async def handle(self, request):
        body = request.body or b""
        if len(body) > MAX_BODY_BYTES:
            return json_error(413, f"body over {MAX_BODY_BYTES // 1024} KiB")
        agency_id = (request.headers.get(AGENCY_HEADER) or "").strip()
        problem = self._authenticate(agency_id, request.headers, body)
        if problem:
            return json_error(401, problem)
        try:
            update = parse(StatusCallbackIn, json.loads(body))
        except (ValueError, UnicodeDecodeError):
            return json_error(400, "body is not valid JSON")
        except ValidationFailed as exc:
            return json_error(400, str(exc))
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(None, record_agency_status, self.store, agency_id, update)
        except NotFound as exc:
            return json_error(404, str(exc))
        except SQLAlchemyError as exc:
            log.error("cannot record a status callback from %s: %s", agency_id, exc)
            return json_error(503, "cannot record the status now: try again later")
        log.info("status callback from %s: %s %s", agency_id, result.case_number, result.outcome)
        return response.json(result.as_dict())

    def _authenticate(self, agency_id: str, headers, body: bytes) -> str:
        """An error message, or "" when the request is signed by the agency it names."""
        if not agency_id:
            return f"missing {AGENCY_HEADER} header"
        secret = self.endpoints.secret_for(agency_id)
        if not secret:
            return f"agency {agency_id!r} has no intake endpoint and secret configured here"
        try:
            verify(secret, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER), body, self.clock(),
                   SIGNATURE_WINDOW_SECONDS)
        except SignatureError as exc:
            return str(exc)
        return ""


def create_app(store: Database, endpoints: Endpoints, clock: Callable[[], float] = time.time) -> Sanic:
    app = new_app("callbacks", MAX_BODY_BYTES)
    handler = CallbackHandler(store, endpoints, clock)
    app.add_route(handler.handle, CALLBACK_PATH, methods=["POST"], name="agency_callback")
    app.add_route(_health, "/healthz", methods=["GET"], name="healthz")
    return app


async def _health(request):
    return response.json({"ok": True})
