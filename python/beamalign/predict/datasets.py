# SPDX-License-Identifier: GPL-3.0-or-later
"""The site data sets shipped with the package, by name, and how each was made."""
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

SHIPPED = {
    "munich-30ghz": ("munich_30ghz.npz",
                     "beamalign dataset rt --scene munich --freq 30e9 --radius 300 "
                     "--spacing 1.5 --out munich_30ghz.npz"),
    **{f"{scene}-3p5ghz": (f"{scene}_3p5ghz.npz",
                           f"beamalign dataset rt --scene {scene} --freq 3.5e9 --bs-height 20 "
                           f"--radius 200 --spacing 4 --out {scene}_3p5ghz.npz")
       for scene in ("munich", "etoile", "florence", "san_francisco")},
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
