"""Verbose messages in the Keras style."""

from __future__ import annotations

import logging
import sys

import keras


def print_msg(message: str) -> None:
    """Prints like Keras: to stdout, or to the log when interactive logging is off."""
    if keras.config.is_interactive_logging_enabled():
        sys.stdout.write(message + "\n")
        sys.stdout.flush()
    else:
        logging.getLogger("keras_lr").info(message)
