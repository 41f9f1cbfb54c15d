"""A logging filter that masks phone and ID-card numbers in every record a handler emits.

Attach it to handlers, not loggers: a logger's filters only see records logged on that very
logger, while a handler's filters see every record that reaches it, including records
propagated from child loggers (``rasa.core.processor`` -> root). ``config/logging.yml`` does
this for the Rasa server and the action server.
"""

import logging

from bot.privacy.masking import mask_text

# Formats tracebacks the way logging.Formatter does, so the masked text can be cached on the record.
_TRACEBACK_FORMATTER = logging.Formatter()


class MaskingFilter(logging.Filter):
    """Replace a record's message (and traceback text) with a masked rendering; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        self._mask_message(record)
        self._mask_traceback(record)
        return True

    @staticmethod
    def _mask_message(record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:
            # Bad %-arguments: leave the record alone so the handler reports the error as logging always does.
            return
        record.msg = mask_text(message)
        record.args = None

    @staticmethod
    def _mask_traceback(record: logging.LogRecord) -> None:
        # Formatters render exc_info into exc_text only when exc_text is empty; rendering it here
        # first means the exception message (which may quote user input) is masked too.
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACK_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
