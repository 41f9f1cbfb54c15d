"""The training and held-out data meet the coverage the product promises."""

import json

import pytest
import yaml
from support import FILING_HOLDOUT, HOLDOUT, ROOT, entity_template, plain_text

from bot.knowledge.categories import CATEGORY_CODES, IP_CATEGORY_CODES, intent_for_category

MIN_PER_IP_CATEGORY = 60
MIN_NOT_IP = 80
MIN_HOLDOUT = 200
SHARED_SPAN = 12


def _distinct(lines):
    # Variants that only swap a brand, place or shop collapse to one template.
    return {entity_template(line) for line in lines}


def test_every_ip_category_has_enough_distinct_examples(intent_examples):
    for code in IP_CATEGORY_CODES:
        count = len(_distinct(intent_examples.get(intent_for_category(code), [])))
        assert count >= MIN_PER_IP_CATEGORY, f"{code}: only {count} distinct examples"


def test_not_ip_has_enough_distinct_examples(intent_examples):
    count = len(_distinct(intent_examples["problem_not_ip"]))
    assert count >= MIN_NOT_IP, f"not_ip: only {count} distinct examples"


def test_no_example_is_claimed_by_two_intents(intent_examples):
    owner = {}
    for intent, lines in intent_examples.items():
        for line in lines:
            text = plain_text(line)
            assert owner.setdefault(text, intent) == intent, f"{text!r}: {owner[text]} and {intent}"


def test_training_intents_are_declared_in_the_domain(intent_examples):
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    declared = set(domain["intents"])
    used = {intent.split("/")[0] for intent in intent_examples}
    assert used <= declared, used - declared
    assert {intent_for_category(code) for code in CATEGORY_CODES} <= declared


def _holdout(path=HOLDOUT):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_holdout_is_large_and_uses_only_category_codes():
    records = _holdout()
    assert len(records) >= MIN_HOLDOUT
    assert {r["category"] for r in records} == set(CATEGORY_CODES)


@pytest.mark.parametrize("path", [HOLDOUT, FILING_HOLDOUT], ids=["categories", "filing"])
def test_holdout_shares_no_12_character_span_with_training_data(intent_examples, path):
    spans = set()
    for lines in intent_examples.values():
        for line in lines:
            text = plain_text(line)
            spans.update(text[i : i + SHARED_SPAN] for i in range(len(text) - SHARED_SPAN + 1))
    leaks = [
        r["text"]
        for r in _holdout(path)
        if any(r["text"][i : i + SHARED_SPAN] in spans for i in range(len(r["text"]) - SHARED_SPAN + 1))
    ]
    assert not leaks, f"holdout lines overlapping training data: {leaks[:5]}"


def test_every_place_name_is_in_the_jieba_dictionary():
    # jieba must keep place names whole, or region annotations and features misalign.
    words = {line.split()[0] for line in (ROOT / "data/jieba/userdict.txt").read_text(encoding="utf-8").splitlines()}
    regions = yaml.safe_load((ROOT / "data/regions/regions.yml").read_text(encoding="utf-8"))["regions"]
    missing = [n for r in regions for n in (r["name"], *r.get("aliases", [])) if n not in words]
    assert not missing, missing
