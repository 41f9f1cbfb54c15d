"""Classification metrics for the evaluation commands (pure Python, no numpy needed)."""

from collections import Counter, defaultdict
from typing import Dict, Iterable, List, Sequence, Tuple

UNRECOGNISED = "unrecognised"


def classification_report(
    pairs: Iterable[Tuple[str, str]], labels: Sequence[str]
) -> Dict[str, object]:
    """Accuracy, macro-F1 over ``labels``, per-label scores and a confusion table.

    ``pairs`` are (expected, predicted). A prediction outside ``labels`` (for
    example a conversational intent) counts against recall and appears in the
    confusion table under its own name.
    """
    pairs = list(pairs)
    confusion: Dict[str, Counter] = defaultdict(Counter)
    for expected, predicted in pairs:
        confusion[expected][predicted] += 1
    per_label = {label: _scores(label, pairs) for label in labels}
    n = len(pairs)
    correct = sum(1 for expected, predicted in pairs if expected == predicted)
    macro_f1 = sum(s["f1"] for s in per_label.values()) / len(labels) if labels else 0.0
    return {
        "n": n,
        "accuracy": round(correct / n, 4) if n else 0.0,
        "macro_f1": round(macro_f1, 4),
        "per_category": per_label,
        "confusion": {exp: dict(sorted(row.items())) for exp, row in sorted(confusion.items())},
    }


def _scores(label: str, pairs: List[Tuple[str, str]]) -> Dict[str, float]:
    tp = sum(1 for e, p in pairs if e == label and p == label)
    predicted = sum(1 for _, p in pairs if p == label)
    support = sum(1 for e, _ in pairs if e == label)
    precision = tp / predicted if predicted else 0.0
    recall = tp / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "support": support,
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 100)))
    return ordered[min(rank, len(ordered)) - 1]
