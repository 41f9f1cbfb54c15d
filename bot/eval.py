"""Evaluation commands.

    python -m bot.eval nlu --data FILE   FILE: JSON Lines {"text", "category"}

Prints one JSON object: n, accuracy, macro_f1, per_category, confusion. The
category is the trained model's top intent mapped to its code; a top intent
that is not a problem intent counts as ``intent:<name>`` (always wrong).
"""

import argparse
import json
import sys
from typing import List, Optional

from bot.jsonl import InputFileError, read_records
from bot.knowledge.categories import CATEGORY_CODES, category_for_intent
from bot.metrics import classification_report


def _predicted_label(parse_data) -> str:
    intent = (parse_data.get("intent") or {}).get("name") or "none"
    return category_for_intent(intent) or f"intent:{intent}"


def evaluate_nlu(data_path: str, models_dir: str, show_errors: bool) -> dict:
    from bot.nlu.model import NluParser

    records = list(read_records(data_path, required=("text", "category")))
    unknown = sorted({r["category"] for r in records} - set(CATEGORY_CODES))
    if unknown:
        raise InputFileError(f"{data_path}: unknown category codes: {', '.join(unknown)}")
    parser = NluParser.latest(models_dir)
    pairs = []
    for record in records:
        predicted = _predicted_label(parser.parse(record["text"]))
        pairs.append((record["category"], predicted))
        if show_errors and predicted != record["category"]:
            print(f"{record['category']} -> {predicted}: {record['text']}", file=sys.stderr)
    parser.close()
    return classification_report(pairs, CATEGORY_CODES)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.eval", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    nlu = sub.add_parser("nlu", help="category accuracy of the newest model on a JSONL file")
    nlu.add_argument("--data", required=True, help='JSON Lines file of {"text", "category"}')
    nlu.add_argument("--models", default="models", help="folder of trained models (default: models)")
    nlu.add_argument("--show-errors", action="store_true", help="list misclassified lines on stderr")
    args = parser.parse_args(argv)
    try:
        report = evaluate_nlu(args.data, args.models, args.show_errors)
    except (InputFileError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
