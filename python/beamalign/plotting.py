# SPDX-License-Identifier: GPL-3.0-or-later
"""Figures of the experiments: headless matplotlib, one way to open and save them."""


def subplots(*args, **kwargs):
    """plt.subplots on the Agg backend, so figures render without a display."""
    import matplotlib  # optional heavy dependency: only a figure needs it
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def save(fig, path):
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
