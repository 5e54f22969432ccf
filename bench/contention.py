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
Contention: epoch time while a second CPU-bound process runs, vs idle in the same run.

The stressor is a child process spinning numpy matrix products with as many BLAS threads as
this process may use cores. Idle and loaded epochs alternate (idle, loaded, loaded, idle, ...)
so that drifting background load hits both; ratio = median over repeats of loaded / idle epoch
time. Each thread setting runs in its own child process (``python -m bench.contention
--child``), because OpenMP reads its wait policy once, when torch loads:

- ``default_threads``: the task's settings (``learner.threads`` and ``model.nthread`` 0: the
  usable cores, fewer while the thread governors measure that fewer update, or simulate, faster)
  and the package's default wait (a short spin, ``GOMP_SPINCOUNT=3000``, set by
  ``ddpg_manipulation/__init__.py`` unless the environment sets it);
- ``fixed_threads``: all usable cores for torch and MuJoCo, never adapted (the governors off);
- ``omp_passive``: the task's settings with ``OMP_WAIT_POLICY=PASSIVE`` (no spinning at all);
- ``one_thread``: one torch thread and one MuJoCo thread;
- ``omp_active``: the task's settings with ``OMP_WAIT_POLICY=ACTIVE`` (idle OpenMP threads
  spin), what the package's default avoids; it gets a shorter timeout.

A child stopped at its timeout reports the epochs it completed; figures come from those.
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
from typing import Any, Iterator, Sequence

from bench.learners import make_learner, make_params, REFERENCE_EPOCH, warm_up
from bench.machine import torch_threads
from bench.result import Bench, write_result
from bench.timing import median, Paired, timed
from ddpg_manipulation.sim.plant import usable_cores

NAME = 'contention'
TASK = 'box_push'
TARGET_RATIO = 2.2
STRESSOR = """
import numpy as np
a = np.random.default_rng(0).random((512, 512))
print('ready', flush=True)
while True:
    a = a @ a
    a /= np.abs(a).max()
"""
QUICK = {
    'learner.cycles': 2, 'learner.batches': 4, 'learner.evals': 4, 'learner.nlayers': 2,
    'learner.layer_width': 32, 'learner.trajectory_length': 5, 'learner.replay_capacity': 20,
}
# Variant -> (parameter overrides, environment of the child).
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    'default_threads': ({}, {}),
    'fixed_threads': ({'learner.threads': usable_cores(), 'model.nthread': usable_cores()}, {}),
    'omp_passive': ({}, {'OMP_WAIT_POLICY': 'PASSIVE'}),
    'one_thread': ({'learner.threads': 1, 'model.nthread': 1}, {}),
    'omp_active': ({}, {'OMP_WAIT_POLICY': 'ACTIVE'}),
}
# Spinning threads under contention can make an epoch take hours: cap that variant sooner.
ACTIVE_TIMEOUT_MINUTES = 10.0


@contextmanager
def stressor() -> Iterator[subprocess.Popen]:
    """
    Run a CPU-bound process on all usable cores for the duration of a block.

    :yields: The stressor process (already spinning).
    """
    threads = str(usable_cores())
    env = {**os.environ, 'OMP_NUM_THREADS': threads, 'OPENBLAS_NUM_THREADS': threads,
           'MKL_NUM_THREADS': threads}
    process = subprocess.Popen([sys.executable, '-c', STRESSOR], stdout=subprocess.PIPE,
                               env=env, text=True)
    try:
        process.stdout.readline()  # 'ready': numpy is imported and the loop starts
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def child(variant: str, repeats: int, quick: bool) -> dict[str, Any]:
    """
    Time idle and loaded epochs of one variant (runs in the child process).

    :param variant: Name in ``VARIANTS``.
    :param repeats: Paired repeats.
    :param quick: Tiny sizes.

    :returns: Idle and loaded epoch seconds, and the thread settings used.
    """
    overrides = VARIANTS[variant][0]
    params = make_params(TASK, {'learner.use_planner': False, **REFERENCE_EPOCH,
                                **(QUICK if quick else {}), **overrides})
    learner = make_learner(params)
    timing = Paired()

    threads_chosen: list[int] = []
    rollout_threads_chosen: list[int] = []

    def epoch() -> None:
        learner.train(1)
        threads_chosen.append(learner.history[-1]['threads'])
        if 'rollout_threads' in learner.history[-1]:
            rollout_threads_chosen.append(learner.history[-1]['rollout_threads'])

    def idle() -> None:
        timing.baseline.append(timed(epoch))
        print(json.dumps({'idle_epoch_s': timing.baseline[-1]}), flush=True)

    def loaded() -> None:
        with stressor():
            timing.subject.append(timed(epoch))
        print(json.dumps({'loaded_epoch_s': timing.subject[-1]}), flush=True)

    with torch_threads(params.learner_threads) as threads:
        warm_up(learner)
        print(json.dumps({'warmed_up': True}), flush=True)
        for repeat in range(repeats):
            for step in ((idle, loaded) if repeat % 2 == 0 else (loaded, idle)):
                step()
    rollout_threads = learner.plant.nthread
    governor = learner.threads.governor
    rollout_governor = learner.threads.rollout_governor
    learner.plant.close()
    return {'idle_s': timing.baseline, 'loaded_s': timing.subject, 'torch_threads': threads,
            'rollout_threads': rollout_threads,
            # The thread governors (learner.threads 0): the count most of each epoch used, in
            # the order run, and how often they switched; the rollouts' where adapted.
            'threads_at_epoch_end': threads_chosen,
            'thread_switches': governor.switches if governor is not None else 0,
            'rollout_threads_per_epoch': rollout_threads_chosen,
            'rollout_thread_switches': (rollout_governor.switches
                                        if rollout_governor is not None else 0),
            'omp_wait_policy': os.environ.get('OMP_WAIT_POLICY', 'unset'),
            'gomp_spincount': os.environ.get('GOMP_SPINCOUNT', 'unset')}


