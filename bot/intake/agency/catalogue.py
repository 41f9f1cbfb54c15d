"""The service catalogue: one Open311 service per category code, with its attributes, and the
check an agency applies to an incoming request against it."""

from typing import Any, Dict, List, Optional

from bot.knowledge.categories import CATEGORY_CODES

SERVICE_NAMES = {
    "trademark_counterfeit": "Counterfeit goods and trademark infringement",
    "patent": "Patent infringement disputes and patent passing-off",
    "copyright": "Copyright infringement and piracy",
    "trade_secret": "Trade secret misappropriation",
    "geographical_indication": "Geographical indication infringement",
    "plant_variety": "Plant variety rights infringement",
    "unfair_competition": "Market confusion: imitated names, packaging, trade names or domains",
    "not_ip": "Consumer dispute that is not about intellectual property",
}
REQUEST_KINDS = ("complaint", "tip_off")
ATTRIBUTES = (
    {"code": "respondent", "description": "Who the request is about: shop, company, platform store or person",
     "required": True, "required_for": list(REQUEST_KINDS), "order": 1},
    {"code": "request", "description": "What the complainant asks for (refund, compensation, stop the sale...)",
     "required": False, "required_for": ["complaint"], "order": 2},
)
REQUESTER_REQUIRED_FOR_COMPLAINT = ("name", "phone")


def services() -> List[Dict[str, Any]]:
    return [service(code) for code in CATEGORY_CODES]


def service(code: str) -> Dict[str, Any]:
    return {
        "service_code": code,
        "service_name": SERVICE_NAMES[code],
        "description": SERVICE_NAMES[code],
        "metadata": True,
        "type": "realtime",
        "group": "not_ip" if code == "not_ip" else "intellectual_property",
        "keywords": code.replace("_", ","),
        "attributes": [_attribute(a) for a in ATTRIBUTES],
    }


def _attribute(spec: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "variable": True,
        "code": spec["code"],
        "datatype": "text",
        "required": spec["required"],
        "required_for": spec["required_for"],
        "datatype_description": spec["description"],
        "order": spec["order"],
        "description": spec["description"],
    }


def problems(document: Any, idempotency_key: str) -> List[str]:
    """Why an incoming request body does not meet the contract ([] when it does)."""
    if not isinstance(document, dict):
        return ["body: expected a JSON object"]
    found = []
    kind = document.get("request_kind")
    if document.get("service_code") not in CATEGORY_CODES:
        found.append(f"service_code: unknown service {document.get('service_code')!r}")
    if kind not in REQUEST_KINDS:
        found.append("request_kind: must be complaint or tip_off")
    for field in ("description", "agency_id", "region_code"):
        if not _text(document.get(field)):
            found.append(f"{field}: is required")
    uuid = document.get("complaint_uuid")
    if uuid is not None and uuid != idempotency_key:
        found.append("complaint_uuid: must equal the Idempotency-Key header")
    found.extend(_attribute_problems(document.get("attributes"), kind))
    if kind == "complaint":
        found.extend(_requester_problems(document.get("requester")))
    return found


def _attribute_problems(attributes: Any, kind: Optional[str]) -> List[str]:
    if not isinstance(attributes, dict):
        return ["attributes: expected an object"]
    return [
        f"attributes.{spec['code']}: is required for a {kind}"
        for spec in ATTRIBUTES
        if kind in spec["required_for"] and not _text(attributes.get(spec["code"]))
    ]


def _requester_problems(requester: Any) -> List[str]:
    if not isinstance(requester, dict):
        return ["requester: is required for a complaint"]
    return [f"requester.{field}: is required for a complaint"
            for field in REQUESTER_REQUIRED_FOR_COMPLAINT if not _text(requester.get(field))]


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
