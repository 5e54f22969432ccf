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
Seed sweep: what a user gets from ``ddpg-manipulation train`` on any seed.

Per task and seed it runs exactly the user's command (``ddpg-manipulation train --task T --seed
S``, the bundled configuration and its default epochs, ``--threads 1``), runs side by side
(``--jobs``, one thread each: epochs do not depend on the load or the thread count; wall times
do, so the idle figures come from ``--jobs 1``), and reports:

* the first epoch whose evaluation reaches 0.9 success and the wall time until then, planning
  included;
* the success of the run's result (the checkpoint the run directory resolves to, chosen by
  validation) on a fresh test evaluation of 100 episodes with a seed no part of training saw;
* the lowest evaluation and the largest drop after first reaching 0.9 (in the summary's
  worst, a seed that never reaches 0.9 counts as 0.0: it did not hold the bar);

with a summary row (median, worst) per task and a figure of all seeds' success curves (median
and spread). ``--set`` varies the configuration for studies, ``--tag`` keeps their results
apart. ``--keep DIR --reuse`` continues a sweep that stopped: a finished run under
``DIR/<task>_<seed>`` whose parameters equal the ones the sweep would train with is tested
again instead of trained again; the run remembers how many runs trained beside it, so that its
wall times are labelled for what they are.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
from typing import Any, Sequence

import numpy as np

from bench import RESULTS_DIR
from bench.learners import QUICK_TRAINING, TASKS
from bench.result import Bench, write_result
from bench.timing import median_or_none, planning_seconds

NAME = 'seeds'
SUCCESS_RATE = 0.9
FLOOR = 0.75  # no evaluation after first reaching SUCCESS_RATE may fall below this
TEST_EPISODES = 100
TEST_SEED_OFFSET = 50_000  # test episodes: seed + 50_000 (+ 10_000 inside evaluate)
SWEEP_RECORD = 'seeds_sweep.json'  # in a run directory: how the sweep trained it
TARGET_FIRST_EPOCH = {'box_push': 14, 'planar_hand': 12}
TARGET_SECONDS = {'box_push': 240.0, 'planar_hand': 150.0}
QUICK = {**QUICK_TRAINING, 'learner.validation_evals': 4}


def command_line(task: str, seed: int, output: Path, sets: Sequence[str] = (),
                 epochs: int | None = None) -> list[str]:
    """
    Build the user's ``train`` command of one run of the sweep.

    :param task: Task name.
    :param seed: Seed.
    :param output: Output root of the run.
    :param sets: ``KEY=VALUE`` overrides (``--set``).
    :param epochs: Epochs (default: the task's).

    :returns: The arguments of ``ddpg-manipulation``.
    """
    argv = ['train', '--task', task, '--seed', str(seed), '--threads', '1', '--quiet',
            '--output', str(output)]
    for assignment in sets:
        argv += ['--set', assignment]
    if epochs is not None:
        argv += ['--epochs', str(epochs)]
    return argv


def finished_run(argv: Sequence[str], output: Path) -> Path | None:
    """
    Find a finished run of exactly this command under ``output`` (for ``--reuse``).

    :param argv: The run's ``train`` command (see :func:`command_line`).
    :param output: Its output root.

    :returns: The run directory, or None where there is none, it was interrupted, or its
        parameters differ from those the command would train with.
    """
    from ddpg_manipulation.cli import build_parser
    from ddpg_manipulation.commands.train import load_params
    from ddpg_manipulation.config import ParameterContainer
    from ddpg_manipulation.policy import Policy

    summaries = sorted(output.rglob('summary.json')) if output.is_dir() else []
    if len(summaries) != 1:
        return None
    summary = json.loads(summaries[0].read_text())
    if summary.get('interrupted') or summary.get('epochs') != summary.get('epochs_requested'):
        return None
    args = build_parser().parse_args(list(argv))
    expected = load_params(args)
    epochs = args.epochs if args.epochs is not None else expected.learner_epochs
    if summary['epochs'] != epochs:
        return None
    trained = Policy.load(summaries[0].parent).metadata['params']
    if ParameterContainer(expected.task_file, trained).to_dict() != expected.to_dict():
        return None
    return summaries[0].parent


