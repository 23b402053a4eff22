# SPDX-License-Identifier: GPL-3.0-or-later
"""gpio_phase_shifter against a fake USRP: the GPIO word of a beam, and a timed switch as
set_command_time, the write, clear_command_time."""
import time

import numpy as np
import pmt
import pytest
from gnuradio import beamalign, blocks, gr

from gnuradio.beamalign.blocks.message_link import message_link
from gnuradio.beamalign.blocks.message_recorder import message_recorder
from gnuradio.beamalign.blocks.messages import beam_cmd, dict_to_pmt
from gnuradio.beamalign.hw.gpio_phase_shifter import gpio_phase_shifter, gpio_word


class FakeUsrp:
    def __init__(self):
        self.calls = []

    def set_gpio_attr(self, bank, attr, value, mask, mboard):
        self.calls.append(("gpio", bank, attr, value, mask))

    def set_command_time(self, time_spec, mboard):
        self.calls.append(("time", round(time_spec.get_real_secs(), 9)))

    def clear_command_time(self, mboard):
        self.calls.append(("clear",))


def test_gpio_word_packs_each_elements_phase_code():
    steps = np.exp(1j * np.radians([0, 45, 90, 315]))  # 3-bit codes 0, 1, 2, 7
    value, mask, codes = gpio_word(steps, 3, first_pin=1)
    assert list(codes) == [0, 1, 2, 7]
    assert value == (0 | 1 << 3 | 2 << 6 | 7 << 9) << 1
    assert mask == 0xFFF << 1


def test_a_timed_beam_is_a_timed_gpio_write():
    usrp = FakeUsrp()
    block = gpio_phase_shifter(usrp, 4, 3, "tx")
    assert usrp.calls == [("gpio", "FP0", "CTRL", 0, 0xFFF), ("gpio", "FP0", "DDR", 0xFFF, 0xFFF)]
    usrp.calls.clear()
    tb = gr.top_block()
    idle = message_link()  # sends nothing: it only puts the block in a running flowgraph
    tb.msg_connect(idle, "out", block, "beam_cmd")
    tb.start()
    w = np.exp(1j * np.radians([0, 45, 90, 315]))
    block.to_basic_block()._post(pmt.intern("beam_cmd"), beam_cmd("tx", 1, w, time=12.5))
    block.to_basic_block()._post(pmt.intern("beam_cmd"), beam_cmd("tx", 2, np.ones(5)))
    block.to_basic_block()._post(pmt.intern("beam_cmd"), beam_cmd("rx", 3, w))
    block.to_basic_block()._post(pmt.intern("beam_cmd"), beam_cmd("tx", 4, w))
    deadline = time.monotonic() + 5
    while len(usrp.calls) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    tb.stop()
    tb.wait()
    word = 0 | 1 << 3 | 2 << 6 | 7 << 9
    assert usrp.calls == [("time", 12.5), ("gpio", "FP0", "OUT", word, 0xFFF), ("clear",),
                          ("gpio", "FP0", "OUT", word, 0xFFF)]
    assert block.malformed_messages() == 1


def test_pins_must_fit_the_bank():
    with pytest.raises(ValueError, match="do not fit"):
        gpio_phase_shifter(FakeUsrp(), 4, 4, "tx", pins=12)


def test_the_beam_tag_lands_on_the_sample_where_the_shifters_switch():
    rate, seconds, switch = 1e6, 7, 2500
    usrp = FakeUsrp()
    shifters = gpio_phase_shifter(usrp, 4, 3, "rx")
    # What the shifters tell the stream (recorded first, so the stream below is exact).
    tb, recorder = gr.top_block(), message_recorder()
    tb.msg_connect(shifters, "tag_cmd", recorder, "in")
    tb.start()
    w = np.exp(1j * np.radians([0, 45, 90, 315]))
    shifters.to_basic_block()._post(pmt.intern("beam_cmd"),
                                    beam_cmd("rx", 5, w, time=seconds + switch / rate))
    assert recorder.wait_for(1, 5.0)
    tb.stop()
    tb.wait()
    assert ("time", seconds + switch / rate) in usrp.calls
    # A beam_combiner(1) in the stream tags the sample of that radio time, and changes
    # nothing else.
    tagger = beamalign.beam_combiner(1, 0, [], rate)
    tagger.to_basic_block()._post(pmt.intern("beam_cmd"), dict_to_pmt(recorder.messages[0]))
    time_tag = gr.tag_utils.python_to_tag((0, pmt.intern("rx_time"), pmt.make_tuple(
        pmt.from_uint64(seconds), pmt.from_double(0.0))))
    stream, sink = gr.top_block(), blocks.vector_sink_c()
    stream.connect(blocks.vector_source_c([1.0] * 6000, False, 1, [time_tag]), tagger, sink)
    stream.run()
    beams = [(t.offset, pmt.to_python(t.value)["beam_id"]) for t in sink.tags()
             if pmt.symbol_to_string(t.key) == "beam"]
    assert beams == [(switch, 5)]
    np.testing.assert_allclose(sink.data(), 1.0)
