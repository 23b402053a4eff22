# SPDX-License-Identifier: GPL-3.0-or-later
"""The site data sets shipped with the package, by name, and how each was made."""
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

SHIPPED = {
    "munich-30ghz": ("munich_30ghz.npz",
                     "beamalign dataset rt --scene munich --freq 30e9 --radius 300 "
                     "--spacing 1.5 --out munich_30ghz.npz"),
    # Street masts 20 m high (San Francisco's on a hill), users on a 2 m grid.
    **{f"{scene}-3p5ghz": (f"{scene}_3p5ghz.npz",
                           f"beamalign dataset rt --scene {scene} --freq 3.5e9 --bs {mast} "
                           f"--radius 200 --spacing 2 --out {scene}_3p5ghz.npz")
       for scene, mast in (("munich", "64 64 20"), ("etoile", "-64 32 20"),
                           ("florence", "-48 -48 20"),
                           ("san_francisco", "0 0 35.5252685546875"))},
}


def resolve(name_or_path):
    """A shipped data set's file by name, or the path given; ValueError when neither."""
    if name_or_path in SHIPPED:
        path = DATA_DIR / SHIPPED[name_or_path][0]
        if not path.exists():
            raise ValueError(f"data set {name_or_path!r} is not installed; make it with: "
                             f"{SHIPPED[name_or_path][1]}")
        return path
    path = Path(name_or_path)
    if not path.with_suffix(".npz").exists():
        raise ValueError(f"{name_or_path}: no such data set file (shipped: "
                         f"{', '.join(SHIPPED)})")
    return path.with_suffix(".npz")
