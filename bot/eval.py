"""Evaluation commands.

    python -m bot.eval nlu --data FILE     FILE: JSON Lines {"text", "category"}
    python -m bot.eval intents --data FILE FILE: JSON Lines {"text", "intent"}
    python -m bot.eval route --data FILE   FILE: JSON Lines {"text", "region"}

nlu prints one JSON object: n, accuracy, macro_f1, per_category, confusion.
The category is the trained model's top intent mapped to its code; a top
intent that is not a problem intent counts as ``intent:<name>`` (always wrong).

route prints one JSON line per input, {"category", "agencies", "channels"}:
the category from the trained NLU (null when the text is not a problem
description), agencies and channels from the routing engine for the given
region (a name such as 游仙区 or a GB/T 2260 code), then a summary line. Input
lines may carry expect_category / expect_kind / expect_level for the first
agency; the summary then counts how many met them (expected_met of expected_checked).
"""

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Iterator, List, Optional

from bot.jsonl import InputFileError, read_records
from bot.knowledge.categories import CATEGORY_CODES, category_for_intent
from bot.metrics import classification_report


def _predicted_label(parse_data) -> str:
    intent = (parse_data.get("intent") or {}).get("name") or "none"
    return category_for_intent(intent) or f"intent:{intent}"


def evaluate_nlu(data_path: str, parser, show_errors: bool = False) -> dict:
    records = list(read_records(data_path, required=("text", "category")))
    unknown = sorted({r["category"] for r in records} - set(CATEGORY_CODES))
    if unknown:
        raise InputFileError(f"{data_path}: unknown category codes: {', '.join(unknown)}")
    pairs = []
    for record in records:
        predicted = _predicted_label(parser.parse(record["text"]))
        pairs.append((record["category"], predicted))
        if show_errors and predicted != record["category"]:
            print(f"{record['category']} -> {predicted}: {record['text']}", file=sys.stderr)
    return classification_report(pairs, CATEGORY_CODES)


def evaluate_intents(data_path: str, parser, show_errors: bool = False) -> dict:
    """Top-intent accuracy for conversational intents (the filing dialogue's skip, correct, rate ...)."""
    records = list(read_records(data_path, required=("text", "intent")))
    labels = sorted({r["intent"] for r in records})
    pairs = []
    for record in records:
        predicted = (parser.parse(record["text"]).get("intent") or {}).get("name") or "none"
        pairs.append((record["intent"], predicted))
        if show_errors and predicted != record["intent"]:
            print(f"{record['intent']} -> {predicted}: {record['text']}", file=sys.stderr)
    return classification_report(pairs, labels)


def evaluate_routes(data_path: str, parser) -> Iterator[dict]:
    from bot.knowledge.routing import get_router

    records = list(read_records(data_path, required=("text", "region")))
    router = get_router()
    counts: Counter = Counter()
    for record in records:
        parse_data = parser.parse(record["text"])
        line = route_line(router, record, parse_data)
        counts["n"] += 1
        counts["unresolved_region"] += line.pop("_region_unresolved")
        counts["no_agency"] += not line["agencies"]
        counts[f"category:{line['category']}"] += 1
        if "expect_kind" in record:
            counts["expected_checked"] += 1
            counts["expected_met"] += _meets_expectation(record, line)
        yield line
    yield {"summary": dict(sorted(counts.items()))}


def _meets_expectation(record: dict, line: dict) -> bool:
    """Optional fields expect_category / expect_kind / expect_level describe the first agency."""
    first = line["agencies"][0] if line["agencies"] else {}
    return (
        line["category"] == record.get("expect_category", line["category"])
        and first.get("kind") == record["expect_kind"]
        and first.get("level") == record.get("expect_level", first.get("level"))
    )


def route_line(router, record: dict, parse_data: dict) -> dict:
    """Category from the parse, region from the record, the rest from the routing engine."""
    from bot.knowledge.routing import RouteRequest

    category = category_for_intent((parse_data.get("intent") or {}).get("name"))
    region_code = _region_code(router, record["region"])
    if category is None:
        return {"category": None, "agencies": [], "channels": [], "_region_unresolved": region_code is None}
    entities = parse_data.get("entities") or []
    request = RouteRequest(
        category=category,
        region_code=region_code,
        subkind=router.detect_subkind(category, record["text"]),
        flags=router.detect_flags(record["text"], entities),
    )
    return {**router.route(request).as_dict(), "_region_unresolved": region_code is None}


def _region_code(router, region: str):
    regions = router.directory.regions
    if regions.get(region.strip()):
        return region.strip()
    resolution = regions.resolve(text=region)
    return resolution.region.code if resolution.region else None


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.eval", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    nlu = sub.add_parser("nlu", help="category accuracy of the newest model on a JSONL file")
    nlu.add_argument("--data", required=True, help='JSON Lines file of {"text", "category"}')
    nlu.add_argument("--models", default="models", help="folder of trained models (default: models)")
    nlu.add_argument("--show-errors", action="store_true", help="list misclassified lines on stderr")
    intents = sub.add_parser("intents", help="intent accuracy of the newest model on a JSONL file")
    intents.add_argument("--data", required=True, help='JSON Lines file of {"text", "intent"}')
    intents.add_argument("--models", default="models", help="folder of trained models (default: models)")
    intents.add_argument("--show-errors", action="store_true", help="list misclassified lines on stderr")
    route = sub.add_parser("route", help="category, agencies and channels for each problem and region")
    route.add_argument("--data", required=True, help='JSON Lines file of {"text", "region"}')
    route.add_argument("--models", default="models", help="folder of trained models (default: models)")
    args = parser.parse_args(argv)
    try:
        _check_readable(args.data)
        nlu = _load_parser(args.models)
        if args.command in ("nlu", "intents"):
            evaluate = evaluate_nlu if args.command == "nlu" else evaluate_intents
            print(json.dumps(evaluate(args.data, nlu, args.show_errors), ensure_ascii=False))
        else:
            for line in evaluate_routes(args.data, nlu):
                print(json.dumps(line, ensure_ascii=False), flush=True)
    except (InputFileError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _check_readable(path: str) -> None:
    # Fail on a bad path before spending seconds loading the model.
    if not Path(path).is_file():
        raise InputFileError(f"{path}: no such file")


def _load_parser(models_dir: str):
    from bot.nlu.model import NluParser

    return NluParser.latest(models_dir)


if __name__ == "__main__":
    sys.exit(main())
