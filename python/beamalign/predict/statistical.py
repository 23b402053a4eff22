# SPDX-License-Identifier: GPL-3.0-or-later
"""A statistical site in the data-set format: seconds to make, no ray tracer needed.

Site-specific and spatially consistent, like a trace, but drawn from a seed: box
buildings block the line of sight; single-bounce paths come off fixed scatterers on
the building corners, each with its own reflection coefficient; free-space amplitudes
lambda / (4 pi d). Users stand on a grid at 1.5 m, outside the buildings.
"""
import numpy as np

from .sites import Site, keep_strongest

SPEED_OF_LIGHT = 299_792_458.0
USER_HEIGHT = 1.5


def _angles(vectors):
    """(theta zenith, phi azimuth) of direction vectors (..., 3)."""
    norm = np.linalg.norm(vectors, axis=-1)
    return np.arccos(np.clip(vectors[..., 2] / norm, -1, 1)), np.arctan2(vectors[..., 1],
                                                                          vectors[..., 0])


def _blocked(start, ends, boxes, samples=48):
    """True where the segment start -> end passes through a box (x0, y0, x1, y1, height)."""
    t = np.linspace(0.02, 0.98, samples)
    points = start + (ends[:, None, :] - start) * t[None, :, None]  # (U, S, 3)
    x, y, z = (points[..., i][..., None] for i in range(3))
    inside = ((x >= boxes[:, 0]) & (x <= boxes[:, 2]) & (y >= boxes[:, 1])
              & (y <= boxes[:, 3]) & (z <= boxes[:, 4]))
    return inside.any(axis=(1, 2))


def statistical_site(radius=150.0, spacing=3.0, frequency=30e9, bs_height=25.0,
                     buildings=24, scatterers_per_building=4, paths=8, seed=0):
    """A Site with the users of a spacing-metre grid within radius of the BS."""
    rng = np.random.default_rng(seed)
    wavelength = SPEED_OF_LIGHT / frequency
    bs = np.array([0.0, 0.0, bs_height])
    centres = rng.uniform(-radius, radius, size=(buildings, 2))
    centres = centres[np.linalg.norm(centres, axis=1) > 25.0]  # none on the BS's mast
    half = rng.uniform(6.0, 18.0, size=(len(centres), 2))
    heights = rng.uniform(8.0, 35.0, size=len(centres))
    boxes = np.column_stack([centres - half, centres + half, heights])
    grid = np.arange(-radius, radius + spacing / 2, spacing)
    gx, gy = np.meshgrid(grid, grid, indexing="ij")
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    xy = xy[np.linalg.norm(xy, axis=1) <= radius]
    indoor = ((xy[:, None, 0] >= boxes[:, 0]) & (xy[:, None, 0] <= boxes[:, 2])
              & (xy[:, None, 1] >= boxes[:, 1]) & (xy[:, None, 1] <= boxes[:, 3])).any(1)
    users = np.column_stack([xy[~indoor], np.full((~indoor).sum(), USER_HEIGHT)])

    corners = np.concatenate([boxes[:, [0, 1]], boxes[:, [2, 1]], boxes[:, [0, 3]],
                              boxes[:, [2, 3]]])
    corner_heights = np.tile(boxes[:, 4], 4)
    pick = rng.permutation(len(corners))[:scatterers_per_building * len(boxes)]
    scatter = np.column_stack([corners[pick], rng.uniform(0.3, 0.9, len(pick))
                               * corner_heights[pick]])
    reflection = rng.uniform(0.2, 0.6, len(pick)) * np.exp(2j * np.pi * rng.random(len(pick)))

    count = len(users)
    d_los = np.linalg.norm(users - bs, axis=1)
    los_ok = ~_blocked(bs, users, boxes)
    gain = [np.where(los_ok, wavelength / (4 * np.pi * d_los)
                     * np.exp(-2j * np.pi * d_los / wavelength), 0)]
    delay, departure, arrival = [d_los / SPEED_OF_LIGHT], [users - bs], [users - bs]
    for s, point in enumerate(scatter):
        d1 = np.linalg.norm(point - bs)
        d2 = np.linalg.norm(users - point, axis=1)
        visible = ~_blocked(point, users, boxes - np.array([0, 0, 0, 0, 0.5]))
        total = d1 + d2
        gain.append(np.where(visible, reflection[s] * wavelength / (4 * np.pi * total)
                             * np.exp(-2j * np.pi * total / wavelength), 0))
        delay.append(total / SPEED_OF_LIGHT)
        departure.append(np.broadcast_to(point - bs, (count, 3)))
        arrival.append(users - point)
    gain = np.stack(gain, axis=1)
    delay = np.stack(delay, axis=1)
    theta_t, phi_t = _angles(np.stack(departure, axis=1))
    # Arrival angles are the directions the waves come from, seen at the user.
    theta_r, phi_r = _angles(-np.stack(arrival, axis=1))
    los = np.zeros(gain.shape, bool)
    los[:, 0] = los_ok
    gain, delay, theta_t, phi_t, theta_r, phi_r, los = keep_strongest(
        gain, delay, theta_t, phi_t, theta_r, phi_r, los, count=paths)
    site = Site(positions=users, gain=gain, delay=delay, theta_t=theta_t, phi_t=phi_t,
                theta_r=theta_r, phi_r=phi_r, los=los & (gain != 0), bs_position=bs,
                frequency=frequency)
    has_path = np.any(site.gain != 0, axis=1)
    return site.subset(has_path)
