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
Per-action latency of the exported ONNX policy (onnxruntime) against PyTorch, one thread.

``python -m bench.export_latency [--checkpoint CKPT] [--task planar_hand]``

One state and one goal per call, as the ROS policy node runs. Measured both end to end
(``Policy.act``: checks, normalization, network, clip) and for the bare network call
(``session.run`` against the torch module under ``inference_mode``). The variants take turns in
rounds so that a noisy machine slows all of them alike; figures are microseconds, p50 and p99,
and the baseline is PyTorch measured in the same run. Without ``--checkpoint`` a checkpoint of
the task's network (planar_hand: 4 x 128) with untrained weights and a filled normalizer is
made in a temporary directory: latency does not depend on what the weights learned.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import platform
import sys
import tempfile
from typing import Any, Sequence

import numpy as np
import torch

from bench.latency import latency_figures, latency_parser, parse_latency_args
from bench.learners import fresh_checkpoint
from bench.timing import time_calls
from ddpg_manipulation.atomic import write_bytes

RESULTS = Path(__file__).resolve().parent / 'results' / 'export_latency.json'


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """
    Parse the command line.

    :param argv: Arguments (default: ``sys.argv[1:]``).

    :returns: The parsed arguments.
    """
    parser = latency_parser(__doc__.strip().splitlines()[0], RESULTS, 20_000, 20)
    return parse_latency_args(parser, argv)


def main(argv: Sequence[str] | None = None) -> int:
    """
    Measure, print one JSON line, and write it to the results file.

    :param argv: Arguments (default: ``sys.argv[1:]``).

    :returns: Exit code 0.
    """
    import onnxruntime

    from ddpg_manipulation.export import export_onnx
    from ddpg_manipulation.policy import Policy

    args = parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as scratch:
        checkpoint = args.checkpoint or fresh_checkpoint(args.task, scratch)
        reference = Policy.load(checkpoint)
        onnx_file = export_onnx(reference, Path(scratch) / 'policy.onnx')
        exported = Policy.load_onnx(onnx_file, threads=1)

    mean, std = reference.normalizer['mean'], reference.normalizer['std']
    generator = np.random.default_rng(0)
    state = (mean + std * generator.standard_normal(mean.shape)).astype(np.float32)
    goal = (mean + std * generator.standard_normal(mean.shape)).astype(np.float32)
    observation = torch.from_numpy(reference.normalize(state[None], goal[None]))
    network, session = reference.network, exported.session
    feed = {'state': state[None], 'goal': goal[None]}

    def torch_forward() -> Any:
        with torch.inference_mode():
            return network(observation)

    variants = {
        'torch_policy_act': lambda: reference.act(state, goal),
        'onnx_policy_act': lambda: exported.act(state, goal),
        'torch_forward': torch_forward,
        'onnx_session_run': lambda: session.run(['action'], feed),
    }
    per_round = args.iterations // args.rounds
    for call in variants.values():  # warm-up: first calls allocate and pick kernels
        time_calls(call, 200)
    samples: dict[str, list[np.ndarray]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, call in variants.items():
            samples[name].append(time_calls(call, per_round))
    results = {name: latency_figures(np.concatenate(parts)) for name, parts in samples.items()}
    difference = float(np.max(np.abs(exported.act(state, goal) - reference.act(state, goal))))
    record = {
        'bench': 'export_latency',
        'task': reference.metadata['task'],
        'network': f'{reference.metadata["nlayers"]}x{reference.metadata["layer_width"]}',
        'state_dimension': reference.state_dimension,
        'threads': 1,
        'iterations': per_round * args.rounds,
        'unit': 'us',
        **results,
        'ratio_p50_onnx_to_torch_policy_act': round(
            results['onnx_policy_act']['p50'] / results['torch_policy_act']['p50'], 3),
        'ratio_p99_onnx_to_torch_policy_act': round(
            results['onnx_policy_act']['p99'] / results['torch_policy_act']['p99'], 3),
        'ratio_p50_onnx_to_torch_forward': round(
            results['onnx_session_run']['p50'] / results['torch_forward']['p50'], 3),
        'max_abs_diff': difference,
        'versions': {'torch': torch.__version__, 'onnxruntime': onnxruntime.__version__,
                     'python': platform.python_version()},
        'machine': {'cpus': os.cpu_count(), 'load_average_1min': round(os.getloadavg()[0], 2)},
    }
    line = json.dumps(record)
    print(line)
    write_bytes(Path(args.output), (line + '\n').encode())
    return 0


if __name__ == '__main__':
    sys.exit(main())
