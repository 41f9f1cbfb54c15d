"""Variables for the responses that show a case to the citizen (texts from data/guidance/dialogue.yml)."""

from datetime import datetime
from typing import Dict

from zoneinfo import ZoneInfo

from bot.dialogue.settings import get_settings
from bot.knowledge.routing import get_router

TIME_FORMAT = "%Y-%m-%d %H:%M"


def local_time(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(get_settings().handoff.timezone)).strftime(TIME_FORMAT)


def case_status_variables(view) -> Dict[str, str]:
    """``view`` is a bot.intake.lookup.CaseView."""
    settings = get_settings()
    agency = get_router().directory.get(view.agency_id)
    notes = [
        settings.labels["note_line"].format(
            time=local_time(occurred_at), status=settings.statuses.get(status, status), note=note
        )
        for status, note, occurred_at in view.notes
    ]
    return {
        "case_number": view.case_number,
        "kind_label": settings.kinds[view.kind].label,
        "status_label": settings.statuses.get(view.status, view.status),
        "status_time": local_time(view.status_at),
        "agency_name": agency.name if agency else view.agency_id,
        "note_lines": "\n".join(notes),
    }
