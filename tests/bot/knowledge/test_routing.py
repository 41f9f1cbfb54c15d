"""Routing over every category x seed region x context flag."""

import itertools

import pytest

from bot.knowledge.categories import CATEGORY_CODES
from bot.knowledge.presentation import present_route
from bot.knowledge.routing import RouteRequest, load_router

SEED_REGIONS = ("510100", "510600", "510700", "510704", "340600", "340603")
FLAGS = ("online", "exhibition", "import_export", "overseas", "crime", "compensation")

# category -> (kind of the first recommendation, its channel)
PRIMARY = {
    "trademark_counterfeit": ("market_regulation", "complaint_12315"),
    "patent": ("market_regulation", "admin_ruling"),
    "copyright": ("copyright", "admin_enforcement"),
    "trade_secret": ("market_regulation", "tipoff_12315"),
    "geographical_indication": ("market_regulation", "complaint_12315"),
    "plant_variety": ("agriculture", "admin_enforcement"),
    "unfair_competition": ("market_regulation", "complaint_12315"),
    "not_ip": ("hotline_12315", "complaint_12315"),
}
# flag -> (channel it adds, categories where it must appear)
FLAG_CHANNELS = {
    "crime": ("police", ("trademark_counterfeit", "copyright", "trade_secret")),
    "import_export": ("customs", ("trademark_counterfeit", "patent", "copyright")),
    "overseas": ("overseas", ("trademark_counterfeit", "patent", "copyright", "trade_secret")),
    "compensation": ("litigation", ("trademark_counterfeit", "copyright", "unfair_competition")),
    "online": ("platform_takedown", ("trademark_counterfeit", "copyright", "unfair_competition")),
}


@pytest.fixture(scope="module")
def router():
    return load_router()


def _kinds(route):
    return [r.agency.kind for r in route.recommendations]


@pytest.mark.parametrize("category, region", itertools.product(CATEGORY_CODES, SEED_REGIONS))
def test_primary_agency_per_category_and_seed_region(router, category, region):
    route = router.route(RouteRequest(category, region))
    first = route.recommendations[0]
    assert (first.agency.kind, first.channel) == PRIMARY[category]
    regions = router.directory.regions
    assert first.agency.region_code == "100000" or regions.is_within(region, first.agency.region_code)
    for recommendation in route.recommendations:
        assert category in recommendation.agency.categories
        assert recommendation.reason and recommendation.bring


@pytest.mark.parametrize(
    "category, region, flag", itertools.product(CATEGORY_CODES, SEED_REGIONS, FLAGS)
)
def test_context_flags_add_the_agency_they_call_for(router, category, region, flag):
    plain = router.route(RouteRequest(category, region))
    flagged = router.route(RouteRequest(category, region, flags=frozenset({flag})))
    assert set(_kinds(plain)) <= set(_kinds(flagged))
    assert set(plain.channels) <= set(flagged.channels)
    channel, categories = FLAG_CHANNELS.get(flag, (None, ()))
    if category in categories:
        assert channel in flagged.channels, f"{flag} should add {channel}"


def test_crime_names_the_local_police_where_the_seeds_do(router):
    route = router.route(RouteRequest("trademark_counterfeit", "340603", flags=frozenset({"crime"})))
    police = [r.agency for r in route.recommendations if r.agency.kind == "public_security"]
    assert police and police[0].region_code == "340603"


def test_local_market_regulation_is_the_most_local_office(router):
    youxian = router.route(RouteRequest("trademark_counterfeit", "510704")).recommendations[0]
    assert (youxian.agency.level, youxian.agency.region_code) == ("district", "510704")
    huaibei = router.route(RouteRequest("trademark_counterfeit", "340600")).recommendations[0]
    assert (huaibei.agency.level, huaibei.agency.region_code) == ("city", "340600")


def test_patent_infringement_goes_to_the_city_for_a_ruling_and_passing_off_to_enforcement(router):
    ruling = router.route(RouteRequest("patent", "510704", subkind="infringement"))
    assert ruling.recommendations[0].agency.level == "city"
    assert {"admin_ruling", "litigation"} <= set(ruling.channels)
    passing_off = router.route(RouteRequest("patent", "510704", subkind="passing_off"))
    assert passing_off.recommendations[0].channel == "tipoff_12315"
    assert passing_off.recommendations[0].agency.level == "district"
    assert "admin_ruling" not in passing_off.channels


def test_subkind_is_detected_from_the_words(router):
    assert router.detect_subkind("patent", "产品上印着一个查无此号的专利号") == "passing_off"
    assert router.detect_subkind("patent", "同行照着我的专利做了一样的产品") == "infringement"
    assert router.detect_subkind("copyright", "盗版书") is None


def test_woody_plants_go_to_forestry(router):
    route = router.route(RouteRequest("plant_variety", "510600", flags=frozenset({"woody_plant"})))
    assert route.recommendations[0].agency.kind == "forestry"


def test_exhibition_workstation_where_the_seeds_name_one(router):
    mianyang = router.route(RouteRequest("trademark_counterfeit", "510704", flags=frozenset({"exhibition"})))
    assert "exhibition_station" in _kinds(mianyang)


def test_tip_off_uses_the_tip_off_channel(router):
    route = router.route(RouteRequest("trademark_counterfeit", "510600", request="tip_off"))
    assert route.recommendations[0].channel == "tipoff_12315"


@pytest.mark.parametrize("region", ["440100", "110000", None])
def test_outside_the_seeds_the_national_12315_and_local_advice(router, region):
    route = router.route(RouteRequest("trademark_counterfeit", region))
    first = route.recommendations[0]
    assert first.agency.id == "national_12315_platform"
    assert "12315" in first.reason


def test_not_ip_points_to_other_hotlines(router):
    route = router.route(RouteRequest("not_ip", "510700"))
    assert {r.agency.kind for r in route.recommendations} == {"hotline_12315"}
    assert any("12333" in line for line in route.redirects)
    assert any("110" in line for line in route.redirects)


def test_routing_is_deterministic(router):
    request = RouteRequest("copyright", "340603", flags=frozenset({"online", "crime"}))
    assert router.route(request) == router.route(request)


def test_bad_requests_are_rejected(router):
    with pytest.raises(ValueError):
        router.route(RouteRequest("trademark", "510700"))
    with pytest.raises(ValueError):
        router.route(RouteRequest("patent", "510700", request="lawsuit"))


def test_flags_from_words_and_platform_entities(router):
    flags = router.detect_flags("在科博会展位上看到大量假货，想要赔偿", [{"entity": "platform", "value": "淘宝"}])
    assert flags == {"exhibition", "crime", "compensation", "online"}
    assert router.detect_flags("") == frozenset()


def test_presentation_numbers_agencies_once_and_shows_sourced_phones(router):
    route = router.route(RouteRequest("trademark_counterfeit", "510704", flags=frozenset({"crime", "compensation"})))
    shown = present_route(route, router, "游仙区")
    lines = shown["agency_lines"].splitlines()
    assert lines[0].startswith("① ")  # digits are left to the channels' numbered choices
    assert 1 < len(lines) <= router.templates["max_agencies"]
    assert any("12315" in line for line in lines)
    assert shown["category_label"] == router.labels["trademark_counterfeit"]
    patent = present_route(router.route(RouteRequest("patent", "510704", subkind="passing_off")), router)
    assert router.templates["subkind_labels"]["passing_off"] in patent["category_label"]
