"""Torch networks and their weight files (safetensors + JSON sidecar; never pickles)."""
