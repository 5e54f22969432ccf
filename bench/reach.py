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
Reach sanity task: epochs and wall time until ``box_reach`` evaluates at success >= 0.95.

``box_reach`` at its default settings (plain DDPG with HER, no demonstrations), seeded, for at
most 20 epochs; training stops at the first evaluation (100 episodes) with a success rate of at
least 0.95. Prints the per-epoch success curve as it goes.
"""

from __future__ import annotations

import time
from typing import Any

from bench.learners import make_learner, make_params
from bench.machine import torch_threads
from bench.result import Bench
from bench.timing import median

NAME = 'reach'
TASK = 'box_reach'
SUCCESS_RATE = 0.95
MAX_EPOCHS = 20
QUICK = {
    'learner.cycles': 2, 'learner.batches': 2, 'learner.batch_size': 32, 'learner.evals': 4,
    'learner.nlayers': 2, 'learner.layer_width': 32, 'learner.trajectory_length': 5,
    'learner.replay_capacity': 20, 'learner.threads': 1, 'model.nthread': 1,
}


def run(quick: bool = False, seed: int = 0, epochs: int = MAX_EPOCHS) -> dict[str, Any]:
    """
    Run the benchmark.

    :param quick: Tiny sizes, 2 epochs (smoke test).
    :param seed: Seed.
    :param epochs: Most epochs to train.

    :returns: The result.
    """
    epochs = 2 if quick else epochs
    bench = Bench(NAME, quick)
    params = make_params(TASK, {'seed': seed, **(QUICK if quick else {})})
    bench.config = {'task': TASK, 'seed': seed, 'max_epochs': epochs,
                    'success_rate': SUCCESS_RATE, 'quick_overrides': QUICK if quick else {}}
    learner = make_learner(params)
    curve: list[dict[str, Any]] = []
    started = time.perf_counter()

    def progress(metrics: dict[str, Any]) -> None:
        seconds = time.perf_counter() - started
        curve.append({'epoch': metrics['epoch'], 'success_rate': metrics['success_rate'],
                      'relative_distance': metrics['relative_distance'], 'seconds': seconds,
                      'epoch_s': metrics['epoch_time']})
        print(f'reach: epoch {metrics["epoch"]:2d}  success {metrics["success_rate"]:.2f}  '
              f'rel. distance {metrics["relative_distance"]:.3f}  {seconds:7.1f} s',
              flush=True)
        if metrics['success_rate'] >= SUCCESS_RATE:
            learner.stop_event.set()

    learner.progress = progress
    with torch_threads(params.learner_threads):
        learner.train(epochs)
    learner.plant.close()
    hit = next((p for p in curve if p['success_rate'] >= SUCCESS_RATE), None)
    bench.figure('epochs_to_success', hit['epoch'] if hit else None)
    bench.figure('seconds_to_success', hit['seconds'] if hit else None)
    bench.figure('best_success_rate', max((p['success_rate'] for p in curve), default=0.0))
    bench.figure('epochs_run', len(curve))
    bench.figure('median_epoch_s', median([p['epoch_s'] for p in curve]))
    bench.target('epochs_to_success', '<=', epochs,
                 f'{TASK}: epochs to success >= {SUCCESS_RATE} (seed {seed})', missing_fails=True)
    if hit is None:
        bench.note(f'not reached: best success rate {bench.figures["best_success_rate"]:.2f} in '
                   f'{len(curve)} epochs')
    bench.details['curve'] = curve
    return bench.result()
