# SPDX-License-Identifier: GPL-3.0-or-later
"""Weight files: `<name>.safetensors` beside `<name>.json` (SPEC sections 3 and 8).

The sidecar records the architecture, the schema version, what the weights were trained
on and with which command, and the sha256 of the weight file. Loading checks all of it
and names what does not match; a model file is never unpickled.
"""
import datetime
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..fileio import FileFormatError, read_json, sha256_of, write_file_atomic, write_json_atomic
from .choices import MODEL_SCHEMA_VERSION, SIDECAR_KIND


def save_model(path, tensors, architecture, training):
    """Writes path (.safetensors) and its sidecar (.json) atomically."""
    path = Path(path).with_suffix(".safetensors")
    sha = write_file_atomic(path, lambda tmp: save_file(
        {k: v.detach().contiguous().cpu() for k, v in tensors.items()}, tmp))
    write_json_atomic(path.with_suffix(".json"), {
        "kind": SIDECAR_KIND, "schema_version": MODEL_SCHEMA_VERSION,
        "architecture": architecture, "training": training, "sha256": sha,
        "weights": path.name,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    })
    return path


class Architecture:
    """A sidecar's architecture fields, read with bounds: a field of the wrong type or
    outside its bounds is a FileFormatError naming it, so a sidecar can never ask for
    petabytes of weights or minutes of layers."""

    def __init__(self, document, where):
        if not isinstance(document, dict):
            raise FileFormatError(f"{where}: must be an object")
        self.document, self.where = document, where

    def _number(self, key, kind, low, high, default):
        if key not in self.document:
            if default is None:
                raise FileFormatError(f"{self.where}: missing field '{key}'")
            return default
        value = self.document[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                kind is int and not float(value).is_integer()):
            raise FileFormatError(f"{self.where}: field '{key}' must be "
                                  f"{'an integer' if kind is int else 'a number'}")
        if not (low <= value <= high):
            raise FileFormatError(f"{self.where}: field '{key}' is {value}, outside "
                                  f"[{low}, {high}]")
        return kind(value)

    def integer(self, key, low, high, default=None):
        return self._number(key, int, low, high, default)

    def real(self, key, low, high, default=None):
        return self._number(key, float, low, high, default)

    def section(self, key):
        """A nested object (empty when absent)."""
        return Architecture(self.document.get(key, {}), f"{self.where}.{key}")


def load_network(cls, path, build):
    """Loads weights into build(Architecture) -> nn.Module, checked; returns it in eval
    mode."""
    tensors, sidecar = load_model(path, cls.ARCHITECTURE)
    net = build(Architecture(sidecar["architecture"],
                             f"{Path(path).with_suffix('.json')}: architecture"))
    try:
        net.load_state_dict(tensors)
    except RuntimeError as err:
        raise FileFormatError(f"{path}: weights do not fit the architecture in the "
                              f"sidecar ({str(err).splitlines()[0]})") from None
    net.eval()
    net.sidecar = sidecar
    return net


def load_model(path, architecture_name):
    """Returns (tensors, sidecar); FileFormatError says what is wrong with the files."""
    path = Path(path).with_suffix(".safetensors")
    sidecar = read_json(path.with_suffix(".json"), SIDECAR_KIND, MODEL_SCHEMA_VERSION)
    architecture = sidecar.get("architecture")
    if not isinstance(architecture, dict):
        raise FileFormatError(f"{path.with_suffix('.json')}: field 'architecture' must be an "
                              "object")
    name = architecture.get("name")
    if name != architecture_name:
        raise FileFormatError(f"{path.with_suffix('.json')}: field 'architecture.name' is "
                              f"{name!r}, expected {architecture_name!r}")
    if not path.exists():
        raise FileFormatError(f"{path}: weight file missing (named by its sidecar)")
    if sha256_of(path) != sidecar.get("sha256"):
        raise FileFormatError(f"{path}: sha256 does not match field 'sha256' of its sidecar "
                              "(corrupt or replaced weights)")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise FileFormatError(f"{path}: not a readable safetensors file ({err})") from None
    for key, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise FileFormatError(f"{path}: tensor '{key}' holds NaN or Inf")
    return tensors, sidecar