def one_run(task: str, seed: int, output: Path, sets: Sequence[str] = (),
            epochs: int | None = None, reuse: bool = False,
            side_by_side: int = 1) -> dict[str, Any]:
    """
    Train one seed with the user's command, then test the run's result on fresh episodes.

    :param task: Task name.
    :param seed: Seed.
    :param output: Output root of the run.
    :param sets: ``KEY=VALUE`` overrides (``--set``).
    :param epochs: Epochs (default: the task's).
    :param reuse: Test a finished run of the same command under ``output`` instead of training.
    :param side_by_side: How many runs train at the same time as this one, itself included
        (recorded in the run directory when it trains).

    :returns: The run's figures and its curve; ``side_by_side`` is the count the run trained
        with, None for a reused run that has no record of it.
    """
    from ddpg_manipulation.atomic import write_json
    from ddpg_manipulation.cli import main
    from ddpg_manipulation.config import ParameterContainer
    from ddpg_manipulation.evaluation import evaluate
    from ddpg_manipulation.policy import Policy

    argv = command_line(task, seed, output, sets, epochs)
    run_dir = finished_run(argv, output) if reuse else None
    if run_dir is None:
        before = set(output.rglob('summary.json'))
        code = main(argv)
        if code != 0:
            raise RuntimeError(f'{task} seed {seed}: train exited {code}')
        (summary_path,) = set(output.rglob('summary.json')) - before
        run_dir = summary_path.parent
        write_json(run_dir / SWEEP_RECORD, {'side_by_side': side_by_side})
    record = run_dir / SWEEP_RECORD
    trained_beside = json.loads(record.read_text())['side_by_side'] if record.is_file() else None
    summary = json.loads((run_dir / 'summary.json').read_text())
    history = json.loads((run_dir / 'history.json').read_text())
    policy = Policy.load(run_dir)
    params = ParameterContainer(task, policy.metadata['params'])  # with the run's --set
    test = evaluate(policy, params, TEST_EPISODES, seed + TEST_SEED_OFFSET)
    return {'task': task, 'seed': seed, **curve_figures(history, summary),
            'result_epoch': summary['result_epoch'],
            'result_checkpoint': Path(policy.metadata['path']).name,
            'test_success_rate': test.success_rate,
            'test_relative_distance': test.relative_distance,
            'side_by_side': trained_beside, 'curve': [h['success_rate'] for h in history]}


def curve_figures(history: Sequence[dict[str, Any]], summary: dict[str, Any]) -> dict[str, Any]:
    """
    Read a run's learning curve: first success, time to it, what happened after it.

    :param history: The run's per-epoch metrics.
    :param summary: Its ``summary.json`` (planning seconds).

    :returns: ``first_epoch``, ``seconds`` (planning + epochs until then), ``lowest_after``,
        ``largest_drop`` (peak to later trough after the first success), ``final``.
    """
    success = [h['success_rate'] for h in history]
    first = next((i for i, s in enumerate(success) if s >= SUCCESS_RATE), None)
    planning = planning_seconds(summary)
    figures: dict[str, Any] = {'first_epoch': None, 'seconds': None, 'lowest_after': None,
                               'largest_drop': None, 'final': success[-1] if success else None,
                               'planning_s': planning, 'epochs': len(success)}
    if first is not None:
        after = success[first:]
        peaks = np.maximum.accumulate(after)
        figures.update(first_epoch=first + 1, lowest_after=min(after),
                       largest_drop=float(np.max(peaks - after)),
                       seconds=planning + sum(h['epoch_time'] for h in history[:first + 1]))
    return figures


def _one(job: tuple[str, int, Path, Sequence[str], int | None, bool, int]) -> dict[str, Any]:
    task, seed, output, sets, epochs, reuse, side_by_side = job
    command = [sys.executable, '-m', 'bench.seeds', '--one', task, str(seed), '--output',
               str(output), '--side-by-side', str(side_by_side)] + (['--reuse'] if reuse else [])
    for assignment in sets:
        command += ['--set', assignment]
    if epochs is not None:
        command += ['--epochs', str(epochs)]
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f'{task} seed {seed} failed:\n{done.stderr[-3000:]}')
    return json.loads(done.stdout.strip().splitlines()[-1])


def _worst(values: Sequence[Any], larger_is_worse: bool) -> Any:
    if any(v is None for v in values):
        return None  # not reached somewhere: worse than any number
    return max(values) if larger_is_worse else min(values)


