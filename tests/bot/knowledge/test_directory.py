import textwrap

import pytest

from bot.knowledge.directory import DirectoryError, load_directory, main

GOOD_ENTRY = """\
agencies:
  - id: testland_amr
    name: 测试市市场监督管理局
    kind: market_regulation
    level: city
    region_code: "510700"
    categories: [trademark_counterfeit]
    matters: [admin_enforcement]
    description: 测试用。
    source: "seeds/000: test"
"""


def _write(tmp_path, name, text):
    (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def test_repository_directory_is_valid_and_every_entry_names_its_source():
    directory = load_directory()
    assert len(directory.agencies) >= 50
    for agency in directory.agencies.values():
        assert agency.source.startswith(("seeds/", "public fact", "BRIEF.md")), agency.id


def test_seed_regions_have_a_market_regulation_office():
    directory = load_directory()
    for code in ("510100", "510600", "510700", "510704", "340600", "340603"):
        offices = directory.find("market_regulation", "trademark_counterfeit", code)
        assert offices and offices[0].level in ("city", "district"), code


def test_phone_numbers_come_only_from_the_hotlines_we_can_source():
    for agency in load_directory().agencies.values():
        assert agency.phone in (None, "12315", "110", "12348"), agency.id


@pytest.mark.parametrize(
    "change, message",
    [
        (("kind: market_regulation", "kind: ministry_of_magic"), "testland_amr"),
        (("    description: 测试用。\n", ""), "description"),
        (('region_code: "510700"', 'region_code: "999999"'), "999999"),
        (('region_code: "510700"', "region_code: 5107"), "region_code"),
        (("level: city", "level: district"), "level district"),
        (("categories: [trademark_counterfeit]", "categories: [trademark]"), "categories"),
    ],
)
def test_schema_errors_name_the_file_and_the_entry(tmp_path, change, message):
    old, new = change
    _write(tmp_path, "bad.yml", GOOD_ENTRY.replace(old, new))
    with pytest.raises(DirectoryError) as excinfo:
        load_directory(tmp_path)
    assert "bad.yml" in str(excinfo.value)
    assert message in str(excinfo.value)


def test_duplicate_ids_across_files_are_rejected(tmp_path):
    _write(tmp_path, "a.yml", GOOD_ENTRY)
    _write(tmp_path, "b.yml", GOOD_ENTRY)
    with pytest.raises(DirectoryError, match=r"b\.yml: entry 'testland_amr': duplicate id"):
        load_directory(tmp_path)


def test_check_command_exits_non_zero_on_a_bad_file(tmp_path, capsys):
    _write(tmp_path, "bad.yml", GOOD_ENTRY.replace("kind: market_regulation", "kind: nope"))
    assert main([str(tmp_path)]) == 1
    assert "bad.yml" in capsys.readouterr().err
    assert main([]) == 0


def test_planned_bodies_are_never_recommended():
    directory = load_directory()
    planned = [a for a in directory.agencies.values() if a.status == "planned"]
    assert planned
    for agency in planned:
        for category in agency.categories:
            assert agency not in directory.find(agency.kind, category, agency.region_code)
