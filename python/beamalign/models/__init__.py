# SPDX-License-Identifier: GPL-3.0-or-later
"""Torch networks and their weight files (safetensors + JSON sidecar; never pickles)."""
