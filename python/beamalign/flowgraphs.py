"""Flowgraphs the command line runs (the same ones the GRC examples build)."""
import numpy as np
from gnuradio import gr

from . import codebooks
from .beamalign_python import rsrp_meter, sim_array_source
from .blocks.codebook_sweeper import codebook_sweeper
from .blocks.message_recorder import message_recorder
from .pilots import zadoff_chu


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
        self.msg_connect(self.meter, "rsrp", self.sweeper, "rsrp")
        self.msg_connect(self.sweeper, "beam_cmd", self.source, "beam_cmd")
        self.msg_connect(self.source, "channel_info", self.channel_info, "in")
        self.msg_connect(self.sweeper, "result", self.results, "in")

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
