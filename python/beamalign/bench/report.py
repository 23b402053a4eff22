# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark JSON (SPEC section 7): experiment, params, rows, wall_s."""
import time

from ..fileio import write_json_atomic


class Report:
    def __init__(self, experiment, params):
        self.experiment = experiment
        self.params = dict(params)
        self.rows = []
        self._start = time.perf_counter()

    def add(self, method, x_name, x, metric, value, **extra):
        row = {"method": method, "x_name": x_name, "x": x, "metric": metric, "value": value}
        row.update(extra)
        self.rows.append(row)
        return row

    def document(self):
        return {"experiment": self.experiment, "params": self.params, "rows": self.rows,
                "wall_s": round(time.perf_counter() - self._start, 3)}

    def write(self, path):
        if path:
            write_json_atomic(path, self.document())
