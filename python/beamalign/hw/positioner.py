# SPDX-License-Identifier: GPL-3.0-or-later
"""Turntable positioners for chamber calibration runs.

TCP protocol (one ASCII line each way, '\\n'-terminated, angles in degrees):
    MOVE <deg>   ->  OK <deg>     (after the move has finished; the angle reached)
    POS?         ->  POS <deg>
    anything     ->  ERR <text>   (the device refused; nothing moved)
"""
import math
import socket

MAX_LINE = 256  # characters in one reply; a longer one is a broken device, not data


class PositionerError(RuntimeError):
    """The positioner refused a command or did not answer."""


class SimulatedPositioner:
    """Moves instantly; for simulated chamber runs and tests."""

    def __init__(self, angle_deg=0.0):
        self._angle = float(angle_deg)
        self.moves = 0

    def move_to(self, angle_deg):
        self._angle = float(angle_deg)
        self.moves += 1
        return self._angle

    def angle(self):
        return self._angle

    def close(self):
        pass


class TcpPositioner:
    """A turntable speaking the line protocol above over TCP."""

    def __init__(self, host, port, timeout_s=30.0, tolerance_deg=0.05):
        self.address = (host, int(port))
        self.tolerance = tolerance_deg
        try:
            self._socket = socket.create_connection(self.address, timeout=timeout_s)
        except OSError as err:
            raise PositionerError(f"cannot reach the positioner at {host}:{port}: {err}") from None
        self._reader = self._socket.makefile("r", encoding="ascii", errors="replace",
                                             newline="\n")

    def _ask(self, line, reply_word):
        try:
            self._socket.sendall((line + "\n").encode("ascii"))
            answer = self._reader.readline(MAX_LINE + 1)
        except OSError as err:
            raise PositionerError(f"positioner at {self.address}: {err}") from None
        if not answer:
            raise PositionerError(f"positioner at {self.address} closed the connection")
        if len(answer) > MAX_LINE and not answer.endswith("\n"):
            raise PositionerError(f"positioner at {self.address} answered a line longer than "
                                  f"{MAX_LINE} characters to {line!r}")
        words = answer.strip().split(maxsplit=1)
        if words and words[0] == "ERR":
            raise PositionerError(f"positioner refused {line!r}: {words[1] if len(words) > 1 else ''}")
        if len(words) != 2 or words[0] != reply_word:
            raise PositionerError(f"positioner answered {answer.strip()!r} to {line!r}")
        try:
            value = float(words[1])
        except ValueError:
            raise PositionerError(f"positioner answered {answer.strip()!r} to {line!r}") from None
        if not math.isfinite(value):
            raise PositionerError(f"positioner answered a non-finite angle {words[1]!r} to "
                                  f"{line!r}")
        return value

    def move_to(self, angle_deg):
        reached = self._ask(f"MOVE {angle_deg:.4f}", "OK")
        if abs(reached - angle_deg) > self.tolerance:
            raise PositionerError(f"asked for {angle_deg} deg, the positioner reached {reached}")
        return reached

    def angle(self):
        return self._ask("POS?", "POS")

    def close(self):
        self._reader.close()
        self._socket.close()


def open_positioner(spec):
    """'sim' or 'tcp://host:port'."""
    if spec == "sim":
        return SimulatedPositioner()
    if spec.startswith("tcp://"):
        host, _, port = spec[len("tcp://"):].rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"positioner must be 'sim' or 'tcp://host:port', got {spec!r}")
        return TcpPositioner(host, int(port))
    raise ValueError(f"positioner must be 'sim' or 'tcp://host:port', got {spec!r}")
