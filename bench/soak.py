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
Soak: the policy node's logic at 1 kHz for minutes, and training for 50 epochs.

Part one drives ``ros.policy_logic.PolicyController`` (the policy node without ROS) with the
default network (4x256, planar_hand) at a 1 kHz control rate: every tick takes a fresh state,
computes a command (a policy query every 400 ticks, first-order-hold interpolation in between)
and the benchmark records each tick's compute time and, per minute, its p50/p99 and the RSS.
The figures to watch: RSS growth and the p99 drift from the first to the last minute.

Part two is the training soak of ``bench.memory`` (a fresh child process; RSS after every
epoch of a 50-epoch planar_hand run, the replay buffer full after epoch 10): RSS at epochs 5,
25 and 50 and the growth once the buffer is full.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any, Sequence

import numpy as np

from bench import memory
from bench.learners import fresh_checkpoint
from bench.machine import rss_bytes, torch_threads
from bench.result import Bench, write_result

NAME = 'soak'
TASK = 'planar_hand'
RATE_HZ = 1000.0
MB = 1024 * 1024


def policy_soak(minutes: float, window_s: float = 60.0) -> dict[str, Any]:
    """
    Run the policy controller at 1 kHz and summarize each window.

    :param minutes: Duration.
    :param window_s: Length of one summary window (a minute by default).

    :returns: Per-window p50/p99 of the tick compute time (all ticks, and ticks that queried the
        policy) in microseconds, RSS in MB, and the tick count.
    """
    from ddpg_manipulation.policy import Policy
    from ddpg_manipulation.ros.policy_logic import PolicyController, TaskContext

    with tempfile.TemporaryDirectory() as directory:
        policy = Policy.load(fresh_checkpoint(TASK, directory))
    context = TaskContext.of(policy)
    controller = PolicyController(policy, RATE_HZ, 0.5, goal=context.goal,
                                  joint_map=context.joint_map, base_state=context.start_state)
    controller.reset()
    rng = np.random.default_rng(0)
    start = np.asarray(context.start_state)
    windows: list[dict[str, Any]] = []
    period = 1.0 / RATE_HZ
    began = time.perf_counter()
    next_tick = began
    deadline = began + minutes * 60.0
    while time.perf_counter() < deadline:
        ticks: list[float] = []
        queries: list[float] = []
        window_end = min(deadline, time.perf_counter() + window_s)
        late = 0
        while time.perf_counter() < window_end:
            now = time.perf_counter()
            if now < next_tick:
                time.sleep(max(0.0, next_tick - now - 2e-4))
                while time.perf_counter() < next_tick:
                    pass  # the last fraction of a millisecond: sleep is too coarse for 1 kHz
            elif now - next_tick > period:
                late += 1  # a tick started more than one period late (the machine was busy)
            next_tick += period
            tick_started = time.perf_counter()
            controller.set_full_state(start + 0.01 * rng.standard_normal(start.shape),
                                      tick_started - began)
            result = controller.step(tick_started - began)
            spent = (time.perf_counter() - tick_started) * 1e6
            ticks.append(spent)
            if result.queried:
                queries.append(spent)
        windows.append({
            'minute': len(windows) + 1, 'ticks': len(ticks), 'late_ticks': late,
            'tick_p50_us': float(np.percentile(ticks, 50)) if ticks else None,
            'tick_p99_us': float(np.percentile(ticks, 99)) if ticks else None,
            'query_p50_us': float(np.percentile(queries, 50)) if queries else None,
            'query_p99_us': float(np.percentile(queries, 99)) if queries else None,
            'rss_mb': rss_bytes() / MB,
        })
    return {'windows': windows}


def run(quick: bool = False, minutes: float = 10.0, epochs: int = memory.EPOCHS,
        cycles: int = 0, capacity: int = 0) -> dict[str, Any]:
    """
    Run both soaks and collect the figures.

    :param quick: Tiny sizes (seconds, a few epochs) for the smoke test.
    :param minutes: Duration of the policy soak.
    :param epochs: Epochs of the training soak.
    :param cycles: Cycles per training epoch (0: the task's 50).
    :param capacity: Replay capacity in trajectories (0: bench.memory's default).

    :returns: The benchmark result.
    """
    bench = Bench(NAME, quick)
    minutes = 0.05 if quick else minutes
    window = 1.0 if quick else 60.0
    bench.config = {'task': TASK, 'control_rate_hz': RATE_HZ, 'minutes': minutes,
                    'window_s': window, 'training_epochs': 3 if quick else epochs}
    with torch_threads(1):
        soak = policy_soak(minutes, window)
    windows = soak['windows']
    first, last = windows[0], windows[-1]
    bench.figure('policy_rss_first_mb', first['rss_mb'])
    bench.figure('policy_rss_last_mb', last['rss_mb'])
    bench.figure('query_p99_first_minute_us', first['query_p99_us'])
    bench.figure('query_p99_last_minute_us', last['query_p99_us'])
    bench.figure('tick_p99_first_minute_us', first['tick_p99_us'])
    bench.figure('tick_p99_last_minute_us', last['tick_p99_us'])
    bench.figure('late_ticks', sum(w['late_ticks'] for w in windows))
    bench.figure('ticks', sum(w['ticks'] for w in windows))
    if first['rss_mb']:
        bench.ratio('policy_rss_growth', last['rss_mb'] / first['rss_mb'] - 1.0)
    if first['query_p99_us'] and last['query_p99_us']:
        bench.ratio('query_p99_drift', last['query_p99_us'] / first['query_p99_us'])
    bench.target('policy_rss_growth', '<', 0.05, 'policy soak RSS growth, last/first minute')
    bench.details['policy_windows'] = windows

    training = memory.run(quick=quick, epochs=3 if quick else epochs, cycles=cycles,
                          capacity=capacity)
    per_epoch = {e['epoch']: e['rss_mb'] for e in training['details']['rss_mb_per_epoch']}
    for epoch in (5, 25, 50):
        bench.figure(f'training_rss_epoch_{epoch}_mb', per_epoch.get(epoch))
    for key in ('growth_after_full', 'peak_rss_gb', 'full_at_epoch'):
        bench.figure(f'training_{key}', training['figures'].get(key))
    bench.details['training'] = training
    bench.note('policy soak: one process, 1 torch thread, a fresh (untrained) default network: '
               'latency does not depend on the weights. Tick = set state + controller.step.')
    return bench.result()


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run the soak and write ``bench/results/soak.json``.

    :param argv: Arguments.

    :returns: Exit code.
    """
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='seconds, not minutes')
    parser.add_argument('--minutes', type=float, default=10.0,
                        help='policy soak duration (default: %(default)s)')
    parser.add_argument('--epochs', type=int, default=memory.EPOCHS,
                        help='training soak epochs (default: %(default)s)')
    parser.add_argument('--cycles', type=int, default=0,
                        help="cycles per training epoch (default: the task's 50)")
    parser.add_argument('--capacity', type=int, default=0,
                        help="replay capacity in trajectories (default: bench.memory's)")
    args = parser.parse_args(argv)
    result = run(args.quick, args.minutes, args.epochs, args.cycles, args.capacity)
    path = write_result(result)
    print(f'{NAME}: {result["figures"]} -> {path}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
