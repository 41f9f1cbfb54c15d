"""The agency side's client for the assistant's status callback (POST /agency/callback)."""

import json
from typing import Any, Dict

import requests

from bot.intake.signing import signed_headers

CALLBACK_TIMEOUT = (3.05, 10.0)


class CallbackError(Exception):
    """The assistant did not acknowledge the callback."""


def post_callback(url: str, secret: str, agency_id: str, document: Dict[str, Any]) -> Dict[str, Any]:
    body = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Agency-Id": agency_id,
               **signed_headers(secret, body)}
    try:
        response = requests.post(url, data=body, headers=headers, timeout=CALLBACK_TIMEOUT, allow_redirects=False)
    except requests.exceptions.RequestException as exc:
        raise CallbackError(f"cannot reach {url}: {type(exc).__name__}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code != 200:
        raise CallbackError(f"{url} answered {response.status_code}: {_description(answer, response.text)}")
    return answer if isinstance(answer, dict) else {}


def _description(answer: Any, text: str) -> str:
    if isinstance(answer, list) and answer and isinstance(answer[0], dict):
        return str(answer[0].get("description", ""))
    return text[:200]
