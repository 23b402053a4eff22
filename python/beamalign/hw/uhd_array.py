# SPDX-License-Identifier: GPL-3.0-or-later
"""USRP arrays: an N-channel uhd.usrp_source feeding beam_combiner."""
from gnuradio import blocks, gr

from .. import beamalign_python
from .. import protocol as proto
from ..pilots import zadoff_chu

TIME_SOURCES = ("", "internal", "external", "mimo", "gpsdo")
CLOCK_SOURCES = TIME_SOURCES


def open_usrp(who, direction, device_args, num_channels, samp_rate, center_freq, gain,
              subdev_spec="", clock_source="", time_source="", lo_source=""):
    """An N-channel uhd.usrp_source ("rx") or usrp_sink ("tx"), all channels tuned alike;
    RuntimeError naming the device arguments when no USRP answers."""
    if clock_source not in CLOCK_SOURCES or time_source not in TIME_SOURCES:
        raise ValueError(f"clock_source and time_source must be one of {TIME_SOURCES}")
    if num_channels < 1 or not samp_rate > 0:
        raise ValueError(f"{who}: need num_channels >= 1 and samp_rate > 0")
    from gnuradio import uhd  # optional: only a hardware run needs UHD's Python module

    make = uhd.usrp_source if direction == "rx" else uhd.usrp_sink
    try:
        usrp = make(device_args,
                    uhd.stream_args(cpu_format="fc32", channels=list(range(num_channels))))
    except RuntimeError as err:
        raise RuntimeError(
            f"{who}: no USRP found for device arguments {device_args!r} "
            f"({num_channels} channels): {str(err).strip()}") from None
    if subdev_spec:
        usrp.set_subdev_spec(subdev_spec, 0)
    if clock_source:
        usrp.set_clock_source(clock_source, 0)
    if time_source:
        usrp.set_time_source(time_source, 0)
    usrp.set_samp_rate(samp_rate)
    for ch in range(num_channels):
        if lo_source:
            usrp.set_lo_source(lo_source, uhd.ALL_LOS, ch)
        usrp.set_center_freq(center_freq, ch)
        usrp.set_gain(gain, ch)
    return usrp


def open_usrp_source(who, device_args, num_channels, samp_rate, center_freq, gain,
                     subdev_spec="", clock_source="", time_source="", lo_source=""):
    """An N-channel uhd.usrp_source (see open_usrp)."""
    return open_usrp(who, "rx", device_args, num_channels, samp_rate, center_freq, gain,
                     subdev_spec, clock_source, time_source, lo_source)


