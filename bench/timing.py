# Copyright 2026 The ddpg_manipulation Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Timing on a noisy machine: single calls, medians, and a baseline interleaved with its subject.

The machines these benchmarks run on are shared and noisy, so a benchmark never compares a
figure with one measured at another time: it measures its baseline in the same run, interleaved
with the subject (baseline, subject, subject, baseline, ...), and quotes the median of the
per-repeat ratios next to the median figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
import statistics
import time
from typing import Any, Callable, Sequence

import numpy as np


def median(values: Sequence[float]) -> float | None:
    """
    Median of the finite values.

    :param values: Numbers.

    :returns: The median, or None if there is no finite value.
    """
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    return statistics.median(finite) if finite else None


def median_or_none(values: Sequence[float | None]) -> float | None:
    """
    Median that counts a missing value (not reached) as slower than every number.

    :param values: Seconds or epochs per seed, None where not reached.

    :returns: The median, or None if it falls on a run that did not reach the target.
    """
    ordered = sorted(math.inf if v is None else v for v in values)
    if not ordered:
        return None
    middle = statistics.median(ordered)
    return None if math.isinf(middle) else middle


def planning_seconds(summary: dict[str, Any]) -> float:
    """
    Seconds a training run spent building its demonstration graph, from its ``summary.json``.

    ``train`` records the graph's search, covering and settling apart (``planning``:
    ``search_s``, ``cover_s``, ``settle_s``); a run without demonstrations planned for 0 s.

    :param summary: The run's ``summary.json``.

    :returns: The sum of the three.
    """
    planning = summary.get('planning') or {}
    return float(sum(planning.get(part, 0.0) for part in ('search_s', 'cover_s', 'settle_s')))


def timed(fn: Callable[[], Any]) -> float:
    """
    Time one call.

    :param fn: What to run.

    :returns: Wall seconds.
    """
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


@dataclass
class Paired:
    """
    Interleaved timings of a baseline and a subject.

    :param baseline: Seconds of each baseline repeat.
    :param subject: Seconds of each subject repeat.
    """

    baseline: list[float] = field(default_factory=list)
    subject: list[float] = field(default_factory=list)

    @property
    def baseline_median(self) -> float:
        """Median baseline seconds."""
        return statistics.median(self.baseline)

    @property
    def subject_median(self) -> float:
        """Median subject seconds."""
        return statistics.median(self.subject)

    @property
    def time_ratio(self) -> float:
        """Median over repeats of subject time / baseline time (> 1: the subject is slower)."""
        return statistics.median(s / b for s, b in zip(self.subject, self.baseline))

    @property
    def speed_ratio(self) -> float:
        """Median over repeats of baseline time / subject time (subject rate / baseline rate)."""
        return statistics.median(b / s for s, b in zip(self.subject, self.baseline))


def paired(baseline: Callable[[], Any], subject: Callable[[], Any], repeats: int,
           warmup: int = 1) -> Paired:
    """
    Time a baseline and a subject interleaved (ABBA order), so drifting load hits both.

    :param baseline: The reference work.
    :param subject: The work measured against it.
    :param repeats: Timed repeats of each.
    :param warmup: Untimed calls of each first.

    :returns: The per-repeat timings.
    """
    for _ in range(warmup):
        baseline()
        subject()
    result = Paired()
    for repeat in range(repeats):
        if repeat % 2 == 0:
            result.baseline.append(timed(baseline))
            result.subject.append(timed(subject))
        else:
            result.subject.append(timed(subject))
            result.baseline.append(timed(baseline))
    return result


def time_calls(call: Callable[[], Any], count: int, prepare: Callable[[], Any] | None = None
               ) -> np.ndarray:
    """
    Time single calls, running ``prepare`` untimed before each.

    :param call: What to time.
    :param count: Number of calls.
    :param prepare: Untimed set-up before each call.

    :returns: Each call's duration in microseconds.
    """
    samples = np.empty(count)
    clock = time.perf_counter_ns
    for i in range(count):
        if prepare is not None:
            prepare()
        started = clock()
        call()
        samples[i] = clock() - started
    return samples / 1e3
