# SPDX-License-Identifier: GPL-3.0-or-later
"""Versioned files written atomically (SPEC section 8).

A crash or kill during a write leaves either the old file or the new one, never a
half-written file: the data goes to a temporary file in the same directory, is
flushed to disk, and then renamed over the target.
"""
import json
import os
import tempfile
from pathlib import Path

import numpy as np


class FileFormatError(ValueError):
    """A file the product reads is corrupt, truncated or does not match."""


def _umask_mode():
    """The mode a plainly created file would get (mkstemp's own is 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def publish_atomic(tmp_name, path):
    """Flushes tmp_name to disk and renames it over path, with ordinary permissions."""
    os.chmod(tmp_name, _umask_mode())
    with open(tmp_name, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp_name, path)
    dir_fd = os.open(Path(path).parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_json_atomic(path, document):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=1, sort_keys=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as tmp:
            tmp.write(text)
        publish_atomic(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise


def numeric_vector(document, key, where, length=None):
    """A finite numeric field of a document as a float array; FileFormatError names it."""

    if key not in document:
        raise FileFormatError(f"{where}: missing field '{key}'")
    try:
        values = np.asarray(document[key], dtype=np.float64)
    except (TypeError, ValueError):
        raise FileFormatError(f"{where}: field '{key}' is not numeric") from None
    if not np.all(np.isfinite(values)):
        raise FileFormatError(f"{where}: field '{key}' holds NaN or Inf")
    if length is not None and values.shape != (length,):
        raise FileFormatError(f"{where}: field '{key}' has shape {values.shape}, "
                              f"expected ({length},)")
    return values


def read_json(path, kind, schema_version):
    """Reads a versioned JSON document of the given kind or raises FileFormatError."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FileFormatError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(document, dict):
        raise FileFormatError(f"{path}: top level must be an object")
    if document.get("kind") != kind:
        raise FileFormatError(f"{path}: field 'kind' is {document.get('kind')!r}, expected {kind!r}")
    if document.get("schema_version") != schema_version:
        raise FileFormatError(
            f"{path}: field 'schema_version' is {document.get('schema_version')!r}, "
            f"this version reads {schema_version}")
    return document
