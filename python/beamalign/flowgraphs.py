# SPDX-License-Identifier: GPL-3.0-or-later
"""Flowgraphs the command line runs (the same ones the GRC examples build)."""
import numpy as np
import pmt
from gnuradio import blocks, gr

from . import codebooks
from . import protocol as proto
from .beamalign_python import rsrp_meter, sim_array_source, srs_cfr
from .blocks.beam_aligner import beam_aligner
from .blocks.beam_predictor import beam_predictor
from .blocks.chanest import chanest_estimator, pc_hbf_source
from .blocks.codebook_sweeper import codebook_sweeper
from .blocks.dataset_channel_source import dataset_channel_source
from .blocks.doa_estimator import doa_estimator
from .blocks.message_link import message_link
from .blocks.message_recorder import message_recorder
from .blocks.messages import dict_to_pmt
from .blocks.srs_source import sim_srs_source
from .pilots import zadoff_chu
from .predict.probe_system import flowgraph_levels


class rsrp_sweep(gr.top_block):
    """Sweeps the Tx DFT codebook on the simulated array with a single Rx antenna on.

    sim_array_source -> rsrp_meter (pilot mode) -> codebook_sweeper -> beam_cmd back to
    the source. `recorder` keeps the channel_info and result messages.
    """

    def __init__(self, nt=64, nr=16, snr_db=20.0, num_paths=3, profile="los", dwell=64,
                 guard=0, seed=0, verbose=False):
        gr.top_block.__init__(self, "rsrp_sweep")
        pilot = zadoff_chu(dwell)
        self.source = sim_array_source(nt, nr, snr_db, num_paths, profile, pilot, seed)
        self.meter = rsrp_meter("pilot", pilot, guard, dwell, 0.0, False)
        single_rx = np.zeros(nr, dtype=np.complex64)
        single_rx[0] = 1.0
        self.sweeper = codebook_sweeper("tx", codebooks.dft_codebook(nt),
                                        codebooks.dft_angles(nt), single_rx,
                                        autostart=True, verbose=verbose)
        self.channel_info = message_recorder()
        self.results = message_recorder()
        self.connect(self.source, self.meter)
        self.msg_connect(self.meter, proto.RSRP, self.sweeper, proto.RSRP)
        self.msg_connect(self.sweeper, proto.BEAM_CMD, self.source, proto.BEAM_CMD)
        self.msg_connect(self.source, proto.CHANNEL_INFO, self.channel_info, "in")
        self.msg_connect(self.sweeper, proto.RESULT, self.results, "in")

    def run_sweep(self, timeout=60.0):
        """Runs until the sweep reports; returns its result dict."""
        self.start()
        try:
            if not self.results.wait_for(1, timeout):
                raise TimeoutError(f"the sweep did not finish within {timeout} s")
        finally:
            self.stop()
            self.wait()
        return self.results.messages[0]


class alignment(gr.top_block):
    """Closed-loop beam alignment on the simulated array.

    sim_array_source -> rsrp_meter (pilot) -> beam_aligner -> beam_cmd back to the source;
    the source's channel_info tells the aligner the true channel (for power_db). With
    loss > 0 the rsrp messages cross a message_link that drops that share of them.
    """

    def __init__(self, method="qssr", nt=64, nr=16, snr_db=20.0, num_paths=3, profile="los",
                 dwell=64, beam_norm="unit", seed=0, model="", verbose=False,
                 self_calibrate_every=0, loss=0.0, dwell_timeout_s=0.5):
        gr.top_block.__init__(self, "alignment")

        pilot = zadoff_chu(dwell)
        self.source = sim_array_source(nt, nr, snr_db, num_paths, profile, pilot, seed)
        self.meter = rsrp_meter("pilot", pilot, 0, dwell, 0.0, False)
        self.aligner = beam_aligner(method, nt, nr, beam_norm, model=model, verbose=verbose,
                                    self_calibrate_every=self_calibrate_every,
                                    dwell_timeout_s=dwell_timeout_s)
        self.connect(self.source, self.meter)
        if loss > 0:
            self.link = message_link(loss, seed=seed)
            self.msg_connect(self.meter, proto.RSRP, self.link, "in")
            self.msg_connect(self.link, "out", self.aligner, proto.RSRP)
        else:
            self.msg_connect(self.meter, proto.RSRP, self.aligner, proto.RSRP)
        self.msg_connect(self.aligner, proto.BEAM_CMD, self.source, proto.BEAM_CMD)
        self.msg_connect(self.source, proto.CHANNEL_INFO, self.aligner, proto.CHANNEL_INFO)

    def align(self, channel=None, timeout=60.0, **channel_fields):
        """One alignment on a new channel (a PathChannels of one trial, or a fresh draw);
        channel_fields go into the source's `channel` message too (true impairments)."""
        return align_once(self.source, self.aligner, channel, timeout, **channel_fields)


