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

"""The update floor: a plain CleanRL-style DDPG update on pre-made random tensors."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn
import torch.nn.functional as F

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.learning.networks import mlp


class BareDDPG:
    """
    The plain CleanRL-style DDPG update on pre-made random tensors: the update floor.

    Same sizes as the learner's networks (``nlayers`` linear layers of ``width``), fused Adam
    as the learner uses, the actor updated every step as the learner does; no replay buffer,
    normalizer, reward computation or soft target update.

    :param size_obs: Observation size (state and goal).
    :param size_act: Action size.
    :param nlayers: Linear layers per network.
    :param width: Hidden width.
    :param batch: Batch size.
    :param lr: Adam learning rate.
    :param discount: Discount factor.
    :param fused: Use the fused Adam kernel (as the learner); False = torch's default Adam.
    """

    def __init__(self, size_obs: int, size_act: int, nlayers: int = 4, width: int = 256,
                 batch: int = 256, lr: float = 1e-3, discount: float = 0.98,
                 fused: bool = True) -> None:
        generator = torch.Generator().manual_seed(0)
        self.actor = nn.Sequential(*mlp(size_obs, size_act, nlayers, width), nn.Tanh())
        self.critic = nn.Sequential(*mlp(size_obs + size_act, 1, nlayers, width))
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        adam: dict[str, Any] = {'lr': lr, 'fused': True} if fused else {'lr': lr}
        self.actor_optim = torch.optim.Adam(self.actor.parameters(), **adam)
        self.critic_optim = torch.optim.Adam(self.critic.parameters(), **adam)
        self.discount = discount
        self.obs = torch.randn(batch, size_obs, generator=generator)
        self.next_obs = torch.randn(batch, size_obs, generator=generator)
        self.actions = 2 * torch.rand(batch, size_act, generator=generator) - 1
        self.rewards = -(torch.rand(batch, 1, generator=generator) < 0.9).float()
        self.dones = (self.rewards == 0).float()

    def update(self) -> None:
        """Run one critic step (MSE to the TD target) and one actor step (-Q)."""
        with torch.no_grad():
            next_actions = self.actor_target(self.next_obs)
            next_q = self.critic_target(torch.cat([self.next_obs, next_actions], 1))
            target = self.rewards + self.discount * (1 - self.dones) * next_q
        q = self.critic(torch.cat([self.obs, self.actions], 1))
        critic_loss = F.mse_loss(q, target)
        self.critic_optim.zero_grad()
        critic_loss.backward()
        self.critic_optim.step()
        actor_loss = -self.critic(torch.cat([self.obs, self.actor(self.obs)], 1)).mean()
        self.actor_optim.zero_grad()
        actor_loss.backward()
        self.actor_optim.step()

    def updates(self, count: int) -> None:
        """
        Run ``count`` updates.

        :param count: Updates.
        """
        for _ in range(count):
            self.update()


def bare_for(params: ParameterContainer, fused: bool = True) -> BareDDPG:
    """
    Build the bare update with a task's network and batch sizes.

    :param params: Task parameters.
    :param fused: Use fused Adam.

    :returns: The bare update.
    """
    nx, nu = params.state_dimension, params.action_dimension
    return BareDDPG(2 * nx, nu, params.learner_nlayers, params.learner_layer_width,
                    params.learner_batch_size, params.learner_critic_lr,
                    params.learner_discount, fused)
