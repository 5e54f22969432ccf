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
Rollout throughput: physics steps/s of ``Learner.policy_rollout`` vs raw ``mujoco.rollout``.

The subject is ``Learner.policy_rollout`` with ``learner.rollouts = n``: one batched actor
forward and one MuJoCo call per action step, plus the replay buffer and normalizer updates.
The baseline repeats the same physics (same model, same thread count, the same initial states
and the controls the policy applied) in ONE ``mujoco.rollout.Rollout`` call of n states x
(trajectory_length * substeps) steps. Ratio = policy steps/s / raw steps/s. The actor has the
reference's 4 x 256 layers (``REFERENCE_NETWORK``), whatever width the task's YAML chose.
"""

from __future__ import annotations

from typing import Any, Sequence

from bench.learners import make_learner, make_params, REFERENCE_NETWORK, TASKS
from bench.machine import torch_threads
from bench.raw_physics import raw_replay, transitions_trajectory
from bench.result import Bench
from bench.timing import paired

NAME = 'rollout_throughput'
TARGET_ENVS = 64
TARGET_RATIO = 0.6


def measure(bench: Bench, task: str, envs: int, repeats: int, quick: bool) -> None:
    """
    Measure one task at one environment count and record its figures.

    :param bench: Where to record.
    :param task: Task name.
    :param envs: Environments rolled out as one batch.
    :param repeats: Paired repeats.
    :param quick: Tiny trajectories.
    """
    overrides: dict[str, Any] = {
        **REFERENCE_NETWORK, 'learner.rollouts': envs, 'learner.use_planner': False,
        # The buffer only has to take the rollouts; a small ring avoids a large allocation.
        'learner.replay_capacity': 8 * envs,
    }
    if quick:
        overrides['learner.trajectory_length'] = 3
    params = make_params(task, overrides)
    learner = make_learner(params)
    plant = learner.plant
    with torch_threads(params.learner_threads):
        data = learner.policy_rollout()  # warm-up, and the physics the baseline repeats
        states, relative = transitions_trajectory(data, envs)
        raw, initial, controls = raw_replay(plant, states, relative)
        timing = paired(lambda: raw(initial, controls), learner.policy_rollout, repeats)
    raw.close()
    plant.close()
    length = params.learner_trajectory_length
    steps = envs * length * plant.substeps
    key = f'{task}_{envs}'
    bench.figure(f'{key}_policy_steps_per_s', steps / timing.subject_median)
    bench.figure(f'{key}_raw_steps_per_s', steps / timing.baseline_median)
    bench.figure(f'{key}_overhead_ms_per_action_step',
                 1e3 * (timing.subject_median - timing.baseline_median) / length)
    bench.ratio(key, timing.speed_ratio)
    bench.details[key] = {'policy_s': timing.subject, 'raw_s': timing.baseline,
                          'physics_steps': steps, 'rollout_threads': plant.nthread}


def run(quick: bool = False, tasks: Sequence[str] = TASKS) -> dict[str, Any]:
    """
    Run the benchmark.

    :param quick: Tiny sizes (smoke test).
    :param tasks: Tasks to measure.

    :returns: The result.
    """
    envs = (1, 4) if quick else (1, 16, TARGET_ENVS, 256)
    repeats = 2 if quick else 5
    bench = Bench(NAME, quick)
    params = make_params(tasks[0], REFERENCE_NETWORK)
    bench.config = {
        'tasks': list(tasks), 'envs': list(envs), 'repeats': repeats,
        'trajectory_length': 3 if quick else 'task default (box_push 75, planar_hand 80)',
        'substeps': 'action.time_step / model timestep (40 on the bundled tasks)',
        'torch_threads': 'learner.threads (0 = usable cores)',
        'rollout_threads': 'model.nthread (0 = usable cores)',
        'network': f'{params.learner_nlayers}x{params.learner_layer_width}',
    }
    bench.note('raw baseline: the same initial states and the controls the policy applied, '
               'all environments and steps in one mujoco.rollout call with the same nthread')
    bench.note(f'learner.replay_capacity lowered to 8 * envs trajectories (default '
               f'{params.learner_replay_capacity}) to keep memory small; extend cost is the same')
    for task in tasks:
        for count in envs:
            measure(bench, task, count, repeats, quick)
        if TARGET_ENVS in envs:
            bench.target(f'{task}_{TARGET_ENVS}', '>=', TARGET_RATIO,
                         f'{task}: policy rollout physics steps/s at {TARGET_ENVS} envs',
                         figure=f'{task}_{TARGET_ENVS}_policy_steps_per_s')
    return bench.result()
