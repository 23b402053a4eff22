# SPDX-License-Identifier: GPL-3.0-or-later
"""Ray-traced site data sets with Sionna RT on the CPU (Dr.Jit's LLVM backend).

One trace per scene and frequency, single isotropic antennas at both ends: the paths
serve every array (sites.upa_channels). Users sit on a grid at 1.5 m over the covered
outdoor area: the radio-map solver says which cells receive anything, and an upward
ray from the cell centre says whether a roof is over it (indoors). Receivers are
traced in batches, each saved as it finishes in a directory beside the output, so an
interrupted run continues where it stopped.
"""
import functools
import glob
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .._version import __version__
from ..fileio import FileFormatError
from ..scaleout import Engine
from .sites import PATH_FIELDS, Site, keep_strongest, save_site
from .statistical import statistical_site

SCENES = ("munich", "etoile", "florence", "san_francisco", "simple_street_canyon")
USER_HEIGHT = 1.5
# Debian 12's libllvm19; Dr.Jit looks for "libLLVM.so" and Debian names it otherwise.
LLVM_CANDIDATES = ("/usr/lib/x86_64-linux-gnu/libLLVM-19.so",
                   "/usr/lib/aarch64-linux-gnu/libLLVM-19.so",
                   "/usr/lib/llvm-19/lib/libLLVM.so")
# Above the roofs near each scene's origin (the BS of Sionna's own munich examples);
# --bs overrides.
DEFAULT_BS = {"munich": (8.5, 21.0, 27.0), "etoile": (-160.0, 70.0, 35.0),
              "florence": (0.0, 0.0, 40.0), "san_francisco": (-20.0, 20.0, 45.0),
              "simple_street_canyon": (-30.0, 0.0, 20.0)}


def sionna_rt():
    """Imports Sionna RT with the LLVM backend found; RuntimeError says what is missing."""
    if "DRJIT_LIBLLVM_PATH" not in os.environ:
        found = next((p for p in LLVM_CANDIDATES if os.path.exists(p)), None)
        if found is None:
            raise RuntimeError("no LLVM library for Sionna RT's CPU backend (install Debian's "
                               "libllvm19 or set DRJIT_LIBLLVM_PATH)")
        os.environ["DRJIT_LIBLLVM_PATH"] = found
    try:
        import mitsuba as mi
        import sionna.rt as rt
    except ImportError as err:
        raise RuntimeError(f"Sionna RT is not usable here: {err}") from None
    return rt, mi


def _tool_versions():
    rt, mi = sionna_rt()
    import drjit
    return {"beamalign": __version__, "sionna_rt": rt.__version__, "mitsuba": mi.__version__,
            "drjit": drjit.__version__, "numpy": np.__version__}


def load_scene(name, frequency, bs_position):
    rt, mi = sionna_rt()
    if name not in SCENES:
        raise ValueError(f"scene must be one of {', '.join(SCENES)}, got {name!r}")
    scene = rt.load_scene(getattr(rt.scene, name))
    scene.frequency = frequency
    scene.tx_array = rt.PlanarArray(num_rows=1, num_cols=1, pattern="iso", polarization="V")
    scene.rx_array = rt.PlanarArray(num_rows=1, num_cols=1, pattern="iso", polarization="V")
    scene.add(rt.Transmitter("bs", position=[float(x) for x in bs_position]))
    return scene


def _vertical_rays(x, y, height, direction):
    """Rays from (x, y, height) straight up (direction +1) or down (-1)."""
    rt, mi = sionna_rt()
    zeros = np.zeros_like(x, dtype=np.float32)
    return mi.Ray3f(mi.Point3f(mi.Float(x.astype(np.float32)), mi.Float(y.astype(np.float32)),
                               mi.Float(zeros + height)),
                    mi.Vector3f(mi.Float(zeros), mi.Float(zeros), mi.Float(zeros + direction)))


