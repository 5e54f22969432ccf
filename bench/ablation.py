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
Ablation: the same training with and without planner demonstrations.

Per task, two runs under the same seed and epoch budget: one with the demonstration graph
(``planner.search.demonstration_graph``) injected by the task's strategy, one with
``learner.use_planner`` off. Both success curves (``Learner.eval_agent``: 100 seeded episodes in
one batch per epoch) are reported, with the first epoch and the wall time (planning included) at
which each reaches the success rate of the targets. Run it as
``python -m bench.ablation [--epochs N] [--tasks box_push planar_hand] [--set key=value]``; it
writes ``bench/results/ablation.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
import time
from typing import Any, Mapping, Sequence

from bench import RESULTS_DIR
from bench.learners import make_learner, make_params, QUICK_TRAINING, TASKS
from bench.machine import torch_threads
from bench.result import Bench, write_result
from ddpg_manipulation.config import parse_set

NAME = 'ablation'
SUCCESS_RATE = 0.9
# Epochs within which the run with demonstrations must reach SUCCESS_RATE.
TARGET_EPOCHS = {'box_push': 30, 'planar_hand': 20}
QUICK = QUICK_TRAINING


def train(task: str, seed: int, epochs: int | None, demonstrations: bool,
          overrides: Mapping[str, Any]) -> dict[str, Any]:
    """
    Train one run and record its curve.

    :param task: Task name.
    :param seed: Seed.
    :param epochs: Epochs (None: the task's ``learner.epochs``).
    :param demonstrations: Inject planner demonstrations (else ``learner.use_planner`` off).
    :param overrides: Further parameter overrides.

    :returns: The run: curve, epochs and seconds to the success rate, planning time, graph size.
    """
    import warnings

    params = make_params(task, {**overrides, 'seed': seed,
                                'learner.use_planner': demonstrations})
    epochs = params.learner_epochs if epochs is None else epochs
    started = time.perf_counter()
    graph, planning_s, nodes, missed = None, 0.0, None, None
    if demonstrations:
        from ddpg_manipulation.planner.search import demonstration_graph

        with warnings.catch_warnings():
            warnings.simplefilter('ignore', RuntimeWarning)  # a full graph is reported below
            graph = demonstration_graph(params)
        planning_s = time.perf_counter() - started
        nodes = graph.num_nodes
    learner = make_learner(params, graph)
    curve: list[dict[str, Any]] = []

    def progress(metrics: dict[str, Any]) -> None:
        curve.append({'epoch': metrics['epoch'], 'success_rate': metrics['success_rate'],
                      'relative_distance': metrics['relative_distance'],
                      'demo_share': metrics['demo_share'],
                      'seconds': time.perf_counter() - started})
        print(f'  {task} {"demos   " if demonstrations else "no demos"} epoch '
              f'{metrics["epoch"]:3d}  success {metrics["success_rate"]:.2f}  rel. distance '
              f'{metrics["relative_distance"]:.3f}  demo share {metrics["demo_share"]:.2f}',
              file=sys.stderr, flush=True)

    learner.progress = progress
    try:
        with torch_threads(params.learner_threads):
            learner.train(num_epochs=epochs)
    finally:
        learner.plant.close()
    if graph is not None:
        missed = graph.demonstrations.missed / max(1, graph.demonstrations.given)
    hit = next((point for point in curve if point['success_rate'] >= SUCCESS_RATE), None)
    return {
        'demonstrations': demonstrations,
        'epochs': epochs,
        'epochs_to_success': hit['epoch'] if hit else None,
        'seconds_to_success': hit['seconds'] if hit else None,
        'planning_s': planning_s,
        'graph_nodes': nodes,
        'demonstrations_missed_share': missed,
        'best_success_rate': max((p['success_rate'] for p in curve), default=0.0),
        'final_success_rate': curve[-1]['success_rate'] if curve else 0.0,
        'mean_success_rate': sum(p['success_rate'] for p in curve) / max(1, len(curve)),
        'seconds': time.perf_counter() - started,
        'curve': curve,
    }


