"""One AoA estimate per M x K snapshot set, by any of the non-learned methods."""
import numpy as np

from .coarray import sample_covariance
from .subspace import music_spectrum, root_music

METHODS = ("scg", "dbf", "music", "root-music")


def estimate_doa(method, spectrum, snapshots):
    """(angle_deg, spectrum on spectrum's grid normalised to peak 1) of one (M, K) snapshot
    set; spectrum is a CoarraySpectrum. root-MUSIC takes its angle from the polynomial and
    shows the MUSIC spectrum."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    r = sample_covariance(snapshots)
    if method in ("dbf", "scg"):
        values = spectrum.dbf(r)
        if method == "scg":
            values = spectrum.scg(values)
    else:
        values = music_spectrum(r, spectrum.grid_deg)
    values = np.asarray(values, dtype=np.float64)
    peak = values.max()
    values = values / peak if peak > 0 else values
    angle = float(root_music(r)[0]) if method == "root-music" else spectrum.estimate_deg(values)
    return angle, values
