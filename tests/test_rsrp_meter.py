# SPDX-License-Identifier: GPL-3.0-or-later
"""rsrp_meter QA: a known signal with tags at known offsets, against NumPy."""
import numpy as np
import pmt
from gnuradio import beamalign, blocks, gr, gr_unittest

from gnuradio.beamalign.blocks.message_recorder import message_recorder


def _beam_tag(offset, beam_id):
    value = pmt.to_pmt({"beam_id": beam_id, "tx_beam_id": beam_id, "rx_beam_id": -1})
    return gr.tag_utils.python_to_tag((offset, pmt.intern("beam"), value))


class qa_rsrp_meter(gr_unittest.TestCase):
    def setUp(self):
        self.tb = gr.top_block()
        rng = np.random.default_rng(2)
        self.pilot = beamalign.zadoff_chu(64)
        self.offsets = [100, 400, 700]
        self.gains = [0.5 + 0.5j, 0.1 - 0.2j, 2.0]
        n = 1000
        y = 0.3 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
        for start, stop, g in zip(self.offsets, self.offsets[1:] + [n], self.gains):
            y[start:stop] += g * np.resize(self.pilot, stop - start)
        self.y = y.astype(np.complex64)

    def measure(self, meter, y=None):
        y = self.y if y is None else y
        tags = [_beam_tag(o, k) for k, o in enumerate(self.offsets)]
        src = blocks.vector_source_c(y.tolist(), False, 1, tags)
        recorder = message_recorder()
        self.tb.connect(src, meter)
        self.tb.msg_connect(meter, "rsrp", recorder, "in")
        self.tb.run()
        recorder.wait_for(meter.dwells(), 5.0)
        return recorder.messages

    def pilot_reference(self, start, guard, length):
        seg = self.y[start + guard:start + guard + length].astype(np.complex128)
        p = np.resize(self.pilot, guard + length)[guard:]
        return abs(np.mean(seg * p.conj())) ** 2

    def test_pilot_mode_with_guard(self):
        meter = beamalign.rsrp_meter("pilot", self.pilot, 10, 200, 0.0, False)
        msgs = self.measure(meter)
        self.assertEqual([m["beam_id"] for m in msgs], [0, 1, 2])
        for m, start in zip(msgs, self.offsets):
            ref = self.pilot_reference(start, 10, 200)
            self.assertAlmostEqual(m["power"] / ref, 1.0, places=4)
            self.assertAlmostEqual(m["rsrp_dbm"], 10 * np.log10(ref), places=3)
            self.assertEqual(m["nsamples"], 200)
            self.assertEqual(m["offset"], start)
            self.assertTrue(m["complete"])

    def test_energy_mode_until_next_tag(self):
        meter = beamalign.rsrp_meter("energy", [], 5, 0, -30.0, False)
        msgs = self.measure(meter)
        # The last dwell has no following tag, so two dwells are closed.
        self.assertEqual(len(msgs), 2)
        for m, start, stop in zip(msgs, self.offsets, self.offsets[1:]):
            ref = np.mean(np.abs(self.y[start + 5:stop].astype(np.complex128)) ** 2)
            self.assertAlmostEqual(m["power"] / ref, 1.0, places=4)
            self.assertAlmostEqual(m["rsrp_dbm"], 10 * np.log10(ref) - 30.0, places=3)
            self.assertEqual(m["nsamples"], stop - start - 5)
            self.assertTrue(m["complete"])

    def test_dwell_cut_short_by_a_new_tag(self):
        meter = beamalign.rsrp_meter("pilot", self.pilot, 0, 350, 0.0, False)
        msgs = self.measure(meter)
        self.assertFalse(msgs[0]["complete"])
        self.assertEqual(msgs[0]["nsamples"], 300)
        self.assertAlmostEqual(msgs[0]["power"] / self.pilot_reference(100, 0, 300), 1.0, places=4)

    def test_clamp_and_quantise(self):
        meter = beamalign.rsrp_meter("pilot", self.pilot, 0, 64, -63.4, True)
        msgs = self.measure(meter)
        for m, start in zip(msgs, self.offsets):
            dbm = 10 * np.log10(self.pilot_reference(start, 0, 64)) - 63.4
            self.assertEqual(m["rsrp_dbm"], float(np.round(np.clip(dbm, -140, -40))))
        self.assertEqual(msgs[2]["rsrp_dbm"], -57.0)  # |2|^2 -> 6.02 dB - 63.4 -> -57.4 -> -57

    def test_nan_and_inf_samples_are_left_out_and_counted(self):
        y = self.y.copy()
        y[150] = np.nan
        y[151] = np.inf
        meter = beamalign.rsrp_meter("energy", [], 0, 100, 0.0, False)
        msgs = self.measure(meter, y)
        self.assertEqual(meter.dropped_samples(), 2)
        self.assertEqual(len(msgs), 3)
        good = np.delete(self.y[100:200].astype(np.complex128), [50, 51])
        self.assertAlmostEqual(msgs[0]["power"] / np.mean(np.abs(good) ** 2), 1.0, places=4)
        self.assertEqual(msgs[0]["nsamples"], 98)

    def test_huge_finite_samples_give_a_finite_power(self):
        for mode, scale in (("energy", 1e19), ("pilot", 3e17)):
            self.tb = gr.top_block()
            y = np.zeros(1000, np.complex128)
            for start, stop in zip(self.offsets, self.offsets[1:] + [1000]):
                y[start:stop] = scale * np.resize(self.pilot, stop - start)
            y = y.astype(np.complex64)
            meter = beamalign.rsrp_meter(mode, self.pilot, 0, 64, 0.0, False)
            messages = self.measure(meter, y)
            self.assertEqual(len(messages), 3)
            for msg in messages:
                self.assertTrue(np.isfinite(msg["power"]), (mode, msg["power"]))
                self.assertAlmostEqual(msg["power"] / scale ** 2, 1.0, places=4)
            self.assertEqual(meter.dropped_samples(), 0)

    def test_an_all_nan_dwell_is_published_as_incomplete(self):
        y = self.y.copy()
        y[400:700] = np.nan  # the second dwell: every sample bad
        meter = beamalign.rsrp_meter("energy", [], 0, 100, 0.0, False)
        messages = self.measure(meter, y)
        self.assertEqual([m["beam_id"] for m in messages], [0, 1, 2])
        lost = messages[1]
        self.assertEqual((lost["complete"], lost["nsamples"], lost["power"]), (False, 0, 0.0))
        self.assertTrue(messages[0]["complete"] and messages[2]["complete"])

    def test_power_stream_matches_the_messages(self):
        meter = beamalign.rsrp_meter("pilot", self.pilot, 10, 200, 0.0, False)
        sink = blocks.vector_sink_f()
        self.tb.connect(meter, sink)
        msgs = self.measure(meter)
        np.testing.assert_allclose(sink.data(), [m["power"] for m in msgs], rtol=1e-6)
        np.testing.assert_allclose(sink.data(), [self.pilot_reference(o, 10, 200)
                                                 for o in self.offsets], rtol=1e-4)

    def test_stream_only_mode_publishes_no_messages(self):
        meter = beamalign.rsrp_meter("energy", [], 0, 0, 0.0, False, False)
        sink = blocks.vector_sink_f()
        self.tb.connect(meter, sink)
        msgs = self.measure(meter)
        self.assertEqual(msgs, [])
        expected = [np.mean(np.abs(self.y[a:b].astype(np.complex128)) ** 2)
                    for a, b in zip(self.offsets, self.offsets[1:])]
        np.testing.assert_allclose(sink.data(), expected, rtol=1e-4)

    def test_many_dwells_through_a_one_item_output(self):
        # One output item per call: every dwell end must resume exactly where it stopped.
        rng = np.random.default_rng(9)
        n, dwell = 64 * 300, 64
        y = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
        tags = [_beam_tag(k * dwell, k) for k in range(n // dwell)]
        src = blocks.vector_source_c(y.tolist(), False, 1, tags)
        meter = beamalign.rsrp_meter("energy", [], 4, 32, 0.0, False, False)
        meter.set_max_noutput_items(1)
        sink = blocks.vector_sink_f()
        self.tb.connect(src, meter, sink)
        self.tb.run()
        segments = y.reshape(-1, dwell)[:, 4:36].astype(np.complex128)
        np.testing.assert_allclose(sink.data(), np.mean(np.abs(segments) ** 2, axis=1), rtol=1e-4)

    def test_dwells_longer_than_the_buffer_are_measured(self):
        rng = np.random.default_rng(10)
        dwell, count = 40_000, 3  # GNU Radio buffers hold about 8k items here
        y = (rng.standard_normal(dwell * count) + 1j * rng.standard_normal(dwell * count))
        y = y.astype(np.complex64)
        src = blocks.vector_source_c(y.tolist(), False, 1,
                                     [_beam_tag(k * dwell, k) for k in range(count)])
        meter = beamalign.rsrp_meter("energy", [], 0, dwell, 0.0, False)
        sink = blocks.vector_sink_f()
        self.tb.connect(src, meter, sink)
        self.tb.run()
        expected = np.mean(np.abs(y.reshape(count, dwell).astype(np.complex128)) ** 2, axis=1)
        np.testing.assert_allclose(sink.data(), expected, rtol=1e-4)

    def test_bad_parameters_are_refused(self):
        with self.assertRaises(ValueError):
            beamalign.rsrp_meter("power", [], 0, 64, 0.0, False)
        with self.assertRaises(ValueError):
            beamalign.rsrp_meter("pilot", [], -1, 64, 0.0, False)


if __name__ == "__main__":
    gr_unittest.run(qa_rsrp_meter)
