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
The GPU against this machine's CPU, in one run: updates/s, epoch time, time to 0.9, latency.

Skipped (a result with a note, figures null) where torch sees no CUDA device. On a GPU machine:

* **updates/s**: the learner's ``train_batches`` at the reference's 4 x 256 networks and batch
  256 (replay sampling, HER, preprocessing, critic and actor steps), on the CPU with every core,
  on CUDA eagerly and on CUDA with the update captured as a CUDA graph (``learner.cuda_graphs``);
* **epoch time** at the reference configuration (50 cycles of 2 rollouts and 40 updates, 100
  evaluation episodes), the same three ways, after one warm-up epoch;
* **time to 0.9 success** of ``ddpg-manipulation train`` (seed 0, planning included) on CUDA
  and on the CPU;
* **policy latency**: one (state, goal) through ``Policy.act`` on the CPU and on CUDA, which
  decides where the policy node runs its network.
"""

from __future__ import annotations

import json
from pathlib import Path
import tempfile
import time
from typing import Any, Callable, Sequence

import numpy as np
import torch

from bench.learners import make_learner, make_params, REFERENCE_EPOCH, REFERENCE_NETWORK, TASKS
from bench.machine import torch_threads
from bench.result import Bench
from bench.timing import median, planning_seconds, time_calls

NAME = 'gpu'
TARGET_UPDATES_PER_S = 2000.0
TARGET_EPOCH_S = 3.0
TARGET_SECONDS_TO_SUCCESS = {'planar_hand': 60.0, 'box_push': 90.0}
SUCCESS_RATE = 0.9
# (label, device, CUDA graphs): the ways an update or an epoch is run.
WAYS = (('cpu', 'cpu', False), ('cuda', 'cuda', False), ('cuda_graphs', 'cuda', True))


def _synchronized(fn: Callable[[], Any], device: str) -> Callable[[], float]:
    def run() -> float:
        if device == 'cuda':
            torch.cuda.synchronize()
        started = time.perf_counter()
        fn()
        if device == 'cuda':
            torch.cuda.synchronize()
        return time.perf_counter() - started
    return run


def updates_per_s(task: str, device: str, graphs: bool, updates: int, repeats: int) -> float:
    """
    Measure the learner's update rate at the reference network and batch sizes.

    :param task: Task (its state and action sizes).
    :param device: ``cpu`` or ``cuda``.
    :param graphs: Capture the update as a CUDA graph.
    :param updates: Updates per repeat (in calls of the task's ``learner.batches``).
    :param repeats: Repeats; the median counts.

    :returns: Updates per second.
    """
    params = make_params(task, {**REFERENCE_NETWORK, 'learner.her_probability': 0.8,
                                'learner.use_planner': False, 'learner.rollouts': 16,
                                'learner.cuda_graphs': graphs})
    learner = make_learner(params, device=device)
    for _ in range(4):
        learner.policy_rollout()
    per_call = params.learner_batches
    calls = max(1, updates // per_call)
    batch, discount = params.learner_batch_size, params.learner_discount
    learner.train_batches(per_call, batch, discount)  # warm-up (and the capture)
    seconds = median([_synchronized(lambda: [learner.train_batches(per_call, batch, discount)
                                             for _ in range(calls)], device)()
                      for _ in range(repeats)])
    learner.plant.close()
    return calls * per_call / seconds if seconds else float('nan')


def epoch_s(task: str, device: str, graphs: bool) -> float:
    """
    Time one epoch at the reference configuration, after a warm-up epoch.

    :param task: Task.
    :param device: ``cpu`` or ``cuda``.
    :param graphs: Capture the update as a CUDA graph.

    :returns: Seconds of the second epoch.
    """
    params = make_params(task, {**REFERENCE_EPOCH, 'learner.use_planner': False,
                                'learner.validation_evals': 0, 'learner.cuda_graphs': graphs})
    learner = make_learner(params, device=device)
    learner.train(1)
    seconds = _synchronized(lambda: learner.train(1), device)()
    learner.plant.close()
    return seconds


def seconds_to_success(task: str, device: str, cap_minutes: float) -> dict[str, Any]:
    """
    Run ``ddpg-manipulation train`` (seed 0) and read when it first reached the success rate.

    :param task: Task.
    :param device: ``cpu`` or ``cuda``.
    :param cap_minutes: Epoch budget in wall minutes (the run stops at its epochs anyway).

    :returns: ``seconds`` (planning + epochs until then, None if not reached), ``epochs``.
    """
    from ddpg_manipulation.cli import main

    with tempfile.TemporaryDirectory() as output:
        if main(['train', '--task', task, '--seed', '0', '--device', device, '--quiet',
                 '--output', output]) != 0:
            raise RuntimeError(f'{task} on {device}: train failed')
        (summary_path,) = Path(output).rglob('summary.json')
        summary = json.loads(summary_path.read_text())
        history = json.loads((summary_path.parent / 'history.json').read_text())
    seconds = planning_seconds(summary)
    for metrics in history:
        seconds += metrics['epoch_time']
        if metrics['success_rate'] >= SUCCESS_RATE:
            return {'seconds': seconds if seconds <= cap_minutes * 60 else None,
                    'epochs': metrics['epoch']}
    return {'seconds': None, 'epochs': None}


def policy_latency_us(task: str, device: str, calls: int) -> tuple[float, float]:
    """
    Time single ``Policy.act`` calls (one state and goal) of an untrained checkpoint.

    :param task: Task.
    :param device: ``cpu`` or ``cuda``.
    :param calls: Timed calls.

    :returns: p50 and p99 in microseconds.
    """
    from bench.learners import fresh_checkpoint
    from ddpg_manipulation.policy import Policy

    with tempfile.TemporaryDirectory() as directory:
        policy = Policy.load(fresh_checkpoint(task, directory), device=device)
    state = policy.params.start_state
    goal = policy.params.goal_state
    states, goals = np.asarray([state], np.float32), np.asarray([goal], np.float32)
    with torch_threads(1):
        for _ in range(100):
            policy.act(states, goals)
        samples = time_calls(lambda: policy.act(states, goals), calls)
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 99))


def run(quick: bool = False, tasks: Sequence[str] = TASKS,
        cap_minutes: float | None = None) -> dict[str, Any]:
    """
    Run the benchmark, or record why it is skipped.

    :param quick: Tiny amounts (smoke test on a GPU machine).
    :param tasks: Tasks.
    :param cap_minutes: Wall time budget of each time-to-success run (default 15).

    :returns: The result.
    """
    bench = Bench(NAME, quick)
    bench.config = {'tasks': list(tasks), 'network': '4x256, batch 256 (REFERENCE_NETWORK)',
                    'epoch': REFERENCE_EPOCH, 'ways': [w[0] for w in WAYS]}
    if not torch.cuda.is_available():
        bench.note('skipped: torch sees no CUDA device on this machine')
        return bench.result()
    bench.config['gpu'] = torch.cuda.get_device_name(0)
    updates, repeats = (80, 2) if quick else (2000, 5)
    for task in tasks:
        for label, device, graphs in WAYS:
            bench.figure(f'{task}_{label}_updates_per_s',
                         updates_per_s(task, device, graphs, updates, repeats))
            if not quick:
                bench.figure(f'{task}_{label}_epoch_s', epoch_s(task, device, graphs))
        for label in ('cuda', 'cuda_graphs'):
            cpu = bench.figures[f'{task}_cpu_updates_per_s']
            bench.ratio(f'{task}_{label}_updates_vs_cpu',
                        bench.figures[f'{task}_{label}_updates_per_s'] / cpu)
        best = max(bench.figures[f'{task}_cuda_updates_per_s'],
                   bench.figures[f'{task}_cuda_graphs_updates_per_s'])
        bench.figure(f'{task}_best_cuda_updates_per_s', best)
        bench.target(f'{task}_best_cuda_updates_per_s', '>=', TARGET_UPDATES_PER_S,
                     f'{task}: DDPG updates/s on CUDA, 4 x 256, batch 256')
        if not quick:
            epochs = [bench.figures[f'{task}_{way}_epoch_s'] for way in ('cuda', 'cuda_graphs')]
            bench.figure(f'{task}_best_cuda_epoch_s', min(epochs))
            bench.target(f'{task}_best_cuda_epoch_s', '<=', TARGET_EPOCH_S,
                         f'{task}: epoch at the reference configuration on CUDA')
            for device in ('cuda', 'cpu'):
                reached = seconds_to_success(task, device, cap_minutes or 15.0)
                bench.figure(f'{task}_{device}_seconds_to_success', reached['seconds'])
                bench.figure(f'{task}_{device}_epochs_to_success', reached['epochs'])
            if task in TARGET_SECONDS_TO_SUCCESS:
                bench.target(f'{task}_cuda_seconds_to_success', '<=',
                             TARGET_SECONDS_TO_SUCCESS[task],
                             f'{task}: seconds to {SUCCESS_RATE} on CUDA (seed 0, planning '
                             'included)', missing_fails=True)
        for device in ('cpu', 'cuda'):
            p50, p99 = policy_latency_us(task, device, 200 if quick else 5000)
            bench.figure(f'{task}_{device}_policy_p50_us', p50)
            bench.figure(f'{task}_{device}_policy_p99_us', p99)
    bench.note('time to success runs the bundled configuration (train --device ...), whose '
               'learner.cuda_graphs is the default')
    return bench.result()