def align_once(channel_block, aligner, channel=None, timeout=60.0, **channel_fields):
    """Gives channel_block a new channel (none: over the air, the channel is the air's),
    starts one alignment and waits for its result (a failed one included); TimeoutError
    if none comes."""
    done = aligner.completed
    if channel_block is not None:
        fields = {} if channel is None else {proto.GAINS: channel.gains[0],
                                             proto.U_TX: channel.u_tx[0],
                                             proto.U_RX: channel.u_rx[0]}
        fields.update(channel_fields)
        channel_block.to_basic_block()._post(pmt.intern(proto.CHANNEL), dict_to_pmt(fields))
    aligner.to_basic_block()._post(pmt.intern(proto.START), pmt.PMT_T)
    if not aligner.wait_results(done + 1, timeout):
        raise TimeoutError(f"alignment did not finish within {timeout} s")
    return aligner.results[-1]


class channel_estimation(gr.top_block):
    """Hybrid-beamforming channel estimation on the simulated array (examples/gw_sc_vbi.grc).

    pc_hbf_source (num_pilots pilot vectors, a new channel each) -> chanest_estimator;
    `recorder` keeps the chanest messages.
    """

    def __init__(self, method="gw-sc-vbi", beam="groupwise", grouping="", num_pilots=10,
                 snr_db=20.0, num_paths=4, nx=32, nz=8, m=4, num_groups=4, seed=0,
                 threads=1, element_pattern="isotropic"):
        gr.top_block.__init__(self, "channel_estimation")

        self.source = pc_hbf_source(nx, nz, m, beam, num_groups, grouping, snr_db, num_paths,
                                    1, num_pilots, seed, element_pattern)
        self.estimator = chanest_estimator(method, nx, nz, m, beam, num_groups, grouping, seed,
                                           threads=threads)
        self.recorder = message_recorder()
        self.connect(self.source, self.estimator)
        self.msg_connect(self.estimator, proto.CHANEST, self.recorder, "in")

    def estimates(self):
        """Runs until the source is done; returns the chanest messages as dicts."""
        self.run()
        expected = self.source.produced - self.estimator.bad_vectors
        self.recorder.wait_for(expected, 5.0)  # messages may trail the stream's end
        return list(self.recorder.messages)


