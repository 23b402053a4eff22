# SPDX-License-Identifier: GPL-3.0-or-later
"""The networks' option names, without importing Torch (the command line lists them)."""

PROBE_PARAMETERISATIONS = ("uv", "angle", "cm", "uniform")
FUSION_METHODS = ("fusion", "fusion-auto", "single-branch", "cnn-mlp", "lstm-mlp")

# Weight sidecars (models.store), readable without Torch.
MODEL_SCHEMA_VERSION = 1
SIDECAR_KIND = "beamalign.model"

# Seed 001's RSRP map g clamps to this range (dBm): the network's input and the meters'.
RSRP_FLOOR_DBM, RSRP_CEILING_DBM = -140.0, -40.0
