"""Hardware front ends (UHD arrays)."""