class direction_finding(gr.top_block):
    """SRS direction finding on the simulated M-antenna receiver.

    sim_srs_source (M streams) -> srs_cfr (M x K snapshots per symbol) -> head ->
    doa_estimator; `recorder` keeps the doa messages.
    """

    def __init__(self, method="scg", angle_deg=20.0, snr_db=20.0, rho=1.0, num_nlos=0,
                 symbols=10, num_antennas=4, num_subcarriers=16, fft_size=256, cp_len=18,
                 srs_length=96, seed=0):
        gr.top_block.__init__(self, "direction_finding")


        self.source = sim_srs_source(num_antennas, fft_size, cp_len, 2, 0, srs_length,
                                     angle_deg, snr_db, rho, num_nlos, seed)
        self.cfr = srs_cfr(num_antennas, fft_size, cp_len, 2, 0, self.source.sequence.tolist(),
                           num_subcarriers)
        self.head = blocks.head(gr.sizeof_gr_complex * num_antennas * num_subcarriers, symbols)
        self.estimator = doa_estimator(method, num_antennas, num_subcarriers)
        self.sink = blocks.null_sink(gr.sizeof_float * len(self.estimator.spectrum.grid_deg))
        self.recorder = message_recorder()
        for m in range(num_antennas):
            self.connect((self.source, m), (self.cfr, m))
        self.connect(self.cfr, self.head, self.estimator, self.sink)
        self.msg_connect(self.estimator, proto.DOA, self.recorder, "in")

    def estimates(self):
        """Runs until `symbols` snapshot sets are estimated; returns the doa messages."""
        self.run()
        self.recorder.wait_for(self.estimator.published, 5.0)
        return list(self.recorder.messages)


class prediction(gr.top_block):
    """Closed-loop beam prediction on data-set channels (seed 001 Algorithm 1).

    dataset_channel_source -> `channel` -> sim_array_source (num_h*num_v x 1) ->
    rsrp_meter (pilot, seed 001's clamped 1 dB RSRPs in dBm) -> beam_predictor ->
    beam_cmd back to the source; the source's channel_info gives the predictor the
    true channel (best_beam, snr_loss_db in its result).
    """

    def __init__(self, dataset="munich-30ghz", users=(), model="", bits=0, top_k=5, dwell=64,
                 seed=0, verbose=False, dwell_timeout_s=0.5, loss=0.0, sector=-1, snr_db=20.0):
        gr.top_block.__init__(self, "prediction")
        self.predictor = beam_predictor(model, bits, top_k, verbose=verbose,
                                        dwell_timeout_s=dwell_timeout_s, sector=max(sector, 0))
        if sector >= 0:
            # Seed 002: unit-norm channels, eq. 15's noise at snr_db on the 64 elements.
            elements = self.predictor.codebook.shape[1]
            ref_dbm = 0.0
            source_snr_db = snr_db + 10 * np.log10(elements / dwell)
            self.channels = dataset_channel_source(dataset, users, sector=sector)
        else:
            system = self.predictor.predictor.system
            scale_db, ref_dbm, source_snr_db = flowgraph_levels(system, dwell)
            elements = system.beams
            self.channels = dataset_channel_source(dataset, users, system.num_h, system.num_v,
                                                   scale_db=scale_db)
        pilot = zadoff_chu(dwell)
        self.source = sim_array_source(elements, 1, source_snr_db, 1, "los", pilot, seed)
        self.meter = rsrp_meter("pilot", pilot, 0, dwell, ref_dbm, sector < 0)
        self.connect(self.source, self.meter)
        self.msg_connect(self.channels, proto.CHANNEL, self.source, proto.CHANNEL)
        if loss > 0:  # the rsrp reports cross a link that loses this share of them
            self.link = message_link(loss, seed=seed)
            self.msg_connect(self.meter, proto.RSRP, self.link, "in")
            self.msg_connect(self.link, "out", self.predictor, proto.RSRP)
        else:
            self.msg_connect(self.meter, proto.RSRP, self.predictor, proto.RSRP)
        self.msg_connect(self.predictor, proto.BEAM_CMD, self.source, proto.BEAM_CMD)
        self.msg_connect(self.source, proto.CHANNEL_INFO, self.predictor, proto.CHANNEL_INFO)

    def predict_next(self, timeout=60.0):
        """Plays the next user's channel, predicts, returns (user, result)."""
        done = self.predictor.completed
        user = self.channels.next_channel()
        self.predictor.to_basic_block()._post(pmt.intern(proto.START), pmt.PMT_T)
        if not self.predictor.wait_results(done + 1, timeout):
            raise TimeoutError(f"prediction did not finish within {timeout} s")
        return user, self.predictor.results[-1]
