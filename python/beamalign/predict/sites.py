# SPDX-License-Identifier: GPL-3.0-or-later
"""Site data sets: per user the strongest propagation paths, from any tracer or model.

One file serves every array: a trace keeps single-antenna paths (complex gain, delay,
departure and arrival angles, LoS flag) and the user's position, and `upa_channels`
turns them into per-antenna channels for a UPA of any size, boresight azimuth and
downtilt by plane-wave phases. Files are `.npz` (arrays only, never pickled objects)
beside a JSON sidecar saying how they were made.

Angles follow Sionna RT's global frame: zenith theta from +z (0 = straight up),
azimuth phi from +x towards +y, in radians.
"""
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..arrays.geometry import upa_steering
from ..fileio import FileFormatError, read_json, sha256_of, write_file_atomic, write_json_atomic

SITE_KIND = "beamalign.site"
SITE_SCHEMA_VERSION = 1
PATH_FIELDS = ("gain", "delay", "theta_t", "phi_t", "theta_r", "phi_r", "los")
MAX_USERS = 10_000_000
MAX_PATHS = 256


@dataclass
class Site:
    """Paths of U users, P path slots each (unused slots have gain 0)."""

    positions: np.ndarray  # (U, 3) metres
    gain: np.ndarray  # (U, P) complex, linear amplitude (isotropic antennas)
    delay: np.ndarray  # (U, P) seconds
    theta_t: np.ndarray  # (U, P) departure zenith
    phi_t: np.ndarray  # (U, P) departure azimuth
    theta_r: np.ndarray  # (U, P) arrival zenith
    phi_r: np.ndarray  # (U, P) arrival azimuth
    los: np.ndarray  # (U, P) bool: a line-of-sight path
    bs_position: np.ndarray  # (3,)
    frequency: float
    meta: dict = field(default_factory=dict)  # the sidecar's description

    def __len__(self):
        return len(self.positions)

    def subset(self, index):
        """The users at index (an index array or a boolean mask)."""
        picked = {name: getattr(self, name)[index] for name in PATH_FIELDS}
        return Site(positions=self.positions[index], bs_position=self.bs_position,
                    frequency=self.frequency, meta=self.meta, **picked)

    def los_fraction(self):
        return float(np.mean(np.any(self.los & (self.gain != 0), axis=1)))

    def path_gain_db(self):
        """Total received power over isotropic antennas, dB (-inf for no path)."""
        with np.errstate(divide="ignore"):
            return 10 * np.log10(np.sum(np.abs(self.gain) ** 2, axis=1))


def departure_directions(theta, phi):
    """Unit vectors of directions (theta zenith, phi azimuth), shape (..., 3)."""
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi),
                     np.cos(theta)], axis=-1)


def panel_axes(azimuth_deg, downtilt_deg):
    """Boresight, horizontal and vertical unit axes of a panel facing azimuth_deg,
    tilted downtilt_deg below the horizon."""
    a, t = np.radians(azimuth_deg), np.radians(downtilt_deg)
    boresight = np.array([np.cos(t) * np.cos(a), np.cos(t) * np.sin(a), -np.sin(t)])
    horizontal = np.array([-np.sin(a), np.cos(a), 0.0])
    vertical = np.cross(boresight, horizontal)
    return boresight, horizontal, vertical


def beam_domain(site, azimuth_deg=0.0, downtilt_deg=0.0):
    """(u, v, front) of each departure in the panel's frame: u along the rows, v along
    the columns (the DFT codebook's variables), front = in front of the panel."""
    k = departure_directions(site.theta_t, site.phi_t)
    boresight, horizontal, vertical = panel_axes(azimuth_deg, downtilt_deg)
    return k @ horizontal, k @ vertical, (k @ boresight) > 0


def upa_channels(site, num_h, num_v, azimuth_deg=0.0, downtilt_deg=0.0):
    """Per-antenna downlink channels (U, num_h*num_v), narrowband at the carrier.

    h = sum_p g_p a(u_p, v_p) with the UPA response of arrays.geometry (half-wavelength
    spacing, horizontal index outer), so the received amplitude of beam w is |h^H w|.
    A panel radiates forward only: paths leaving behind it (the other sectors' job)
    are dropped.
    """
    u, v, front = beam_domain(site, azimuth_deg, downtilt_deg)
    response = upa_steering(num_h, num_v, u, v) * np.sqrt(num_h * num_v)
    gains = np.where(front, site.gain, 0)
    return np.einsum("up,upn->un", gains, response).astype(np.complex64)


def in_sector(site, azimuth_deg, half_width_deg=60.0):
    """Users whose position lies within half_width_deg of a panel's azimuth."""
    offset = site.positions[:, :2] - site.bs_position[:2]
    bearing = np.degrees(np.arctan2(offset[:, 1], offset[:, 0]))
    return np.abs((bearing - azimuth_deg + 180.0) % 360.0 - 180.0) <= half_width_deg


def covered(site):
    """Users with at least one path."""
    return np.any(site.gain != 0, axis=1)


