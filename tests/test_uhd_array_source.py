# SPDX-License-Identifier: GPL-3.0-or-later
"""USRP sources at construction level: with no USRP they say which device they tried."""
import pytest
from gnuradio import beamalign


def test_no_usrp_gives_a_clear_error_naming_the_device_arguments():
    # type=b200 limits discovery to USB, so nothing is sent on the network.
    args = "type=b200,serial=BEAMALIGN-TEST"
    with pytest.raises(RuntimeError, match="serial=BEAMALIGN-TEST") as err:
        beamalign.uhd_array_source(args, 4, 1e6, 3.5e9, 30.0)
    assert "no USRP found" in str(err.value)


def test_bad_parameters_fail_before_touching_hardware():
    with pytest.raises(ValueError, match="num_channels"):
        beamalign.uhd_array_source("type=b200", 0)
    with pytest.raises(ValueError, match="time_source"):
        beamalign.uhd_array_source("type=b200", 2, time_source="sundial")


def test_rf_chain_source_without_usrp_names_the_device():
    args = "type=b200,serial=BEAMALIGN-CHAINS"
    with pytest.raises(RuntimeError, match="serial=BEAMALIGN-CHAINS") as err:
        beamalign.uhd_rf_chain_source(args, 8, 1e6, 28e9, 30.0)
    assert "uhd_rf_chain_source: no USRP found" in str(err.value)
    with pytest.raises(ValueError, match="num_rf"):
        beamalign.uhd_rf_chain_source("type=b200", 0)


def test_srs_source_without_usrp_names_the_device_and_checks_the_layout_first():
    args = "type=b200,serial=BEAMALIGN-SRS"
    with pytest.raises(RuntimeError, match="uhd_srs_source: no USRP found.*BEAMALIGN-SRS"):
        beamalign.uhd_srs_source(args, 4)
    with pytest.raises(ValueError, match="fit in fft_size"):
        beamalign.uhd_srs_source(args, 4, fft_size=64, srs_length=96)


def test_array_sink_without_usrp_names_the_device_and_checks_its_parameters_first():
    args = "type=b200,serial=BEAMALIGN-SINK"
    with pytest.raises(RuntimeError, match="serial=BEAMALIGN-SINK") as err:
        beamalign.uhd_array_sink(args, 4, 1e6, 3.5e9, 10.0)
    assert "uhd_array_sink: no USRP found" in str(err.value)
    with pytest.raises(ValueError, match="num_channels"):
        beamalign.uhd_array_sink("type=b200", 0)
    with pytest.raises(ValueError, match="calibration"):
        beamalign.uhd_array_sink("type=b200", 2, calibration=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="time_source"):
        beamalign.uhd_array_sink("type=b200", 2, time_source="sundial")
