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
Epoch time at the reference configuration vs the floor measured in the same run.

One epoch = ``learner.cycles`` (50) cycles of a batched rollout of ``learner.rollouts`` (2)
environments x ``trajectory_length`` (75 box_push, 80 planar_hand) action steps and
``learner.batches`` (40) DDPG updates at batch 256 (4 x 256 networks, Adam), then an evaluation
of ``learner.evals`` (100) episodes. The floor is the same work without the learner: 2000 bare
updates (:class:`bench.bare_ddpg.BareDDPG`) plus raw ``mujoco.rollout`` calls of the same physics
(each of the epoch's rollouts replayed from the same initial states with the controls it
applied, all its steps in one call), at the same thread counts. Ratio = epoch time / floor time.

The machine's load drifts on the scale of seconds, longer than a cycle but much shorter than an
epoch, so the floor is interleaved at the finest grain the learner allows: after each cycle its
share of the floor (``learner.batches`` bare updates and the replay of the cycle's rollout) runs,
and after the evaluation the replay of the evaluation; the floor's time (and the untimed
preparation of its controls) is subtracted from the epoch's wall time.

Every timed epoch is also broken down, by timers wrapped around the learner's parts: rollouts
(with their physics, actor inference and replay/normalizer updates), replay sampling, updates,
soft target updates, evaluation and the rest (Python overhead of the loop).
"""

from __future__ import annotations

from collections import defaultdict
import time
from typing import Any, Callable, Sequence

import torch

from bench.bare_ddpg import bare_for
from bench.learners import make_learner, make_params, REFERENCE_EPOCH, TASKS, warm_up
from bench.machine import torch_threads
from bench.raw_physics import full_physics_states, RawRollout, trajectory_controls
from bench.result import Bench
from bench.timing import median, timed
from ddpg_manipulation.learning.learner import Learner

NAME = 'epoch_time'
TARGET_RATIO = 1.15
QUICK = {
    'learner.cycles': 2, 'learner.batches': 4, 'learner.evals': 4,
    'learner.trajectory_length': 5, 'learner.replay_capacity': 20, 'learner.nlayers': 2,
    'learner.layer_width': 32, 'learner.threads': 1, 'model.nthread': 1,
}


_MISSING = object()


class Patches:
    """Instance attributes replaced for one epoch, restored in reverse order afterwards."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def add(self, owner: Any, attr: str, replacement: Any) -> None:
        """
        Replace ``owner.attr`` on the instance.

        :param owner: The object.
        :param attr: The attribute.
        :param replacement: Its replacement.
        """
        self._saved.append((owner, attr, vars(owner).get(attr, _MISSING)))
        setattr(owner, attr, replacement)

    def restore(self) -> None:
        """Put every replaced attribute back as it was."""
        for owner, attr, previous in reversed(self._saved):
            if previous is _MISSING:
                delattr(owner, attr)
            else:
                setattr(owner, attr, previous)
        self._saved.clear()


# Parts of an epoch timed by wrapping the learner's methods: the top-level ones add up to the
# epoch (with ``other``, the loop itself); the nested ones run inside rollouts and evaluation.
TOP_PARTS = ('rollouts', 'updates', 'soft_updates_actor', 'soft_updates_critic', 'eval')
NESTED_PARTS = ('replay_sample', 'preprocess', 'gradient_steps', 'physics', 'actor_inference',
                'replay_extend_and_normalizer')


def _part_owners(learner: Learner) -> dict[str, tuple[Any, str]]:
    return {
        'rollouts': (learner, '_policy_rollout'),
        'updates': (learner, 'train_batches'),
        'replay_sample': (learner.replay_buffer, 'sample_batches'),
        'preprocess': (learner, 'preprocess_sample'),
        'gradient_steps': (learner, 'gradient_step'),
        'soft_updates_actor': (learner.actor, 'update_target'),
        'soft_updates_critic': (learner.critic, 'update_target'),
        'eval': (learner, 'eval_agent'),
        'physics': (learner.plant, 'dynamics'),
        'actor_inference': (learner, 'actor_actions'),
        'replay_extend_and_normalizer': (learner, '_add'),
    }


