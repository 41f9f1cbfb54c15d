"""Turn a route into the variables a response template shows.

The wording of each line comes from the templates in routing.yml and the
texts in the directory and guidance data; this module only numbers, trims and
joins them.
"""

from typing import Dict, List, Optional

from bot.knowledge.routing import Route, Router


def present_route(route: Route, router: Router, region_name: Optional[str] = None) -> Dict[str, str]:
    templates = router.templates
    return {
        "category": route.category,
        "category_label": _category_label(route, router),
        "region_name": region_name or "",
        "agency_lines": "\n".join(_agency_lines(route, templates)),
        "channel_lines": "\n".join(
            str(templates["channel_line"]).format(
                name=router.guidance.channel_name(c), summary=router.guidance.channel_summary(c)
            )
            for c in route.channels
        ),
        "evidence_lines": "\n".join(
            str(templates["evidence_line"]).format(item=item)
            for item in router.guidance.evidence[route.category][: int(templates["max_evidence"])]
        ),
        "redirect_lines": "\n".join(str(templates["redirect_line"]).format(text=t) for t in route.redirects),
    }


def _category_label(route: Route, router: Router) -> str:
    label = router.labels[route.category]
    subkind = dict(router.templates.get("subkind_labels") or {}).get(route.subkind or "")
    return str(router.templates["label_with_subkind"]).format(label=label, subkind=subkind) if subkind else label


def _agency_lines(route: Route, templates: Dict[str, object]) -> List[str]:
    lines: List[str] = []
    shown = set()
    for recommendation in route.recommendations:
        agency = recommendation.agency
        if agency.id in shown:
            continue
        shown.add(agency.id)
        phone = str(templates["phone"]).format(phone=agency.phone) if agency.phone else ""
        markers = list(templates["agency_markers"])
        marker = markers[len(lines)] if len(lines) < len(markers) else str(len(lines) + 1)
        lines.append(
            str(templates["agency_line"]).format(
                marker=marker, name=agency.name, phone=phone, reason=recommendation.reason
            )
        )
        if len(lines) >= int(templates["max_agencies"]):
            break
    return lines
