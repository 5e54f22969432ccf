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
Planner speed: nodes/s and time to reach ``planner.termination_distance``.

Per task and seed, one search from the nominal start to the nominal goal
(``planner.search.plan``). Every node is one action step of one extension, so a node costs
``substeps`` physics steps; as the baseline, measured around each search, raw
``mujoco.rollout`` runs batches of ``planner.extensions`` states for one action step, and the
ratio compares the planner's physics steps/s with it (informational: the planner also selects
nodes, samples actions and updates rewards and its Pareto front).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from bench.learners import make_params, TASKS
from bench.machine import torch_threads
from bench.raw_physics import full_physics_states, RawRollout
from bench.result import Bench
from bench.timing import median, median_or_none, timed
from ddpg_manipulation.sim.actions import first_order_hold
from ddpg_manipulation.sim.plant import MujocoPlant

NAME = 'planner_speed'
# Issue target: a planar_hand search reaches the termination distance within 2 s.
TARGET_SECONDS = {'planar_hand': 2.0}
QUICK = {'planner.max_main_nodes': 100, 'planner.steps_per_goal': 3,
         'planner.num_sub_goals': 1, 'planner.extensions': 4, 'model.nthread': 1}


def raw_steps_per_s(plant: MujocoPlant, batch: int, calls: int) -> float:
    """
    Physics steps/s of raw one-action-step rollouts of ``batch`` states.

    :param plant: The plant (model, thread count, action space, samplers).
    :param batch: States per call (the planner's extensions per step).
    :param calls: Timed calls.

    :returns: Physics steps per second.
    """
    generator = torch.Generator().manual_seed(0)
    states = plant.sample_start_states(batch, generator)
    normalized = 2 * torch.rand(batch, plant.action_dimension, generator=generator) - 1
    start_end = plant.actions.start_end_actions(
        states[:, plant.actuated_pos], plant.actions.relative_actions(normalized))
    controls = first_order_hold(start_end[:, None].double().numpy(), plant.substeps)
    initial = full_physics_states(plant.model, states.double().numpy())
    raw = RawRollout(plant.model, plant.nthread)
    raw(initial, controls)
    seconds = timed(lambda: [raw(initial, controls) for _ in range(calls)])
    raw.close()
    return batch * plant.substeps * calls / seconds


def run(quick: bool = False, tasks: Sequence[str] = TASKS,
        seeds: Sequence[int] = (0, 1, 2)) -> dict[str, Any]:
    """
    Run the benchmark.

    :param quick: Tiny searches, one seed (smoke test).
    :param tasks: Tasks.
    :param seeds: Seeds per task.

    :returns: The result (figures empty, with a note, if the planner is not available).
    """
    if quick:
        seeds = tuple(seeds)[:1]
    bench = Bench(NAME, quick)
    bench.config = {'tasks': list(tasks), 'seeds': list(seeds),
                    'quick_overrides': QUICK if quick else {}}
    try:
        from ddpg_manipulation.planner.search import plan
    except ImportError as error:
        bench.note(f'skipped: the planner is not available ({error})')
        return bench.result()
    calls = 20 if quick else 200
    for task in tasks:
        runs = []
        for seed in seeds:
            params = make_params(task, {'seed': seed, **(QUICK if quick else {})})
            plant = MujocoPlant(params)
            with torch_threads(params.learner_threads):
                before = raw_steps_per_s(plant, params.planner_extensions, calls)
                graph, result = plan(params, plant)
                after = raw_steps_per_s(plant, params.planner_extensions, calls)
            plant.close()
            added = result.nodes - graph.searches
            rate = added / result.seconds if result.seconds > 0 else None
            raw = (before + after) / 2
            runs.append({
                'seed': seed, 'nodes': result.nodes, 'steps': result.steps,
                'seconds': result.seconds, 'reached': all(result.reached),
                'best_relative_distance': result.best_relative_distance, 'full': result.full,
                'nodes_per_s': rate, 'raw_steps_per_s': raw,
                'physics_ratio': rate * plant.substeps / raw if rate else None,
            })
        bench.figure(f'{task}_nodes_per_s', median([r['nodes_per_s'] for r in runs]))
        bench.figure(f'{task}_time_to_termination_s',
                     median_or_none([r['seconds'] if r['reached'] else None for r in runs]))
        bench.figure(f'{task}_reached_runs', sum(r['reached'] for r in runs))
        bench.figure(f'{task}_runs', len(runs))
        bench.figure(f'{task}_median_best_relative_distance',
                     median([r['best_relative_distance'] for r in runs]))
        bench.figure(f'{task}_raw_steps_per_s', median([r['raw_steps_per_s'] for r in runs]))
        bench.ratio(f'{task}_physics_vs_raw', median([r['physics_ratio'] for r in runs]))
        if task in TARGET_SECONDS:
            bench.target(f'{task}_time_to_termination_s', '<=', TARGET_SECONDS[task],
                         f'{task}: median seconds of a search to the termination distance',
                         missing_fails=True)
        for r in runs:
            if not r['reached']:
                bench.note(f'{task} seed {r["seed"]}: termination distance not reached (best '
                           f'relative distance {r["best_relative_distance"]:.3f}, '
                           f'{"graph full" if r["full"] else "budget spent"})')
        bench.details[task] = runs
    bench.note('physics_vs_raw: planner physics steps/s (nodes x substeps / search time) over '
               'raw mujoco.rollout steps/s at the same batch (informational, no target)')
    return bench.result()
