# SPDX-License-Identifier: GPL-3.0-or-later
"""Hardware impairments as composable objects that can be sampled, saved and loaded.

- ElementImpairment: per-element phase errors and position errors (seed 000 eq. 11-14):
  a_imp(u) = D(u) Phi a(u), D(u) = diag(exp(j*2*pi*d_n*u)), Phi = diag(exp(j*phi_n)).
- AngleDependentPhaseError: phase error per AoA, antenna and subcarrier (seed 003
  eq. 7), scaled by rho in [0, 1] as in its eq. 34 (rho scales the phase, so rho = 0
  is an ideal array).
- MutualCoupling: Toeplitz coupling matrix C (seed 003 eq. 6).

Each has apply(a, u) acting on steering vectors a of shape (..., N) for directions u
of shape (...). A chain applies them in list order; eq. 6 order is element errors,
then angle-dependent phase, then coupling.
"""
import datetime

import numpy as np

from ..fileio import (
    FileFormatError,
    integer_field,
    numeric_array,
    numeric_vector,
    read_json,
    write_json_atomic,
)

IMPAIRMENT_SCHEMA_VERSION = 1


class ElementImpairment:
    """Per-element phase (radians) and position (wavelengths) errors of one array side."""

    kind = "element"

    def __init__(self, phase_rad, position_wl):
        self.phase_rad = np.asarray(phase_rad, dtype=np.float64)
        self.position_wl = np.asarray(position_wl, dtype=np.float64)
        if self.phase_rad.shape != self.position_wl.shape or self.phase_rad.ndim != 1:
            raise ValueError("phase_rad and position_wl must be 1-D and of equal length")

    @property
    def num_elements(self):
        return len(self.phase_rad)

    @classmethod
    def ideal(cls, num_elements):
        return cls(np.zeros(num_elements), np.zeros(num_elements))

    @classmethod
    def sample(cls, num_elements, sigma_d=0.05, sigma_p=0.1 * np.pi, rng=None, bound=0.25):
        """Draws d_n ~ N(0, sigma_d^2) truncated to +-bound (d_1 = 0) and phi_n ~ N(0, sigma_p^2)."""
        rng = np.random.default_rng(rng)
        d = rng.normal(0.0, sigma_d, num_elements)
        out = np.abs(d) > bound
        while np.any(out):  # rejection keeps the truncated normal's shape
            d[out] = rng.normal(0.0, sigma_d, out.sum())
            out = np.abs(d) > bound
        d[0] = 0.0
        return cls(rng.normal(0.0, sigma_p, num_elements), d)

    def factors(self, u):
        """Per-element factors exp(j(phi_n + 2 pi d_n u)), shape u.shape + (N,)."""
        u = np.asarray(u, dtype=np.float64)
        return np.exp(1j * (self.phase_rad + 2 * np.pi * self.position_wl * u[..., None]))

    def apply(self, a, u):
        return a * self.factors(u)

    def to_dict(self):
        return {"type": self.kind, "phase_rad": self.phase_rad.tolist(),
                "position_wl": self.position_wl.tolist()}

    @classmethod
    def from_dict(cls, document, where="impairment"):
        phase = numeric_vector(document, "phase_rad", where)
        position = numeric_vector(document, "position_wl", where, len(phase))
        try:
            return cls(phase, position)
        except ValueError as err:
            raise FileFormatError(f"{where}: {err}") from None


