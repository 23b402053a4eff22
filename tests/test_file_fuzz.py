# SPDX-License-Identifier: GPL-3.0-or-later
"""Every loader of a file the product writes, fed seeded corruptions of a good file:
FileFormatError naming what is wrong, never another exception."""
import json
import random

import numpy as np
import pytest

from gnuradio.beamalign.arrays.calibration import Calibration, load_calibration, save_calibration
from gnuradio.beamalign.arrays.impairments import (
    AngleDependentPhaseError,
    ElementImpairment,
    load_impairments,
    save_impairments,
)
from gnuradio.beamalign.chanest import eda_grouping
from gnuradio.beamalign.chanest.eda import load_grouping, save_grouping
from gnuradio.beamalign.fileio import FileFormatError
from gnuradio.beamalign.hw.chamber import STATE_KIND, _load_state
from gnuradio.beamalign.models import registry

DEEP = "@deep@"
ODD_VALUES = [None, True, False, 1.0, -1, 0, 10 ** 30, 1e308, float("nan"), "", "x", [],
              [1], [[1]], {}, {"a": 1}, [None], ["1"], 2 ** 64, -2 ** 63]


def _mutations(document, rng, count):
    """Documents with one field (at any depth) replaced, removed or nested deeply."""
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append(path + [key])
                walk(value, path + [key])
        elif isinstance(node, list) and node:
            paths.append(path + [0])
            walk(node[0], path + [0])

    walk(document, [])
    for _ in range(count):
        doc = json.loads(json.dumps(document))
        path = rng.choice(paths)
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = rng.random()
        if action < 0.15 and isinstance(parent, dict):
            del parent[path[-1]]
        elif action < 0.2:
            parent[path[-1]] = DEEP  # replaced by 5000 nested lists in the text
        else:
            parent[path[-1]] = rng.choice(ODD_VALUES)
        yield doc


def _text_mutations(text, rng, count):
    for _ in range(count):
        choice = rng.random()
        if choice < 0.4:
            yield text[:rng.randrange(len(text))]
        elif choice < 0.7:
            i = rng.randrange(len(text))
            yield text[:i] + rng.choice(["\x00", "}", "]", "\"", "nan", "\xff"]) + text[i + 1:]
        else:
            yield "[" * 100000


def _files(tmp_path):
    """(path, loader) of a good file of each kind the product writes."""
    rng = np.random.default_rng(0)
    table = AngleDependentPhaseError.sample(4, 3, rng=1, grid_deg=np.arange(-60, 61, 30.0))
    cal = tmp_path / "cal.json"
    save_calibration(cal, Calibration("array", "rx", rng.normal(size=4), rng.normal(size=4) * 0.01,
                                      angle_table=table))
    imp = tmp_path / "imp.json"
    save_impairments(imp, [ElementImpairment.sample(4, 0.05, 0.3, rng), table])
    grouping = tmp_path / "grouping.json"
    save_grouping(grouping, eda_grouping(np.arange(8), 2, 10, 3, rng=0), 8, 10.0, None, 0)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"kind": STATE_KIND, "schema_version": 1,
                                 "angles_deg": [0.0], "done": {}}))
    sidecar = tmp_path / "qssr.json"
    weights = tmp_path / "qssr.safetensors"
    weights.write_bytes(registry.path_of("qssr-net").read_bytes())
    sidecar.write_text(registry.path_of("qssr-net").with_suffix(".json").read_text())
    return [(cal, lambda p: load_calibration(p, num_elements=4)),
            (imp, load_impairments),
            (grouping, lambda p: load_grouping(p, 8)),
            (state, lambda p: _load_state(p, [0.0])),
            (sidecar, lambda p: registry.load("qssr-net", p.with_suffix(".safetensors")))]


@pytest.mark.parametrize("seed", [7, 11, 23, 42])
def test_loaders_raise_only_file_format_errors(tmp_path, seed):
    rng = random.Random(seed)
    checked = 0
    for path, loader in _files(tmp_path):
        original = path.read_text()
        loader(path)  # the good file loads
        documents = list(_mutations(json.loads(original), rng, 60))
        texts = list(_text_mutations(original, rng, 20))
        deep = "[" * 5000 + "]" * 5000
        for content in [json.dumps(d).replace(f'"{DEEP}"', deep) for d in documents] + texts:
            path.write_text(content, errors="surrogateescape")
            try:
                loader(path)
            except FileFormatError as err:
                assert str(path.name) in str(err) or path.stem in str(err), err
            except Exception as err:  # noqa: BLE001 - the point of the test
                pytest.fail(f"{path.name}: {type(err).__name__}: {err}\n{content[:300]}")
            checked += 1
        path.write_text(original)
    assert checked == 5 * 80


@pytest.mark.parametrize("version", [1.0, True, "1", [1]])
def test_schema_version_must_be_the_integer(tmp_path, version):
    path = tmp_path / "cal.json"
    save_calibration(path, Calibration("array", "rx", np.zeros(4), np.zeros(4)))
    document = json.loads(path.read_text())
    document["schema_version"] = version
    path.write_text(json.dumps(document))
    with pytest.raises(FileFormatError, match="schema_version"):
        load_calibration(path)
