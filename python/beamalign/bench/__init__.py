"""Experiments that reproduce the papers' figures and measure speed (SPEC section 7)."""
