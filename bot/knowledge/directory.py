"""The agency directory: YAML files under data/directory/, validated on load.

    python -m bot.knowledge.directory     check every file; exit 1 naming file and entry

A bad file must never reach a citizen as a wrong phone number, so loading is
strict: unknown kinds, levels, categories or matters, missing fields,
duplicate ids and region codes that are not in data/regions/ all fail with
the file and the entry named.
"""

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple, Union

import yaml
from pydantic import BaseModel, Extra, ValidationError, validator

from bot.knowledge.categories import CATEGORY_CODES
from bot.knowledge.paths import DATA_DIR
from bot.knowledge.regions import LEVELS, NATIONAL_CODE, RegionTable, load_regions

KINDS = (
    "market_regulation", "copyright", "culture_enforcement", "agriculture", "forestry",
    "public_security", "customs", "court", "procuratorate", "justice_mediation", "arbitration",
    "ip_protection_center", "rights_assistance", "overseas_center", "exhibition_station",
    "hotline_12315",
)
MATTERS = (
    "complaint_12315", "tipoff_12315", "admin_enforcement", "admin_ruling", "rights_assistance",
    "protection_center", "mediation", "arbitration", "litigation", "police", "customs", "overseas",
    "exhibition", "platform_takedown", "prosecution",
)
# Most local first: a search walks up this order.
_LEVEL_RANK = {"district": 0, "city": 1, "province": 2, "national": 3}
# A seed may only plan a body; planned ones stay in the data but are never recommended.
STATUSES = ("active", "planned")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_REGION_CODE = re.compile(r"^\d{6}$")


class DirectoryError(ValueError):
    """The directory data is invalid; the message names the file and the entry."""


class _AgencySchema(BaseModel, extra=Extra.forbid):
    id: str
    name: str
    kind: str
    level: str
    region_code: str
    categories: List[str]
    matters: List[str]
    description: str
    source: str
    phone: Optional[str] = None
    address: Optional[str] = None
    website: Optional[str] = None
    status: str = "active"

    @validator("id")
    def _id_shape(cls, value):
        if not _ID.match(value):
            raise ValueError("must be lowercase ascii snake_case")
        return value

    @validator("kind")
    def _known_kind(cls, value):
        return _one_of(value, KINDS)

    @validator("status")
    def _known_status(cls, value):
        return _one_of(value, STATUSES)

    @validator("level")
    def _known_level(cls, value):
        return _one_of(value, LEVELS)

    @validator("region_code")
    def _code_shape(cls, value):
        if not _REGION_CODE.match(value):
            raise ValueError("must be a 6-digit GB/T 2260 code in quotes")
        return value

    @validator("categories", each_item=True)
    def _known_category(cls, value):
        return _one_of(value, CATEGORY_CODES)

    @validator("matters", each_item=True)
    def _known_matter(cls, value):
        return _one_of(value, MATTERS)

    @validator("name", "description", "source")
    def _not_blank(cls, value):
        if not value.strip():
            raise ValueError("must not be empty")
        return value


def _one_of(value: str, allowed: Iterable[str]) -> str:
    if value not in allowed:
        raise ValueError(f"unknown value {value!r}")
    return value


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    kind: str
    level: str
    region_code: str
    categories: Tuple[str, ...]
    matters: Tuple[str, ...]
    description: str
    source: str
    phone: Optional[str] = None
    address: Optional[str] = None
    website: Optional[str] = None
    status: str = "active"

    def summary(self) -> Dict[str, str]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "level": self.level,
            "region_code": self.region_code,
        }


class Directory:
    def __init__(self, agencies: Iterable[Agency], regions: RegionTable) -> None:
        self.agencies: Dict[str, Agency] = {a.id: a for a in agencies}
        self.regions = regions

    def get(self, agency_id: str) -> Optional[Agency]:
        return self.agencies.get(agency_id)

    def find(
        self, kind: str, category: str, region_code: Optional[str], from_level: Optional[str] = None
    ) -> List[Agency]:
        """Agencies of a kind handling a category for region_code, at the most local level that has any.

        Walks district → city → province → national (starting no lower than
        from_level); returns every match at the first level where one exists,
        in file order. An unknown or missing region searches national only.
        """
        chain = self.regions.chain(region_code) if region_code else []
        floor = _LEVEL_RANK[from_level] if from_level else 0
        codes = [r.code for r in chain if _LEVEL_RANK[r.level] >= floor] + [NATIONAL_CODE]
        for region_code_step in codes:
            matches = [
                a
                for a in self.agencies.values()
                if a.region_code == region_code_step
                and a.kind == kind
                and category in a.categories
                and a.status == "active"
            ]
            if matches:
                return matches
        return []


def load_directory(
    directory_dir: Union[str, Path] = DATA_DIR / "directory", regions: Optional[RegionTable] = None
) -> Directory:
    regions = regions or load_regions()
    agencies: List[Agency] = []
    seen: Dict[str, str] = {}
    files = sorted(Path(directory_dir).glob("*.yml"))
    if not files:
        raise DirectoryError(f"{directory_dir}: no directory files (*.yml)")
    for path in files:
        for agency in _load_file(path, regions):
            if agency.id in seen:
                raise DirectoryError(f"{path.name}: entry {agency.id!r}: duplicate id (also in {seen[agency.id]})")
            seen[agency.id] = path.name
            agencies.append(agency)
    return Directory(agencies, regions)


def _load_file(path: Path, regions: RegionTable) -> List[Agency]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DirectoryError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("agencies"), list):
        raise DirectoryError(f"{path.name}: expected a top-level 'agencies:' list")
    agencies = []
    for index, entry in enumerate(raw["agencies"], start=1):
        label = entry.get("id") if isinstance(entry, dict) and entry.get("id") else f"#{index}"
        agencies.append(_parse_entry(path, label, entry, regions))
    return agencies


def _parse_entry(path: Path, label: str, entry: object, regions: RegionTable) -> Agency:
    if not isinstance(entry, dict):
        raise DirectoryError(f"{path.name}: entry {label}: expected a mapping")
    try:
        parsed = _AgencySchema(**entry)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise DirectoryError(f"{path.name}: entry {label!r}: {problems}") from exc
    region = regions.get(parsed.region_code)
    if parsed.region_code == NATIONAL_CODE:
        expected_level = "national"
    elif region is None:
        raise DirectoryError(f"{path.name}: entry {label!r}: region_code {parsed.region_code} is not in data/regions")
    else:
        expected_level = region.level
    if parsed.level != expected_level:
        raise DirectoryError(
            f"{path.name}: entry {label!r}: level {parsed.level} but region {parsed.region_code} is {expected_level}"
        )
    data = parsed.dict()
    data["categories"] = tuple(data["categories"])
    data["matters"] = tuple(data["matters"])
    return Agency(**data)


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else DATA_DIR / "directory"
    try:
        directory = load_directory(target)
    except DirectoryError as exc:
        print(f"directory check failed: {exc}", file=sys.stderr)
        return 1
    print(f"directory ok: {len(directory.agencies)} agencies in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