def _outdoor(scene, x, y):
    """True where no roof is above (x, y) at user height."""
    up = _vertical_rays(x, y, USER_HEIGHT, 1)
    return ~np.array(scene.mi_scene.ray_test(up), dtype=bool)


TERRAIN = "Terrain"  # a scene with this object has hills: heights follow the ground


def _terrain_height(scene, x, y):
    """Ground height under (x, y), NaN where a building is hit first from the sky."""
    rt, mi = sionna_rt()
    top = float(scene.mi_scene.bbox().max.z) + 10.0
    hit = scene.mi_scene.ray_intersect(_vertical_rays(x, y, top, -1))
    ground = np.array(hit.shape == mi.ShapePtr(scene.objects[TERRAIN].mi_mesh), dtype=bool)
    return np.where(ground, np.array(hit.p.z, dtype=np.float64), np.nan)


def outdoor_mast(scene_name, frequency, height, radius, spacing, search_m=64.0, step_m=16.0,
                 seed=0):
    """A BS `height` m above the ground on a mast in the street (seed 002's 20 m BS):
    of the outdoor points on a step_m grid within search_m of the scene's origin, the
    one whose radio map covers the most cells within radius."""
    rt, mi = sionna_rt()
    offsets = np.arange(-search_m, search_m + step_m / 2, step_m)
    gx, gy = np.meshgrid(offsets, offsets, indexing="ij")
    x, y = gx.ravel(), gy.ravel()
    probe = load_scene(scene_name, frequency, (0.0, 0.0, 500.0))
    if TERRAIN in probe.objects:
        # Hills: the outdoor point nearest the origin, the mast on the ground there.
        fine = np.arange(-search_m, search_m + 1, 2.0)
        fx, fy = (a.ravel() for a in np.meshgrid(fine, fine, indexing="ij"))
        ground = _terrain_height(probe, fx, fy)
        if np.all(np.isnan(ground)):
            raise ValueError(f"no open ground within {search_m} m of the origin for a mast")
        best = np.nanargmin(np.where(np.isnan(ground), np.nan, np.hypot(fx, fy)))
        return float(fx[best]), float(fy[best]), float(ground[best] + height)
    outdoor = _outdoor(probe, x, y)
    if not outdoor.any():
        raise ValueError(f"no outdoor point within {search_m} m of the origin for a mast")
    best, best_count = None, -1
    for px, py in zip(x[outdoor], y[outdoor]):
        scene = load_scene(scene_name, frequency, (float(px), float(py), float(height)))
        count = len(user_grid(scene, (px, py, height), radius, 2 * spacing, 10**6, 3, seed))
        if count > best_count:
            best, best_count = (float(px), float(py), float(height)), count
    return best


def user_grid(scene, bs_position, radius, spacing, samples, max_depth, seed):
    """Outdoor grid points within radius of the BS that the radio map says are covered.
    On hills (a Terrain object) users stand 1.5 m above the ground under them and the
    path solver alone decides coverage (a planar radio map would cut through the hills)."""
    rt, mi = sionna_rt()
    if TERRAIN in scene.objects:
        steps = np.arange(-radius, radius + spacing / 2, spacing)
        gx, gy = (a.ravel() + c for a, c in zip(np.meshgrid(steps, steps, indexing="ij"),
                                                 bs_position[:2]))
        near = np.hypot(gx - bs_position[0], gy - bs_position[1]) <= radius
        ground = _terrain_height(scene, gx[near], gy[near])
        keep = ~np.isnan(ground)
        return np.column_stack([gx[near][keep], gy[near][keep], ground[keep] + USER_HEIGHT])
    cells = int(np.ceil(2 * radius / spacing))
    radio_map = rt.RadioMapSolver()(
        scene, center=mi.Point3f(float(bs_position[0]), float(bs_position[1]), USER_HEIGHT),
        orientation=mi.Point3f(0, 0, 0), size=mi.Point2f(cells * spacing, cells * spacing),
        cell_size=mi.Point2f(spacing, spacing), samples_per_tx=samples, max_depth=max_depth,
        seed=seed)
    gain = np.array(radio_map.path_gain)[0].reshape(-1)
    centres = np.array(radio_map.cell_centers).reshape(-1, 3)
    near = np.linalg.norm(centres[:, :2] - np.asarray(bs_position)[:2], axis=1) <= radius
    candidates = centres[(gain > 0) & near]
    if len(candidates) == 0:
        return candidates
    users = candidates[_outdoor(scene, candidates[:, 0], candidates[:, 1])].astype(np.float64)
    users[:, 2] = USER_HEIGHT
    return users


