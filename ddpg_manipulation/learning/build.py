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

"""Assemble a learner for a task: its plant, its replay buffer and the learner itself."""

from __future__ import annotations

from typing import Any

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.learning.learner import Learner
from ddpg_manipulation.learning.replay_buffer import ReplayBuffer
from ddpg_manipulation.sim.plant import MujocoPlant
from ddpg_manipulation.transitions import DemonstrationSource


def build_learner(
    params: ParameterContainer, graph: DemonstrationSource | None = None, **kwargs: Any
) -> Learner:
    """
    Build a learner with its plant and replay buffer for a task.

    :param params: Task parameters.
    :param graph: Source of demonstrations, or None.
    :param kwargs: Further ``Learner`` fields (output_dir, save_local, progress, device, ...).

    :returns: The learner.
    """
    plant = MujocoPlant(params)
    buffer = ReplayBuffer.from_params(params)
    return Learner(plant=plant, graph=graph, replay_buffer=buffer, params=params, **kwargs)