def instrument(learner: Learner, patches: Patches) -> tuple[dict[str, float], dict[str, int]]:
    """
    Wrap the learner's parts with timers (about a microsecond per call).

    :param learner: The learner.
    :param patches: Where the wrappers are registered (restore them after the epoch).

    :returns: Seconds and calls per part, filled as the epoch runs.
    """
    spent: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    for key, (owner, attr) in _part_owners(learner).items():
        original = getattr(owner, attr, None)
        if original is None:
            continue

        def wrapper(*args: Any, _original: Callable[..., Any] = original, _key: str = key,
                    **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_key] += time.perf_counter() - started
                calls[_key] += 1

        patches.add(owner, attr, wrapper)
    return spent, calls


class InterleavedFloor:
    """
    Runs each cycle's share of the floor right after the learner's cycle.

    Wraps (on the instances, for one epoch) ``learner._cycle``, ``learner.eval_agent`` and
    ``learner.plant.rollout``: every rollout's states and actions are kept, and after each cycle
    (and after the evaluation) the bare updates and the raw replay of the kept rollouts run.

    :param learner: The learner.
    """

    def __init__(self, learner: Learner) -> None:
        if not hasattr(learner, '_cycle'):
            raise RuntimeError('Learner._cycle not found: epoch_time interleaves its floor '
                               "with the learner's cycles; update bench/epoch_time.py")
        self.learner = learner
        self.bare = bare_for(learner.params)
        self.raw = RawRollout(learner.plant.model, learner.plant.nthread)
        self.kept: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.seconds: dict[str, float] = defaultdict(float)

    def _floor(self, updates: int, part: str) -> None:
        started = time.perf_counter()
        plant = self.learner.plant
        jobs = [(full_physics_states(plant.model, states[:, 0].double().numpy()),
                 trajectory_controls(plant, states, relative)) for states, relative in self.kept]
        self.kept.clear()
        prepared = time.perf_counter()
        self.bare.updates(updates)
        updated = time.perf_counter()
        for initial, controls in jobs:
            self.raw(initial, controls)
        done = time.perf_counter()
        self.seconds['preparation'] += prepared - started
        self.seconds['floor_updates'] += updated - prepared
        self.seconds[part] += done - updated

    def install(self, patches: Patches) -> None:
        """
        Wrap the learner so that the floor runs after each cycle and after the evaluation.

        :param patches: Where the wrappers are registered (restore them after the epoch).
        """
        learner, plant = self.learner, self.learner.plant
        cycle, evaluate, rollout = learner._cycle, learner.eval_agent, plant.rollout
        batches = learner.params.learner_batches
        self.seconds.clear()

        def kept_rollout(*args: Any, **kwargs: Any) -> Any:
            states, relative = rollout(*args, **kwargs)
            self.kept.append((states, relative))  # fresh tensors the learner does not modify
            return states, relative

        def cycle_then_floor() -> None:
            cycle()
            self._floor(batches, 'floor_physics')

        def evaluate_then_floor() -> tuple[float, float]:
            result = evaluate()
            self._floor(0, 'floor_eval_physics')
            return result

        patches.add(plant, 'rollout', kept_rollout)
        patches.add(learner, '_cycle', cycle_then_floor)
        patches.add(learner, 'eval_agent', evaluate_then_floor)

    @property
    def floor_s(self) -> float:
        """Seconds of the floor in the last epoch."""
        return sum(self.seconds[k] for k in ('floor_updates', 'floor_physics',
                                             'floor_eval_physics'))

    def close(self) -> None:
        """Stop the raw rollout's thread pool."""
        self.raw.close()


def timed_epoch(learner: Learner, floor: InterleavedFloor) -> dict[str, float]:
    """
    Run one instrumented epoch with its floor interleaved.

    :param learner: The learner.
    :param floor: Its floor.

    :returns: ``epoch`` (wall time minus the floor and its preparation), ``floor``, the floor's
        parts, the seconds of each part of the epoch (``other``: the epoch minus its top-level
        parts) and ``updates_count``.
    """
    patches = Patches()
    try:
        spent, calls = instrument(learner, patches)  # inner: the floor is not in the parts
        floor.install(patches)
        total = timed(lambda: learner.train(1))
    finally:
        patches.restore()
    epoch = total - floor.floor_s - floor.seconds['preparation']
    result = {'epoch': epoch, 'floor': floor.floor_s, **floor.seconds}
    result.update({part: spent.get(part, 0.0) for part in (*TOP_PARTS, *NESTED_PARTS)})
    result['other'] = epoch - sum(result[part] for part in TOP_PARTS)
    result['updates_count'] = calls.get('gradient_steps', 0)
    return result