def trace_batch(scene, positions, max_depth, samples, paths, seed):
    """Paths of a batch of receivers, the `paths` strongest per user."""
    rt, mi = sionna_rt()
    names = [f"ue{i}" for i in range(len(positions))]
    for name, position in zip(names, positions):
        scene.add(rt.Receiver(name, position=[float(x) for x in position]))
    try:
        solved = rt.PathSolver(deterministic=True)(scene, max_depth=max_depth, samples_per_src=samples,
                                 max_num_paths_per_src=10**6, seed=seed)
        a_real, a_imag = solved.a
        valid = np.array(solved.valid)[:, 0, :]
        gain = (np.array(a_real) + 1j * np.array(a_imag))[:, 0, 0, 0, :]
        gain = np.where(valid, gain, 0)
        angles = [np.array(x)[:, 0, :] for x in (solved.tau, solved.theta_t, solved.phi_t,
                                                 solved.theta_r, solved.phi_r)]
        interactions = np.array(solved.interactions)[:, :, 0, :]
        los = valid & np.all(interactions == 0, axis=0)
    finally:
        for name in names:
            scene.remove(name)
    kept = keep_strongest(gain, *angles, los, count=paths)
    if kept[0].shape[1] < paths:  # fewer path slots than asked: pad with empty ones
        kept = tuple(np.pad(k, ((0, 0), (0, paths - k.shape[1]))) for k in kept)
    return dict(zip(PATH_FIELDS, kept))


@functools.lru_cache(maxsize=1)  # one site at a time: scenes hold their meshes in memory
def _scene(name, frequency, bs_position):
    """The scene, loaded once per process: a worker tracing many batches of one site."""
    return load_scene(name, frequency, bs_position)


def _trace_task(task):
    """One batch of receivers, wherever it runs (this process or a Dask worker)."""
    scene_name, frequency, bs_position, positions, max_depth, samples, paths, seed = task
    return trace_batch(_scene(scene_name, frequency, bs_position), positions, max_depth,
                       samples, paths, seed)


