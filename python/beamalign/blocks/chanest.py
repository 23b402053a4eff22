# SPDX-License-Identifier: GPL-3.0-or-later
"""Hybrid-beamforming channel estimation in a flowgraph (seed 004): a simulated
partially-connected array and the estimator block, thin adapters over beamalign.chanest.

Both blocks take the same array and beam parameters, so in GRC they share variables.
One stream item is a vector of num_rf samples: the RF chains' outputs for one pilot.
"""
import threading
import time

import numpy as np
import pmt
from gnuradio import gr

from .. import protocol as proto
from ..chanest import ChannelEstimator, MultipathChannel, PartiallyConnectedArray, nmse_db, observe
from ..chanest.hybrid import configure_beams
from .messages import dict_to_pmt

CHANNEL_TAG = pmt.intern(proto.CHANNEL)


def _array(nx, nz, m):
    return PartiallyConnectedArray(int(nx), int(nz), int(m))


class pc_hbf_source(gr.sync_block):
    """Simulated partially-connected hybrid array receiving one uplink pilot per item.

    Each output vector is y = W^H (h + n) for the configured analog beams (one sample
    per RF chain, pilot symbol 1). A new multipath channel (1 LoS + num_paths - 1 NLoS,
    off-grid angles) is drawn every `pilots_per_channel` pilots and announced by a
    `channel` stream tag (dict: h, pilot) on its first pilot, so a downstream estimator
    can score itself. Stops after `num_pilots` pilots (0: runs forever).

    Args:
        nx, nz, m: UPA columns, rows and elements per RF chain (nx*nz/m chains)
        beam: "groupwise", "wide" or "random"
        num_groups: groups / vertical sub-intervals of the group-wise beam
        grouping: grouping file from `beamalign eda` ("" groups adjacent columns)
        snr_db: per-antenna SNR
        num_paths: paths L of each channel
        pilots_per_channel: pilots that see one channel draw
        num_pilots: pilots to produce before signalling done (0: unbounded)
        seed: seeds channels, noise and random beams
        element_pattern: "isotropic" or "3gpp" (TR 38.901 element gain on every path)
    """

    def __init__(self, nx=32, nz=8, m=4, beam="groupwise", num_groups=4, grouping="",
                 snr_db=20.0, num_paths=4, pilots_per_channel=1, num_pilots=0, seed=0,
                 element_pattern="isotropic"):
        self.array = _array(nx, nz, m)
        gr.sync_block.__init__(self, name="pc_hbf_source", in_sig=None,
                               out_sig=[(np.complex64, self.array.num_rf)])
        if num_paths < 1 or pilots_per_channel < 1 or num_pilots < 0:
            raise ValueError("num_paths and pilots_per_channel must be >= 1, num_pilots >= 0")
        self.chain_weights, self.column_groups = configure_beams(
            self.array, beam, num_groups, grouping, seed)
        self.combiner = self.array.combiner(self.chain_weights)
        self.snr_db, self.num_paths = float(snr_db), int(num_paths)
        self.pilots_per_channel, self.num_pilots = int(pilots_per_channel), int(num_pilots)
        self.rng = np.random.default_rng(seed)
        self.element_pattern = element_pattern
        MultipathChannel.draw(self.array, 1, element_pattern=element_pattern)  # checks it
        self.produced = 0
        self.channel = None

    def set_snr_db(self, snr_db):
        self.snr_db = float(snr_db)

    def work(self, input_items, output_items):
        out = output_items[0]
        count = len(out)
        if self.num_pilots:
            count = min(count, self.num_pilots - self.produced)
            if count <= 0:
                return -1  # WORK_DONE
        for i in range(count):
            if self.produced % self.pilots_per_channel == 0:
                self.channel = MultipathChannel.draw(self.array, self.num_paths, rng=self.rng,
                                                     element_pattern=self.element_pattern)
                self._h = self.channel.vector(self.array)
                self.add_item_tag(0, self.nitems_written(0) + i, CHANNEL_TAG,
                                  dict_to_pmt({proto.H: self._h, proto.PILOT: self.produced}))
            out[i] = observe(self.array, self.combiner, self._h, self.snr_db, self.rng)[0]
            self.produced += 1
        return count