def summarize(bench: Bench, task: str, runs: Sequence[dict[str, Any]]) -> None:
    """
    Add a task's summary figures (median, worst) and targets.

    :param bench: The benchmark.
    :param task: Task name.
    :param runs: Its runs.
    """
    def column(key: str) -> list[Any]:
        return [r[key] for r in runs]

    bench.figure(f'{task}_runs', len(runs))
    bench.figure(f'{task}_reached_runs', sum(r['first_epoch'] is not None for r in runs))
    bench.figure(f'{task}_median_first_epoch', median_or_none(column('first_epoch')))
    bench.figure(f'{task}_worst_first_epoch', _worst(column('first_epoch'), True))
    bench.figure(f'{task}_median_s', median_or_none(column('seconds')))
    bench.figure(f'{task}_worst_s', _worst(column('seconds'), True))
    bench.figure(f'{task}_median_test_success', float(np.median(column('test_success_rate'))))
    bench.figure(f'{task}_worst_test_success', min(column('test_success_rate')))
    # A seed that never reaches the bar has not held it: it counts as 0.0 here, so that the
    # floor fails on it, and the note says that this 0.0 is no evaluation that was measured.
    lows = [r['lowest_after'] if r['lowest_after'] is not None else 0.0 for r in runs]
    bench.figure(f'{task}_worst_lowest_after', min(lows))
    missed = [r['seed'] for r in runs if r['first_epoch'] is None]
    if missed:
        bench.note(f'{task}: {len(missed)} of {len(runs)} runs never reached {SUCCESS_RATE} '
                   f'(seeds {", ".join(map(str, missed))}); their lowest evaluation after it '
                   'counts as 0.0 in the worst, which is no measured evaluation')
    bench.figure(f'{task}_worst_largest_drop', _worst(column('largest_drop'), True))
    bench.target(f'{task}_worst_test_success', '>=', SUCCESS_RATE,
                 f'{task}: test success of the result checkpoint, every seed', missing_fails=True)
    bench.target(f'{task}_worst_lowest_after', '>=', FLOOR,
                 f'{task}: lowest evaluation after first reaching {SUCCESS_RATE}, every seed',
                 missing_fails=True)
    if task in TARGET_FIRST_EPOCH:
        bench.target(f'{task}_median_first_epoch', '<=', TARGET_FIRST_EPOCH[task],
                     f'{task}: median first epoch >= {SUCCESS_RATE}', missing_fails=True)
    if task in TARGET_SECONDS:
        bench.target(f'{task}_median_s', '<=', TARGET_SECONDS[task],
                     f'{task}: median seconds to {SUCCESS_RATE}, planning included (idle '
                     'machine: --jobs 1)', missing_fails=True)


def plot(runs: Sequence[dict[str, Any]], tasks: Sequence[str], path: Path, title: str) -> Path:
    """
    Draw every seed's success curve per task, with their median and spread.

    :param runs: All runs.
    :param tasks: Tasks, one panel each.
    :param path: PNG to write.
    :param title: Figure title.

    :returns: The PNG path.
    """
    from ddpg_manipulation.plotting import new_figure, save_figure_atomically

    figure = new_figure(figsize=(6.0 * len(tasks), 3.8), layout='constrained')
    axes = np.atleast_1d(figure.subplots(1, len(tasks)))
    for axis, task in zip(axes, tasks):
        curves = [r['curve'] for r in runs if r['task'] == task]
        length = max(len(c) for c in curves)
        table = np.full((len(curves), length), np.nan)
        for row, curve in zip(table, curves):
            row[:len(curve)] = curve
        epochs = np.arange(1, length + 1)
        for curve in curves:
            axis.plot(np.arange(1, len(curve) + 1), curve, color='0.7', lw=0.8)
        axis.fill_between(epochs, np.nanmin(table, 0), np.nanmax(table, 0), color='C0',
                          alpha=0.15, label='min to max')
        axis.fill_between(epochs, *np.nanpercentile(table, [25, 75], axis=0), color='C0',
                          alpha=0.3, label='25 to 75 %')
        axis.plot(epochs, np.nanmedian(table, 0), color='C0', lw=2, label='median')
        axis.axhline(SUCCESS_RATE, color='C3', ls='--', lw=1)
        axis.set(title=f'{task}: {len(curves)} seeds', xlabel='epoch',
                 ylabel='evaluation success rate', ylim=(0.0, 1.02))
        axis.legend(loc='lower right', fontsize=8)
    figure.suptitle(title)
    return save_figure_atomically(figure, path)


