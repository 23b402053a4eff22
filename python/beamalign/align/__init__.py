# SPDX-License-Identifier: GPL-3.0-or-later
"""Beam search strategies (seed 000) and their measurement model.

A strategy is a generator over a batch of B trials: it yields a Probe (the beam pairs
to measure next), receives their measured powers (B, K), and finally returns an
Alignment. The same generator is driven by vectorised Monte Carlo benchmarks
(run_batch with a PathMeasurer) and, one trial at a time, by flowgraph controllers.
"""
from .measure import PathMeasurer, run_batch
from .probes import Alignment, Probe
from .strategies import QSSR, STRATEGIES, BinarySearch, ExhaustiveSearch, make_strategy

__all__ = ["Alignment", "Probe", "PathMeasurer", "run_batch", "STRATEGIES", "BinarySearch",
           "ExhaustiveSearch", "QSSR", "make_strategy"]
