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

"""Shared fixtures: small, fast learners and checkpoints on the bundled tasks, on every device."""

import os
from pathlib import Path
from typing import Any, Callable

# cuBLAS picks reduction orders per workspace; a fixed workspace keeps seeded CUDA runs
# repeatable (set before CUDA initializes).
os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')

import pytest  # noqa: E402
import torch  # noqa: E402

from ddpg_manipulation.config import ParameterContainer  # noqa: E402
from ddpg_manipulation.learning.build import build_learner  # noqa: E402
from ddpg_manipulation.learning.learner import Learner  # noqa: E402

# Every device present: the tests that touch tensors run on each (CI has the CPU only).
DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])

# A learner small enough for unit tests: a few cycles and updates, small networks.
TINY = {
    'learner.cycles': 2, 'learner.batches': 2, 'learner.batch_size': 32,
    'learner.evals': 4, 'learner.validation_evals': 4, 'learner.nlayers': 2,
    'learner.layer_width': 32,
    'learner.trajectory_length': 10, 'learner.replay_capacity': 100,
    'learner.threads': 1, 'model.nthread': 1,
}


@pytest.fixture(scope='session', params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    """Return each torch device present on this machine in turn."""
    return request.param


@pytest.fixture
def make_learner(tmp_path: Path, device: str) -> Callable[..., Learner]:
    """Build tiny learners on the test's device, writing under a temporary output directory."""

    def make(task: str = 'box_reach', graph: Any = None, **overrides: Any) -> Learner:
        params = ParameterContainer(task, {**TINY, **overrides})
        return build_learner(params, graph, output_dir=tmp_path / 'runs', verbose=False,
                             device=device)

    return make


@pytest.fixture
def trained_checkpoint(make_learner: Callable[..., Learner]) -> Path:
    """Train a tiny box_reach learner one epoch; return its checkpoint."""
    learner = make_learner()
    learner.train(1)
    return Path(learner.last_checkpoint)
