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
Per-action compute of the ROS policy node: state message in -> command message out.

``python -m bench.policy_latency [--checkpoint CKPT] [--task planar_hand]``

In process, without DDS, through the node's own logic: read a ``Float64MultiArray``-shaped
state (``messages.float64_values``), ``PolicyController.set_full_state``, ``step`` on a tick
that queries the policy (normalize, actor forward, action definition, first-order hold, clip)
and the ``array('d')`` the command message takes. Also an interpolation-only tick (no query)
and, as the baseline measured in the same run, the bare actor forward under
``torch.inference_mode``. One torch thread; the variants take turns in rounds so that a noisy
machine slows all alike; figures in microseconds (p50, p99). Without ``--checkpoint`` a
checkpoint of the task's network (planar_hand: 4 x 128; untrained weights: latency does not
depend on what was learned) is made in a temporary directory and loaded with ``Policy.load``,
as the node does.
"""

from __future__ import annotations

import argparse
import array
import json
import os
from pathlib import Path
import platform
import sys
import tempfile
from types import SimpleNamespace
from typing import Any, Sequence

import numpy as np
import torch

from bench.latency import latency_figures, latency_parser, parse_latency_args
from bench.learners import fresh_checkpoint
from bench.result import evaluate
from bench.timing import time_calls
from ddpg_manipulation.atomic import write_bytes

RESULTS = Path(__file__).resolve().parent / 'results' / 'policy_latency.json'
# Issue target (f): the node's per-action compute, p99, torch on one core.
TARGET_P99_US = 500.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """
    Parse the command line.

    :param argv: Arguments (default: ``sys.argv[1:]``).

    :returns: The parsed arguments.
    """
    parser = latency_parser(__doc__.strip().splitlines()[0], RESULTS, 10_000, 10)
    parser.add_argument('--control-rate', type=float, default=100.0,
                        help='control rate of the node in Hz (default: %(default)s)')
    return parse_latency_args(parser, argv)


def main(argv: Sequence[str] | None = None) -> int:
    """
    Measure, print one JSON line and write it to the results file.

    :param argv: Arguments (default: ``sys.argv[1:]``).

    :returns: Exit code 0.
    """
    from ddpg_manipulation.policy import Policy
    from ddpg_manipulation.ros.joint_map import JointMap
    from ddpg_manipulation.ros.messages import float64_array, float64_values
    from ddpg_manipulation.ros.policy_logic import PolicyController

    args = parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as scratch:
        checkpoint = args.checkpoint or fresh_checkpoint(args.task, scratch)
        policy = Policy.load(checkpoint)
    params = policy.params
    controller = PolicyController(policy, args.control_rate, state_timeout=1e9,
                                  goal=params.goal_state,
                                  joint_map=JointMap.from_model(params.model),
                                  base_state=params.start_state)
    generator = np.random.default_rng(0)
    start = np.asarray(params.start_state, dtype=np.float64)
    states = [SimpleNamespace(data=array.array('d', start + 0.01 * generator.standard_normal(
        start.shape))) for _ in range(64)]
    counter = {'i': 0}

    def node_tick() -> Any:
        """Do what the node does per tick: message -> state -> step -> command data."""
        message = states[counter['i'] % len(states)]
        counter['i'] += 1
        controller.set_full_state(float64_values(message.data), 0.0)
        result = controller.step(0.0)
        return float64_array(result.command)

    observation = torch.from_numpy(policy.normalize(start[None], np.asarray(
        params.goal_state)[None]))
    network = policy.network

    def torch_forward() -> Any:
        with torch.inference_mode():
            return network(observation)

    def skip_query() -> None:
        if controller.will_query:
            node_tick()  # untimed: the tick timed next only interpolates

    variants = {
        # reset() before each call (untimed) makes every timed tick a query tick.
        'node_action': (node_tick, controller.reset),
        'node_interpolation_tick': (node_tick, skip_query),
        'torch_forward': (torch_forward, None),
    }
    per_round = args.iterations // args.rounds
    for call, prepare in variants.values():  # warm-up: first calls allocate and pick kernels
        time_calls(call, 200, prepare)
    samples: dict[str, list[np.ndarray]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (call, prepare) in variants.items():
            samples[name].append(time_calls(call, per_round, prepare))
    results = {name: latency_figures(np.concatenate(parts)) for name, parts in samples.items()}
    record = {
        'bench': 'policy_latency',
        'task': policy.metadata['task'],
        'network': f'{policy.metadata["nlayers"]}x{policy.metadata["layer_width"]}',
        'state_dimension': policy.state_dimension,
        'action_dimension': policy.action_dimension,
        'control_rate_hz': args.control_rate,
        'substeps_per_action': controller.substeps,
        'threads': 1,
        'iterations': per_round * args.rounds,
        'unit': 'us',
        'p50_us': results['node_action']['p50'],
        'p99_us': results['node_action']['p99'],
        **results,
        'baseline': 'torch_forward',
        'ratio_p50_to_baseline': round(results['node_action']['p50']
                                       / results['torch_forward']['p50'], 2),
        'ratio_p99_to_baseline': round(results['node_action']['p99']
                                       / results['torch_forward']['p99'], 2),
        'tick_budget_us': round(1e6 / args.control_rate, 1),
        'torch': torch.__version__,
        'python': platform.python_version(),
        'machine': platform.machine(),
        'cpu_count': os.cpu_count(),
    }
    p99 = results['node_action']['p99']
    record['targets'] = [{
        'key': 'p99_us', 'op': '<=', 'value': TARGET_P99_US, 'measured': p99,
        'passed': evaluate('<=', p99, TARGET_P99_US), 'is_ratio': False,
        'label': 'policy node per-action p99 (us), torch, 1 thread',
    }]
    line = json.dumps(record)
    print(line)
    sys.stdout.flush()
    write_bytes(Path(args.output), (line + '\n').encode())
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
