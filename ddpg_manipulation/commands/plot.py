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
``ddpg-manipulation plot``: learning curves of one or more training runs, overlaid.

A run is the directory ``train`` writes (``OUTPUT/TASK/TIMESTAMP``, holding ``history.json`` and,
once finished, ``summary.json``), a checkpoint directory inside it, or its ``history.json``.
``--compare RUN_A RUN_B`` overlays two runs and names each by what tells them apart (with or
without demonstrations, seed, task), e.g. to show what the planner's demonstrations buy.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any, Sequence

from ddpg_manipulation.config import ConfigError

HISTORY = 'history.json'
SUMMARY = 'summary.json'


def configure(parser: argparse.ArgumentParser) -> None:
    """
    Declare the arguments of ``plot``.

    :param parser: The subcommand's parser.
    """
    parser.add_argument('runs', nargs='*', metavar='RUN',
                        help='run directory (or its history.json); several are overlaid')
    parser.add_argument('--compare', nargs=2, metavar=('RUN_A', 'RUN_B'), default=None,
                        help='overlay two runs, labelled by what differs between them (e.g. '
                             'with vs without demonstrations)')
    parser.add_argument('--output', default='learning_curves.png',
                        help='PNG to write (default: %(default)s)')
    parser.add_argument('--title', default=None, help='figure title (default: from the runs)')


@dataclass
class Run:
    """
    A training run's history and summary.

    :param path: The run directory.
    :param history: One dict per epoch (``epoch``, ``success_rate``, ``relative_distance``, ...).
    :param summary: The run's ``summary.json`` (empty while the run is still going).
    """

    path: Path
    history: list[dict[str, Any]]
    summary: dict[str, Any]

    @property
    def task(self) -> str:
        """Task name (from the summary, else the run directory's parent)."""
        return str(self.summary.get('task') or self.path.parent.name)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise ConfigError(f'{path}: cannot read ({error.strerror or error})') from error
    except ValueError as error:
        raise ConfigError(f'{path}: not valid JSON ({error})') from error


def read_run(location: str | Path) -> Run:
    """
    Read a run's history (and summary, if the run has finished).

    :param location: Run directory, a checkpoint directory inside it, or its ``history.json``.

    :returns: The run.
    """
    path = Path(location).expanduser()
    if path.is_file() and path.suffix == '.json':
        history_file = path
    else:
        # A checkpoint directory (RUN/checkpoints/epoch_N) finds its run two levels up.
        candidates = [path, path.parent, path.parent.parent]
        history_file = next((p / HISTORY for p in candidates if (p / HISTORY).is_file()), None)
        if history_file is None:
            raise ConfigError(f'{path}: no {HISTORY} here (expected a run directory written by '
                              '`ddpg-manipulation train`, or its history.json)')
    history = _read_json(history_file)
    if not isinstance(history, list) or not all(isinstance(h, dict) and 'epoch' in h
                                                for h in history):
        raise ConfigError(f'{history_file}: expected a list of per-epoch objects with "epoch"')
    if not history:
        raise ConfigError(f'{history_file}: no epoch finished yet')
    summary_file = history_file.parent / SUMMARY
    summary = _read_json(summary_file) if summary_file.is_file() else {}
    return Run(history_file.parent, history, summary if isinstance(summary, dict) else {})


def _traits(run: Run) -> dict[str, str]:
    traits = {'task': run.task}
    demonstrations = run.summary.get('demonstrations')
    if demonstrations is not None:
        traits['demonstrations'] = ('with demonstrations' if demonstrations
                                    else 'without demonstrations')
    if run.summary.get('seed') is not None:
        traits['seed'] = f'seed {run.summary["seed"]}'
    return traits


def labels(runs: Sequence[Run]) -> list[str]:
    """
    Name runs by what tells them apart: task, demonstrations, seed; else the run directory.

    :param runs: The runs.

    :returns: One distinct label per run.
    """
    traits = [_traits(run) for run in runs]
    keys = [key for key in ('task', 'demonstrations', 'seed')
            if len({t.get(key, '?') for t in traits}) > 1]
    if len(runs) == 1:
        keys = list(traits[0])
    names = [', '.join(t[k] for k in keys if k in t) for t in traits]
    if len(set(names)) < len(names) or not all(names):
        names = [f'{name} ({run.path.name})' if name else run.path.name
                 for name, run in zip(names, runs)]
    return names


def run(args: argparse.Namespace) -> int:
    """
    Draw the learning curves and print a JSON line with each run's final and best figures.

    :param args: Parsed arguments.

    :returns: Exit code 0.
    """
    from ddpg_manipulation.cli import UsageError
    from ddpg_manipulation.plotting import plot_learning_curves

    if args.compare and args.runs:
        raise UsageError('give runs either as RUN ... or as --compare RUN_A RUN_B, not both')
    locations = args.compare or args.runs
    if not locations:
        raise UsageError('give at least one RUN (or --compare RUN_A RUN_B)')
    if not args.output.lower().endswith('.png'):
        raise UsageError(f'--output {args.output}: expected a file name ending in .png')
    runs = [read_run(location) for location in locations]
    names = labels(runs)
    if args.compare:
        names = [f'{name} (best success {max(h.get("success_rate", 0.0) for h in r.history):.2f})'
                 for name, r in zip(names, runs)]
    title = args.title
    if title is None:
        title = (' vs '.join(labels(runs)) if args.compare
                 else f'{runs[0].task} {runs[0].path.name}' if len(runs) == 1
                 else 'learning curves')
    path = plot_learning_curves({name: r.history for name, r in zip(names, runs)}, args.output,
                                title=title)
    print(f'wrote {path}')
    print(json.dumps({'output': str(path), 'runs': [
        {'label': name, 'run': str(r.path), 'epochs': len(r.history),
         'final_success_rate': r.history[-1].get('success_rate'),
         'best_success_rate': max(h.get('success_rate', 0.0) for h in r.history),
         'final_relative_distance': r.history[-1].get('relative_distance')}
        for name, r in zip(labels(runs), runs)]}))
    return 0
