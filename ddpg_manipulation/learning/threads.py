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
How many threads training uses: all usable cores while they are free, fewer under contention.

Torch's intra-op threads meet at a barrier after every operation. While another process keeps the
cores busy, one of them is often descheduled and the others wait for it: on two cores with a
CPU-bound neighbour, two threads update three times slower than alone, one thread less than twice;
MuJoCo's rollout threads meet after every action step. :class:`ThreadGovernor` therefore measures
the speed every cycle and keeps the thread count that is fastest now, one governor for the updates
and one for the rollouts, whose best counts differ. Results do not depend on the count (the tests
check that training with one and with two threads gives the same weights), so adapting costs no
reproducibility; except with 5 to 7 actions, whose output layer's gradient MKL sums differently on
two threads (docs/performance.md).
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
import math
import time
from typing import Iterator, Protocol

import torch


class ThreadGovernor:
    """
    Chooses the thread count of the next cycle from the measured time per unit of work.

    The candidates are the usable cores halved down to one (8, 4, 2, 1); training starts with
    the most. Now and then one cycle runs with a neighbouring count (a probe), and whichever of
    the two ran faster in its last cycle is kept. A probe comes every ``probe_every`` cycles
    while all cores are in use; every ``recover_every`` cycles while fewer are (so that the
    cores are taken back soon after a neighbour leaves); and at once when a cycle is
    ``slowdown`` times slower than the previous one with the same count (a neighbour started).
    A probe that loses doubles the interval to the next one, up to ``max_backoff`` times the
    base interval, and a switch resets it: under a lasting neighbour a probe of more threads
    costs about three cycles, so it should not come every 20.

    :param max_threads: Most threads to use (the usable cores).
    :param probe_every: Cycles between probes while running with ``max_threads``.
    :param recover_every: Cycles between probes while running with fewer.
    :param slowdown: Ratio to the previous cycle's time per unit that triggers a probe at once.
    :param max_backoff: Largest factor by which lost probes stretch the interval.
    """

    def __init__(self, max_threads: int, probe_every: int = 50, recover_every: int = 20,
                 slowdown: float = 1.5, max_backoff: int = 2) -> None:
        if max_threads < 1:
            raise ValueError(f'max_threads {max_threads}: expected >= 1')
        if probe_every < 1 or recover_every < 1 or slowdown <= 1.0 or max_backoff < 1:
            raise ValueError(
                f'probe_every {probe_every}, recover_every {recover_every}, slowdown '
                f'{slowdown}, max_backoff {max_backoff}: expected >= 1, >= 1, > 1.0 and >= 1')
        candidates = [max_threads]
        while candidates[-1] > 1:
            candidates.append(candidates[-1] // 2)
        self.candidates = candidates
        self.probe_every = probe_every
        self.recover_every = recover_every
        self.slowdown = slowdown
        self.max_backoff = max_backoff
        self.threads = candidates[0]
        self.seconds_per_unit: dict[int, float] = {}
        self.switches = 0
        self._home: int | None = None  # the count a running probe returns to, if it loses
        self._since_probe = 0
        self._backoff = 1  # doubles with every lost probe, back to 1 with every switch
        self._probe_larger = False  # toggled before use: the first probe goes up

    def record(self, seconds_per_unit: float) -> int:
        """
        Take the time per unit of the cycle just run; return the count for the next one.

        :param seconds_per_unit: Wall time of the cycle's timed work divided by its units
            (updates, or simulated action steps).

        :returns: The thread count for the next cycle.
        """
        count = self.threads
        previous = self.seconds_per_unit.get(count)
        self.seconds_per_unit[count] = seconds_per_unit
        if self._home is not None:
            home, self._home = self._home, None
            self._since_probe = 0
            if self.seconds_per_unit[home] <= seconds_per_unit:
                self._set(home)
                self._backoff = min(2 * self._backoff, self.max_backoff)
            else:
                self._backoff = 1
            return self.threads
        self._since_probe += 1
        base = self.probe_every if count == self.candidates[0] else self.recover_every
        interval = base * self._backoff
        slower = previous is not None and seconds_per_unit > self.slowdown * previous
        if len(self.candidates) > 1 and (slower or self._since_probe >= interval):
            self._home = count
            self._set(self._neighbour(count))
        return self.threads

    def _neighbour(self, count: int) -> int:
        # Alternate between the next larger and the next smaller count where there are both.
        index = self.candidates.index(count)
        larger = self.candidates[index - 1] if index > 0 else None
        smaller = self.candidates[index + 1] if index + 1 < len(self.candidates) else None
        if larger is not None and smaller is not None:
            self._probe_larger = not self._probe_larger
            return larger if self._probe_larger else smaller
        return larger if larger is not None else smaller

    def _set(self, count: int) -> None:
        if count != self.threads:
            self.switches += 1
            self.threads = count


class ThreadedPlant(Protocol):
    """What :class:`TrainingThreads` needs of a plant: its rollout thread count."""

    def set_threads(self, nthread: int) -> None:
        """Set the number of threads that simulate a batch."""


class TrainingThreads:
    """
    The torch and MuJoCo thread counts of a training run: fixed, or adapted by governors.

    With ``requested`` 0 on the CPU, a :class:`ThreadGovernor` picks the torch count of the
    updates cycle by cycle from their measured time per update, and another one the plant's
    rollout threads from the measured time per action step of a full batch, unless the task
    fixes them (``plant_follows`` false). Each count is chosen by the speed of the work it
    runs: hand_cube's 4 x 128 updates are about as fast on one thread as on two, its
    eight-episode rollouts take 1.5 times as long on one (docs/performance.md). On a GPU the
    updates do not run on these threads, so their time says nothing about contention: both
    counts stay at ``max_threads``.

    :param requested: ``learner.threads``: a fixed count, or 0 to adapt.
    :param max_threads: The usable cores.
    :param plant: The plant whose rollout threads are adapted.
    :param plant_follows: Whether they are (the task sets ``model.nthread`` 0).
    :param adapt: Whether adapting is possible (the updates run on the CPU).
    """

    def __init__(self, requested: int, max_threads: int, plant: ThreadedPlant,
                 plant_follows: bool, adapt: bool = True) -> None:
        adaptive = requested == 0 and adapt
        self.governor = ThreadGovernor(max_threads) if adaptive else None
        self.rollout_governor = (ThreadGovernor(max_threads) if adaptive and plant_follows
                                 else None)
        self.fixed = requested if requested != 0 else max_threads
        self.plant = plant
        self.cycles: Counter[int] = Counter()  # cycles of the running epoch per thread count
        self.rollout_cycles: Counter[int] = Counter()  # the same per rollout thread count

    def start(self) -> None:
        """Apply the current counts (at the start of ``train``)."""
        self._use(self.governor.threads if self.governor is not None else self.fixed)
        if self.rollout_governor is not None:
            self.plant.set_threads(self.rollout_governor.threads)

    def start_epoch(self) -> None:
        """Forget the counts of the previous epoch."""
        self.cycles = Counter()
        self.rollout_cycles = Counter()

    @contextmanager
    def cycle_updates(self, updates: int) -> Iterator[None]:
        """
        Count a cycle with the current count and time its updates; the governor may change it.

        :param updates: The number of updates run inside the ``with`` block.
        """
        self.cycles[torch.get_num_threads()] += 1
        started = time.perf_counter()
        yield
        if self.governor is not None and updates > 0:
            self._use(self.governor.record((time.perf_counter() - started) / updates))

    @contextmanager
    def cycle_rollout(self, episodes: int, batch: int, length: int) -> Iterator[None]:
        """
        Time a cycle's policy rollout; its governor may change the plant's count.

        Demonstrations take some of a cycle's episodes, so the policy's vary from cycle to
        cycle, and ``n`` threads simulate ``k`` episodes in about ``ceil(k / n)`` rounds. The
        governor is given the time per action step of a full ``batch``, scaled by the rounds:
        comparable between cycles of any episode count and between thread counts.

        :param episodes: Episodes simulated inside the ``with`` block.
        :param batch: Episodes of a full cycle (``learner.rollouts``).
        :param length: Action steps per episode.
        """
        if self.rollout_governor is None:
            yield
            return
        threads = self.rollout_governor.threads
        self.rollout_cycles[threads] += 1
        started = time.perf_counter()
        yield
        if episodes > 0 and length > 0:
            rounds = math.ceil(batch / threads) / math.ceil(episodes / threads)
            seconds_per_step = (time.perf_counter() - started) * rounds / length
            self.plant.set_threads(self.rollout_governor.record(seconds_per_step))

    def most_used(self) -> int:
        """
        Return the torch count most of the running epoch's cycles ran with.

        :returns: The thread count.
        """
        return _most_common(self.cycles, torch.get_num_threads())

    def most_used_by_rollouts(self) -> int | None:
        """
        Return the rollout count most of the running epoch's rollouts ran with, if adapted.

        :returns: The thread count, or None where the rollout threads are not adapted.
        """
        if self.rollout_governor is None:
            return None
        return _most_common(self.rollout_cycles, self.rollout_governor.threads)

    def _use(self, count: int) -> None:
        if torch.get_num_threads() != count:
            torch.set_num_threads(count)


def _most_common(counts: Counter[int], default: int) -> int:
    return counts.most_common(1)[0][0] if counts else default
