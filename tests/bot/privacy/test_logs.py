import io
import logging
import logging.config
import subprocess
import sys

import pytest
import yaml
from support import ROOT

from bot.privacy.logs import MaskingFilter

LOGGERS = ("", "rasa", "rasa_sdk", "sanic.root", "sanic.error", "sanic.access")


@pytest.fixture
def restore_logging():
    """Put the loggers these tests configure back as they were, so no other test logs through them."""
    saved = {}
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = (logger.handlers[:], logger.filters[:], logger.level, logger.propagate, logger.disabled)
    yield
    for name, (handlers, filters, level, propagate, disabled) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:], logger.filters[:] = handlers, filters
        logger.setLevel(level)
        logger.propagate, logger.disabled = propagate, disabled


def captured_logger(name):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream


def test_phone_in_a_percent_argument_is_masked():
    logger, stream = captured_logger("tests.privacy.args")
    logger.info("Received user message '%s' from %s", "我的电话13812345678", "0816-2345678")
    assert stream.getvalue() == "INFO Received user message '我的电话138****5678' from 0816-*****78\n"


def test_records_from_child_loggers_are_masked_by_the_handler():
    _, stream = captured_logger("tests.privacy.parent")
    logging.getLogger("tests.privacy.parent.child").warning("ID %s", "51070319900101123X")
    assert stream.getvalue() == "WARNING ID 510*************3X\n"


def test_exception_text_is_masked():
    logger, stream = captured_logger("tests.privacy.exc")
    try:
        raise ValueError("bad phone 13812345678")
    except ValueError:
        logger.exception("failed for %s", "13912345678")
    output = stream.getvalue()
    assert "failed for 139****5678" in output
    assert "ValueError: bad phone 138****5678" in output
    assert "13812345678" not in output and "13912345678" not in output


def test_bad_arguments_are_left_for_the_handler_to_report(capsys):
    logger, stream = captured_logger("tests.privacy.bad")
    logger.info("two %s %s", "only one")
    assert stream.getvalue() == ""
    assert "not enough arguments" in capsys.readouterr().err


# Rasa's and Rasa SDK's start-up code configures process-wide logging: each runs in its own
# interpreter, as the servers do, so no other test's handlers or captured streams get in the way.
RASA_STARTUP = """
import logging, os, warnings
import rasa.utils.common, rasa.utils.io
os.environ["LOG_LEVEL"] = "INFO"
with warnings.catch_warnings():
    rasa.utils.common.configure_logging_and_warnings(None, {config!r})
rasa.utils.io.configure_colored_logging(None)
rasa.utils.common.update_sanic_log_level()
logging.getLogger("rasa.core.processor").info("Received user message '%s'", "电话13812345678")
logging.getLogger("sanic.error").error("Exception occurred for sender 15912345678")
"""

SDK_STARTUP = """
import logging
from rasa_sdk import utils
utils.configure_colored_logging(logging.INFO)
utils.configure_file_logging(logging.getLogger("rasa_sdk"), None, logging.INFO, {config!r})
utils.update_sanic_log_level()
logging.getLogger("rasa_sdk.executor").info("Slot phone set to %s", "13812345678")
logging.getLogger("sanic.error").error("sender 0816-2345678")
"""


def _stderr_of(script: str) -> str:
    code = script.format(config=str(ROOT / "config" / "logging.yml"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


def test_rasa_with_the_logging_config_file_masks_its_own_and_sanics_lines():
    """Rasa's own start-up sequence: the config file, coloured console logging, Sanic's loggers."""
    err = _stderr_of(RASA_STARTUP)
    assert "Received user message '电话138****5678'" in err
    assert "Exception occurred for sender 159****5678" in err
    assert "13812345678" not in err and "15912345678" not in err


def test_action_server_config_file_masks_root_and_sanic_lines():
    """Rasa SDK applies the same file again after its coloured logging; the filter must survive that."""
    err = _stderr_of(SDK_STARTUP)
    assert "Slot phone set to 138****5678" in err
    assert "sender 0816-*****78" in err


def test_logging_config_is_a_valid_dict_config(restore_logging):
    config = yaml.safe_load((ROOT / "config" / "logging.yml").read_text(encoding="utf-8"))
    logging.config.dictConfig(config)
    for name in ("", "sanic.root", "sanic.error", "sanic.access"):
        handlers = logging.getLogger(name).handlers
        assert handlers and all(isinstance(f, MaskingFilter) for h in handlers for f in h.filters), name
