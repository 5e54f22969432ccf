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
Time to the first evaluation success rate >= 0.9 (100 episodes, ``Learner.eval_agent``).

Per task and seed: build the demonstration graph (``planner.search.demonstration_graph``, when
the planner is there), then train epoch after epoch, timestamping every epoch through the
learner's progress callback, until an evaluation reaches the success rate or the run's wall time
cap is spent (the cap counts planning too). A run that does not get there is reported as not
reached, never as a number; the median over seeds counts it as slower than any reached run.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Sequence

from bench.learners import make_learner, make_params, QUICK_TRAINING, TASKS
from bench.machine import torch_threads
from bench.result import Bench
from bench.timing import median, median_or_none
from ddpg_manipulation.config import ParameterContainer

NAME = 'time_to_success'
SUCCESS_RATE = 0.9
# Issue targets: median wall time (planning included) to the success rate, per task.
TARGET_MINUTES = {'planar_hand': 3.0, 'box_push': 6.0}
QUICK = QUICK_TRAINING


def demonstration_graph(params: ParameterContainer) -> tuple[Any, float, str]:
    """
    Build the demonstration graph of a task, if the planner is available.

    :param params: Task parameters.

    :returns: The graph (None if unavailable), the seconds spent, and a note.
    """
    try:
        from ddpg_manipulation.planner.search import demonstration_graph as build
    except ImportError as error:
        return None, 0.0, f'planner unavailable ({error}): trained without demonstrations'
    started = time.perf_counter()
    graph = build(params, show_progress=False)
    return graph, time.perf_counter() - started, 'with demonstrations from demonstration_graph'


def one_run(task: str, seed: int, cap_s: float, quick: bool) -> dict[str, Any]:
    """
    Train one seed of a task until the success rate or the cap.

    :param task: Task name.
    :param seed: Seed.
    :param cap_s: Wall time cap of the run (planning included).
    :param quick: Tiny sizes.

    :returns: The run: reached, seconds (planning + training), epochs, per-epoch curve.
    """
    overrides: dict[str, Any] = {'seed': seed, **(QUICK if quick else {})}
    params = make_params(task, overrides)
    started = time.perf_counter()
    graph, planning_s, note = None, 0.0, 'task trains without demonstrations'
    if params.learner_use_planner:
        graph, planning_s, note = demonstration_graph(params)
        if graph is None:
            params = params.with_overrides({'learner.use_planner': False})
    learner = make_learner(params, graph)
    curve: list[dict[str, Any]] = []
    training_started = time.perf_counter()

    def progress(metrics: dict[str, Any]) -> None:
        now = time.perf_counter()
        curve.append({'epoch': metrics['epoch'], 'success_rate': metrics['success_rate'],
                      'relative_distance': metrics['relative_distance'],
                      'demo_share': metrics['demo_share'],
                      'seconds': now - started, 'epoch_s': metrics['epoch_time']})
        if metrics['success_rate'] >= SUCCESS_RATE or now - started >= cap_s:
            learner.stop_event.set()

    learner.progress = progress
    timer = threading.Timer(max(0.0, cap_s - (training_started - started)),
                            learner.stop_event.set)
    timer.daemon = True
    timer.start()
    try:
        with torch_threads(params.learner_threads):
            if training_started - started < cap_s:
                learner.train(num_epochs=10**6)
    finally:
        timer.cancel()
        learner.plant.close()
    hit = next((point for point in curve
                if point['success_rate'] >= SUCCESS_RATE and point['seconds'] <= cap_s), None)
    return {
        'task': task, 'seed': seed, 'reached': hit is not None,
        'seconds': hit['seconds'] if hit else None,
        'epochs': hit['epoch'] if hit else None,
        'planning_s': planning_s, 'demonstrations': graph is not None, 'note': note,
        'best_success_rate': max((p['success_rate'] for p in curve), default=0.0),
        'epochs_run': len(curve), 'curve': curve,
    }


def run(quick: bool = False, tasks: Sequence[str] = TASKS, seeds: Sequence[int] = (0, 1, 2),
        cap_minutes: float = 15.0) -> dict[str, Any]:
    """
    Run the benchmark.

    :param quick: Tiny sizes, one seed and a 2 s cap (smoke test).
    :param tasks: Tasks.
    :param seeds: Seeds per task.
    :param cap_minutes: Wall time cap per run, planning included.

    :returns: The result.
    """
    if quick:
        seeds, cap_minutes = tuple(seeds)[:1], 2 / 60
    bench = Bench(NAME, quick)
    bench.config = {'tasks': list(tasks), 'seeds': list(seeds), 'cap_minutes': cap_minutes,
                    'success_rate': SUCCESS_RATE, 'quick_overrides': QUICK if quick else {}}
    bench.note('wall time includes building the demonstration graph; a run that does not reach '
               'the success rate within the cap is reported as not reached (figure null)')
    runs = []
    for task in tasks:
        task_runs = [one_run(task, seed, cap_minutes * 60, quick) for seed in seeds]
        runs += task_runs
        bench.figure(f'{task}_median_s', median_or_none([r['seconds'] for r in task_runs]))
        bench.figure(f'{task}_median_epochs', median_or_none([r['epochs'] for r in task_runs]))
        bench.figure(f'{task}_reached_runs', sum(r['reached'] for r in task_runs))
        bench.figure(f'{task}_runs', len(task_runs))
        bench.figure(f'{task}_median_planning_s', median([r['planning_s'] for r in task_runs]))
        bench.figure(f'{task}_median_best_success_rate',
                     median([r['best_success_rate'] for r in task_runs]))
        if task in TARGET_MINUTES:
            bench.target(f'{task}_median_s', '<=', TARGET_MINUTES[task] * 60,
                         f'{task}: median seconds to success >= {SUCCESS_RATE} '
                         f'(seeds {", ".join(map(str, seeds))})', missing_fails=True)
        for note in sorted({r['note'] for r in task_runs}):
            bench.note(f'{task}: {note}')
        for r in task_runs:
            if not r['reached']:
                bench.note(f'{task} seed {r["seed"]}: not reached within {cap_minutes * 60:.0f} s '
                           f'(best success rate {r["best_success_rate"]:.2f} after '
                           f'{r["epochs_run"]} epochs)')
    bench.details['runs'] = runs
    return bench.result()
