"""The routing engine: category + region + context -> ordered agencies and channels.

Deterministic and pure: the rules are the table in data/guidance/routing.yml,
the agencies come from the directory, and nothing here imports rasa.
"""

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple, Union

import yaml

from bot.knowledge.categories import CATEGORY_CODES
from bot.knowledge.directory import KINDS, Agency, Directory, load_directory
from bot.knowledge.paths import DATA_DIR
from bot.knowledge.regions import LEVELS

REQUEST_KINDS = ("complaint", "tip_off")
_REQUEST_CHANNEL = {"complaint": "complaint_12315", "tip_off": "tipoff_12315"}


class RoutingError(ValueError):
    """The routing or guidance data is inconsistent."""


@dataclass(frozen=True)
class RouteRequest:
    category: str
    region_code: Optional[str] = None
    request: str = "complaint"
    subkind: Optional[str] = None
    flags: FrozenSet[str] = frozenset()


@dataclass(frozen=True)
class Recommendation:
    agency: Agency
    channel: str
    reason: str
    can_do: str
    bring: Tuple[str, ...]


@dataclass(frozen=True)
class Route:
    category: str
    region_code: Optional[str]
    subkind: Optional[str]
    recommendations: Tuple[Recommendation, ...]
    channels: Tuple[str, ...]
    redirects: Tuple[str, ...] = ()

    def as_dict(self) -> Dict[str, object]:
        return {
            "category": self.category,
            "agencies": [r.agency.summary() for r in self.recommendations],
            "channels": list(self.channels),
        }


@dataclass(frozen=True)
class _Step:
    kind: str
    channel: str
    reason: str
    when: Optional[str] = None
    unless: Optional[str] = None
    subkind: Optional[str] = None
    from_level: Optional[str] = None
    otherwise: Optional[Tuple[str, str, str]] = None  # (kind, channel, reason)

    def applies(self, flags: FrozenSet[str], subkind: Optional[str]) -> bool:
        return _condition_holds(self.when, self.unless, self.subkind, flags, subkind)


@dataclass(frozen=True)
class _ExtraChannel:
    channel: str
    when: Optional[str] = None
    subkind: Optional[str] = None

    def applies(self, flags: FrozenSet[str], subkind: Optional[str]) -> bool:
        return _condition_holds(self.when, None, self.subkind, flags, subkind)


def _condition_holds(when, unless, step_subkind, flags, subkind) -> bool:
    if when and when not in flags:
        return False
    if unless and unless in flags:
        return False
    return not step_subkind or step_subkind == subkind


@dataclass
class Guidance:
    """Channel explanations and evidence checklists (data/guidance/*.yml)."""

    channels: Dict[str, Dict[str, object]]
    evidence: Dict[str, Tuple[str, ...]]

    def prepare(self, channel: str) -> Tuple[str, ...]:
        return tuple(self.channels[channel].get("prepare") or ())

    def channel_name(self, channel: str) -> str:
        return str(self.channels[channel]["name"])

    def channel_summary(self, channel: str) -> str:
        return str(self.channels[channel]["summary"])


@dataclass
class Router:
    directory: Directory
    guidance: Guidance
    steps: Dict[str, Tuple[_Step, ...]]
    extra_channels: Dict[str, Tuple[_ExtraChannel, ...]]
    redirects: Dict[str, Tuple[str, ...]]
    flag_keywords: Dict[str, Tuple[str, ...]]
    subkinds: Dict[str, Dict[str, object]] = field(default_factory=dict)
    labels: Dict[str, str] = field(default_factory=dict)
    templates: Dict[str, object] = field(default_factory=dict)

    def route(self, request: RouteRequest) -> Route:
        if request.category not in CATEGORY_CODES:
            raise ValueError(f"unknown category {request.category!r}")
        if request.request not in REQUEST_KINDS:
            raise ValueError(f"unknown request kind {request.request!r}")
        subkind = request.subkind or self.default_subkind(request.category)
        recommendations: List[Recommendation] = []
        channels: List[str] = []
        seen = set()
        for step in self.steps[request.category]:
            if not step.applies(request.flags, subkind):
                continue
            found = self._recommend(step, request)
            if not found and step.channel != "request":
                # The option still applies where we know no agency for it.
                _append_unique(channels, step.channel)
            for recommendation in found:
                key = (recommendation.agency.id, recommendation.channel)
                if key not in seen:
                    seen.add(key)
                    recommendations.append(recommendation)
                    _append_unique(channels, recommendation.channel)
        for extra in self.extra_channels.get(request.category, ()):
            if extra.applies(request.flags, subkind):
                _append_unique(channels, extra.channel)
        return Route(
            category=request.category,
            region_code=request.region_code,
            subkind=subkind,
            recommendations=tuple(recommendations),
            channels=tuple(channels),
            redirects=self.redirects.get(request.category, ()),
        )

    def _recommend(self, step: _Step, request: RouteRequest) -> List[Recommendation]:
        region = request.region_code
        agencies = self.directory.find(step.kind, request.category, region, from_level=step.from_level)
        channel, reason = step.channel, step.reason
        if not agencies and step.otherwise:
            kind, channel, reason = step.otherwise
            agencies = self.directory.find(kind, request.category, region)
        if channel == "request":
            channel = _REQUEST_CHANNEL[request.request]
        bring = self.guidance.prepare(channel)
        return [Recommendation(a, channel, reason, a.description, bring) for a in agencies]

    def default_subkind(self, category: str) -> Optional[str]:
        spec = self.subkinds.get(category)
        return str(spec["default"]) if spec else None

    def detect_subkind(self, category: str, text: str) -> Optional[str]:
        """The sub-kind a text points to (e.g. patent passing-off), else the category's default."""
        spec = self.subkinds.get(category)
        if not spec:
            return None
        for subkind, words in dict(spec.get("keywords") or {}).items():
            if any(word in text for word in words):
                return str(subkind)
        return str(spec["default"])

    def detect_flags(self, text: str, entities: Sequence[dict] = ()) -> FrozenSet[str]:
        flags = {flag for flag, words in self.flag_keywords.items() if any(word in text for word in words)}
        if any(e.get("entity") == "platform" for e in entities):
            flags.add("online")
        return frozenset(flags)


