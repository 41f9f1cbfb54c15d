from bot.dialogue.clarify import likeliest_choices


def test_the_top_meaningful_intents_and_always_a_person():
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "problem_patent", "confidence": 0.3},
        {"name": "greet", "confidence": 0.1},
        {"name": "request_human", "confidence": 0.05},
        {"name": "file_complaint", "confidence": 0.05},
        {"name": "problem_copyright", "confidence": 0.04},
        {"name": "check_status", "confidence": 0.03},
    ]
    intents = [intent for intent, _ in likeliest_choices(ranking)]
    assert intents == ["problem_patent", "file_complaint", "problem_copyright", "request_human"]


def test_an_empty_ranking_still_offers_a_person():
    assert [intent for intent, _ in likeliest_choices([])] == ["request_human"]
