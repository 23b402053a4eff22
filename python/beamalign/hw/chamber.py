# SPDX-License-Identifier: GPL-3.0-or-later
"""Chamber calibration run: the angle-dependent phase errors of seed 003 Fig. 1b.

At each turntable angle the array's per-element, per-subcarrier response to a reference
transmitter is measured; the phase error of element m at subcarrier k is
psi = angle(h_m,k / h_0,k) - pi m sin(theta), element 0 being the reference. The state is
saved (atomically) after every angle, so an interrupted run resumes where it stopped.
"""
import numpy as np
from gnuradio import blocks, gr

from .. import plotting
from ..arrays.calibration import Calibration, save_calibration
from ..arrays.impairments import AngleDependentPhaseError
from ..beamalign_python import srs_cfr
from ..blocks.srs_source import sim_srs_source
from ..doa.simulate import simulate_snapshots
from ..fileio import FileFormatError, read_json, write_json_atomic
from .positioner import open_positioner
from .uhd_array import uhd_srs_source

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


class FlowgraphChamber:
    """The same measurement through the direction-finding front end: at each angle a
    flowgraph of an SRS front end (M-antenna receiver -> srs_cfr: simulated, or the USRP
    of uhd_srs_source) -> head runs for `symbols` SRS symbols, and the CFR snapshots it
    delivers are referenced to element 0 and averaged, as SimulatedChamber does."""

    def __init__(self, make_front_end, num_antennas, num_subcarriers, symbols=8):
        self.make_front_end = make_front_end  # angle_deg -> block with M*K-vector output
        self.m, self.k, self.symbols = num_antennas, num_subcarriers, symbols

    def measure(self, angle_deg):
        front_end = self.make_front_end(angle_deg)
        tb = gr.top_block()
        head = blocks.head(gr.sizeof_gr_complex * self.m * self.k, self.symbols)
        sink = blocks.vector_sink_c(self.m * self.k)
        tb.connect(front_end, head, sink)
        tb.run()
        snapshots = np.asarray(sink.data(), np.complex128).reshape(-1, self.m, self.k)
        if len(snapshots) == 0:
            raise RuntimeError(f"no CFR snapshot measured at {angle_deg} deg")
        return np.mean(snapshots * np.conj(snapshots[:, 0:1]), axis=0)


class sim_srs_front_end(gr.hier_block2):
    """sim_srs_source -> srs_cfr: M x K CFR snapshot vectors of a simulated array."""

    def __init__(self, profile, angle_deg, snr_db, num_subcarriers, seed):
        m = profile.num_elements
        gr.hier_block2.__init__(self, "sim_srs_front_end", gr.io_signature(0, 0, 0),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex * m *
                                                num_subcarriers))
        self.source = sim_srs_source(m, angle_deg=angle_deg, snr_db=snr_db, rho=1.0,
                                     num_nlos=0, profile=profile, seed=seed)
        layout = self.source.layout
        self.cfr = srs_cfr(m, layout["fft_size"], layout["cp_len"], layout["comb"],
                           layout["comb_offset"], self.source.sequence.tolist(),
                           num_subcarriers)
        for ch in range(m):
            self.connect((self.source, ch), (self.cfr, ch))
        self.connect(self.cfr, self)


def simulated_front_end(profile, snr_db, seed):
    """make_front_end for FlowgraphChamber: the array's profile, a fresh seeded noise
    stream per angle, no NLoS paths (a chamber)."""
    def make(angle_deg):
        return sim_srs_front_end(profile, angle_deg, snr_db, profile.num_subcarriers,
                                 seed + int(round(1000 * (angle_deg + 90))))
    return make


def uhd_front_end(device_args, num_antennas, num_subcarriers):
    """make_front_end for FlowgraphChamber on an M-channel USRP (uhd_srs_source); the
    turntable, not the receiver, sets the angle."""
    def make(angle_deg):
        return uhd_srs_source(device_args, num_antennas, num_subcarriers=num_subcarriers)
    return make


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


def calibration_run(positioner_spec, angles_deg, measure, state_path, out_path, array_id,
                    progress=None):
    """Steps the positioner through the angles, measures at each (resumably), writes the
    calibration file with the angle table; returns the table."""
    positioner = open_positioner(positioner_spec)
    try:
        table = chamber_run(positioner, measure, angles_deg, state_path, progress)
    finally:
        positioner.close()
    write_chamber_calibration(out_path, table, array_id, f"chamber {positioner_spec}")
    return table


def simulated_array_run(positioner_spec, angles_deg, antennas, subcarriers, snr_db, seed,
                        state_path, out_path, array_id, progress=None, source="sim"):
    """A chamber run on a simulated array under test (profile drawn from seed), measured
    through the SRS front-end flowgraph (source "sim") or straight from the snapshot
    model (source "direct"). Returns (table, truth)."""
    truth = AngleDependentPhaseError.sample(antennas, subcarriers, rng=seed)
    if source == "sim":
        chamber = FlowgraphChamber(simulated_front_end(truth, snr_db, seed + 1), antennas,
                                   subcarriers)
    elif source == "direct":
        chamber = SimulatedChamber(truth, snr_db, rng=seed + 1)
    else:
        raise ValueError(f"source must be 'sim' or 'direct', got {source!r}")
    table = calibration_run(positioner_spec, angles_deg, chamber.measure, state_path,
                            out_path, array_id, progress)
    return table, truth


def rms_error_deg(table, truth):
    """RMS phase error (deg) of a measured table against the profile it measured."""
    expected = np.stack([truth.phase(table.grid_deg, k) for k in range(truth.num_subcarriers)],
                        axis=-1)
    return float(np.degrees(np.sqrt(np.mean(np.angle(np.exp(1j * (table.table_rad - expected)))
                                            ** 2))))