def measure(bench: Bench, task: str, repeats: int, quick: bool) -> None:
    """
    Measure one task and record its figures.

    :param bench: Where to record.
    :param task: Task name.
    :param repeats: Epochs, each with its floor interleaved.
    :param quick: Tiny sizes.
    """
    overrides: dict[str, Any] = {'learner.use_planner': False, **REFERENCE_EPOCH}
    if quick:
        overrides.update(QUICK)
    params = make_params(task, overrides)
    learner = make_learner(params)
    floor = InterleavedFloor(learner)
    with torch_threads(params.learner_threads):
        warm_up(learner)
        floor.bare.updates(10)
        runs = [timed_epoch(learner, floor) for _ in range(repeats)]
    floor.close()
    learner.plant.close()

    def med(key: str) -> float | None:
        return median([run[key] for run in runs])

    bench.figure(f'{task}_epoch_s', med('epoch'))
    bench.figure(f'{task}_floor_s', med('floor'))
    for part in ('floor_updates', 'floor_physics', 'floor_eval_physics'):
        bench.figure(f'{task}_{part}_s', med(part))
    for part in (*TOP_PARTS, *NESTED_PARTS, 'other'):
        bench.figure(f'{task}_share_{part}', median([r[part] / r['epoch'] for r in runs]))
    bench.figure(f'{task}_learner_ms_per_update', 1e3 * median(
        [r['updates'] / max(1, r['updates_count']) for r in runs]))
    bench.figure(f'{task}_bare_ms_per_update', 1e3 * median(
        [r['floor_updates'] / max(1, r['updates_count']) for r in runs]))
    bench.ratio(f'{task}_updates_vs_bare', median(
        [r['updates'] / r['floor_updates'] for r in runs]))
    bench.ratio(task, median([r['epoch'] / r['floor'] for r in runs]))
    bench.target(task, '<=', TARGET_RATIO, f'{task}: epoch time (s), ratio to the floor',
                 figure=f'{task}_epoch_s')
    bench.details[task] = runs


def run(quick: bool = False, tasks: Sequence[str] = TASKS) -> dict[str, Any]:
    """
    Run the benchmark.

    :param quick: Tiny sizes (smoke test).
    :param tasks: Tasks to measure.

    :returns: The result.
    """
    repeats = 1 if quick else 3
    bench = Bench(NAME, quick)
    params = make_params(tasks[0])
    bench.config = {
        'tasks': list(tasks), 'repeats': repeats,
        'cycles': params.learner_cycles if not quick else QUICK['learner.cycles'],
        'rollouts': params.learner_rollouts,
        'batches': params.learner_batches if not quick else QUICK['learner.batches'],
        'batch_size': params.learner_batch_size,
        'evals': params.learner_evals if not quick else QUICK['learner.evals'],
        'network': '2x32' if quick else f'{params.learner_nlayers}x{params.learner_layer_width}',
        'quick_overrides': QUICK if quick else {},
    }
    bench.note('without demonstrations (learner.use_planner false) for a clean comparison with '
               'the floor; demonstration injection replaces rollouts by graph traces')
    bench.note('the floor is interleaved per cycle (bare updates and the raw replay of the '
               "cycle's rollout after each cycle) and subtracted from the epoch's wall time")
    bench.note('every timed epoch is instrumented (a timer around each part, about a '
               'microsecond per call); shares are of the epoch without the floor; physics, '
               'actor_inference and replay_extend_and_normalizer are nested in rollouts and eval')
    bench.note('updates: train_batches, i.e. replay sampling (nested: replay_sample), '
               'preprocessing (preprocess) and the gradient steps (gradient_steps) of a cycle')
    bench.note('updates_vs_bare: time in train_batches over the time of the bare updates '
               'interleaved with them, per epoch')
    for task in tasks:
        measure(bench, task, repeats, quick)
    return bench.result()