def save_site(path, site, meta):
    """Writes path (.npz, compressed) and its sidecar (.json, with the npz's sha256)."""
    path = Path(path).with_suffix(".npz")

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez_compressed(
                f, positions=site.positions.astype(np.float32),
                gain=site.gain.astype(np.complex64), delay=site.delay.astype(np.float32),
                theta_t=site.theta_t.astype(np.float32), phi_t=site.phi_t.astype(np.float32),
                theta_r=site.theta_r.astype(np.float32), phi_r=site.phi_r.astype(np.float32),
                los=site.los.astype(bool), bs_position=np.asarray(site.bs_position, np.float64),
                frequency=np.float64(site.frequency))

    sha = write_file_atomic(path, write)
    sidecar = {"kind": SITE_KIND, "schema_version": SITE_SCHEMA_VERSION, "data": path.name,
               "sha256": sha, "users": len(site), "paths_per_user": int(site.gain.shape[1]),
               "frequency": float(site.frequency),
               "bs_position": [float(x) for x in site.bs_position],
               "los_fraction": round(site.los_fraction(), 4), **meta}
    write_json_atomic(path.with_suffix(".json"), sidecar)
    site.meta = sidecar
    return path


def dataset_sha256(path):
    return sha256_of(Path(path).with_suffix(".npz"))


def load_site(path):
    """Reads a site data set; FileFormatError names what does not match."""
    path = Path(path).with_suffix(".npz")
    sidecar = read_json(path.with_suffix(".json"), SITE_KIND, SITE_SCHEMA_VERSION)
    if not path.exists():
        raise FileFormatError(f"{path}: data file missing (named by its sidecar)")
    if sha256_of(path) != sidecar.get("sha256"):
        raise FileFormatError(f"{path}: sha256 does not match field 'sha256' of its sidecar "
                              "(corrupt or replaced data)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise FileFormatError(f"{path}: not a readable .npz file ({err})") from None
    expected = ("positions", "bs_position", "frequency") + PATH_FIELDS
    missing = [key for key in expected if key not in arrays]
    if missing:
        raise FileFormatError(f"{path}: missing array(s) {', '.join(missing)}")
    positions = arrays["positions"]
    if positions.ndim != 2 or positions.shape[1] != 3 or not 1 <= len(positions) <= MAX_USERS:
        raise FileFormatError(f"{path}: array 'positions' has shape {positions.shape}, "
                              "expected (users, 3)")
    shape = arrays["gain"].shape
    if len(shape) != 2 or shape[0] != len(positions) or not 1 <= shape[1] <= MAX_PATHS:
        raise FileFormatError(f"{path}: array 'gain' has shape {shape}, expected "
                              f"({len(positions)}, paths)")
    for key in PATH_FIELDS:
        if arrays[key].shape != shape:
            raise FileFormatError(f"{path}: array '{key}' has shape {arrays[key].shape}, "
                                  f"expected {shape}")
        if arrays[key].dtype.kind not in ("b" if key == "los" else "fc"):
            raise FileFormatError(f"{path}: array '{key}' has dtype {arrays[key].dtype}")
        if key != "los" and not np.all(np.isfinite(arrays[key])):
            raise FileFormatError(f"{path}: array '{key}' holds NaN or Inf")
    if arrays["bs_position"].shape != (3,) or not np.all(np.isfinite(positions)):
        raise FileFormatError(f"{path}: positions must be finite 3-vectors")
    frequency = float(arrays["frequency"])
    if not 1e6 <= frequency <= 1e12:
        raise FileFormatError(f"{path}: frequency {frequency} Hz is outside [1 MHz, 1 THz]")
    return Site(positions=positions.astype(np.float64), bs_position=arrays["bs_position"],
                frequency=frequency, meta=sidecar,
                gain=arrays["gain"].astype(np.complex128),
                **{key: arrays[key] for key in PATH_FIELDS if key != "gain"})


def keep_strongest(gain, *others, count):
    """The count strongest paths per user (by |gain|), strongest first."""
    order = np.argsort(-np.abs(gain), axis=1)[:, :count]
    pick = lambda a: np.take_along_axis(a, order, axis=1)  # noqa: E731
    return (pick(gain),) + tuple(pick(a) for a in others)


def splits(site, kind, test_fraction=0.2, block_m=20.0, seed=0):
    """(train, test) index arrays of a site's users.

    kind "random": a uniform split. "block": the ground is tiled with block_m x block_m
    squares and whole squares go to one side, so a test user's grid neighbours are
    not in the training set (neighbouring points see nearly the same paths).
    """
    rng = np.random.default_rng(seed)
    users = len(site)
    if kind == "random":
        order = rng.permutation(users)
        cut = int(round(users * (1 - test_fraction)))
        return np.sort(order[:cut]), np.sort(order[cut:])
    if kind != "block":
        raise ValueError(f"split must be 'random' or 'block', got {kind!r}")
    cells = np.floor(site.positions[:, :2] / block_m).astype(np.int64)
    _, cell_of_user = np.unique(cells, axis=0, return_inverse=True)
    cell_of_user = cell_of_user.ravel()
    num_cells = cell_of_user.max() + 1
    test_cells = rng.random(num_cells) < test_fraction
    test = test_cells[cell_of_user]
    return np.flatnonzero(~test), np.flatnonzero(test)


def describe(site):
    """One line about a data set (for the commands)."""
    return (f"{len(site)} users, {site.gain.shape[1]} paths each, "
            f"{site.frequency / 1e9:g} GHz, LoS {100 * site.los_fraction():.1f} %, "
            f"BS at {json.dumps([round(float(x), 1) for x in site.bs_position])}")
