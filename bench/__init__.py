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
Benchmarks of ddpg_manipulation (not tests): ``python -m bench [names...] [--quick]``.

Each benchmark module exposes ``run(quick: bool = False, **options) -> dict`` returning the
result that :class:`bench.result.Bench` assembles (machine info, figures, ratios to a baseline
measured in the same run, targets, notes); the runner writes it to ``bench/results/<name>.json``.
What the benchmarks share lies beside them: ``machine``, ``timing``, ``learners``,
``raw_physics``, ``bare_ddpg``, ``result`` and ``latency``.
"""

from pathlib import Path

# The package sets its OpenMP wait policy before torch loads; benchmarks import torch early, so
# import the package first to measure what its users get.
import ddpg_manipulation  # noqa: F401

RESULTS_DIR = Path(__file__).resolve().parent / 'results'
