"""The reference agency intake server (openapi.yaml): GET services, POST requests (signed,
idempotent on the Idempotency-Key), GET requests/{id} and tokens/{token} (signed).

Fault injection for tests: ``fail_first`` answers the first N POSTs with ``fail_status`` (and an
optional Retry-After); ``delay`` holds answers for that many seconds after storing the request
(the first ``delay_first`` POSTs, or all when 0) - a client that times out has still delivered.
"""

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Callable, Optional

from sanic import Sanic, response

from bot.intake.agency import catalogue, records
from bot.intake.db import Database
from bot.intake.errors import NotFound
from bot.intake.serving import json_error, new_app
from bot.intake.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify
from bot.intake.timeutil import isoformat, utcnow

MAX_BODY_BYTES = 1024 * 1024
MAX_KEY_LENGTH = 255


@dataclass
class Faults:
    fail_first: int = 0
    fail_status: int = 500
    retry_after: Optional[int] = None
    delay: float = 0.0
    delay_first: int = 0
    posts: int = 0

    def count(self) -> int:
        self.posts += 1
        return self.posts

    def failure(self, number: int):
        if number > self.fail_first:
            return None
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        return json_error(self.fail_status, f"injected failure {number} of {self.fail_first}", headers)

    def delay_for(self, number: int) -> float:
        return self.delay if self.delay and (not self.delay_first or number <= self.delay_first) else 0.0


class AgencyHandlers:
    def __init__(self, db: Database, secret: str, faults: Faults, assign_later: bool, clock: Callable[[], float]):
        self.db, self.secret, self.faults, self.assign_later, self.clock = db, secret, faults, assign_later, clock

    async def list_services(self, request):
        return response.json(catalogue.services())

    async def get_service(self, request, service_code: str):
        if service_code not in catalogue.SERVICE_NAMES:
            return json_error(404, f"no service {service_code!r}")
        attributes = catalogue.service(service_code)["attributes"]
        return response.json({"service_code": service_code, "attributes": attributes})

    async def post_request(self, request):
        body = request.body or b""
        problem = self._unauthenticated(request, body)
        if problem:
            return json_error(401, problem)
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            return json_error(400, f"Idempotency-Key header: required, at most {MAX_KEY_LENGTH} characters")
        number = self.faults.count()
        failure = self.faults.failure(number)
        if failure is not None:
            await self._in_thread(records.log_receipt, self.db, key, "injected_failure", failure.status, utcnow())
            return failure
        invalid = self._invalid(body, key)
        if invalid:
            await self._in_thread(records.log_receipt, self.db, key, "invalid", 400, utcnow())
            return json_error(400, invalid)
        answer = await self._in_thread(records.accept, self.db, key, body, json.loads(body), self.assign_later,
                                       utcnow())
        pause = self.faults.delay_for(number)
        if pause:
            await asyncio.sleep(pause)
        return response.raw(answer.body.encode("utf-8"), status=answer.status, content_type="application/json")

    async def get_request(self, request, service_request_id: str):
        problem = self._unauthenticated(request, request.body or b"")
        if problem:
            return json_error(401, problem)
        record = await self._lookup(service_request_id, by_token=False)
        if record is None:
            return json_error(404, f"no request {service_request_id}")
        return response.json([_status_view(record)])

    async def get_token(self, request, token: str):
        problem = self._unauthenticated(request, request.body or b"")
        if problem:
            return json_error(401, problem)
        record = await self._lookup(token, by_token=True)
        if record is None:
            return json_error(404, f"no token {token}")
        return response.json([{"token": token, "service_request_id": record.service_request_id}])

    def _unauthenticated(self, request, body: bytes) -> str:
        try:
            verify(self.secret, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER), body,
                   self.clock())
        except SignatureError as exc:
            return str(exc)
        return ""

    @staticmethod
    def _invalid(body: bytes, key: str) -> str:
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return "body is not valid JSON"
        return "; ".join(catalogue.problems(document, key))

    async def _lookup(self, reference: str, by_token: bool):
        try:
            record = await self._in_thread(records.find_record, self.db, reference, by_token)
        except NotFound:
            return None
        if not by_token and record.service_request_id != reference:
            return None
        return record

    @staticmethod
    async def _in_thread(function, *args):
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def _status_view(record) -> dict:
    return {
        "service_request_id": record.service_request_id,
        "status": record.status,
        "status_notes": record.status_notes,
        "service_code": record.service_code,
        "service_name": catalogue.SERVICE_NAMES.get(record.service_code),
        "agency_responsible": record.agency_id,
        "case_number": record.case_number,
        "requested_datetime": isoformat(record.received_at),
        "updated_datetime": isoformat(record.updated_at),
    }


def create_agency_app(
    db: Database,
    secret: str,
    faults: Optional[Faults] = None,
    assign_later: bool = False,
    clock: Callable[[], float] = time.time,
) -> Sanic:
    app = new_app("agency", MAX_BODY_BYTES)
    handlers = AgencyHandlers(db, secret, faults or Faults(), assign_later, clock)
    app.add_route(handlers.list_services, "/services", methods=["GET"], name="services")
    app.add_route(handlers.get_service, "/services/<service_code>", methods=["GET"], name="service")
    app.add_route(handlers.post_request, "/requests", methods=["POST"], name="post_request")
    app.add_route(handlers.get_request, "/requests/<service_request_id>", methods=["GET"], name="get_request")
    app.add_route(handlers.get_token, "/tokens/<token>", methods=["GET"], name="get_token")
    return app