def run(quick: bool = False, tasks: Sequence[str] = TASKS, seeds: Sequence[int] = range(10),
        jobs: int = 0, sets: Sequence[str] = (), tag: str = '', epochs: int | None = None,
        figure_dir: Path = RESULTS_DIR, keep: Path | None = None,
        reuse: bool = False) -> dict[str, Any]:
    """
    Run the sweep.

    :param quick: Tiny sizes, two seeds of one epoch (smoke test).
    :param tasks: Tasks.
    :param seeds: Seeds.
    :param jobs: Runs side by side (0 = the usable cores).
    :param sets: ``KEY=VALUE`` overrides for every run.
    :param tag: Suffix of the result's name (``seeds_<tag>``) for studies.
    :param epochs: Epochs (default: each task's).
    :param figure_dir: Where the curves' PNG goes.
    :param keep: Keep the runs' output directories under this directory (``<task>_<seed>``);
        by default they are removed.
    :param reuse: With ``keep``: test finished runs of the same command there instead of
        training them again.

    :returns: The result.
    """
    from ddpg_manipulation.sim.plant import usable_cores

    if quick:
        seeds, epochs = tuple(seeds)[:2], 1
        sets = [*sets, *(f'{k}={v}' for k, v in QUICK.items())]
    jobs = jobs or usable_cores()
    bench = Bench(f'{NAME}_{tag}' if tag else NAME, quick)
    bench.config = {'tasks': list(tasks), 'seeds': list(seeds), 'jobs': jobs,
                    'sets': list(sets), 'epochs': epochs, 'test_episodes': TEST_EPISODES,
                    'test_seed_offset': TEST_SEED_OFFSET}
    side_by_side = min(jobs, len(tasks) * len(seeds))
    with tempfile.TemporaryDirectory(prefix='seeds-') as scratch:
        root = Path(keep) if keep is not None else Path(scratch)
        work = [(task, seed, root / f'{task}_{seed}', tuple(sets), epochs,
                 reuse and keep is not None, side_by_side) for task in tasks for seed in seeds]
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            runs = list(pool.map(_one, work))
    note_shared_training(bench, runs)
    for task in tasks:
        summarize(bench, task, [r for r in runs if r['task'] == task])
    figure = Path(figure_dir) / f'{bench.name}.png'
    bench.details['figure'] = str(plot(runs, tasks, figure, 'evaluation success, every seed'))
    bench.details['runs'] = runs
    return bench.result()


def note_shared_training(bench: Bench, runs: Sequence[dict[str, Any]]) -> None:
    """
    Say in the result when its wall times are not idle figures.

    A run's times come from its training, which a reused run had in an earlier sweep: what
    counts is how many runs trained beside it then, not this command's ``--jobs``.

    :param bench: The result to note on.
    :param runs: The runs' figures (``side_by_side`` from :func:`one_run`).
    """
    shared = [r for r in runs if r['side_by_side'] != 1]
    if not shared:
        return
    unknown = sum(r['side_by_side'] is None for r in shared)
    how = (f' ({unknown} of them reused from a sweep that did not record it)' if unknown
           else '')
    bench.note(f'{len(shared)} of {len(runs)} runs trained beside other runs{how}: epochs and '
               'success rates are exact, wall times are not idle figures (train with --jobs 1 '
               'for those)')


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """
    Parse the command line.

    :param argv: Arguments (default: ``sys.argv[1:]``).

    :returns: The arguments.
    """
    parser = argparse.ArgumentParser(prog='python -m bench.seeds',
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument('--tasks', nargs='+', default=list(TASKS))
    parser.add_argument('--seeds', nargs='+', type=int, default=list(range(10)))
    parser.add_argument('--jobs', type=int, default=0,
                        help='runs side by side (default: the usable cores)')
    parser.add_argument('--set', dest='sets', action='append', default=[], metavar='KEY=VALUE')
    parser.add_argument('--epochs', type=int, default=None)
    parser.add_argument('--tag', default='')
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--out', default=None, help='results directory')
    parser.add_argument('--keep', default=None, metavar='DIR',
                        help='keep the runs under DIR/<task>_<seed> (e.g. for pictures)')
    parser.add_argument('--reuse', action='store_true',
                        help='with --keep: test finished runs of the same command there '
                        'instead of training them again (continues a sweep that stopped)')
    parser.add_argument('--one', nargs=2, metavar=('TASK', 'SEED'), default=None,
                        help=argparse.SUPPRESS)
    parser.add_argument('--output', default=None, help=argparse.SUPPRESS)
    parser.add_argument('--side-by-side', type=int, default=1, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run the sweep (or, with ``--one``, one run of it) and write the result.

    :param argv: Arguments.

    :returns: Exit code.
    """
    args = parse_args(argv)
    if args.reuse and not (args.keep or args.one):
        raise SystemExit('python -m bench.seeds: error: --reuse needs --keep DIR')
    if args.one:
        task, seed = args.one
        result = one_run(task, int(seed), Path(args.output), args.sets, args.epochs,
                         args.reuse, args.side_by_side)
        print(json.dumps(result))
        return 0
    out = Path(args.out) if args.out else RESULTS_DIR
    result = run(args.quick, args.tasks, args.seeds, args.jobs, args.sets, args.tag,
                 args.epochs, out, Path(args.keep) if args.keep else None, args.reuse)
    path = write_result(result, out)
    print(json.dumps({'figures': result['figures'], 'result': str(path)}, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
