"""An event broker that masks phone and ID-card numbers before events leave the Rasa server.

Rasa streams every tracker event to the configured broker; whatever consumes it (the SQL event
table, a queue, analytics) is outside the tracker store, so events reach it masked. Configure it
in endpoints.yml with the real broker under ``inner``::

    event_broker:
      type: bot.privacy.broker.MaskingEventBroker
      inner: {type: sql, dialect: sqlite, db: var/events.db}

Rasa loads a broker ``type`` it does not know by module path and awaits the class's
``from_endpoint_config(broker_config)``; the remaining keys arrive in ``broker_config.kwargs``.
"""

from asyncio import AbstractEventLoop
from pathlib import Path
from typing import Any, Dict, Optional, Text

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.privacy.masking import mask_data


class MaskingEventBroker(EventBroker):
    """Hands the inner broker a masked copy of each event; the tracker's own event is never changed.

    Every string in the event is masked: user text, parse data, entity values, slot values, bot
    messages, metadata and the sender id (a hotline may use the caller's number as sender id).

    Masking keeps the length of the text, so entity ``start``/``end`` offsets still point at the
    (masked) value.
    """

    def __init__(self, inner: EventBroker) -> None:
        self.inner = inner

    @classmethod
    async def from_endpoint_config(
        cls,
        broker_config: EndpointConfig,
        event_loop: Optional[AbstractEventLoop] = None,
    ) -> "MaskingEventBroker":
        inner_config = broker_config.kwargs.get("inner")
        if not isinstance(inner_config, dict) or not inner_config.get("type"):
            # Rasa would otherwise start without a broker and lose every event silently.
            raise ValueError("MaskingEventBroker needs an `inner` broker with a `type` in endpoints.yml.")
        _create_sqlite_directory(inner_config)
        inner = await EventBroker.create(EndpointConfig.from_dict(dict(inner_config)), event_loop)
        if inner is None:
            raise ValueError(f"MaskingEventBroker could not create its inner broker of type {inner_config['type']!r}.")
        return cls(inner)

    def publish(self, event: Dict[Text, Any]) -> None:
        self.inner.publish(mask_data(event))

    def is_ready(self) -> bool:
        return self.inner.is_ready()

    async def close(self) -> None:
        await self.inner.close()


def _create_sqlite_directory(inner_config: Dict[Text, Any]) -> None:
    """SQLite creates the database file but not its directory (``var/`` is git-ignored, so absent in a fresh clone)."""
    is_sqlite = inner_config.get("type", "").lower() == "sql" and inner_config.get("dialect", "sqlite") == "sqlite"
    database = inner_config.get("db")
    if is_sqlite and database and database != ":memory:" and not inner_config.get("url"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
