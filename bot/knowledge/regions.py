"""Resolve what people write about where they are to a GB/T 2260 region code.

Sources, best first: region entities from the NLU, then a scan of the text
for known names and aliases. Spans the NLU tagged as a brand or a respondent
are skipped, so "蓉城老火锅" as a shop name does not put the user in Chengdu.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import yaml

from bot.knowledge.paths import DATA_DIR

NATIONAL_CODE = "100000"
LEVELS = ("national", "province", "city", "district")
_MASKING_ENTITIES = ("brand", "respondent")


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: str
    parent: Optional[str]
    aliases: Tuple[str, ...]
    seed: bool


@dataclass(frozen=True)
class Resolution:
    """Outcome of resolving a place. ``region`` is set only when exactly one place was meant."""

    region: Optional[Region]
    candidates: Tuple[Region, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.region is None and len(self.candidates) > 1


class RegionTable:
    def __init__(self, regions: Iterable[Region]) -> None:
        self.by_code: Dict[str, Region] = {}
        self._by_name: Dict[str, List[Region]] = {}
        for region in regions:
            self.by_code[region.code] = region
            for name in {region.name, *region.aliases}:
                self._by_name.setdefault(name, []).append(region)
        # Longest names first so 游仙区 wins over 游仙 and 绵阳市 over 绵阳.
        self._names = sorted(self._by_name, key=len, reverse=True)

    def get(self, code: str) -> Optional[Region]:
        return self.by_code.get(code)

    def chain(self, code: str) -> List[Region]:
        """The region and its ancestors, most local first."""
        chain = []
        region = self.by_code.get(code)
        while region is not None:
            chain.append(region)
            region = self.by_code.get(region.parent) if region.parent else None
        return chain

    def is_within(self, code: str, ancestor: str) -> bool:
        return any(r.code == ancestor for r in self.chain(code))

    def resolve(self, text: Optional[str] = None, entities: Sequence[dict] = ()) -> Resolution:
        """Resolve region entities if any, else the free text."""
        names = [e.get("value") for e in entities if e.get("entity") == "region" and e.get("value")]
        found = self._regions_in_names(names) if names else []
        if not found and text:
            found = self._regions_in_text(text, _masked_spans(entities))
        return self._decide(found)

    def _regions_in_names(self, names: Sequence[str]) -> List[Region]:
        found: List[Region] = []
        for name in names:
            found.extend(self._regions_in_text(str(name), []))
        return found

    def _regions_in_text(self, text: str, masked: Sequence[Tuple[int, int]]) -> List[Region]:
        found: List[Region] = []
        taken = [False] * len(text)
        for start, end in masked:
            for i in range(max(0, start), min(end, len(text))):
                taken[i] = True
        for name in self._names:
            start = text.find(name)
            while start != -1:
                span = range(start, start + len(name))
                if not any(taken[i] for i in span):
                    found.extend(self._by_name[name])
                    for i in span:
                        taken[i] = True
                start = text.find(name, start + 1)
        return found

    def _decide(self, found: List[Region]) -> Resolution:
        unique = list(dict.fromkeys(found))
        if not unique:
            return Resolution(None)
        # Keep only the most specific places: 绵阳 + 游仙区 means 游仙区.
        specific = [r for r in unique if not any(o is not r and self.is_within(o.code, r.code) for o in unique)]
        if len(specific) == 1:
            return Resolution(specific[0], (specific[0],))
        return Resolution(None, tuple(specific))


def _masked_spans(entities: Sequence[dict]) -> List[Tuple[int, int]]:
    return [
        (int(e["start"]), int(e["end"]))
        for e in entities
        if e.get("entity") in _MASKING_ENTITIES and isinstance(e.get("start"), int) and isinstance(e.get("end"), int)
    ]


def load_regions(path: Union[str, Path] = DATA_DIR / "regions" / "regions.yml") -> RegionTable:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    regions = [
        Region(
            code=str(item["code"]),
            name=item["name"],
            level=item["level"],
            parent=str(item["parent"]) if item.get("parent") else None,
            aliases=tuple(item.get("aliases") or ()),
            seed=bool(item.get("seed", False)),
        )
        for item in raw["regions"]
    ]
    return RegionTable(regions)
