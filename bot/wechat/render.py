"""Bot messages (as Rasa's CollectingOutputChannel holds them) -> at most 5 WeChat text messages.

WeChat allows 5 customer-service messages per user message and one passive reply, and every
message costs a request, so consecutive messages are packed into as few texts as fit WeChat's
limit (2048 bytes of UTF-8), joined by a blank line and never cut inside a message unless that one
message alone is over the limit (then it is split at line boundaries). Buttons become numbered
lines under the message that carried them ("1. title"); ``choices`` maps each number to the
button's payload so the channel can resolve a typed "1". An image is shown as its URL. A
``{"custom": {"handoff": ...}}`` message sets ``handoff`` and shows nothing.
"""

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping

MAX_MESSAGES = 5
TEXT_LIMIT_BYTES = 2048
MESSAGE_SEPARATOR = "\n\n"
TRUNCATION_MARK = "\n..."
HANDOFF_KEY = "handoff"


@dataclass(frozen=True)
class Rendered:
    texts: List[str]
    choices: Dict[str, str]
    handoff: bool


def render(bot_messages: List[Mapping[str, Any]], limit: int = TEXT_LIMIT_BYTES,
           max_messages: int = MAX_MESSAGES) -> Rendered:
    choices: Dict[str, str] = {}
    handoff = False
    pieces: List[str] = []
    for message in bot_messages:
        handoff = handoff or is_handoff(message)
        pieces.extend(split_text(_message_text(message, choices), limit))
    texts = pack(pieces, limit)
    if len(texts) > max_messages:
        # Only a turn of over 10 KB gets here; say that something was cut rather than drop it silently.
        texts = [*texts[:max_messages - 1], with_truncation_mark(texts[max_messages - 1], limit)]
    return Rendered(texts=texts, choices=choices, handoff=handoff)


def is_handoff(message: Mapping[str, Any]) -> bool:
    custom = message.get("custom")
    return isinstance(custom, Mapping) and custom.get(HANDOFF_KEY) not in (None, False)


def _message_text(message: Mapping[str, Any], choices: Dict[str, str]) -> str:
    """One bot message as text: its text, its image URL, its buttons as numbered lines. Button
    numbers run on across the messages of one turn; ``choices`` collects them."""
    lines = []
    text = _clean(message.get("text"))
    if text:
        lines.append(text)
    image = _clean(message.get("image"))
    if image:
        lines.append(image)
    for button in message.get("buttons") or []:
        title = _clean(button.get("title")) if isinstance(button, Mapping) else ""
        if not title:
            continue
        number = str(len(choices) + 1)
        choices[number] = _clean(button.get("payload")) or title
        lines.append(f"{number}. {title}")
    return "\n".join(lines)


def _clean(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def pack(pieces: List[str], limit: int) -> List[str]:
    """Consecutive pieces joined by a blank line while the joined text fits ``limit`` bytes."""
    texts: List[str] = []
    for piece in pieces:
        if texts and _size(texts[-1] + MESSAGE_SEPARATOR + piece) <= limit:
            texts[-1] += MESSAGE_SEPARATOR + piece
        else:
            texts.append(piece)
    return texts


def split_text(text: str, limit: int) -> List[str]:
    """``text`` unchanged if it fits ``limit`` bytes, else pieces cut at line boundaries (a single
    line over the limit is cut between characters). Blank text gives no pieces."""
    if not text.strip():
        return []
    if _size(text) <= limit:
        return [text]
    pieces: List[str] = []
    current = ""
    for line in text.split("\n"):
        for part in _split_line(line, limit):
            candidate = f"{current}\n{part}" if current else part
            if current and _size(candidate) > limit:
                pieces.append(current)
                candidate = part
            current = candidate
    if current.strip():
        pieces.append(current)
    return [piece.strip("\n") for piece in pieces if piece.strip()]


def _split_line(line: str, limit: int) -> List[str]:
    if _size(line) <= limit:
        return [line]
    parts, current, used = [], [], 0
    for char in line:
        size = _size(char)
        if used + size > limit:
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += size
    parts.append("".join(current))
    return parts


def with_truncation_mark(text: str, limit: int) -> str:
    """``text`` cut to leave room for the mark, then the mark."""
    budget = limit - _size(TRUNCATION_MARK)
    data = text.encode("utf-8")[:budget]
    return data.decode("utf-8", errors="ignore").rstrip() + TRUNCATION_MARK


def _size(text: str) -> int:
    return len(text.encode("utf-8"))
