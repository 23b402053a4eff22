"""Hybrid-beamforming channel estimation (seed 004): beam design so far."""
from .beams import chirp_beam, gs_narrow_beam, isl, pattern, srl

__all__ = ["chirp_beam", "gs_narrow_beam", "isl", "pattern", "srl"]