def run_child(variant: str, repeats: int, quick: bool, timeout_s: float) -> dict[str, Any]:
    """
    Run one variant in a child process with its environment.

    The child prints a JSON line after each epoch and its record at the end, so a child stopped
    at the timeout still tells what it measured.

    :param variant: Name in ``VARIANTS``.
    :param repeats: Paired repeats.
    :param quick: Tiny sizes.
    :param timeout_s: Seconds after which the child is stopped.

    :returns: The child's record; ``timed_out`` with the partial ``idle_s``/``loaded_s`` if
        stopped.
    """
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k not in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT')}
    env.update(VARIANTS[variant][1])
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(root), env.get('PYTHONPATH', '')]))
    command = [sys.executable, '-m', 'bench.contention', '--child', '--variant', variant,
               '--repeats', str(repeats)] + (['--quick'] if quick else [])
    # Its own process group: at the timeout the child and its stressor are stopped together.
    process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, _ = process.communicate()
        lines = [json.loads(line) for line in stdout.splitlines() if line.startswith('{')]
        return {'timed_out': True, 'warmed_up': any('warmed_up' in r for r in lines),
                'idle_s': [r['idle_epoch_s'] for r in lines if 'idle_epoch_s' in r],
                'loaded_s': [r['loaded_epoch_s'] for r in lines if 'loaded_epoch_s' in r]}
    finally:
        if process.poll() is None:  # the parent itself was interrupted
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process.returncode != 0:
        raise RuntimeError(f'contention child {variant} failed ({process.returncode}): '
                           f'{stderr[-2000:]}')
    return {**json.loads(stdout.strip().splitlines()[-1]), 'timed_out': False}


def _seconds(values: list[float]) -> str:
    return ', '.join(f'{v:.1f} s' for v in values) or 'none'


def run(quick: bool = False, repeats: int | None = None, timeout_minutes: float = 25.0,
        variants: Sequence[str] | None = None) -> dict[str, Any]:
    """
    Run the benchmark.

    :param quick: Tiny epochs (smoke test).
    :param repeats: Paired repeats (default 1 quick, 2 full).
    :param timeout_minutes: Wall time allowed per variant.
    :param variants: Variants to run (default all; ``default_threads`` always runs first).

    :returns: The result.
    """
    repeats = repeats or (1 if quick else 2)
    # Each variant is a child process that imports torch: the smoke test runs only one.
    if quick:
        variants = ('default_threads',)
    else:
        chosen = set(variants or VARIANTS)
        variants = tuple(v for v in VARIANTS if v == 'default_threads' or v in chosen)
    bench = Bench(NAME, quick)
    bench.config = {'task': TASK, 'repeats': repeats, 'stressor_threads': usable_cores(),
                    'variants': {k: {'overrides': VARIANTS[k][0], 'env': VARIANTS[k][1]}
                                 for k in variants},
                    'timeout_minutes': timeout_minutes, 'quick_overrides': QUICK if quick else {}}
    bench.note('without demonstrations (learner.use_planner false); the stressor is a numpy '
               'matmul loop with one BLAS thread per usable core; each variant runs in its own '
               'child process (OpenMP reads OMP_WAIT_POLICY once, at load)')
    for variant in variants:
        minutes = (min(timeout_minutes, ACTIVE_TIMEOUT_MINUTES) if variant == 'omp_active'
                   else timeout_minutes)
        record = run_child(variant, repeats, quick, minutes * 60)
        bench.details[variant] = record
        pairs = min(len(record['idle_s']), len(record['loaded_s']))
        timing = Paired(record['idle_s'][:pairs], record['loaded_s'][:pairs])
        if record['timed_out']:
            bench.note(f'{variant}: stopped after {minutes:g} min (warm-up '
                       f'{"done" if record["warmed_up"] else "unfinished"}; idle epochs '
                       f'{_seconds(record["idle_s"])}, loaded epochs '
                       f'{_seconds(record["loaded_s"])}); figures from complete pairs only')
        bench.figure(f'{variant}_idle_epoch_s', median(record['idle_s']))
        bench.figure(f'{variant}_loaded_epoch_s', median(record['loaded_s']))
        bench.ratio(variant, timing.time_ratio if pairs else None)
    bench.target('default_threads', '<=', TARGET_RATIO,
                 f'{TASK} epoch time (s) under a CPU-bound neighbour, ratio to idle',
                 figure='default_threads_loaded_epoch_s', missing_fails=True)
    idle = bench.figures.get('default_threads_idle_epoch_s')
    for variant in variants[1:]:
        loaded = bench.figures.get(f'{variant}_loaded_epoch_s')
        bench.ratio(f'{variant}_loaded_vs_default_idle',
                    loaded / idle if loaded and idle else None)
    return bench.result()


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run one variant (``--child``) or the whole benchmark.

    :param argv: Arguments (default: ``sys.argv[1:]``).

    :returns: Exit code.
    """
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--child', action='store_true', help='measure one variant, print JSON')
    parser.add_argument('--variant', choices=sorted(VARIANTS), default='default_threads')
    parser.add_argument('--repeats', type=int, default=None)
    parser.add_argument('--variants', nargs='+', choices=sorted(VARIANTS), default=None,
                        help='variants to compare with default_threads (default: all)')
    parser.add_argument('--quick', action='store_true')
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.variant, args.repeats or 1, args.quick)), flush=True)
    else:
        result = run(args.quick, args.repeats, variants=args.variants)
        print(json.dumps(result, indent=2))
        print(f'wrote {write_result(result)}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
