"""The evaluation commands on small literal inputs."""

import json

import pytest

from bot.eval import evaluate_nlu, evaluate_routes, main

NLU_LINES = [
    {"text": "在淘宝买到高仿的名牌包", "category": "trademark_counterfeit"},
    {"text": "外卖送晚了一个小时", "category": "not_ip"},
    {"text": "你好", "category": "not_ip"},
]


def _jsonl(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return str(path)


def test_nlu_report_has_the_documented_shape(tmp_path, nlu_parser):
    report = evaluate_nlu(_jsonl(tmp_path, "nlu.jsonl", NLU_LINES), nlu_parser)
    assert set(report) == {"n", "accuracy", "macro_f1", "per_category", "confusion"}
    assert report["n"] == 3
    assert set(report["per_category"]["not_ip"]) == {"precision", "recall", "f1", "support"}
    # "你好" is a greeting, not a problem: it counts as a miss, under its intent's name.
    assert report["confusion"]["not_ip"].get("intent:greet") == 1
    assert json.dumps(report)


def test_route_lines_then_a_summary(tmp_path, nlu_parser):
    rows = [
        {"text": "在游仙区夜市买到高仿的鞋子", "region": "游仙区"},
        {"text": "有人仿制我的实用新型专利产品在卖", "region": "510600"},
        {"text": "今天天气不错", "region": "绵阳"},
        {"text": "买到盗版书了", "region": "火星"},
    ]
    lines = list(evaluate_routes(_jsonl(tmp_path, "route.jsonl", rows), nlu_parser))
    assert len(lines) == 5
    first, patent, chitchat, unknown_place, summary = lines
    assert set(first) == {"category", "agencies", "channels"}
    assert first["category"] == "trademark_counterfeit"
    assert first["agencies"][0] == {
        "id": "youxian_amr", "name": first["agencies"][0]["name"], "kind": "market_regulation",
        "level": "district", "region_code": "510704",
    }
    assert patent["category"] == "patent" and patent["agencies"][0]["level"] == "city"
    assert "admin_ruling" in patent["channels"]
    assert chitchat == {"category": None, "agencies": [], "channels": []}
    assert unknown_place["agencies"][0]["level"] == "national"
    assert summary["summary"]["n"] == 4 and summary["summary"]["unresolved_region"] == 1


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"text": "x"}\n', ":1: missing string field 'category'"),
        ("not json\n", ":1: not valid JSON"),
        ('{"text": "x", "category": "piracy"}\n', "unknown category codes: piracy"),
    ],
)
def test_bad_input_files_get_a_clear_error(tmp_path, nlu_parser, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        evaluate_nlu(str(path), nlu_parser)


def test_missing_file_exits_2_without_loading_a_model(tmp_path, capsys):
    assert main(["nlu", "--data", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_route_eval_on_the_seed_region_cases(nlu_parser):
    """The checked-in route cases get the expected category, agency kind and level."""
    from support import ROOT

    path = ROOT / "tests" / "data" / "route_cases.jsonl"
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines = list(evaluate_routes(str(path), nlu_parser))[:-1]
    misses = [
        (case["text"], line["category"], line["agencies"][:1])
        for case, line in zip(cases, lines)
        if line["category"] != case["expect_category"]
        or (line["agencies"][0]["kind"], line["agencies"][0]["level"]) != (case["expect_kind"], case["expect_level"])
    ]
    assert not misses, misses
