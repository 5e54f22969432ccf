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

"""Epoch time at the reference configuration vs the floor measured in the same run.

One epoch = ``learner.cycles`` (50) cycles of a batched rollout of ``learner.rollouts`` (2)
environments x ``trajectory_length`` (75 box_push, 80 planar_hand) action steps and
``learner.batches`` (40) DDPG updates at batch 256 (4 x 256 networks, Adam), then an evaluation
of ``learner.evals`` (100) episodes. The floor is the same work without the learner: 2000 bare
updates (:class:`bench.common.BareDDPG`) plus raw ``mujoco.rollout`` calls of the same physics
(each of the epoch's rollouts replayed from the same initial states with the controls it
applied, all its steps in one call), at the same thread counts. Ratio = epoch time / floor time.

The machine's load drifts on the scale of seconds, longer than a cycle but much shorter than an
epoch, so the floor is interleaved at the finest grain the learner allows: after each cycle its
share of the floor (``learner.batches`` bare updates and the replay of the cycle's rollout) runs,
and after the evaluation the replay of the evaluation; the floor's time (and the untimed
preparation of its controls) is subtracted from the epoch's wall time.

An extra instrumented epoch breaks the epoch down: rollouts (with their physics, actor inference
and replay/normalizer updates), replay sampling, updates, soft target updates, evaluation and
the rest (Python overhead of the loop).
"""

from __future__ import annotations

from collections import defaultdict
import time
from typing import Any, Callable, Sequence

import torch

from bench.common import (
    bare_for,
    Bench,
    full_physics_states,
    make_learner,
    make_params,
    median,
    RawRollout,
    TASKS,
    timed,
    torch_threads,
    trajectory_controls,
    warm_up,
)
from ddpg_manipulation.learning.learner import Learner

NAME = 'epoch_time'
TARGET_RATIO = 1.15
QUICK = {
    'learner.cycles': 2, 'learner.batches': 4, 'learner.evals': 4,
    'learner.trajectory_length': 5, 'learner.replay_capacity': 20, 'learner.nlayers': 2,
    'learner.layer_width': 32, 'learner.threads': 1, 'model.nthread': 1,
}


class InterleavedFloor:
    """Runs each cycle's share of the floor right after the learner's cycle.

    Wraps (on the instances, for one epoch) ``learner._cycle``, ``learner.eval_agent`` and
    ``learner.plant.rollout``: every rollout's states and actions are kept, and after each cycle
    (and after the evaluation) the bare updates and the raw replay of the kept rollouts run.

    Args:
        learner: The learner.
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

    def epoch(self) -> tuple[float, float]:
        """Run one epoch with the floor interleaved.

        Returns:
            Seconds of the epoch (floor and preparation subtracted) and of the floor.
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

        learner._cycle, learner.eval_agent = cycle_then_floor, evaluate_then_floor
        plant.rollout = kept_rollout
        try:
            total = timed(lambda: learner.train(1))
        finally:
            del learner._cycle, learner.eval_agent, plant.rollout
        floor = sum(self.seconds[k] for k in ('floor_updates', 'floor_physics',
                                              'floor_eval_physics'))
        return total - floor - self.seconds['preparation'], floor

    def close(self) -> None:
        """Stop the raw rollout's thread pool."""
        self.raw.close()


def breakdown(learner: Learner) -> dict[str, float]:
    """Run one epoch with timers around the learner's parts.

    Nested parts (physics, actor inference, replay extend inside rollouts and evaluation) are
    reported separately and are included in their parents.

    Args:
        learner: The learner (its methods are wrapped for the epoch, then restored).

    Returns:
        Seconds per part, ``epoch`` the total, ``other`` the epoch minus the top-level parts;
        ``updates_count`` the number of updates.
    """
    spent: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    top = {
        'rollouts': (learner, '_policy_rollout'),
        'replay_sample': (learner.replay_buffer, 'sample'),
        'updates': (learner, 'train_actor_critic'),
        'soft_updates_actor': (learner.actor, 'update_target'),
        'soft_updates_critic': (learner.critic, 'update_target'),
        'eval': (learner, 'eval_agent'),
    }
    nested = {
        'physics': (learner.plant, 'dynamics'),
        'actor_inference': (learner, 'actor_actions'),
        'replay_extend_and_normalizer': (learner, '_add'),
    }
    wrapped = []
    for key, (owner, attr) in {**top, **nested}.items():
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

        setattr(owner, attr, wrapper)
        wrapped.append((owner, attr))
    try:
        total = timed(lambda: learner.train(1))
    finally:
        for owner, attr in wrapped:
            delattr(owner, attr)
    result = {key: spent.get(key, 0.0) for key in {**top, **nested}}
    result['epoch'] = total
    result['other'] = total - sum(result[key] for key in top)
    result['updates_count'] = calls.get('updates', 0)
    return result


def measure(bench: Bench, task: str, repeats: int, quick: bool) -> None:
    """Measure one task and record its figures.

    Args:
        bench: Where to record.
        task: Task name.
        repeats: Epochs, each with its floor interleaved.
        quick: Tiny sizes.
    """
    overrides: dict[str, Any] = {'learner.use_planner': False}
    if quick:
        overrides.update(QUICK)
    params = make_params(task, overrides)
    learner = make_learner(params)
    floor = InterleavedFloor(learner)
    epochs, floors, parts = [], [], []
    with torch_threads(params.learner_threads):
        warm_up(learner)
        floor.bare.updates(10)
        for _ in range(repeats):
            epoch_s, floor_s = floor.epoch()
            epochs.append(epoch_s)
            floors.append(floor_s)
            parts.append(dict(floor.seconds))
        split = breakdown(learner)
    floor.close()
    learner.plant.close()
    updates = params.learner_cycles * params.learner_batches
    bench.figure(f'{task}_epoch_s', median(epochs))
    bench.figure(f'{task}_floor_s', median(floors))
    for part in ('floor_updates', 'floor_physics', 'floor_eval_physics'):
        bench.figure(f'{task}_{part}_s', median([p[part] for p in parts]))
    epoch = split['epoch']
    for part in ('rollouts', 'physics', 'actor_inference', 'replay_extend_and_normalizer',
                 'replay_sample', 'updates', 'soft_updates_actor', 'soft_updates_critic', 'eval',
                 'other'):
        bench.figure(f'{task}_share_{part}', split[part] / epoch if epoch else None)
    learner_update = (split['updates'] + split['replay_sample']) / max(1, split['updates_count'])
    bench.figure(f'{task}_learner_ms_per_update', 1e3 * learner_update)
    bench.figure(f'{task}_bare_ms_per_update',
                 1e3 * median([p['floor_updates'] for p in parts]) / updates)
    bench.ratio(task, median([e / f for e, f in zip(epochs, floors)]))
    bench.target(task, '<=', TARGET_RATIO, f'{task}: epoch time (s), ratio to the floor',
                 figure=f'{task}_epoch_s')
    bench.details[task] = {'epoch_s': epochs, 'floor_s': floors, 'floor_parts_s': parts,
                           'breakdown_s': split}


def run(quick: bool = False, tasks: Sequence[str] = TASKS) -> dict[str, Any]:
    """Run the benchmark.

    Args:
        quick: Tiny sizes (smoke test).
        tasks: Tasks to measure.

    Returns:
        The result.
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
    bench.note('shares come from one extra instrumented epoch; physics, actor_inference and '
               'replay_extend_and_normalizer are nested in rollouts and eval')
    for task in tasks:
        measure(bench, task, repeats, quick)
    return bench.result()
