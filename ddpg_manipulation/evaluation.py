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

from dataclasses import dataclass

import torch

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.policy import Policy
from ddpg_manipulation.sim.plant import MujocoPlant


@dataclass
class EvaluationResult:
    """
    Outcome of an evaluation.

    :param success_rate: Share of episodes ending below the final success distance.
    :param relative_distance: Mean final relative distance.
    :param relative_distances: Final relative distance of each episode, shape (episodes,).
    :param states: Visited states, shape (episodes, steps + 1, nx).
    :param goals: Goals, shape (episodes, nx).
    """

    success_rate: float
    relative_distance: float
    relative_distances: torch.Tensor
    states: torch.Tensor
    goals: torch.Tensor


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
    generator = torch.Generator().manual_seed((params.seed if seed is None else seed) + 10_000)
    starts = plant.sample_start_states(episodes, generator)
    goals = plant.sample_goal_states(episodes, generator)

    def act(states: torch.Tensor, goal_states: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(policy.act(states.numpy(), goal_states.numpy())).float()

    states, _ = plant.rollout(act, starts, goals, params.learner_trajectory_length)
    initial = plant.scaled_distances_to(starts, goals)
    distances = plant.scaled_distances_to(states[:, -1], goals) / initial.clamp_min(1e-6)
    success = distances < params.learner_final_success_distance
    return EvaluationResult(float(success.float().mean()), float(distances.mean()), distances,
                            states, goals)
