# SPDX-License-Identifier: GPL-3.0-or-later
"""Building and reading the PMT messages of the flowgraph protocol (SPEC section 5)."""
import numpy as np
import pmt

from .. import protocol as proto


def _to_pmt(value):
    if isinstance(value, pmt.pmt_base):
        return value
    if isinstance(value, (bool, np.bool_)):
        return pmt.from_bool(bool(value))
    if isinstance(value, (int, np.integer)):
        return pmt.from_long(int(value))
    if isinstance(value, (float, np.floating)):
        return pmt.from_double(float(value))
    if isinstance(value, (complex, np.complexfloating)):
        return pmt.from_complex(complex(value))
    if isinstance(value, str):
        return pmt.intern(value)
    if isinstance(value, dict):
        return dict_to_pmt(value)
    if isinstance(value, (list, tuple)) and (not value or not all(
            isinstance(v, (int, float, complex, np.number)) for v in value)):
        items = pmt.make_vector(len(value), pmt.PMT_NIL)  # a list of dicts, e.g. `paths`
        for i, item in enumerate(value):
            pmt.vector_set(items, i, _to_pmt(item))
        return items
    array = np.asarray(value)
    if np.iscomplexobj(array):
        return pmt.init_c32vector(array.size, array.astype(np.complex64).ravel().tolist())
    if array.dtype.kind in "fiu":
        return pmt.init_f32vector(array.size, array.astype(np.float32).ravel().tolist())
    raise TypeError(f"cannot encode {type(value).__name__} as PMT")


def dict_to_pmt(fields):
    d = pmt.make_dict()
    for key, value in fields.items():
        d = pmt.dict_add(d, pmt.intern(key), _to_pmt(value))
    return d


def beam_cmd(side, beam_id, weights, **extra):
    """A `beam_cmd` message: side "tx"/"rx", beam_id, weights (c32vector), extras."""
    fields = {proto.SIDE: side, proto.BEAM_ID: int(beam_id),
              proto.WEIGHTS: np.asarray(weights, dtype=np.complex64)}
    fields.update(extra)
    return dict_to_pmt(fields)


def pmt_to_dict(msg):
    """A PMT dict as a Python dict (uniform vectors become NumPy arrays); None if not a dict."""
    if not pmt.is_dict(msg) or pmt.is_null(msg):
        return None
    return pmt.to_python(msg)