class AngleDependentPhaseError:
    """Phase error table psi[a, m, k] (radians) over an AoA grid, antenna m, subcarrier k.

    Between grid angles the table is interpolated linearly; antenna 0 is the reference
    (zero error), as in seed 003 Fig. 1b.
    """

    kind = "angle_dependent_phase"

    def __init__(self, grid_deg, table_rad, rho=1.0):
        self.grid_deg = np.asarray(grid_deg, dtype=np.float64)
        self.table_rad = np.asarray(table_rad, dtype=np.float64)
        if self.table_rad.ndim != 3 or self.table_rad.shape[0] != len(self.grid_deg):
            raise ValueError("table_rad must have shape (len(grid_deg), M, K)")
        if np.any(np.diff(self.grid_deg) <= 0):
            raise ValueError("grid_deg must increase")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"rho must be in [0, 1], got {rho}")
        self.rho = float(rho)

    @property
    def num_elements(self):
        return self.table_rad.shape[1]

    @property
    def num_subcarriers(self):
        return self.table_rad.shape[2]

    @classmethod
    def sample(cls, num_elements, num_subcarriers=1, rng=None, grid_deg=None, rho=1.0,
               inner_deg=30.0, inner_spread_deg=20.0, outer_slope_deg_per_deg=0.8,
               subcarrier_spread_deg=3.0):
        """A smooth random profile shaped like the chamber measurement of seed 003 Fig. 1b.

        Inside +-inner_deg the error fluctuates smoothly within about +-inner_spread_deg;
        beyond it the error grows with a steady slope (random sign per antenna). Each
        subcarrier adds a small smooth offset.
        """
        rng = np.random.default_rng(rng)
        grid = np.arange(-90.0, 90.01, 0.5) if grid_deg is None else np.asarray(grid_deg, float)
        x = grid / 90.0
        table = np.zeros((len(grid), num_elements, num_subcarriers))
        for m in range(1, num_elements):
            smooth = np.zeros_like(x)
            for order in range(1, 5):
                smooth += rng.normal(0, 1) * np.sin(np.pi * order * x + rng.uniform(0, 2 * np.pi)) / order
            smooth *= inner_spread_deg / 2.0 / max(np.max(np.abs(smooth)), 1e-9)
            offset = rng.uniform(-inner_spread_deg / 2, inner_spread_deg / 2)
            excess = np.maximum(np.abs(grid) - inner_deg, 0.0) * np.sign(grid)
            ramp = rng.choice([-1.0, 1.0]) * outer_slope_deg_per_deg * excess
            for k in range(num_subcarriers):
                tilt = rng.normal(0, subcarrier_spread_deg) * np.cos(np.pi * x * rng.uniform(0.5, 2))
                table[:, m, k] = np.deg2rad(offset + smooth + ramp + tilt)
        return cls(grid, table, rho)

    def with_rho(self, rho):
        return AngleDependentPhaseError(self.grid_deg, self.table_rad, rho)

    def phase(self, angle_deg, subcarrier=0):
        """Interpolated error (radians, before rho) of each antenna, shape angle.shape + (M,)."""
        angle = np.asarray(angle_deg, dtype=np.float64)
        flat = angle.ravel()
        idx = np.clip(np.searchsorted(self.grid_deg, flat) - 1, 0, len(self.grid_deg) - 2)
        lo, hi = self.grid_deg[idx], self.grid_deg[idx + 1]
        t = np.clip((flat - lo) / (hi - lo), 0.0, 1.0)[:, None]
        table = self.table_rad[:, :, subcarrier]
        values = (1 - t) * table[idx] + t * table[idx + 1]
        return values.reshape(angle.shape + (self.num_elements,))

    def factors(self, u, subcarrier=0):
        angle = np.rad2deg(np.arcsin(np.clip(np.asarray(u, np.float64), -1, 1)))
        return np.exp(1j * self.rho * self.phase(angle, subcarrier))

    def apply(self, a, u, subcarrier=0):
        return a * self.factors(u, subcarrier)

    def to_dict(self):
        return {"type": self.kind, "grid_deg": self.grid_deg.tolist(),
                "table_rad": self.table_rad.tolist(), "rho": self.rho}

    @classmethod
    def from_dict(cls, document, where="impairment"):
        grid = numeric_vector(document, "grid_deg", where)
        table = numeric_array(document, "table_rad", where, 3)
        if table.shape[0] != len(grid):
            raise FileFormatError(
                f"{where}: field 'table_rad' has shape {table.shape}, expected ({len(grid)}, M, K)")
        rho = document.get("rho", 1.0)
        if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not 0.0 <= rho <= 1.0:
            raise FileFormatError(f"{where}: field 'rho' must be a number in [0, 1], got {rho!r}")
        try:
            return cls(grid, table, float(rho))
        except ValueError as err:
            raise FileFormatError(f"{where}: {err}") from None


class MutualCoupling:
    """Symmetric Toeplitz coupling C[i, j] = c[|i - j|] (zero beyond len(c)), c[0] = 1."""

    kind = "mutual_coupling"

    def __init__(self, coefficients, num_elements):
        c = np.asarray(coefficients, dtype=np.complex128)
        if c.ndim != 1 or len(c) == 0:
            raise ValueError("coefficients must be a non-empty 1-D sequence")
        self.coefficients = c
        self.num_elements = int(num_elements)
        lag = np.abs(np.subtract.outer(np.arange(num_elements), np.arange(num_elements)))
        padded = np.concatenate([c, np.zeros(max(num_elements - len(c), 0), complex)])
        self.matrix = padded[lag]

    def apply(self, a, u=None):
        return a @ self.matrix.T

    def to_dict(self):
        return {"type": self.kind, "num_elements": self.num_elements,
                "coefficients_re": self.coefficients.real.tolist(),
                "coefficients_im": self.coefficients.imag.tolist()}

    @classmethod
    def from_dict(cls, document, where="impairment"):
        re = numeric_vector(document, "coefficients_re", where)
        im = numeric_vector(document, "coefficients_im", where, len(re))
        num_elements = integer_field(document, "num_elements", where, 1, 4096)
        try:
            return cls(re + 1j * im, num_elements)
        except ValueError as err:
            raise FileFormatError(f"{where}: {err}") from None


_KINDS = {cls.kind: cls for cls in (ElementImpairment, AngleDependentPhaseError, MutualCoupling)}


class ImpairmentChain:
    """Impairments applied one after another, in list order."""

    def __init__(self, impairments=()):
        self.impairments = list(impairments)

    def apply(self, a, u):
        for impairment in self.impairments:
            a = impairment.apply(a, u)
        return a

    def __iter__(self):
        return iter(self.impairments)

    def __len__(self):
        return len(self.impairments)


def save_impairments(path, chain, array_id="", source=""):
    """Writes the chain as versioned JSON, atomically."""
    write_json_atomic(path, {
        "kind": "beamalign.impairments",
        "schema_version": IMPAIRMENT_SCHEMA_VERSION,
        "array_id": array_id,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "source": source,
        "impairments": [imp.to_dict() for imp in ImpairmentChain(chain)],
    })


def load_impairments(path):
    """Reads a chain saved by save_impairments; FileFormatError names what is wrong."""
    document = read_json(path, "beamalign.impairments", IMPAIRMENT_SCHEMA_VERSION)
    items = document.get("impairments")
    if not isinstance(items, list):
        raise FileFormatError(f"{path}: field 'impairments' must be a list")
    chain = []
    for i, item in enumerate(items):
        where = f"{path}: impairments[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("type"), str) \
                or item["type"] not in _KINDS:
            raise FileFormatError(f"{where}: field 'type' must be one of {sorted(_KINDS)}")
        chain.append(_KINDS[item["type"]].from_dict(item, where))
    return ImpairmentChain(chain)
