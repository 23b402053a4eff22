# SPDX-License-Identifier: GPL-3.0-or-later
"""Hardware front ends (UHD arrays)."""
