# SPDX-License-Identifier: GPL-3.0-or-later
"""Versioned files written atomically (SPEC section 8).

A crash or kill during a write leaves either the old file or the new one, never a
half-written file: the data goes to a temporary file in the same directory, is
flushed to disk, and then renamed over the target.
"""
import hashlib
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


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_file_atomic(path, write):
    """Calls write(temporary path), then publishes it as path; returns its sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        sha = sha256_of(tmp)
        publish_atomic(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return sha


def _plain_numbers(value, depth):
    """True when value is a number, or nested lists (depth levels at most) of numbers;
    bools and numeric strings, which NumPy would convert, are not numbers here."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, list) and depth > 0:
        return all(_plain_numbers(v, depth - 1) for v in value)
    return False


def numeric_array(document, key, where, ndim):
    """A finite numeric field with ndim dimensions as a float array; FileFormatError
    names the field."""
    if not isinstance(document, dict):
        raise FileFormatError(f"{where}: must be an object")
    if key not in document:
        raise FileFormatError(f"{where}: missing field '{key}'")
    value = document[key]
    if not _plain_numbers(value, ndim):
        raise FileFormatError(f"{where}: field '{key}' is not a numeric {ndim}-D array")
    try:
        values = np.asarray(value, dtype=np.float64)
    except ValueError:  # ragged
        raise FileFormatError(f"{where}: field '{key}' is not a numeric {ndim}-D array") from None
    if values.ndim != ndim:
        raise FileFormatError(f"{where}: field '{key}' is not a numeric {ndim}-D array")
    if not np.all(np.isfinite(values)):
        raise FileFormatError(f"{where}: field '{key}' holds NaN or Inf")
    return values


def numeric_vector(document, key, where, length=None):
    """A finite numeric field of a document as a float array; FileFormatError names it."""
    values = numeric_array(document, key, where, 1)
    if length is not None and values.shape != (length,):
        raise FileFormatError(f"{where}: field '{key}' has shape {values.shape}, "
                              f"expected ({length},)")
    return values


def integer_field(document, key, where, low, high):
    """An integer field within [low, high] (not a bool, not a float)."""
    value = document.get(key) if isinstance(document, dict) else None
    if type(value) is not int or not low <= value <= high:
        raise FileFormatError(f"{where}: field '{key}' must be an integer in [{low}, {high}], "
                              f"got {value!r}")
    return value


def read_json(path, kind, schema_version):
    """Reads a versioned JSON document of the given kind or raises FileFormatError."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FileFormatError(f"{path}: not valid JSON ({err})") from None
    except RecursionError:
        raise FileFormatError(f"{path}: nested too deeply to be one of our files") from None
    except OSError as err:
        raise FileFormatError(f"{path}: cannot be read ({err.strerror})") from None
    if not isinstance(document, dict):
        raise FileFormatError(f"{path}: top level must be an object")
    if document.get("kind") != kind:
        raise FileFormatError(f"{path}: field 'kind' is {document.get('kind')!r}, expected {kind!r}")
    version = document.get("schema_version")
    # 1.0 and true compare equal to 1 in Python; a file we wrote has the integer.
    if type(version) is not int or version != schema_version:
        raise FileFormatError(
            f"{path}: field 'schema_version' is {version!r}, "
            f"this version reads {schema_version}")
    return document
