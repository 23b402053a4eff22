# SPDX-License-Identifier: GPL-3.0-or-later
"""beam_combiner QA: exact-sample switching, quantisation, calibration, bad input."""
import numpy as np
import pmt
from gnuradio import beamalign, blocks, gr, gr_unittest

from gnuradio.beamalign import codebooks
from gnuradio.beamalign.blocks.messages import beam_cmd


def _post(block, msg):
    block.to_basic_block()._post(pmt.intern("beam_cmd"), msg)


class qa_beam_combiner(gr_unittest.TestCase):
    def setUp(self):
        self.tb = gr.top_block()
        rng = np.random.default_rng(1)
        self.n, self.length = 4, 5000
        self.x = (rng.standard_normal((self.n, self.length))
                  + 1j * rng.standard_normal((self.n, self.length))).astype(np.complex64)
        self.w1 = codebooks.steered_beam(self.n, 0.3)
        self.w2 = codebooks.steered_beam(self.n, -0.6)

    def run_combiner(self, combiner):
        sink = blocks.vector_sink_c()
        for ch in range(self.n):
            self.tb.connect(blocks.vector_source_c(self.x[ch].tolist()), (combiner, ch))
        self.tb.connect(combiner, sink)
        self.tb.run()
        return np.array(sink.data()), sink.tags()

    def test_switches_exactly_at_the_requested_sample(self):
        combiner = beamalign.beam_combiner(self.n, 0, [])
        _post(combiner, beam_cmd("rx", 1, self.w1))
        _post(combiner, beam_cmd("rx", 2, self.w2, sample=3217))
        y, tags = self.run_combiner(combiner)
        expected = np.concatenate([self.w1.conj() @ self.x[:, :3217], self.w2.conj() @ self.x[:, 3217:]])
        np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
        self.assertEqual([(t.offset, pmt.to_python(t.value)["rx_beam_id"]) for t in tags],
                         [(0, 1), (3217, 2)])

    def test_timed_commands_apply_in_sample_order(self):
        combiner = beamalign.beam_combiner(self.n, 0, [])
        _post(combiner, beam_cmd("rx", 2, self.w2, sample=4000))
        _post(combiner, beam_cmd("rx", 1, self.w1, sample=1000))
        y, tags = self.run_combiner(combiner)
        self.assertEqual([t.offset for t in tags], [1000, 4000])
        np.testing.assert_allclose(y[1000:4000], self.w1.conj() @ self.x[:, 1000:4000], rtol=1e-4, atol=1e-5)

    def test_far_future_and_negative_samples_are_refused_and_never_freeze_later_commands(self):
        combiner = beamalign.beam_combiner(self.n, 0, [])
        _post(combiner, beam_cmd("rx", 1, self.w1, sample=-1))
        _post(combiner, beam_cmd("rx", 2, self.w1, sample=1 << 40))
        _post(combiner, beam_cmd("rx", 3, self.w1, sample=10 ** 9))  # queued, far but legal
        _post(combiner, beam_cmd("rx", 4, self.w2))  # untimed: applies at once all the same
        y, tags = self.run_combiner(combiner)
        self.assertEqual(combiner.malformed_messages(), 2)
        self.assertEqual([(t.offset, pmt.to_python(t.value)["rx_beam_id"]) for t in tags], [(0, 4)])
        np.testing.assert_allclose(y, self.w2.conj() @ self.x, rtol=1e-4, atol=1e-5)

    def test_quantisation_and_calibration(self):
        calibration = np.exp(1j * np.array([0.0, 0.4, -1.1, 2.0])).astype(np.complex64)
        combiner = beamalign.beam_combiner(self.n, 3, calibration.tolist())
        _post(combiner, beam_cmd("rx", 1, self.w1))
        y, _ = self.run_combiner(combiner)
        wq = codebooks.quantize_phase(self.w1, 3)
        np.testing.assert_allclose(np.array(combiner.weights()), wq, atol=1e-6)
        np.testing.assert_allclose(y, (wq.conj() * calibration) @ self.x, rtol=1e-4, atol=1e-5)

    def test_bad_commands_are_dropped_and_tx_commands_ignored(self):
        combiner = beamalign.beam_combiner(self.n, 0, [])
        _post(combiner, beam_cmd("rx", 1, self.w1))
        _post(combiner, pmt.from_double(1.0))                   # not a dict
        _post(combiner, beam_cmd("rx", 2, np.ones(self.n + 2)))  # wrong length
        _post(combiner, beam_cmd("rx", 3, np.full(self.n, np.inf)))  # Inf weights
        _post(combiner, beam_cmd("tx", 4, np.ones(64)))          # for the transmitter
        y, tags = self.run_combiner(combiner)
        self.assertEqual(combiner.malformed_messages(), 3)
        self.assertEqual(len(tags), 1)
        np.testing.assert_allclose(y, self.w1.conj() @ self.x, rtol=1e-4, atol=1e-5)

    def test_bad_parameters_are_refused(self):
        with self.assertRaises(ValueError):
            beamalign.beam_combiner(4, 0, [1.0, 1.0])
        with self.assertRaises(ValueError):
            beamalign.beam_combiner(4, 20, [])


if __name__ == "__main__":
    gr_unittest.run(qa_beam_combiner)
