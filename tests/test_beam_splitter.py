# SPDX-License-Identifier: GPL-3.0-or-later
"""beam_splitter against NumPy, and beam commands timed by radio time landing on the
exact sample of the combiner and the splitter, through synthetic UHD time tags."""
import numpy as np
import pmt
import pytest
from gnuradio import beamalign, blocks, gr

from gnuradio.beamalign import codebooks
from gnuradio.beamalign.blocks.messages import beam_cmd

LENGTH = 6000


def _post(block, msg):
    block.to_basic_block()._post(pmt.intern("beam_cmd"), msg)


def _time_tag(offset, key, seconds, fraction):
    value = pmt.make_tuple(pmt.from_uint64(seconds), pmt.from_double(fraction))
    return gr.tag_utils.python_to_tag((offset, pmt.intern(key), value))


def _signal(seed=1):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(LENGTH) + 1j * rng.standard_normal(LENGTH)).astype(np.complex64)


def _run_splitter(splitter, n, tags=()):
    s = _signal()
    tb = gr.top_block()
    sinks = [blocks.vector_sink_c() for _ in range(n)]
    tb.connect(blocks.vector_source_c(s.tolist(), False, 1, list(tags)), splitter)
    for ch, sink in enumerate(sinks):
        tb.connect((splitter, ch), sink)
    tb.run()
    return s, np.array([sink.data() for sink in sinks]), [sink.tags() for sink in sinks]


def test_splitter_matches_numpy_and_switches_at_the_requested_sample():
    n = 8
    f1, f2 = codebooks.steered_beam(n, 0.3), codebooks.steered_beam(n, -0.5)
    calibration = np.exp(1j * np.linspace(0, 1, n)).astype(np.complex64)
    splitter = beamalign.beam_splitter(n, 0, calibration.tolist())
    _post(splitter, beam_cmd("tx", 1, f1))
    _post(splitter, beam_cmd("tx", 2, f2, sample=2345))
    _post(splitter, beam_cmd("rx", 3, np.ones(4)))  # the receiver's: ignored, not malformed
    s, x, tags = _run_splitter(splitter, n)
    expected = np.concatenate([np.outer(f1 * calibration, s[:2345]),
                               np.outer(f2 * calibration, s[2345:])], axis=1)
    np.testing.assert_allclose(x, expected, rtol=1e-5, atol=1e-6)  # float32 precision
    for channel_tags in tags:
        beams = [(t.offset, pmt.to_python(t.value)["tx_beam_id"]) for t in channel_tags
                 if pmt.symbol_to_string(t.key) == "beam"]
        assert beams == [(0, 1), (2345, 2)]
    assert splitter.malformed_messages() == 0
    np.testing.assert_allclose(splitter.weights(), f2, rtol=1e-6)


def test_splitter_quantises_and_refuses_bad_commands():
    n = 4
    splitter = beamalign.beam_splitter(n, 2, [])
    _post(splitter, beam_cmd("tx", 1, np.exp(1j * np.radians([10, 50, 100, 170]))))
    _post(splitter, beam_cmd("tx", 2, np.ones(n + 1)))  # wrong length
    _post(splitter, beam_cmd("tx", 3, np.ones(n), sample=-1))  # negative sample
    _post(splitter, beam_cmd("tx", 4, np.ones(n), time=float("nan")))  # no time
    s, x, _ = _run_splitter(splitter, n)
    realised = x[:, 10] / s[10]
    np.testing.assert_allclose(realised, np.exp(1j * np.radians([0, 90, 90, 180])) / 1.0,
                               atol=1e-5)
    assert splitter.malformed_messages() == 3
    with pytest.raises(ValueError):
        beamalign.beam_splitter(0, 0, [])


@pytest.mark.parametrize("rate", [1e6, 10e6, 61.44e6])
@pytest.mark.parametrize("block", ["combiner", "splitter"])
def test_a_command_timed_by_radio_time_lands_on_the_exact_sample(rate, block):
    n, switch = 4, 3217
    f1, f2 = codebooks.steered_beam(n, 0.2), codebooks.steered_beam(n, -0.7)
    side, key = ("rx", "rx_time") if block == "combiner" else ("tx", "tx_time")
    # The stream starts at radio time 100.25 s; a second time tag later agrees with it.
    tags = [_time_tag(0, key, 100, 0.25),
            _time_tag(1500, key, 100, 0.25 + 1500 / rate)]
    when = (100, 0.25 + switch / rate)
    if block == "combiner":
        array = beamalign.beam_combiner(n, 0, [], rate)
    else:
        array = beamalign.beam_splitter(n, 0, [], rate)
    _post(array, beam_cmd(side, 1, f1))
    # Sent before any time tag has been seen: it waits for one, then finds its sample.
    _post(array, beam_cmd(side, 2, f2, time=pmt.make_tuple(pmt.from_uint64(when[0]),
                                                           pmt.from_double(when[1]))))
    if block == "combiner":
        rng = np.random.default_rng(3)
        x = (rng.standard_normal((n, LENGTH)) + 1j * rng.standard_normal((n, LENGTH))).astype(
            np.complex64)
        tb, sink = gr.top_block(), blocks.vector_sink_c()
        for ch in range(n):
            tb.connect(blocks.vector_source_c(x[ch].tolist(), False, 1,
                                              tags if ch == 0 else []), (array, ch))
        tb.connect(array, sink)
        tb.run()
        y, out_tags = np.array(sink.data()), sink.tags()
        expected = np.concatenate([f1.conj() @ x[:, :switch], f2.conj() @ x[:, switch:]])
        np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
    else:
        s, y, all_tags = _run_splitter(array, n, tags)
        out_tags = all_tags[0]
        expected = np.concatenate([np.outer(f1, s[:switch]), np.outer(f2, s[switch:])], axis=1)
        np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    beams = [t.offset for t in out_tags if pmt.symbol_to_string(t.key) == "beam"]
    assert beams == [0, switch]
    assert array.malformed_messages() == 0


def test_a_rate_tag_gives_the_rate_and_a_past_time_applies_at_once():
    n, rate = 2, 2e6
    tags = [_time_tag(0, "rx_time", 5, 0.0),
            gr.tag_utils.python_to_tag((0, pmt.intern("rx_rate"), pmt.from_double(rate)))]
    combiner = beamalign.beam_combiner(n, 0, [])  # no samp_rate: the rx_rate tag says
    _post(combiner, beam_cmd("rx", 1, np.ones(n) / np.sqrt(2), time=5.001))  # sample 2000
    tb, sink = gr.top_block(), blocks.vector_sink_c()
    for ch in range(n):
        tb.connect(blocks.vector_source_c([1.0] * LENGTH, False, 1, tags if ch == 0 else []),
                   (combiner, ch))
    tb.connect(combiner, sink)
    tb.run()
    assert [t.offset for t in sink.tags() if pmt.symbol_to_string(t.key) == "beam"] == [2000]
