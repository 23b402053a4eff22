"""GNU Radio adapters over the kernels (thin: no algorithm lives here)."""
