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
Memory: peak RSS of a 50-epoch planar_hand run and its growth once the replay buffer is full.

The run happens in a fresh child process (``python -m bench.memory --child``), so that nothing
else this process did counts. The child records VmRSS (``/proc/self/status``) after every epoch
through the learner's progress callback, and the peak (VmHWM, or ``ru_maxrss``) at the end.
To fill the buffer within the run, ``learner.replay_capacity`` is lowered (1000 trajectories =
10 epochs of planar_hand; the default of 10000 would take 100 epochs); the buffer's memory is
allocated when its first transitions arrive and touched as it fills, so after it is full the
RSS must stay flat. Growth = RSS after the last epoch / RSS after the first full epoch - 1.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import subprocess
import sys
from typing import Any, Sequence

import numpy as np

from bench.learners import make_learner, make_params
from bench.machine import peak_rss_bytes, rss_bytes, torch_threads
from bench.result import Bench

NAME = 'memory'
TASK = 'planar_hand'
EPOCHS = 50
CAPACITY = 1000
TARGET_GROWTH = 0.05
TARGET_PEAK_GB = 1.5
QUICK = {
    'learner.cycles': 2, 'learner.batches': 2, 'learner.batch_size': 32, 'learner.evals': 4,
    'learner.nlayers': 2, 'learner.layer_width': 32, 'learner.trajectory_length': 5,
    'learner.threads': 1, 'model.nthread': 1,
}
MB = 1024 * 1024


def child(epochs: int, capacity: int, quick: bool, cycles: int = 0) -> dict[str, Any]:
    """
    Train and record the RSS after every epoch (runs in the child process).

    :param epochs: Epochs.
    :param capacity: Replay capacity in trajectories.
    :param quick: Tiny sizes.
    :param cycles: Cycles per epoch (0: the task's).

    :returns: RSS before training, per epoch, and the peak, in bytes; the buffer's capacity.
    """
    overrides: dict[str, Any] = {'learner.use_planner': False, 'learner.threads': 1,
                                 'learner.replay_capacity': capacity, **(QUICK if quick else {})}
    if cycles:
        overrides['learner.cycles'] = cycles
    params = make_params(TASK, overrides)
    before = rss_bytes()
    learner = make_learner(params)
    built = rss_bytes()
    epochs_rss: list[dict[str, Any]] = []

    def progress(metrics: dict[str, Any]) -> None:
        epochs_rss.append({'epoch': metrics['epoch'], 'rss': rss_bytes(),
                           'replay_size': metrics['replay_size'],
                           'epoch_s': metrics['epoch_time']})

    learner.progress = progress
    with torch_threads(params.learner_threads):
        learner.train(epochs)
    return {'rss_imports': before, 'rss_built': built, 'epochs': epochs_rss,
            'peak': peak_rss_bytes(), 'capacity': learner.replay_buffer.capacity}


def run(quick: bool = False, epochs: int = EPOCHS, cycles: int = 0, capacity: int = 0
        ) -> dict[str, Any]:
    """
    Run the benchmark (the training runs in a child process).

    :param quick: Tiny sizes, 3 epochs (smoke test).
    :param epochs: Epochs of the run.
    :param cycles: Cycles per epoch (0: the task's 50).
    :param capacity: Replay capacity in trajectories (0: the benchmark's default).

    :returns: The result.
    """
    capacity = 2 if quick else (capacity or CAPACITY)
    epochs = 3 if quick else epochs
    bench = Bench(NAME, quick)
    bench.config = {'task': TASK, 'epochs': epochs, 'replay_capacity_trajectories': capacity,
                    'quick_overrides': QUICK if quick else {}}
    bench.note(f'learner.replay_capacity lowered to {capacity} trajectories (default 10000) so '
               'that the buffer is full within the run')
    bench.note('without demonstrations (learner.use_planner false): the graph is a fixed-size '
               'allocation made before training and does not grow during it')
    bench.note('one torch thread (learner.threads 1): RSS does not depend on it, and it keeps '
               'the run short on a shared machine where two OpenMP threads stall')
    command = [sys.executable, '-m', 'bench.memory', '--child', '--epochs', str(epochs),
               '--capacity', str(capacity), '--cycles', str(cycles)] + (
                   ['--quick'] if quick else [])
    if cycles:
        bench.note(f'learner.cycles set to {cycles} per epoch (default 50) to fit the run in '
                   'the time available; the buffer still fills and is then overwritten')
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(
        filter(None, [str(root), os.environ.get('PYTHONPATH', '')]))}
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f'memory child failed ({done.returncode}): {done.stderr[-2000:]}')
    record = json.loads(done.stdout.strip().splitlines()[-1])
    points = record['epochs']
    full = next((i for i, p in enumerate(points) if p['replay_size'] >= record['capacity']),
                None)
    bench.figure('peak_rss_gb', record['peak'] / 1e9)
    bench.figure('rss_built_mb', record['rss_built'] / MB)
    bench.figure('rss_final_mb', points[-1]['rss'] / MB)
    bench.figure('epochs_run', len(points))
    if full is None or full == len(points) - 1:
        bench.note('the buffer was not full before the last epoch: no growth figure')
        bench.figure('growth_after_full', None)
    else:
        at_full = points[full]['rss']
        after = np.array([p['rss'] for p in points[full:]], dtype=float)
        slope = np.polyfit(np.arange(after.shape[0]), after, 1)[0] if after.shape[0] > 1 else 0.0
        bench.figure('full_at_epoch', points[full]['epoch'])
        bench.figure('rss_at_full_mb', at_full / MB)
        bench.figure('growth_after_full', points[-1]['rss'] / at_full - 1)
        bench.figure('rss_slope_mb_per_epoch_after_full', slope / MB)
    bench.target('growth_after_full', '<', TARGET_GROWTH, 'RSS growth after the buffer is full')
    bench.target('peak_rss_gb', '<', TARGET_PEAK_GB, f'peak RSS of a {epochs}-epoch {TASK} run')
    bench.details['rss_mb_per_epoch'] = [
        {'epoch': p['epoch'], 'rss_mb': round(p['rss'] / MB, 1), 'replay_size': p['replay_size'],
         'epoch_s': round(p['epoch_s'], 2)} for p in points]
    return bench.result()


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run the child (``--child``) or the whole benchmark.

    :param argv: Arguments (default: ``sys.argv[1:]``).

    :returns: Exit code.
    """
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--child', action='store_true', help='train and print RSS as JSON')
    parser.add_argument('--epochs', type=int, default=EPOCHS)
    parser.add_argument('--capacity', type=int, default=CAPACITY)
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--cycles', type=int, default=0, help='cycles per epoch (0: task)')
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.epochs, args.capacity, args.quick, args.cycles)), flush=True)
    else:
        print(json.dumps(run(args.quick, args.epochs), indent=2))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
