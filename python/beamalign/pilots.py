# SPDX-License-Identifier: GPL-3.0-or-later
"""Pilot sequences for beam measurements."""
import numpy as np


def zadoff_chu(length=64, root=1):
    """A unit-power, constant-modulus Zadoff-Chu sequence of the given length.

    Its flat spectrum and ideal periodic autocorrelation make it the usual choice of
    reference signal; any length works (root must be coprime to it).
    """
    if length < 1:
        raise ValueError(f"length must be at least 1, got {length}")
    if np.gcd(root, length) != 1:
        raise ValueError(f"root {root} must be coprime to length {length}")
    n = np.arange(length)
    shift = length % 2
    return np.exp(-1j * np.pi * root * n * (n + shift) / length).astype(np.complex64)
