"""argparse types of the command line: each turns a flag's text into its value, or says why not.

Example::

    parser.add_argument("--epochs", type=positive_int)
"""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    return _whole_number(text, low=1)


def non_negative_int(text: str) -> int:
    """An argparse type: an integer of at least 0."""
    return _whole_number(text, low=0)


def _whole_number(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
    return value


def merge_weight(text: str) -> float | str:
    """An argparse type: ``auto`` or a number from 0 to 1."""
    if text.strip().lower() == "auto":
        return "auto"
    return _share(text, 1.0, closed=True)


def holdout_share(text: str) -> float:
    """An argparse type: a share from 0 to below 1."""
    return _share(text, 1.0, closed=False)


def _share(text: str, top: float, closed: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number from 0 to {top:g}, got {text!r}"
        ) from None
    if not (0 <= value <= top if closed else 0 <= value < top):
        upto = f"to {top:g}" if closed else f"to below {top:g}"
        raise argparse.ArgumentTypeError(f"must be from 0 {upto}, got {value}")
    return value


def temperature(text: str) -> float:
    """An argparse type: a sampling temperature, a number of at least 0 (0: greedy)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value
