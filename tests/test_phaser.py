# SPDX-License-Identifier: GPL-3.0-or-later
"""phaser_array: weights -> ADAR1000 codes -> realised weights against the chip's
resolution, the board calibration round trip, every write one beam_cmd makes (against a
fake device speaking pyadi-iio's names), and a clear error with no board."""
import pickle
import time

import numpy as np
import pmt
import pytest
from gnuradio import gr

from gnuradio.beamalign import codebooks
from gnuradio.beamalign.arrays.calibration import Calibration, load_calibration, save_calibration
from gnuradio.beamalign.blocks.message_recorder import message_recorder
from gnuradio.beamalign.blocks.messages import beam_cmd
from gnuradio.beamalign.hw.phaser import (
    CN0566_CHANNEL_ELEMENTS,
    PHASE_STEP_DEG,
    codes_to_weights,
    export_board_calibration,
    import_board_calibration,
    open_cn0566,
    phaser_array,
    weights_to_codes,
)


class FakeElement:
    """One array element as pyadi-iio's adar1000 channel object: setting rx_phase writes
    the channel's IIO attribute 'phase' (input), rx_gain 'hardwaregain', and so on."""

    def __init__(self, device, chip, channel, element):
        self._device, self._chip, self._channel, self._element = device, chip, channel, element

    def __setattr__(self, name, value):
        if name.startswith("_"):
            return object.__setattr__(self, name, value)
        side, what = name.split("_")
        attribute = {"phase": "phase", "gain": "hardwaregain"}[what]
        self._device.writes.append((self._chip, f"voltage{self._channel}", attribute,
                                    side == "tx", value, self._element))


class FakeCN0566:
    def __init__(self):
        self.writes = []
        self.elements = {}
        for chip, elements in CN0566_CHANNEL_ELEMENTS.items():
            for channel, element in enumerate(elements):
                self.elements[element] = FakeElement(self, chip, channel, element)

    def latch_rx_settings(self):
        self.writes.append(("all", "rx_load_spi", 1))

    def latch_tx_settings(self):
        self.writes.append(("all", "tx_load_spi", 1))


def test_codes_realise_the_weights_within_the_phase_resolution():
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(500):
        w = np.exp(1j * rng.uniform(-np.pi, np.pi, 8))
        phase, gain = weights_to_codes(w)
        assert phase.min() >= 0 and phase.max() <= 127 and np.all(gain == 127)
        error = np.degrees(np.abs(np.angle(codes_to_weights(phase, gain) * w.conj())))
        worst = max(worst, error.max())
    assert PHASE_STEP_DEG == 2.8125  # 7 bits, the ADAR1000's phase resolution
    assert worst <= PHASE_STEP_DEG / 2 + 1e-9
    assert worst > 0.9 * PHASE_STEP_DEG / 2  # the bound is reached, not just respected
    taper = np.array([0.25, 0.5, 0.75, 1.0, 1.0, 0.75, 0.5, 0.25])
    _, gain = weights_to_codes(taper)
    np.testing.assert_array_equal(gain, [32, 64, 95, 127, 127, 95, 64, 32])


def test_board_calibration_round_trip_is_exact(tmp_path):
    pcal = [0.0, 12.5, -33.75, 101.0, 7.125, -180.0, 45.5, 2.8125]
    gcal = [1.0, 0.9, 0.85, 0.95, 1.0, 0.7, 0.99, 0.875]
    for name, values in (("phase.pkl", pcal), ("gain.pkl", gcal)):
        with open(tmp_path / name, "wb") as f:
            pickle.dump(values, f)
    ours = import_board_calibration(tmp_path / "phase.pkl", tmp_path / "gain.pkl")
    save_calibration(tmp_path / "cal.json", ours)
    loaded = load_calibration(tmp_path / "cal.json", num_elements=8)
    export_board_calibration(loaded, tmp_path / "phase2.pkl", tmp_path / "gain2.pkl")
    with open(tmp_path / "phase2.pkl", "rb") as f:
        assert np.max(np.abs(np.array(pickle.load(f)) - pcal)) <= 1e-12
    with open(tmp_path / "gain2.pkl", "rb") as f:
        assert pickle.load(f) == gcal


def test_a_board_file_that_is_not_a_list_of_numbers_is_refused(tmp_path):
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(time.sleep))  # a global: refused
    (tmp_path / "short.pkl").write_bytes(pickle.dumps([1.0, 2.0]))
    (tmp_path / "gain.pkl").write_bytes(pickle.dumps([1.0] * 8))
    for bad in ("evil.pkl", "short.pkl"):
        with pytest.raises(ValueError, match=bad):
            import_board_calibration(tmp_path / bad, tmp_path / "gain.pkl")


@pytest.mark.parametrize("side", ["rx", "tx"])
def test_every_write_of_one_beam_command(side):
    device = FakeCN0566()
    calibration = Calibration("cn0566", side, np.radians(np.arange(8) * 10.0), np.zeros(8),
                              gain=np.full(8, 0.5))
    block = phaser_array(side=side, calibration=calibration, device=device)
    tb, applied = gr.top_block(), message_recorder()
    tb.msg_connect(block, "applied", applied, "in")
    tb.start()
    w = codebooks.steered_beam(8, 0.3)
    block.to_basic_block()._post(pmt.intern("beam_cmd"), beam_cmd(side, 9, w))
    block.to_basic_block()._post(pmt.intern("beam_cmd"), beam_cmd(side, 10, np.ones(9)))
    other = "tx" if side == "rx" else "rx"
    block.to_basic_block()._post(pmt.intern("beam_cmd"), beam_cmd(other, 11, w))
    assert applied.wait_for(1, 5.0)
    time.sleep(0.2)
    tb.stop()
    tb.wait()
    # 8 phases and 8 gains, then one latch: nothing for the bad or the other side's command.
    assert len(device.writes) == 17 and device.writes[-1] == ("all", f"{side}_load_spi", 1)
    expected_phase = np.mod(np.degrees(np.angle(w)) - np.arange(8) * 10.0, 360.0)
    for chip, channel, attribute, output, value, element in device.writes[:-1]:
        assert output == (side == "tx")
        assert CN0566_CHANNEL_ELEMENTS[chip][int(channel[len("voltage"):])] == element
        if attribute == "phase":
            error = (value - expected_phase[element - 1] + 180) % 360 - 180
            assert abs(error) <= PHASE_STEP_DEG / 2 + 1e-9 and value % PHASE_STEP_DEG == 0
        else:
            # Half gain from the calibration: 127 x 0.5 x |w| / max |w| = 63.5, +-0.5.
            assert attribute == "hardwaregain" and value in (63, 64)
    assert sorted(w_[-1] for w_ in device.writes[:-1]) == sorted(list(range(1, 9)) * 2)
    assert block.malformed_messages() == 1
    message = applied.messages[0]
    assert message["beam_id"] == 9 and message["phase_error_deg"] <= PHASE_STEP_DEG / 2 + 1e-6


def test_no_board_is_a_clear_error_naming_the_uri():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="127.0.0.1"):
        open_cn0566("ip:127.0.0.1")
    assert time.monotonic() - start < 30
