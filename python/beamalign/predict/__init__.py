# SPDX-License-Identifier: GPL-3.0-or-later
"""Site-specific beam prediction (seeds 001, 002): site data sets, probe beams, predictors.

Kernels only (NumPy, Torch through models/): no GNU Radio types.
"""
