import pytest

from bot.metrics import classification_report, percentile


def test_report_counts_a_non_category_prediction_as_a_miss():
    pairs = [("a", "a"), ("a", "intent:greet"), ("b", "b"), ("b", "a")]
    report = classification_report(pairs, ["a", "b"])
    assert report["n"] == 4
    assert report["accuracy"] == 0.5
    assert report["per_category"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert report["per_category"]["b"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert report["macro_f1"] == pytest.approx((0.5 + 0.6667) / 2, abs=1e-4)
    assert report["confusion"]["a"] == {"a": 1, "intent:greet": 1}


def test_nearest_rank_percentile():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)
