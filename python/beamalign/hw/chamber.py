# SPDX-License-Identifier: GPL-3.0-or-later
"""Chamber calibration run: the angle-dependent phase errors of seed 003 Fig. 1b.

At each turntable angle the array's per-element, per-subcarrier response to a reference
transmitter is measured; the phase error of element m at subcarrier k is
psi = angle(h_m,k / h_0,k) - pi m sin(theta), element 0 being the reference. The state is
saved (atomically) after every angle, so an interrupted run resumes where it stopped.
"""
import numpy as np

from .. import plotting
from ..arrays.calibration import Calibration, save_calibration
from ..arrays.impairments import AngleDependentPhaseError
from ..doa.simulate import simulate_snapshots
from ..fileio import FileFormatError, read_json, write_json_atomic
from .positioner import open_positioner

STATE_KIND = "beamalign.chamber-state"


class SimulatedChamber:
    """A reference transmitter seen by an array with a given phase-error profile."""

    def __init__(self, profile, snr_db=30.0, snapshots=8, rng=None):
        self.profile = profile
        self.snr_db = snr_db
        self.snapshots = snapshots
        self.rng = np.random.default_rng(rng)

    def measure(self, angle_deg):
        """(M, K) response averaged over the snapshots."""
        m, k = self.profile.num_elements, self.profile.num_subcarriers
        total = np.zeros((m, k), dtype=np.complex128)
        for _ in range(self.snapshots):
            h = simulate_snapshots(self.rng, angle_deg, m, k, self.snr_db, self.profile)
            total += h * np.conj(h[0:1])  # referenced to element 0: removes the common phase
        return total / self.snapshots


def phase_errors(response, angle_deg):
    """psi (M, K) from one response: phase relative to element 0, minus the ideal phase."""
    m = response.shape[0]
    ideal = np.pi * np.arange(m)[:, None] * np.sin(np.deg2rad(angle_deg))
    relative = response * np.conj(response[0:1])
    return np.angle(relative * np.exp(-1j * ideal))


def _load_state(path, angles):
    try:
        state = read_json(path, STATE_KIND, 1)
    except FileFormatError as err:
        if "no such file" in str(err):
            return {}
        raise
    if state.get("angles_deg") != list(angles):
        raise FileFormatError(f"{path}: field 'angles_deg' is for another run's angles")
    return {float(a): np.asarray(v) for a, v in state.get("measured", {}).items()}


def chamber_run(positioner, measure, angles_deg, state_path, progress=None):
    """Measures every angle not yet in the state file; returns AngleDependentPhaseError."""
    angles = [float(a) for a in angles_deg]
    done = _load_state(state_path, angles)
    todo = [a for a in angles if a not in done]
    steps = todo if progress is None else progress(todo)
    for angle in steps:
        reached = positioner.move_to(angle)
        done[angle] = phase_errors(measure(reached), reached)
        write_json_atomic(state_path, {"kind": STATE_KIND, "schema_version": 1,
                                       "angles_deg": angles,
                                       "measured": {str(a): v.tolist() for a, v in done.items()}})
    table = np.stack([done[a] for a in angles])  # (A, M, K)
    return AngleDependentPhaseError(np.asarray(angles), table)


def write_chamber_calibration(path, table, array_id, source_run):
    m = table.num_elements
    save_calibration(path, Calibration(array_id, "rx", np.zeros(m), np.zeros(m),
                                       source_run=source_run, angle_table=table))


def plot_phase_errors(table, path, subcarrier=0):
    fig, ax = plotting.subplots(figsize=(6, 4.2))
    for m in range(1, table.num_elements):
        ax.plot(table.grid_deg, np.degrees(table.table_rad[:, m, subcarrier]), marker=".",
                label=f"antenna {m}")
    ax.set_xlabel("AoA (deg)")
    ax.set_ylabel("phase error (deg)")
    ax.set_title(f"chamber run, subcarrier {subcarrier} (antenna 0 is the reference)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    plotting.save(fig, path)


def simulated_array_run(positioner_spec, angles_deg, antennas, subcarriers, snr_db, seed,
                        state_path, out_path, array_id, progress=None):
    """A chamber run on a simulated array under test (profile drawn from seed): steps the
    positioner, measures, writes the calibration file. Returns (table, truth)."""
    truth = AngleDependentPhaseError.sample(antennas, subcarriers, rng=seed)
    chamber = SimulatedChamber(truth, snr_db, rng=seed + 1)
    positioner = open_positioner(positioner_spec)
    try:
        table = chamber_run(positioner, chamber.measure, angles_deg, state_path, progress)
    finally:
        positioner.close()
    write_chamber_calibration(out_path, table, array_id, f"chamber {positioner_spec}")
    return table, truth


def rms_error_deg(table, truth):
    """RMS phase error (deg) of a measured table against the profile it measured."""
    expected = np.stack([truth.phase(table.grid_deg, k) for k in range(truth.num_subcarriers)],
                        axis=-1)
    return float(np.degrees(np.sqrt(np.mean(np.angle(np.exp(1j * (table.table_rad - expected)))
                                            ** 2))))

