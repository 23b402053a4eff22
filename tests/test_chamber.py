# SPDX-License-Identifier: GPL-3.0-or-later
"""Chamber calibration runs: positioners (simulated, TCP against a fake turntable) and
the resumable measurement of angle-dependent phase errors."""
import json
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest

from gnuradio.beamalign.arrays import AngleDependentPhaseError, load_calibration
from gnuradio.beamalign.hw.chamber import (
    SimulatedChamber,
    chamber_run,
    rms_error_deg,
    simulated_array_run,
)
from gnuradio.beamalign.hw.positioner import (
    PositionerError,
    SimulatedPositioner,
    TcpPositioner,
    open_positioner,
)


class FakeTurntable:
    """A turntable on loopback speaking the documented line protocol."""

    def __init__(self, limit_deg=90.0):
        self.limit = limit_deg
        self.angle = 0.0
        self.commands = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            connection, _ = self.server.accept()
        except OSError:  # a test closed the server to refuse the connection
            return
        with connection, connection.makefile("rw", encoding="ascii", newline="\n") as stream:
            for line in stream:
                words = line.split()
                self.commands.append(line.strip())
                if words[:1] == ["MOVE"] and len(words) == 2:
                    target = float(words[1])
                    if abs(target) > self.limit:
                        stream.write(f"ERR {target} is beyond the {self.limit} deg limit\n")
                    else:
                        self.angle = target
                        stream.write(f"OK {self.angle:.4f}\n")
                elif words == ["POS?"]:
                    stream.write(f"POS {self.angle:.4f}\n")
                else:
                    stream.write("ERR unknown command\n")
                stream.flush()

    def close(self):
        self.server.close()


def test_tcp_positioner_speaks_the_protocol():
    table = FakeTurntable(limit_deg=60.0)
    try:
        positioner = open_positioner(f"tcp://127.0.0.1:{table.port}")
        assert positioner.move_to(-37.5) == pytest.approx(-37.5)
        assert positioner.angle() == pytest.approx(-37.5)
        with pytest.raises(PositionerError, match="limit"):
            positioner.move_to(75.0)
        assert positioner.angle() == pytest.approx(-37.5)  # a refused move moves nothing
        positioner.close()
        assert table.commands[:2] == ["MOVE -37.5000", "POS?"]
    finally:
        table.close()


class ScriptedTurntable:
    """Answers every command with the next of the given raw replies."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            connection, _ = self.server.accept()
        except OSError:  # a test closed the server to refuse the connection
            return
        with connection, connection.makefile("rb") as stream:
            for reply in self.replies:
                stream.readline()
                connection.sendall(reply)

    def close(self):
        self.server.close()


@pytest.mark.parametrize("reply, message", [
    (b"OK nan\n", "non-finite"), (b"OK inf\n", "non-finite"), (b"POS 1\n", "answered"),
    (b"OK " + b"1" * 5000 + b"\n", "longer than"), (b"OK \xff\xfe\n", "answered"),
    (b"", "closed the connection|reset by peer")])
def test_a_positioner_reply_that_is_not_an_angle_is_refused(reply, message):
    table = ScriptedTurntable([reply])
    try:
        positioner = TcpPositioner("127.0.0.1", table.port, timeout_s=5.0)
        if not reply:
            table.server.close()
        with pytest.raises(PositionerError, match=message):
            positioner.move_to(10.0)
        positioner.close()
    finally:
        table.close()


def test_unreachable_positioner_is_a_clear_error():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again below: nobody listens there
    with pytest.raises(PositionerError, match=f"127.0.0.1:{port}"):
        TcpPositioner("127.0.0.1", port, timeout_s=2.0)
    with pytest.raises(ValueError, match="tcp://host:port"):
        open_positioner("serial:/dev/ttyUSB0")


def test_chamber_run_recovers_the_phase_error_profile(tmp_path):
    truth = AngleDependentPhaseError.sample(4, 3, rng=2)
    chamber = SimulatedChamber(truth, snr_db=40.0, rng=3)
    angles = np.arange(-60.0, 60.1, 10.0)
    table = chamber_run(SimulatedPositioner(), chamber.measure, angles, tmp_path / "state.json")
    expected = np.stack([truth.phase(angles, k) for k in range(3)], axis=-1)
    error = np.angle(np.exp(1j * (table.table_rad - expected)))
    assert np.degrees(np.sqrt(np.mean(error ** 2))) < 1.0


class FailingPositioner(SimulatedPositioner):
    def __init__(self, fail_after):
        super().__init__()
        self.fail_after = fail_after

    def move_to(self, angle_deg):
        if self.moves >= self.fail_after:
            raise PositionerError("turntable stalled")
        return super().move_to(angle_deg)


def test_an_interrupted_run_resumes_without_measuring_again(tmp_path):
    truth = AngleDependentPhaseError.sample(4, 2, rng=4)
    chamber = SimulatedChamber(truth, snr_db=40.0, rng=5)
    calls = []

    def measure(angle):
        calls.append(angle)
        return chamber.measure(angle)

    angles = np.arange(-30.0, 30.1, 10.0)  # 7 angles
    state = tmp_path / "state.json"
    with pytest.raises(PositionerError):
        chamber_run(FailingPositioner(3), measure, angles, state)
    assert len(json.loads(state.read_text())["measured"]) == 3
    table = chamber_run(SimulatedPositioner(), measure, angles, state)
    assert calls == [-30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0]  # each angle once
    assert table.table_rad.shape == (7, 4, 2)


def test_calibrate_command_writes_the_angle_table(tmp_path):
    out = tmp_path / "cal.json"
    run = subprocess.run([sys.executable, "-m", "gnuradio.beamalign.cli", "calibrate", "--chamber",
                          "--angles", "-40", "40", "20", "--subcarriers", "2", "--quiet",
                          "--state", str(tmp_path / "state.json"), "--out", str(out),
                          "--png", str(tmp_path / "chamber.png")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    calibration = load_calibration(out, num_elements=4, side="rx")
    assert calibration.angle_table.table_rad.shape == (5, 4, 2)
    rms = float(run.stdout.split("truth ")[1].split(" deg")[0])
    assert rms < 2.0


def test_a_chamber_run_through_the_srs_flowgraph_recovers_the_profile_as_well(tmp_path):
    angles = np.arange(-60.0, 60.1, 10.0)
    errors = {}
    for source in ("direct", "sim"):
        table, truth = simulated_array_run("sim", angles, 4, 16, 30.0, 3,
                                           tmp_path / f"{source}.state.json",
                                           tmp_path / f"{source}.json", "array-x",
                                           source=source)
        errors[source] = rms_error_deg(table, truth)
        assert load_calibration(tmp_path / f"{source}.json", num_elements=4).angle_table.\
            table_rad.shape == (len(angles), 4, 16)
    # Samples through sim_srs_source -> srs_cfr: the same accuracy as the snapshot model.
    assert errors["sim"] < 1.0 and errors["sim"] < 1.25 * errors["direct"], errors
