# SPDX-License-Identifier: GPL-3.0-or-later
"""What a closed-loop controller block keeps of the runs it ended."""
import collections
import threading

HISTORY = 16  # results kept: a flowgraph may run for days, `result` messages carry all


class ResultHistory:
    """Mixed into a controller block: `results` (the latest HISTORY result dicts),
    `completed` (every run ended, failed ones included), `failed`, and wait_results()."""

    def _init_results(self):
        self.results = collections.deque(maxlen=HISTORY)
        self.completed = 0
        self.failed = 0
        self._ended = threading.Condition()

    def _record(self, result, failed):
        with self._ended:
            self.results.append(result)
            self.completed += 1
            self.failed += int(failed)
            self._ended.notify_all()

    def wait_results(self, count, timeout):
        """Waits until `count` runs have ended; returns whether they did in time."""
        with self._ended:
            return self._ended.wait_for(lambda: self.completed >= count, timeout)
