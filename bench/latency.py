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

"""What the latency benchmarks share: their command line and their percentile summary."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

import numpy as np


def latency_figures(samples: np.ndarray) -> dict[str, float]:
    """
    Summarize durations.

    :param samples: Durations in microseconds.

    :returns: p50, p99 and mean, rounded to 0.1 us.
    """
    return {'p50': round(float(np.percentile(samples, 50)), 1),
            'p99': round(float(np.percentile(samples, 99)), 1),
            'mean': round(float(samples.mean()), 1)}


def latency_parser(description: str, results: Path, iterations: int, rounds: int
                   ) -> argparse.ArgumentParser:
    """
    Build the argument parser the latency benchmarks share.

    :param description: The benchmark's one-line description.
    :param results: Default JSON file.
    :param iterations: Default timed calls per variant.
    :param rounds: Default turns the variants take.

    :returns: The parser; add benchmark-specific arguments, then use :func:`parse_latency_args`.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--checkpoint', default=None,
                        help='checkpoint to measure (default: a fresh default network)')
    parser.add_argument('--task', default='planar_hand',
                        help='task of the fresh network (default: %(default)s)')
    parser.add_argument('--iterations', type=int, default=iterations,
                        help='timed calls per variant (default: %(default)s)')
    parser.add_argument('--rounds', type=int, default=rounds,
                        help='turns the variants take (default: %(default)s)')
    parser.add_argument('--output', default=str(results), help='JSON file (default: %(default)s)')
    return parser


def parse_latency_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None
                       ) -> argparse.Namespace:
    """
    Parse and check latency-benchmark arguments.

    :param parser: From :func:`latency_parser`.
    :param argv: Arguments (default: ``sys.argv[1:]``).

    :returns: The parsed arguments.
    """
    args = parser.parse_args(argv)
    if args.iterations < args.rounds or args.rounds < 1:
        parser.error('expected --rounds >= 1 and --iterations >= --rounds')
    return args
