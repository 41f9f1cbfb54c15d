from bot.text import MAX_CHARS, has_meaningful_text, normalize


def test_full_width_letters_and_digits_are_folded():
    assert normalize("买到假ＮＩＫＥ鞋，电话１３８") == "买到假NIKE鞋,电话138"


def test_control_and_zero_width_characters_are_removed():
    assert normalize("假\x00货\u200b在\x1b淘宝\ufeff") == "假货在淘宝"


def test_whitespace_is_collapsed_and_trimmed():
    assert normalize("  买到   假货\n\n了 \t") == "买到 假货 了"


def test_long_text_is_capped():
    assert len(normalize("假" * 10_000)) == MAX_CHARS


def test_empty_input_stays_empty():
    assert normalize("") == ""
    assert normalize(None) == ""


def test_emoji_only_is_not_meaningful():
    assert not has_meaningful_text("😀😡👍！！")
    assert has_meaningful_text("假货😡")
    assert has_meaningful_text("12315")
