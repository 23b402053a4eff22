# SPDX-License-Identifier: GPL-3.0-or-later
"""Direction finding on CFR snapshot vectors: a thin adapter over beamalign.doa."""
import collections

import numpy as np
import pmt
from gnuradio import gr

from .. import protocol as proto
from ..doa import DEFAULT_GRID_DEG, CoarraySpectrum
from ..doa.estimate import METHODS, NoSignal, check_array, estimate_doa, load_model
from .messages import dict_to_pmt

HISTORY = 16  # angles kept in doa_estimator.estimates


class doa_estimator(gr.sync_block):
    """Estimates the AoA from each M x K CFR snapshot vector (antenna-major, as srs_cfr
    writes them).

    Output: the spatial spectrum on the grid (floats, peak 1) for qtgui.vector_sink_f.
    Each vector also publishes a `doa` message (u, angle_deg, spectrum, grid_deg, method)
    and, on `angle`, the pair ("angle" . angle_deg) that qtgui.compass displays.
    A vector with NaN/Inf samples (`dropped`) or with no signal at all (`refused`: every
    sample zero, from which any method would invent an angle) is counted, logged once
    and answered with a zero spectrum and no message; the block keeps running.

    Args:
        method: "scg" (coarray DBF + sparse reconstruction), "dbf", "music", "root-music",
            "cnn" (the data-driven regressor; its spectrum marks the estimate) or "mod-dnn"
            (autoencoder + MoDL-SSR; its spectrum is the calibrated reconstruction)
        num_antennas, num_subcarriers: M and K
        grid_deg: spectrum grid (default -60..60 deg in 0.1 deg steps)
        verbose: log each estimate
        model: weight file of the CNN or MoD-DNN ("" for the shipped one, trained for the
            simulated array's phase errors); loaded here, so a bad file fails at
            construction
        array_id: the array under test (a calibration file's array id): a learned model
            trained for another array is refused ("" accepts the model's own array)
    """

    def __init__(self, method="scg", num_antennas=4, num_subcarriers=16, grid_deg=None,
                 verbose=False, model="", array_id=""):
        grid = np.asarray(DEFAULT_GRID_DEG if grid_deg is None else grid_deg, np.float64)
        gr.sync_block.__init__(self, name="doa_estimator",
                               in_sig=[(np.complex64, num_antennas * num_subcarriers)],
                               out_sig=[(np.float32, len(grid))])
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
        self.method, self.m, self.k = method, int(num_antennas), int(num_subcarriers)
        self.verbose = bool(verbose)
        self.spectrum = CoarraySpectrum(self.m, grid)
        self.model = load_model(method, model or None)
        if self.model is not None:
            # A learned model knows one array's impairments: refuse another's.
            check_array(self.model, array_id)
        if self.model is not None and self.model.num_antennas != self.m:
            raise ValueError(f"the {method} model was trained for {self.model.num_antennas} "
                             f"antennas, not {self.m}")
        if method == "mod-dnn" and (self.model.num_subcarriers != self.k or
                                    not np.array_equal(self.model.grid_deg, grid)):
            raise ValueError(f"the mod-dnn model takes {self.model.num_subcarriers} "
                             f"subcarriers on its own {len(self.model.grid_deg)}-point grid, "
                             f"not {self.k} on {len(grid)} points")
        self.dropped = 0  # vectors with NaN/Inf
        self.refused = 0  # vectors with no signal
        # The latest angles only (the block may run for days); `published` counts all.
        self.estimates = collections.deque(maxlen=HISTORY)
        self.published = 0
        self.message_port_register_out(pmt.intern(proto.DOA))
        self.message_port_register_out(pmt.intern(proto.ANGLE))

    def work(self, input_items, output_items):
        for vector, out in zip(input_items[0], output_items[0]):
            if not np.all(np.isfinite(vector)):
                out[:] = 0.0
                self.dropped += 1
                if self.dropped == 1:
                    self.logger.warn("dropped a snapshot vector holding NaN or Inf "
                                     "(further ones are only counted)")
                continue
            try:
                angle, values = estimate_doa(self.method, self.spectrum,
                                             vector.reshape(self.m, self.k), self.model)
            except NoSignal as err:
                out[:] = 0.0
                self.refused += 1
                if self.refused == 1:
                    self.logger.warn(f"{err}: no estimate (further ones are only counted)")
                continue
            out[:] = values
            self.estimates.append(angle)
            self.published += 1
            if self.verbose:
                self.logger.info(f"doa {self.method}: AoA {angle:+.2f} deg")
            self.message_port_pub(pmt.intern(proto.DOA), dict_to_pmt({
                proto.METHOD: self.method, proto.ANGLE_DEG: angle,
                proto.U: float(np.sin(np.deg2rad(angle))), proto.SPECTRUM: values.astype(np.float32),
                proto.GRID_DEG: self.spectrum.grid_deg.astype(np.float32)}))
            self.message_port_pub(pmt.intern(proto.ANGLE), pmt.cons(pmt.intern(proto.ANGLE),
                                                                pmt.from_double(angle)))
        return len(output_items[0])
