# SPDX-License-Identifier: GPL-3.0-or-later
"""Two nodes over a link, as over the air: the base station transmits a periodic pilot
through its transmit array; the user's receive array measures it, runs the beam
alignment and sends the Tx beam commands back. Samples travel through gr-zeromq stream
blocks (tags with them), commands through gr-zeromq message blocks.

`link` is the base station's address, tcp://HOST:PORT: samples on PORT, the user's
commands on PORT + 1. Loopback by default; another address is an explicit choice.

Both arrays switch on pilot boundaries (the pilot repeats every `dwell` samples), so a
switch on either side starts a dwell at pilot phase 0 wherever the other side's
command is; the meter reports both sides' beam ids in force and the aligner takes a
dwell only when both are its latest commands'.
"""
from gnuradio import blocks, gr, zeromq

from .. import protocol as proto
from ..beamalign_python import beam_combiner, beam_splitter, rsrp_meter
from ..blocks.beam_aligner import beam_aligner
from ..blocks.channel_emulator import channel_emulator
from ..blocks.message_link import message_link
from ..flowgraphs import align_once
from ..pilots import zadoff_chu
from .uhd_array import uhd_array_sink, uhd_array_source

ZMQ_TIMEOUT_MS = 100
HWM = 2  # messages queued per socket: a short queue is a short link latency
# The base station sends at a set sample rate below what the user's chain (Python
# emulator, zmq) can take, so the queues between them stay near empty: a Tx switch
# reaches the user after what is queued ahead of it. Measured here: 200 ksps filled the
# queues (~1 alignment/s), 100 ksps kept them short (~6 alignments/s).
EMULATED_RATE = 100e3


def link_addresses(link):
    """(samples address, commands address) of a tcp://HOST:PORT link."""
    if not link.startswith("tcp://"):
        raise ValueError(f"link must be tcp://HOST:PORT, got {link!r}")
    host, _, port = link[len("tcp://"):].rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65535:
        raise ValueError(f"link must be tcp://HOST:PORT with a port below 65535, got {link!r}")
    return f"tcp://{host}:{port}", f"tcp://{host}:{int(port) + 1}"


class bs_node(gr.top_block):
    """Base station: periodic pilot -> beam_splitter (Tx beams from the link) -> samples
    out on the link."""

    def __init__(self, link="tcp://127.0.0.1:5560", nt=64, dwell=64, samp_rate=EMULATED_RATE,
                 device_args=None, center_freq=28e9, gain=10.0):
        gr.top_block.__init__(self, "bs_node")
        samples, commands = link_addresses(link)
        self.pilot = blocks.vector_source_c(zadoff_chu(dwell).tolist(), True)
        self.commands = zeromq.sub_msg_source(commands, ZMQ_TIMEOUT_MS, False)
        if device_args is not None:
            # Over the air: the USRP transmit array paces the pilot; only commands use
            # the link.
            self.radio = uhd_array_sink(device_args, nt, samp_rate, center_freq, gain)
            self.radio.splitter.set_switch_boundary(dwell)
            self.connect(self.pilot, self.radio)
            self.msg_connect(self.commands, "out", self.radio, proto.BEAM_CMD)
            return
        self.source = blocks.throttle(gr.sizeof_gr_complex, samp_rate)
        # Short chunks (one memory page): a command waits for the throttle's next chunk.
        self.source.set_max_output_buffer(4 * dwell)
        self.connect(self.pilot, self.source)
        self.splitter = beam_splitter(nt)
        self.splitter.set_switch_boundary(dwell)
        self.to_vector = blocks.streams_to_vector(gr.sizeof_gr_complex, nt)
        self.sink = zeromq.push_sink(gr.sizeof_gr_complex, nt, samples, ZMQ_TIMEOUT_MS, True,
                                     HWM)
        self.connect(self.source, self.splitter)
        for n in range(nt):
            self.connect((self.splitter, n), (self.to_vector, n))
        self.connect(self.to_vector, self.sink)
        self.msg_connect(self.commands, "out", self.splitter, proto.BEAM_CMD)