class chanest_estimator(gr.sync_block):
    """Estimates the channel from each pilot vector and publishes a `chanest` message.

    Message fields (SPEC section 5): h (c32vector, N elements), paths (strongest first:
    u_h, u_v, gain, power_db), nmse_db when a `channel` tag gave the truth, plus method,
    pilot (index of the input vector) and cpu_s (estimator time). A vector with NaN/Inf
    samples is counted, logged once and skipped; the block keeps running.

    Args:
        method: "gw-sc-vbi", "sc-vbi", "turbo-vbi" or "omp"
        nx, nz, m, beam, num_groups, grouping, seed: as the source (same beams)
        oversample: initial grid points per element and dimension
        sparsity: expected significant paths K_hat
        threads: deprecated, no effect (gw-sc-vbi's groups run in turn)
        verbose: log each estimate (NMSE when known, paths, time)
    """

    def __init__(self, method="gw-sc-vbi", nx=32, nz=8, m=4, beam="groupwise", num_groups=4,
                 grouping="", seed=0, oversample=2, sparsity=4, threads=1, verbose=False):
        self.array = _array(nx, nz, m)
        gr.sync_block.__init__(self, name="chanest_estimator",
                               in_sig=[(np.complex64, self.array.num_rf)], out_sig=None)
        chain_weights, column_groups = configure_beams(self.array, beam, num_groups, grouping,
                                                       seed)
        self.estimator = ChannelEstimator(self.array, chain_weights, method, column_groups,
                                          num_groups, oversample, sparsity, threads=threads)
        self.method, self.verbose = method, bool(verbose)
        self.estimates = 0
        self.bad_vectors = 0
        self.truth = None
        self.done = threading.Condition()
        self.message_port_register_out(pmt.intern(proto.CHANEST))

    def work(self, input_items, output_items):
        vectors = input_items[0]
        start = self.nitems_read(0)
        tags = {tag.offset: tag.value for tag in
                self.get_tags_in_window(0, 0, len(vectors), CHANNEL_TAG)}
        for i, y in enumerate(vectors):
            if start + i in tags:
                tag = tags[start + i]
                h = pmt.dict_ref(tag, pmt.intern(proto.H), pmt.PMT_NIL) if pmt.is_dict(tag) \
                    else pmt.PMT_NIL
                if pmt.is_c32vector(h) and pmt.length(h) == self.array.num_elements:
                    self.truth = np.asarray(pmt.c32vector_elements(h), np.complex128)
                else:
                    self.logger.warn("channel tag without an N-element 'h': truth dropped")
                    self.truth = None
            if not np.all(np.isfinite(y)):
                self.bad_vectors += 1
                if self.bad_vectors == 1:
                    self.logger.warn(f"pilot {start + i}: NaN/Inf samples, vector skipped "
                                     "(logged once; see bad_vectors)")
                continue
            begin = time.thread_time()
            estimate = self.estimator.estimate(y)
            fields = {proto.METHOD: self.method, proto.PILOT: int(start + i), proto.H: estimate.h,
                      proto.PATHS: estimate.paths(), proto.CPU_S: time.thread_time() - begin}
            if self.truth is not None:
                fields[proto.NMSE_DB] = nmse_db(estimate.h, self.truth)
            self.message_port_pub(pmt.intern(proto.CHANEST), dict_to_pmt(fields))
            if self.verbose:
                score = f"NMSE {fields['nmse_db']:.2f} dB, " if "nmse_db" in fields else ""
                self.logger.info(f"chanest {self.method} pilot {start + i}: {score}"
                                 f"{len(fields['paths'])} paths, "
                                 f"{1e3 * fields['cpu_s']:.1f} ms")
            with self.done:
                self.estimates += 1
                self.done.notify_all()
        return len(vectors)
