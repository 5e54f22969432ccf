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

"""Evaluate a loaded ``Policy`` on seeded episodes, all environments in one batch."""

from __future__ import annotations

import torch

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.policy import Policy
from ddpg_manipulation.sim.episodes import EvaluationResult, run_episodes, sample_episodes
from ddpg_manipulation.sim.plant import MujocoPlant

__all__ = ['EvaluationResult', 'evaluate', 'evaluation_episodes']


def evaluate(
    policy: Policy, params: ParameterContainer, episodes: int = 100, seed: int | None = None,
    plant: MujocoPlant | None = None,
) -> EvaluationResult:
    """
    Run seeded evaluation episodes of a policy, batched.

    With the default seed the starts and goals are those of ``Learner.eval_agent``, so the
    figures equal the training run's last evaluation.

    :param policy: The policy.
    :param params: Task parameters.
    :param episodes: Number of episodes.
    :param seed: Seed of the start/goal sampler; default ``params.seed``.
    :param plant: Plant to simulate with (built from ``params`` if None).

    :returns: Success rate, mean relative distance and the trajectories.
    """
    plant = plant or MujocoPlant(params)

    def act(states: torch.Tensor, goal_states: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(policy.act(states.numpy(), goal_states.numpy())).float()

    return run_episodes(plant, act, _sampler_seed(params, seed), episodes,
                        params.learner_trajectory_length, params.learner_final_success_distance)


def evaluation_episodes(
    plant: MujocoPlant, params: ParameterContainer, episodes: int, seed: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Draw the starts and goals that :func:`evaluate` runs with the same arguments.

    :param plant: The simulation.
    :param params: Task parameters.
    :param episodes: Number of episodes.
    :param seed: Seed of the start/goal sampler; default ``params.seed``.

    :returns: Starts and goals, each (episodes, nx).
    """
    return sample_episodes(plant, _sampler_seed(params, seed), episodes)


def _sampler_seed(params: ParameterContainer, seed: int | None) -> int:
    # Offset from the training seed so that evaluation episodes are not the training starts.
    return (params.seed if seed is None else seed) + 10_000