def run(quick: bool = False, tasks: Sequence[str] = TASKS, epochs: int | None = None,
        seed: int = 0, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """
    Run the ablation.

    :param quick: Tiny sizes and one epoch (smoke test).
    :param tasks: Tasks.
    :param epochs: Epochs per run (None: each task's ``learner.epochs``).
    :param seed: The seed of both runs of a task.
    :param overrides: Parameter overrides applied to every run.

    :returns: The result.
    """
    overrides = dict(overrides or {})
    if quick:
        overrides, epochs = {**QUICK, **overrides}, 1
    bench = Bench(NAME, quick)
    bench.config = {'tasks': list(tasks), 'epochs': epochs, 'seed': seed,
                    'success_rate': SUCCESS_RATE, 'overrides': overrides}
    for task in tasks:
        runs = {label: train(task, seed, epochs, label == 'demos', overrides)
                for label in ('demos', 'no_demos')}
        for label, r in runs.items():
            bench.figure(f'{task}_{label}_epochs_to_success', r['epochs_to_success'])
            bench.figure(f'{task}_{label}_seconds_to_success', r['seconds_to_success'])
            bench.figure(f'{task}_{label}_best_success_rate', r['best_success_rate'])
            bench.figure(f'{task}_{label}_mean_success_rate', r['mean_success_rate'])
        bench.figure(f'{task}_planning_s', runs['demos']['planning_s'])
        baseline = runs['no_demos']['mean_success_rate']
        if baseline > 0:
            bench.ratio(f'{task}_mean_success_demos_vs_none',
                        runs['demos']['mean_success_rate'] / baseline)
        if task in TARGET_EPOCHS and not quick:
            bench.target(f'{task}_demos_epochs_to_success', '<=', TARGET_EPOCHS[task],
                         f'{task}: epochs to success rate {SUCCESS_RATE} with demonstrations',
                         missing_fails=True)
        for label, r in runs.items():
            if r['epochs_to_success'] is None:
                bench.note(f'{task} {label}: success rate {SUCCESS_RATE} not reached in '
                           f'{r["epochs"]} epochs (best {r["best_success_rate"]:.2f})')
        bench.details[task] = {**runs, 'run': {'started': bench.started_at, 'seed': seed,
                                               'epochs': epochs, 'overrides': overrides}}
    bench.note('same seed and epoch budget per task; seconds include building the '
               'demonstration graph; mean_success_rate averages the whole curve')
    return bench.result()


def merge_previous(result: dict[str, Any], directory: Path) -> dict[str, Any]:
    """
    Keep the tasks of an earlier full run that this run did not repeat.

    Tasks can then run in separate processes (``--tasks box_push`` and ``--tasks planar_hand``
    side by side) and still end up in one ``ablation.json``; each task's details keep the
    config and start time of the run that produced them.

    :param result: This run's result.
    :param directory: Where the previous result lies.

    :returns: The result with the other tasks' figures, targets, notes and details added.
    """
    path = directory / f'{NAME}.json'
    try:
        previous = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return result
    if previous.get('quick') or not isinstance(previous.get('details'), dict):
        return result
    mine = set(result['details'])
    for task, details in previous['details'].items():
        if task in mine or not isinstance(details, dict):
            continue
        result['details'][task] = details
        prefix = f'{task}_'
        for section in ('figures', 'ratios'):
            for key, value in previous.get(section, {}).items():
                if key.startswith(prefix):
                    result[section][key] = value
        result['targets'] += [t for t in previous.get('targets', [])
                              if str(t.get('key', '')).startswith(prefix)]
        result['notes'] += [n for n in previous.get('notes', []) if n.startswith(f'{task} ')]
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run from the command line and write ``bench/results/ablation.json``.

    :param argv: Arguments (default: ``sys.argv[1:]``).

    :returns: Exit code 0.
    """
    parser = argparse.ArgumentParser(prog='python -m bench.ablation', description=__doc__.strip())
    parser.add_argument('--epochs', type=int, default=None,
                        help="epochs per run (default: each task's learner.epochs)")
    parser.add_argument('--tasks', nargs='+', default=list(TASKS), help='tasks to run')
    parser.add_argument('--seed', type=int, default=0, help='seed of every run')
    parser.add_argument('--set', dest='sets', action='append', default=[], metavar='KEY=VALUE',
                        help='override a parameter in every run (repeatable)')
    parser.add_argument('--quick', action='store_true', help='tiny smoke-test sizes')
    parser.add_argument('--out', default=None, help='results directory (default bench/results)')
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error(f'--epochs {args.epochs}: expected an integer >= 1')
    overrides = dict(parse_set(assignment) for assignment in args.sets)
    result = run(args.quick, args.tasks, args.epochs, args.seed, overrides)
    if not args.quick:
        result = merge_previous(result, Path(args.out) if args.out else RESULTS_DIR)
    path = write_result(result, args.out)
    summary = {task: {label: {'epochs_to_success': runs['epochs_to_success'],
                              'seconds_to_success': runs['seconds_to_success'],
                              'success_curve': [p['success_rate'] for p in runs['curve']]}
                      for label, runs in result['details'][task].items() if label != 'run'}
               for task in result['details']}
    print(json.dumps({'result': str(path), 'tasks': summary}, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
