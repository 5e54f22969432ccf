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
Update throughput: the learner's updates/s vs a bare PyTorch DDPG update.

The subject is the learner's updates as its cycle runs them,
``train_batches(batches, batch_size, discount)`` (the task's ``learner.batches`` per call):
replay sampling (with HER relabelling at ``her_probability`` 0.8, and without at 0.0),
normalization, rewards, the critic and actor steps. The baseline is
:class:`bench.bare_ddpg.BareDDPG`: the plain CleanRL-style loop on pre-made random tensors with the
same network sizes, batch and fused Adam. Both use the reference's 4 x 256 networks at batch
256 (``REFERENCE_NETWORK``), whatever width the task's YAML chose. Soft target updates are
excluded from both. Measured at 1 and 2 torch threads. Ratio = learner updates/s / bare
updates/s.
"""

from __future__ import annotations

from typing import Any

from bench.bare_ddpg import bare_for
from bench.learners import make_learner, make_params, REFERENCE_NETWORK
from bench.machine import torch_threads
from bench.result import Bench
from bench.timing import median, paired, timed

NAME = 'update_throughput'
TARGET_RATIO = 0.9


def measure(bench: Bench, task: str, threads: int, her: float, updates: int, repeats: int,
            quick: bool) -> None:
    """
    Measure one thread count and HER probability, and record the figures.

    :param bench: Where to record.
    :param task: Task whose state and action sizes set the network sizes.
    :param threads: Torch intra-op threads.
    :param her: HER probability.
    :param updates: Updates per timed repeat.
    :param repeats: Paired repeats.
    :param quick: Tiny buffer.
    """
    overrides: dict[str, Any] = {
        **REFERENCE_NETWORK, 'learner.her_probability': her, 'learner.use_planner': False,
        'learner.rollouts': 4 if quick else 16, 'learner.replay_capacity': 100,
    }
    if quick:
        overrides.update({'learner.trajectory_length': 5, 'learner.nlayers': 2,
                          'learner.layer_width': 32, 'model.nthread': 1})
    params = make_params(task, overrides)
    learner = make_learner(params)
    with torch_threads(threads):
        for _ in range(4):  # real transitions; what they hold does not change the cost
            learner.policy_rollout()
    learner.plant.close()
    buffer = learner.replay_buffer
    batch, discount = params.learner_batch_size, params.learner_discount
    bare = bare_for(params)
    bare_default = bare_for(params, fused=False)

    per_cycle = max(1, min(params.learner_batches, updates))
    cycles = updates // per_cycle
    updates = cycles * per_cycle

    def subject() -> None:
        for _ in range(cycles):
            learner.train_batches(per_cycle, batch, discount)

    def sampling() -> None:
        for _ in range(cycles):
            buffer.sample_batches(per_cycle, batch)

    with torch_threads(threads):
        timing = paired(lambda: bare.updates(updates), subject, repeats)
        sample_s = median([timed(sampling) for _ in range(repeats)])
        adam = paired(lambda: bare.updates(updates), lambda: bare_default.updates(updates),
                      max(1, repeats // 2))
    key = f'threads{threads}_her{her:g}'
    bench.figure(f'{key}_learner_updates_per_s', updates / timing.subject_median)
    bench.figure(f'{key}_bare_updates_per_s', updates / timing.baseline_median)
    bench.figure(f'{key}_overhead_ms_per_update',
                 1e3 * (timing.subject_median - timing.baseline_median) / updates)
    bench.figure(f'{key}_replay_sample_ms', 1e3 * sample_s / updates)
    bench.ratio(key, timing.speed_ratio)
    bench.ratio(f'{key}_default_adam_vs_fused', adam.speed_ratio)
    bench.details[key] = {'learner_s': timing.subject, 'bare_s': timing.baseline,
                          'updates': updates}
    bench.target(key, '>=', TARGET_RATIO,
                 f'learner updates/s, {threads} thread(s), HER {her:g}',
                 figure=f'{key}_learner_updates_per_s')


def run(quick: bool = False, task: str = 'planar_hand') -> dict[str, Any]:
    """
    Run the benchmark.

    :param quick: Tiny sizes (smoke test).
    :param task: Task whose state and action sizes (and updates per cycle) the learner takes.

    :returns: The result.
    """
    updates = 5 if quick else 200
    repeats = 2 if quick else 5
    bench = Bench(NAME, quick)
    params = make_params(task, REFERENCE_NETWORK)
    bench.config = {
        'task': task, 'updates_per_repeat': updates, 'repeats': repeats,
        'batch_size': params.learner_batch_size,
        'network': '2x32' if quick else f'{params.learner_nlayers}x{params.learner_layer_width}',
        'optimizer': 'Adam(fused=True) in both', 'threads': [1] if quick else [1, 2],
        'her_probability': [0.8, 0.0], 'updates_per_call': params.learner_batches,
    }
    bench.note('soft target updates excluded from both (the learner runs them once per cycle, '
               'outside train_batches)')
    bench.note('default_adam_vs_fused: bare loop with torch default Adam / with fused Adam, '
               'for context (> 1 means the default is faster)')
    # Two threads on tiny networks only measure OpenMP hand-over: the smoke test uses one.
    for threads in (1,) if quick else (1, 2):
        for her in (0.8, 0.0):
            measure(bench, task, threads, her, updates, repeats, quick)
    return bench.result()
