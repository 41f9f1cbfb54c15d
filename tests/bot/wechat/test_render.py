from bot.wechat.render import MAX_MESSAGES, TEXT_LIMIT_BYTES, Rendered, render, split_text

GUIDANCE = "这属于【商标侵权/假冒】。\n\n在游仙区可以找：\n绵阳市游仙区市场监督管理局"
FILE_BUTTONS = [{"title": "我要投诉", "payload": "/file_complaint"}, {"title": "我要举报", "payload": "/file_tipoff"}]


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def test_one_text_message():
    assert render([{"recipient_id": "oUser", "text": "您好"}]) == Rendered(texts=["您好"], choices={}, handoff=False)


def test_seven_short_messages_merge_in_order_with_blank_lines():
    messages = [{"recipient_id": "oUser", "text": f"第{number}条"} for number in range(1, 8)]
    rendered = render(messages)
    assert len(rendered.texts) <= MAX_MESSAGES
    assert rendered.texts == ["第1条\n\n第2条\n\n第3条\n\n第4条\n\n第5条\n\n第6条\n\n第7条"]


def test_seven_long_messages_fill_at_most_five_texts_without_cutting_any():
    messages = [{"text": f"{number}" + "条" * 600} for number in range(1, 8)]  # 1801 bytes each
    rendered = render(messages)
    assert len(rendered.texts) == MAX_MESSAGES
    assert rendered.texts[:4] == [message["text"] for message in messages[:4]]
    assert rendered.texts[4].startswith(messages[4]["text"]) and rendered.texts[4].endswith("\n...")
    assert all(size(text) <= TEXT_LIMIT_BYTES for text in rendered.texts)


def test_messages_are_packed_while_they_fit():
    first, second, third = "甲" * 300, "乙" * 300, "丙" * 300  # 900 bytes each
    rendered = render([{"text": first}, {"text": second}, {"text": third}])
    assert rendered.texts == [f"{first}\n\n{second}", third]


def test_buttons_become_numbered_lines_and_choices():
    rendered = render([{"text": GUIDANCE, "buttons": FILE_BUTTONS}])
    assert rendered.texts == [f"{GUIDANCE}\n1. 我要投诉\n2. 我要举报"]
    assert rendered.choices == {"1": "/file_complaint", "2": "/file_tipoff"}


def test_button_numbers_run_on_across_the_messages_of_a_turn():
    consent = [{"title": "同意", "payload": "/affirm"}, {"title": "不同意", "payload": "/deny"}]
    rendered = render([
        {"text": "您同意吗？", "buttons": consent},
        {"text": "也可以匿名举报。", "buttons": [{"title": "匿名举报", "payload": "/file_tipoff"}]},
    ])
    assert rendered.texts == ["您同意吗？\n1. 同意\n2. 不同意\n\n也可以匿名举报。\n3. 匿名举报"]
    assert rendered.choices == {"1": "/affirm", "2": "/deny", "3": "/file_tipoff"}


def test_a_button_without_payload_answers_with_its_title_and_one_without_title_is_skipped():
    rendered = render([{"text": "请选择", "buttons": [{"title": "成都市"}, {"payload": "/deny"}]}])
    assert rendered.texts == ["请选择\n1. 成都市"]
    assert rendered.choices == {"1": "成都市"}


def test_handoff_sets_the_flag_and_shows_nothing():
    rendered = render([
        {"text": "正在为您转接人工客服，请稍候。"},
        {"custom": {"handoff": {"reason": "citizen_request", "hotline": "12315"}}},
    ])
    assert rendered == Rendered(texts=["正在为您转接人工客服，请稍候。"], choices={}, handoff=True)


def test_other_custom_payloads_are_not_a_handoff():
    assert render([{"custom": {"handoff": False}}, {"custom": {"other": 1}}]) == Rendered([], {}, False)


def test_an_image_is_shown_as_its_url():
    rendered = render([{"text": "投诉流程见下图"}, {"image": "https://example.org/12315-flow.png"}])
    assert rendered.texts == ["投诉流程见下图\n\nhttps://example.org/12315-flow.png"]


def test_text_image_and_buttons_of_one_message_stay_together():
    rendered = render([{"text": "示例", "image": "https://example.org/a.png", "buttons": FILE_BUTTONS[:1]}])
    assert rendered.texts == ["示例\nhttps://example.org/a.png\n1. 我要投诉"]


def test_empty_messages_give_no_text():
    assert render([]).texts == []
    assert render([{"text": "  "}, {"recipient_id": "oUser"}]).texts == []


def test_a_message_over_the_limit_is_split_at_line_boundaries():
    lines = [f"{number}. " + "证据材料" * 20 for number in range(1, 31)]  # 30 lines of ~244 bytes
    text = "\n".join(lines)
    rendered = render([{"text": text}])
    assert len(rendered.texts) == 4
    assert all(size(piece) <= TEXT_LIMIT_BYTES for piece in rendered.texts)
    assert "\n".join(rendered.texts) == text  # cut only between lines
    assert all(piece.split("\n")[0] in lines for piece in rendered.texts)


def test_a_single_line_over_the_limit_is_cut_between_characters():
    line = "侵" * 1000  # 3000 bytes
    pieces = split_text(line, TEXT_LIMIT_BYTES)
    assert [size(piece) for piece in pieces] == [2046, 954]
    assert "".join(pieces) == line


def test_carriage_returns_are_normalised():
    assert render([{"text": "第一行\r\n第二行"}]).texts == ["第一行\n第二行"]
