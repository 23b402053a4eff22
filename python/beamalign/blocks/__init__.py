# SPDX-License-Identifier: GPL-3.0-or-later
"""GNU Radio adapters over the kernels (thin: no algorithm lives here)."""