def _append_unique(items: List[str], item: str) -> None:
    if item not in items:
        items.append(item)


def load_guidance(guidance_dir: Union[str, Path] = DATA_DIR / "guidance") -> Guidance:
    guidance_dir = Path(guidance_dir)
    channels = _read_yaml(guidance_dir / "channels.yml")["channels"]
    evidence = {k: tuple(v) for k, v in _read_yaml(guidance_dir / "evidence.yml")["evidence"].items()}
    missing = set(CATEGORY_CODES) - set(evidence)
    if missing:
        raise RoutingError(f"evidence.yml: no checklist for {', '.join(sorted(missing))}")
    for code, spec in channels.items():
        for key in ("name", "summary", "when", "cost_time", "prepare", "source"):
            if not spec.get(key):
                raise RoutingError(f"channels.yml: channel {code!r}: missing {key}")
    return Guidance(channels=channels, evidence=evidence)


def load_router(
    data_dir: Union[str, Path] = DATA_DIR, directory: Optional[Directory] = None
) -> Router:
    data_dir = Path(data_dir)
    directory = directory or load_directory(data_dir / "directory")
    guidance = load_guidance(data_dir / "guidance")
    raw = _read_yaml(data_dir / "guidance" / "routing.yml")
    steps, extras, redirects, labels = {}, {}, {}, {}
    for code in CATEGORY_CODES:
        spec = raw["categories"].get(code)
        if not spec or not spec.get("steps") or not spec.get("label"):
            raise RoutingError(f"routing.yml: category {code!r} needs a label and steps")
        labels[code] = spec["label"]
        steps[code] = tuple(_parse_step(code, s, guidance) for s in spec["steps"])
        extras[code] = tuple(_parse_extra(code, e, guidance) for e in spec.get("channels") or ())
        redirects[code] = tuple(spec.get("redirects") or ())
    flags = {name: tuple(words) for name, words in raw["flags"].items()}
    return Router(
        directory, guidance, steps, extras, redirects, flags, raw.get("subkinds") or {}, labels, raw["templates"]
    )


@functools.lru_cache(maxsize=1)
def get_router() -> Router:
    """The router over the repository's data, loaded on first use and then shared."""
    return load_router()


def _parse_step(category: str, spec: dict, guidance: Guidance) -> _Step:
    where = f"routing.yml: {category}: step {spec.get('kind')!r}"
    if spec.get("kind") not in KINDS:
        raise RoutingError(f"{where}: unknown kind")
    channel = spec.get("channel")
    if channel != "request" and channel not in guidance.channels:
        raise RoutingError(f"{where}: unknown channel {channel!r}")
    if spec.get("from_level") and spec["from_level"] not in LEVELS:
        raise RoutingError(f"{where}: unknown from_level {spec['from_level']!r}")
    otherwise = spec.get("otherwise")
    if otherwise and otherwise.get("kind") not in KINDS:
        raise RoutingError(f"{where}: unknown otherwise.kind")
    otherwise_channel = (otherwise or {}).get("channel", channel)
    if otherwise_channel != "request" and otherwise_channel not in guidance.channels:
        raise RoutingError(f"{where}: unknown otherwise.channel {otherwise_channel!r}")
    return _Step(
        kind=spec["kind"],
        channel=channel,
        reason=spec["reason"],
        when=spec.get("when"),
        unless=spec.get("unless"),
        subkind=spec.get("subkind"),
        from_level=spec.get("from_level"),
        otherwise=(otherwise["kind"], otherwise_channel, otherwise["reason"]) if otherwise else None,
    )


def _parse_extra(category: str, spec: dict, guidance: Guidance) -> _ExtraChannel:
    if spec.get("channel") not in guidance.channels:
        raise RoutingError(f"routing.yml: {category}: unknown channel {spec.get('channel')!r}")
    return _ExtraChannel(channel=spec["channel"], when=spec.get("when"), subkind=spec.get("subkind"))


def _read_yaml(path: Path) -> dict:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RoutingError(f"{path.name}: cannot read: {exc}") from exc
