# SPDX-License-Identifier: GPL-3.0-or-later
"""Argument types of the command line: each checks its value while parsing, so a bad
argument ends the command at once with argparse's one-line message."""
import argparse
import math
import os
import tempfile

from .hw.link import link_addresses
from .scaleout import host_port


def number(kind, low=None, high=None, low_open=False):
    """An argparse type: a finite `kind` within [low, high] ((low, high] if low_open)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a{'n integer' if kind is int else ' number'}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not finite")
        below = value <= low if low_open else value < low if low is not None else False
        if below or (high is not None and value > high):
            span = f"{'(' if low_open else '['}{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
            raise argparse.ArgumentTypeError(f"{text} is outside {span}")
        return value
    return parse


COUNT = number(int, 1)  # at least one
NONNEG = number(int, 0)
SIZE = number(int, 1, 4096)  # antennas per side
REAL = number(float)
POSITIVE = number(float, 0.0, low_open=True)
SNR = number(float, -50.0, 100.0)
ANGLE = number(float, -90.0, 90.0)


def output(text):
    """An output path whose directory takes a new file (tried, so root's access() cannot
    fool it): checked before a long run, not after."""
    directory = os.path.dirname(os.path.abspath(text)) or "."
    if not os.path.isdir(directory):
        raise argparse.ArgumentTypeError(f"{text}: directory {directory} does not exist")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text}: is a directory")
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as err:
        raise argparse.ArgumentTypeError(f"{text}: not writable ({err.strerror})") from None
    return text


def link_address(text):
    """tcp://HOST:PORT; another host than loopback is the user's explicit choice."""
    try:
        link_addresses(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def scheduler_address(text):
    """A Dask scheduler: tcp://HOST:PORT."""
    try:
        if not text.startswith("tcp://"):
            raise ValueError(f"expected tcp://HOST:PORT, got {text!r}")
        host_port(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"scheduler: {err}") from None
    return text


def existing(text):
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return text


def name_list(text):
    """Comma-separated names, as a tuple ("a,b" -> ("a", "b"))."""
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit 2), not the usage
    block: the usage of `beamalign bench` alone is twenty lines. Subparsers inherit it."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
