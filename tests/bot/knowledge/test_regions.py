import pytest

from bot.knowledge.regions import load_regions


@pytest.fixture(scope="module")
def regions():
    return load_regions()


@pytest.mark.parametrize(
    "text, code",
    [
        ("绵阳", "510700"),
        ("绵阳市", "510700"),
        ("游仙", "510704"),
        ("游仙区", "510704"),
        ("科技城", "510700"),
        ("成都", "510100"),
        ("蓉城", "510100"),
        ("德阳", "510600"),
        ("相山", "340603"),
        ("淮北", "340600"),
        ("四川绵阳游仙区富乐路", "510704"),
        ("我在绵阳市的游仙", "510704"),
        ("I live in 绵阳", "510700"),
        ("广州", "440100"),
        ("四川", "510000"),
    ],
)
def test_places_people_type_resolve_to_their_code(regions, text, code):
    assert regions.resolve(text).region.code == code


def test_two_unrelated_places_are_ambiguous(regions):
    resolution = regions.resolve("成都和绵阳都有")
    assert resolution.region is None
    assert resolution.ambiguous
    assert {r.code for r in resolution.candidates} == {"510100", "510700"}


@pytest.mark.parametrize("text", ["火星", "Mianyang", "", "😀", "我家楼下"])
def test_unknown_places_resolve_to_nothing(regions, text):
    resolution = regions.resolve(text)
    assert resolution.region is None
    assert not resolution.ambiguous


def test_region_entities_win_over_the_text(regions):
    entities = [{"entity": "region", "value": "德阳", "start": 0, "end": 2}]
    assert regions.resolve("德阳的店卖成都名小吃", entities).region.code == "510600"


def test_a_place_inside_a_brand_or_shop_name_is_ignored(regions):
    text = "蓉城老火锅的招牌被人仿了"
    entities = [{"entity": "respondent", "value": "蓉城老火锅", "start": 0, "end": 5}]
    assert regions.resolve(text, entities).region is None
    brand = [{"entity": "brand", "value": "中江挂面", "start": 2, "end": 6}]
    assert regions.resolve("买的中江挂面是假的，我在德阳", brand).region.code == "510600"


def test_outside_seed_regions_are_known_but_not_seeds(regions):
    assert regions.get("510704").seed
    assert not regions.get("440100").seed
    assert [r.code for r in regions.chain("510704")] == ["510704", "510700", "510000"]