class uhd_array_source(gr.hier_block2):
    """An N-channel USRP receiver combined into one beam.

    Opens a uhd.usrp_source with the given device arguments and channel count, tunes
    all channels to one frequency (shared LO, reference and time source when asked),
    and feeds beam_combiner, whose `beam_cmd` port is exported. With no matching USRP
    the constructor raises RuntimeError naming the device arguments it tried.

    Args:
        device_args: UHD device address, e.g. "type=x300,addr=192.168.40.2"
        num_channels: array channels N
        samp_rate: sample rate (S/s)
        center_freq: carrier (Hz)
        gain: RX gain (dB), same on every channel
        subdev_spec: subdevice specification ("" keeps the default)
        clock_source, time_source: "", "internal", "external", "mimo" or "gpsdo"
        lo_source: "" or e.g. "internal"/"companion" to share the LO across channels
        bits, calibration: passed to beam_combiner
    """

    def __init__(self, device_args="", num_channels=2, samp_rate=1e6, center_freq=28e9,
                 gain=30.0, subdev_spec="", clock_source="", time_source="", lo_source="",
                 bits=0, calibration=()):
        gr.hier_block2.__init__(self, "uhd_array_source", gr.io_signature(0, 0, 0),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        if num_channels < 1:
            raise ValueError(f"num_channels must be at least 1, got {num_channels}")

        self.num_channels = num_channels
        self.usrp = open_usrp_source("uhd_array_source", device_args, num_channels, samp_rate,
                                     center_freq, gain, subdev_spec, clock_source, time_source,
                                     lo_source)
        # The sample rate lets `beam_cmd` messages timed by radio `time` find their
        # sample through the rx_time tags the USRP puts on the stream.
        self.combiner = beamalign_python.beam_combiner(num_channels, bits, list(calibration),
                                                       samp_rate)
        for ch in range(num_channels):
            self.connect((self.usrp, ch), (self.combiner, ch))
        self.connect(self.combiner, self)
        self.message_port_register_hier_in(proto.BEAM_CMD)
        self.msg_connect(self, proto.BEAM_CMD, self.combiner, proto.BEAM_CMD)

    def set_center_freq(self, center_freq):
        for ch in range(self.num_channels):
            self.usrp.set_center_freq(center_freq, ch)

    def set_gain(self, gain):
        for ch in range(self.num_channels):
            self.usrp.set_gain(gain, ch)


class uhd_array_sink(gr.hier_block2):
    """One stream transmitted as a beam by an N-channel USRP (the transmit array).

    beam_splitter weights the stream per element from `beam_cmd` messages with side
    "tx" (exported port; applied at once, from a `sample`, or from a radio `time`
    through the stream's `tx_time` tags), then an N-channel uhd.usrp_sink with the same
    device, subdevice, shared LO / reference / time options as uhd_array_source. With no
    matching USRP the constructor raises RuntimeError naming the device arguments.

    Args:
        device_args, num_channels, samp_rate, center_freq, subdev_spec, clock_source,
        time_source, lo_source: as for uhd_array_source
        gain: TX gain (dB), same on every channel
        bits, calibration: passed to beam_splitter
    """

    def __init__(self, device_args="", num_channels=2, samp_rate=1e6, center_freq=28e9,
                 gain=10.0, subdev_spec="", clock_source="", time_source="", lo_source="",
                 bits=0, calibration=()):
        gr.hier_block2.__init__(self, "uhd_array_sink",
                                gr.io_signature(1, 1, gr.sizeof_gr_complex),
                                gr.io_signature(0, 0, 0))
        if num_channels < 1:
            raise ValueError(f"num_channels must be at least 1, got {num_channels}")
        self.num_channels = num_channels
        # The splitter first: a bad calibration is refused before any radio is opened.
        self.splitter = beamalign_python.beam_splitter(num_channels, bits, list(calibration),
                                                       samp_rate)
        self.usrp = open_usrp("uhd_array_sink", "tx", device_args, num_channels, samp_rate,
                              center_freq, gain, subdev_spec, clock_source, time_source,
                              lo_source)
        self.connect(self, self.splitter)
        for ch in range(num_channels):
            self.connect((self.splitter, ch), (self.usrp, ch))
        self.message_port_register_hier_in(proto.BEAM_CMD)
        self.msg_connect(self, proto.BEAM_CMD, self.splitter, proto.BEAM_CMD)

    def set_center_freq(self, center_freq):
        for ch in range(self.num_channels):
            self.usrp.set_center_freq(center_freq, ch)

    def set_gain(self, gain):
        for ch in range(self.num_channels):
            self.usrp.set_gain(gain, ch)


class uhd_rf_chain_source(gr.hier_block2):
    """The RF chains of a partially-connected hybrid array on USRP channels.

    The analog combiner (phase shifters feeding each RF chain) is external hardware;
    each USRP channel digitises one RF chain. Samples taken at the same instant on all
    channels form one output vector of num_rf items, the input chanest_estimator
    expects (one vector per pilot sample). With no matching USRP the constructor
    raises RuntimeError naming the device arguments it tried.

    Args: as uhd_array_source, with num_rf channels.
    """

    def __init__(self, device_args="", num_rf=4, samp_rate=1e6, center_freq=28e9, gain=30.0,
                 subdev_spec="", clock_source="", time_source="", lo_source=""):
        gr.hier_block2.__init__(self, "uhd_rf_chain_source", gr.io_signature(0, 0, 0),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex * max(num_rf, 1)))
        if num_rf < 1:
            raise ValueError(f"num_rf must be at least 1, got {num_rf}")

        self.usrp = open_usrp_source("uhd_rf_chain_source", device_args, num_rf, samp_rate,
                                     center_freq, gain, subdev_spec, clock_source, time_source,
                                     lo_source)
        self.to_vector = blocks.streams_to_vector(gr.sizeof_gr_complex, num_rf)
        for ch in range(num_rf):
            self.connect((self.usrp, ch), (self.to_vector, ch))
        self.connect(self.to_vector, self)


class uhd_srs_source(gr.hier_block2):
    """SRS direction finding front end on an M-channel USRP: the antennas' streams go
    through srs_cfr, giving the same M x K snapshot vectors as the simulated receiver.

    The channels must be phase-coherent (shared LO and reference: lo_source, clock_source)
    and the stream aligned to the SRS symbols (e.g. started on a timed command). With no
    matching USRP the constructor raises RuntimeError naming the device arguments.

    Args: as uhd_array_source, plus the SRS layout of srs_cfr (fft_size, cp_len, comb,
    comb_offset, srs_length, num_subcarriers).
    """

    def __init__(self, device_args="", num_antennas=4, samp_rate=7.68e6, center_freq=3.5e9,
                 gain=30.0, fft_size=256, cp_len=18, comb=2, comb_offset=0, srs_length=96,
                 num_subcarriers=16, subdev_spec="", clock_source="", time_source="",
                 lo_source=""):
        gr.hier_block2.__init__(
            self, "uhd_srs_source", gr.io_signature(0, 0, 0),
            gr.io_signature(1, 1, gr.sizeof_gr_complex * max(num_antennas, 1) *
                            max(num_subcarriers, 1)))
        if num_antennas < 1:
            raise ValueError(f"num_antennas must be at least 1, got {num_antennas}")

        # The CFR block checks the layout before any hardware is touched.
        self.cfr = beamalign_python.srs_cfr(num_antennas, fft_size, cp_len, comb, comb_offset,
                                            zadoff_chu(srs_length).tolist(), num_subcarriers)
        self.usrp = open_usrp_source("uhd_srs_source", device_args, num_antennas, samp_rate,
                                     center_freq, gain, subdev_spec, clock_source, time_source,
                                     lo_source)
        for ch in range(num_antennas):
            self.connect((self.usrp, ch), (self.cfr, ch))
        self.connect(self.cfr, self)