def _plan_key(settings):
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def trace_site(out, scene_name, frequency, bs_position=None, radius=200.0, spacing=2.5,
               max_depth=3, samples=100_000, map_samples=1_000_000, paths=8, batch=512,
               seed=0, quiet=False, command="", bs_height=None, engine=None):
    """Traces a scene's user grid into out (.npz + sidecar); resumes a stopped run.
    bs_height (instead of bs_position): a mast that high at the outdoor point nearest
    the scene's origin. engine (scaleout.Engine): where the batches are traced (default
    here); each batch has its own solver seed, so the file does not depend on it."""
    out = Path(out).with_suffix(".npz")
    engine = engine or Engine()
    if bs_height is not None:
        bs_position = outdoor_mast(scene_name, frequency, bs_height, radius, spacing, seed=seed)
    bs_position = tuple(float(x) for x in (bs_position or DEFAULT_BS[scene_name]))
    settings = {"scene": scene_name, "frequency": frequency, "bs_position": bs_position,
                "radius": radius, "spacing": spacing, "max_depth": max_depth,
                "samples_per_src": samples, "radio_map_samples": map_samples,
                "paths": paths, "batch": batch, "seed": seed}
    parts = out.with_name(out.stem + f".parts-{_plan_key(settings)}")
    parts.mkdir(parents=True, exist_ok=True)
    start = time.time()
    scene = _scene(scene_name, frequency, bs_position)
    grid_file = parts / "grid.npy"
    if grid_file.exists():
        users = np.load(grid_file, allow_pickle=False)
    else:
        users = user_grid(scene, bs_position, radius, spacing, map_samples, max_depth, seed)
        np.save(grid_file, users)
    if len(users) == 0:
        raise ValueError(f"no covered outdoor user within {radius} m of the BS at "
                         f"{list(bs_position)} in {scene_name}")
    batches = [(b, users[b * batch:(b + 1) * batch]) for b in range(-(-len(users) // batch))]
    done = {int(Path(p).stem.split("-")[1]) for p in glob.glob(str(parts / "batch-*.npz"))}
    bar = tqdm(total=len(users), desc=f"trace {scene_name}", unit="user", disable=quiet,
               initial=sum(len(pos) for b, pos in batches if b in done))
    todo = [(index, positions) for index, positions in batches if index not in done]

    def save_batch(i, traced):
        index, positions = todo[i]
        tmp = parts / f".batch-{index:05d}.tmp.npz"
        np.savez(tmp, positions=positions, **traced)
        os.replace(tmp, parts / f"batch-{index:05d}.npz")
        bar.update(len(positions))

    tasks = [(scene_name, frequency, bs_position, positions, max_depth, samples, paths,
              seed + index) for index, positions in todo]
    engine.map(_trace_task, tasks, desc=f"trace {scene_name}", on_result=save_batch)
    bar.close()
    pieces = []
    for index, _ in batches:
        try:
            with np.load(parts / f"batch-{index:05d}.npz", allow_pickle=False) as data:
                pieces.append({key: data[key] for key in data.files})
        except (OSError, ValueError) as err:
            raise FileFormatError(f"{parts}: batch {index} is unreadable ({err}); delete it "
                                  "and rerun to trace it again") from None
    merged = {key: np.concatenate([p[key] for p in pieces]) for key in pieces[0]}
    site = Site(bs_position=np.array(bs_position), frequency=frequency, **merged)
    has_path = np.any(site.gain != 0, axis=1)
    site = site.subset(has_path)
    meta = {"source": "sionna-rt", "scene": scene_name, "tools": _tool_versions(),
            "grid": {"radius_m": radius, "spacing_m": spacing, "height_m": USER_HEIGHT,
                     "terrain_following": bool(TERRAIN in scene.objects),
                     "grid_points": int(len(users)), "without_paths": int((~has_path).sum())},
            "solver": {"max_depth": max_depth, "samples_per_src": samples,
                       "radio_map_samples": map_samples, "specular_reflection": True,
                       "refraction": True, "diffraction": False, "batch": batch,
                       "deterministic": True,
                       "antennas": "single isotropic, V polarised, both ends"},
            "seed": seed, "wall_s": round(time.time() - start, 1), "command": command,
            "engine": engine.describe()}
    path = save_site(out, site, meta)
    for leftover in parts.iterdir():
        leftover.unlink()
    parts.rmdir()
    return path, site


def write_stat(out, command="", **options):
    """The statistical site (predict.statistical) in the same format."""
    start = time.time()
    site = statistical_site(**options)
    meta = {"source": "statistical", "scene": f"statistical-{options.get('seed', 0)}",
            "tools": {"beamalign": __version__, "numpy": np.__version__},
            "grid": {"radius_m": options.get("radius"), "spacing_m": options.get("spacing"),
                     "height_m": USER_HEIGHT},
            "model": {k: v for k, v in options.items() if k != "seed"},
            "seed": options.get("seed", 0), "wall_s": round(time.time() - start, 1),
            "command": command}
    return save_site(out, site, meta), site

