# SPDX-License-Identifier: GPL-3.0-or-later
"""sim_array_source QA against a NumPy reference."""

import numpy as np
import pmt
from gnuradio import beamalign, blocks, gr, gr_unittest

from gnuradio.beamalign.blocks.message_recorder import message_recorder
from gnuradio.beamalign.blocks.messages import beam_cmd, dict_to_pmt

NOISELESS = 300.0


def _post(block, port, msg):
    block.to_basic_block()._post(pmt.intern(port), msg)


def _unit(rng, n):
    v = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    return v / np.linalg.norm(v)


class qa_sim_array_source(gr_unittest.TestCase):
    def setUp(self):
        self.tb = gr.top_block()
        self.rng = np.random.default_rng(0)

    def run_samples(self, src, n):
        head = blocks.head(gr.sizeof_gr_complex, n)
        sink = blocks.vector_sink_c()
        self.tb.connect(src, head, sink)
        self.tb.run()
        return np.array(sink.data()), sink.tags()

    def test_noiseless_output_is_gain_times_pilot_with_a_tag(self):
        nt, nr = 8, 4
        pilot = beamalign.zadoff_chu(16)
        src = beamalign.sim_array_source(nt, nr, NOISELESS, 3, "los", pilot, 5)
        f, w = _unit(self.rng, nt), _unit(self.rng, nr)
        _post(src, "beam_cmd", beam_cmd("tx", 7, f))
        _post(src, "beam_cmd", beam_cmd("rx", 3, w))
        y, tags = self.run_samples(src, 100)
        h = np.array(src.channel()).reshape(nr, nt)
        g = w.conj() @ h @ f
        np.testing.assert_allclose(y, g * np.resize(pilot, 100), rtol=1e-5, atol=1e-6)
        self.assertEqual(len(tags), 1)
        self.assertEqual(tags[0].offset, 0)
        self.assertEqual(pmt.symbol_to_string(tags[0].key), "beam")
        value = pmt.to_python(tags[0].value)
        self.assertEqual((value["beam_id"], value["tx_beam_id"], value["rx_beam_id"]), (3, 7, 3))

    def test_mean_power_per_beam_within_one_percent(self):
        nt, nr, snr_db = 64, 16, 10.0
        src = beamalign.sim_array_source(nt, nr, snr_db, 3, "los", [], 11)
        f = _unit(self.rng, nt)
        w = np.sqrt(2) * _unit(self.rng, nr)  # ||w||^2 = 2 checks sigma^2 ||w||^2
        _post(src, "beam_cmd", beam_cmd("tx", 0, f))
        _post(src, "beam_cmd", beam_cmd("rx", 0, w))
        y, _ = self.run_samples(src, 100_000)
        h = np.array(src.channel()).reshape(nr, nt)
        expected = abs(w.conj() @ h @ f) ** 2 + 10 ** (-snr_db / 10) * 2.0
        self.assertLess(abs(np.mean(np.abs(y) ** 2) / expected - 1), 0.01)

    def test_channel_message_with_paths_and_impairment(self):
        nt, nr = 8, 4
        src = beamalign.sim_array_source(nt, nr, NOISELESS, 2, "los", [], 1)
        tx_phase = self.rng.uniform(-1, 1, nt)
        rx_position = self.rng.uniform(-0.1, 0.1, nr)
        info = message_recorder()
        self.tb.msg_connect(src, "channel_info", info, "in")
        _post(src, "channel", dict_to_pmt({"gains": np.array([0.6 + 0.2j]), "u_tx": [0.3],
                                           "u_rx": [-0.5], "tx_phase": tx_phase,
                                           "rx_position": rx_position}))
        self.run_samples(src, 10)
        from gnuradio.beamalign.arrays import ElementImpairment
        from gnuradio.beamalign.channels import PathChannels
        ch = PathChannels(nt, nr, np.array([[0.6 + 0.2j]]), np.array([[0.3]]), np.array([[-0.5]]),
                          ElementImpairment(tx_phase, np.zeros(nt)),
                          ElementImpairment(np.zeros(nr), rx_position))
        expected = ch.matrices(np.complex128)[0].ravel()
        np.testing.assert_allclose(np.array(src.channel()), expected, atol=1e-6)
        self.assertTrue(info.wait_for(2, 5.0))  # the initial channel, then this one
        np.testing.assert_allclose(info.messages[-1]["u_tx"], [0.3], atol=1e-7)

    def test_generated_channels_are_normalised_and_new_on_request(self):
        src = beamalign.sim_array_source(16, 8, NOISELESS, 3, "nlos", [], 2)
        first = np.array(src.channel())
        _post(src, "channel", dict_to_pmt({}))
        self.run_samples(src, 10)
        second = np.array(src.channel())
        self.assertAlmostEqual(np.linalg.norm(first), 1.0, places=5)
        self.assertAlmostEqual(np.linalg.norm(second), 1.0, places=5)
        self.assertGreater(np.linalg.norm(first - second), 0.1)

    def test_weights_switch_exactly_at_the_commanded_sample(self):
        nt, nr = 8, 4
        src = beamalign.sim_array_source(nt, nr, NOISELESS, 3, "los", [], 3)
        f1, f2, f3 = _unit(self.rng, nt), _unit(self.rng, nt), _unit(self.rng, nt)
        _post(src, "beam_cmd", beam_cmd("tx", 1, f1))
        _post(src, "beam_cmd", beam_cmd("tx", 2, f2, sample=5000))
        _post(src, "beam_cmd", beam_cmd("tx", 3, f3, sample=12345))
        y, tags = self.run_samples(src, 20000)
        self.assertEqual([(t.offset, pmt.to_python(t.value)["beam_id"]) for t in tags],
                         [(0, 1), (5000, 2), (12345, 3)])
        h = np.array(src.channel()).reshape(nr, nt)
        np.testing.assert_allclose(y[:5000], h[0] @ f1, rtol=1e-5)
        np.testing.assert_allclose(y[5000:12345], h[0] @ f2, rtol=1e-5)
        np.testing.assert_allclose(y[12345:], h[0] @ f3, rtol=1e-5)

    def test_bad_sample_fields_are_refused_and_never_hold_up_later_commands(self):
        nt, nr = 8, 4
        src = beamalign.sim_array_source(nt, nr, NOISELESS, 3, "los", [], 3)
        f1, f2 = _unit(self.rng, nt), _unit(self.rng, nt)
        _post(src, "beam_cmd", beam_cmd("tx", 1, f1, sample=-5))  # negative: refused
        _post(src, "beam_cmd", beam_cmd("tx", 2, f1, sample=1 << 40))  # too far ahead
        _post(src, "beam_cmd", beam_cmd("tx", 3, f2))  # untimed: applies at once
        y, tags = self.run_samples(src, 1000)
        self.assertEqual(src.malformed_messages(), 2)
        self.assertEqual([pmt.to_python(t.value)["beam_id"] for t in tags], [3])
        np.testing.assert_allclose(y, np.array(src.channel()).reshape(nr, nt)[0] @ f2,
                                   rtol=1e-5)

    def test_bad_messages_are_dropped_and_the_flowgraph_keeps_running(self):
        nt, nr = 8, 4
        src = beamalign.sim_array_source(nt, nr, NOISELESS, 3, "los", [], 4)
        f = _unit(self.rng, nt)
        _post(src, "beam_cmd", beam_cmd("tx", 1, f))
        bad = [
            pmt.from_long(5),                                    # not a dict
            beam_cmd("tx", 2, np.ones(nt + 1)),                  # wrong length
            dict_to_pmt({"side": "tx", "beam_id": 3, "weights": np.ones(nt, np.float32)}),  # type
            beam_cmd("tx", 4, np.full(nt, np.nan)),              # NaN weights
            beam_cmd("up", 5, np.ones(nt)),                      # unknown side
        ]
        for msg in bad:
            _post(src, "beam_cmd", msg)
        _post(src, "channel", pmt.intern("nonsense"))
        _post(src, "channel", dict_to_pmt({"h": np.ones(3, np.complex64)}))
        y, tags = self.run_samples(src, 1000)
        self.assertEqual(len(y), 1000)
        self.assertEqual(src.malformed_messages(), 7)
        h = np.array(src.channel()).reshape(nr, nt)
        np.testing.assert_allclose(y, h[0] @ f, rtol=1e-5)  # the good command still holds
        self.assertEqual([pmt.to_python(t.value)["beam_id"] for t in tags], [1])

    def test_bad_parameters_are_refused(self):
        with self.assertRaises(ValueError):
            beamalign.sim_array_source(0, 4, 20.0, 3, "los", [], 0)
        with self.assertRaises(ValueError):
            beamalign.sim_array_source(8, 4, 20.0, 3, "indoor", [], 0)


if __name__ == "__main__":
    gr_unittest.run(qa_sim_array_source)