class ue_node(gr.top_block):
    """User: samples from the link -> channel_emulator -> beam_combiner -> rsrp_meter ->
    beam_aligner, whose Tx commands go back over the link (through a message_link that
    can lose a share `loss` of them)."""

    def __init__(self, link="tcp://127.0.0.1:5560", method="qssr-net", nt=64, nr=16,
                 snr_db=20.0, dwell=64, seed=0, loss=0.0, cfo=0.0, delay=0,
                 dwell_timeout_s=0.5, model="", device_args=None, samp_rate=1e6,
                 center_freq=28e9, gain=30.0):
        gr.top_block.__init__(self, "ue_node")
        if delay % dwell:
            raise ValueError("delay must be a multiple of dwell (pilot boundaries)")
        samples, commands = link_addresses(link)
        if device_args is not None:
            self._over_the_air(commands, method, nt, nr, dwell, model, dwell_timeout_s,
                               loss, seed, device_args, samp_rate, center_freq, gain)
            return
        self.receiver = zeromq.pull_source(gr.sizeof_gr_complex, nt, samples, ZMQ_TIMEOUT_MS,
                                           True, HWM)
        self.delay = blocks.delay(gr.sizeof_gr_complex * nt, delay)
        self.emulator = channel_emulator(nt, nr, snr_db, cfo, seed)
        self.to_streams = blocks.vector_to_streams(gr.sizeof_gr_complex, nr)
        self.combiner = beam_combiner(nr)
        self.combiner.set_switch_boundary(dwell)
        self.meter = rsrp_meter("pilot", zadoff_chu(dwell), 0, dwell, 0.0, False)
        self.aligner = beam_aligner(method, nt, nr, model=model, verbose=False,
                                    dwell_timeout_s=dwell_timeout_s)
        self.link = message_link(loss, seed=seed)
        # PUB never blocks (a PUSH with no peer does, and would hang the flowgraph's stop):
        # commands sent while no base station listens are lost, and probed again.
        self.commands = zeromq.pub_msg_sink(commands, ZMQ_TIMEOUT_MS, True)
        self.connect(self.receiver, self.delay, self.emulator, self.to_streams)
        for m in range(nr):
            self.connect((self.to_streams, m), (self.combiner, m))
        self.connect(self.combiner, self.meter)
        self.msg_connect(self.meter, proto.RSRP, self.aligner, proto.RSRP)
        self.msg_connect(self.aligner, proto.BEAM_CMD, self.combiner, proto.BEAM_CMD)
        self.msg_connect(self.aligner, proto.BEAM_CMD, self.link, "in")
        self.msg_connect(self.link, "out", self.commands, "in")
        self.msg_connect(self.emulator, proto.CHANNEL_INFO, self.aligner, proto.CHANNEL_INFO)

    def _over_the_air(self, commands, method, nt, nr, dwell, model, dwell_timeout_s, loss,
                      seed, device_args, samp_rate, center_freq, gain):
        """The USRP receive array in place of the link and the emulator. The meter runs
        in energy mode: the two radios' sample counts are not aligned to the pilot (that
        needs a shared time base and timed starts), so the pilot cannot be correlated."""
        self.emulator = None
        self.radio = uhd_array_source(device_args, nr, samp_rate, center_freq, gain)
        self.radio.combiner.set_switch_boundary(dwell)
        self.meter = rsrp_meter("energy", [], 0, dwell, 0.0, False)
        self.aligner = beam_aligner(method, nt, nr, model=model, verbose=False,
                                    dwell_timeout_s=dwell_timeout_s)
        self.link = message_link(loss, seed=seed)
        self.commands = zeromq.pub_msg_sink(commands, ZMQ_TIMEOUT_MS, True)
        self.connect(self.radio, self.meter)
        self.msg_connect(self.meter, proto.RSRP, self.aligner, proto.RSRP)
        self.msg_connect(self.aligner, proto.BEAM_CMD, self.radio, proto.BEAM_CMD)
        self.msg_connect(self.aligner, proto.BEAM_CMD, self.link, "in")
        self.msg_connect(self.link, "out", self.commands, "in")

    def align(self, channel=None, timeout=60.0):
        # Over the air there is no emulator: align_once leaves the channel to the air.
        return align_once(self.emulator, self.aligner, channel, timeout)
