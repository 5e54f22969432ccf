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

"""Behaviour cloning of demonstrations: flags in the replay buffer, the Q-filter, saturation."""

import torch

from ddpg_manipulation.learning.networks import CriticNetwork
from ddpg_manipulation.learning.replay_buffer import demonstration_flags, ReplayBuffer
from ddpg_manipulation.transitions import trajectory_transitions

DEMO_ACTION = 0.5  # normalized; the saturated actor outputs -1


def cart_path(count: int = 1) -> torch.Tensor:
    """Return the transitions of ``count`` box_reach trajectories of 5 steps."""
    states = torch.rand(count, 6, 4)
    return trajectory_transitions(states, torch.full((count, 5, 1), 0.4), states[:, -1])


class CartPath:
    """A demonstration source for box_reach: random 5-step trajectories."""

    def sample_demonstration(self):
        return cart_path()


class ActionValue(CriticNetwork):
    """A critic that ranks actions only: Q = sign * (sum of the normalized action)."""

    def __init__(self, size_s: int, size_a: int, sign: float) -> None:
        super().__init__(size_s, size_a, 1, 8)
        self.sign = sign

    def forward(self, state, action):
        # The network's term keeps parameters in the loss, so that the critic's step runs.
        return self.sign * action.sum(-1, keepdim=True) + 0.0 * super().forward(state, action)


def saturated_learner(make_learner, weight: float, sign: float):
    """Return a box_reach learner whose actor outputs -1 everywhere, with a rank-only critic."""
    learner = make_learner(**{'learner.demo_bc_weight': weight, 'learner.action_l2': 0.0})
    learner.critic.set_network(ActionValue(2 * learner.plant.state_dimension,
                                           learner.plant.action_dimension, sign))
    last = learner.actor.action_net.net[-2]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(-20.0)  # tanh(-20) is -1 in float32: no gradient passes the tanh
    return learner


def batch(learner, demonstration: float, count: int = 64):
    """Return a preprocessed batch whose actions are DEMO_ACTION, flagged as given."""
    device = learner.device
    obs = torch.randn(count, 2 * learner.plant.state_dimension, device=device)
    actions = torch.full((count, learner.plant.action_dimension), DEMO_ACTION, device=device)
    column = torch.zeros(count, 1, device=device)
    return obs, obs, actions, column - 1.0, column, column + demonstration


def actor_after_updates(learner, demonstration: float, updates: int = 20):
    data = batch(learner, demonstration)
    for _ in range(updates):
        learner.gradient_step(data, 0.98)
    return [p.detach().cpu().clone() for p in learner.actor.action_net.parameters()]


def test_a_saturated_actor_learns_only_through_cloning(make_learner):
    before = [p.detach().cpu().clone()
              for p in saturated_learner(make_learner, 1.0, 1.0).actor.action_net.parameters()]
    without = actor_after_updates(saturated_learner(make_learner, 0.0, 1.0), 1.0)
    assert all(torch.equal(a, b) for a, b in zip(before, without)), \
        'without cloning, the critic gradient should not pass the saturated tanh'
    cloned = saturated_learner(make_learner, 1.0, 1.0)
    after = actor_after_updates(cloned, 1.0)
    # The output bias moved from -20 towards atanh(0.5): every Adam step of about lr.
    assert after[-1].item() > -20.0 + 10 * cloned.params.learner_actor_lr


def test_the_q_filter_keeps_actions_the_critic_values_more(make_learner):
    # The critic prefers lower actions: the actor's -1 beats the demonstrations' 0.5.
    preferred = actor_after_updates(saturated_learner(make_learner, 1.0, -1.0), 1.0)
    reference = actor_after_updates(saturated_learner(make_learner, 0.0, -1.0), 1.0)
    assert all(torch.equal(a, b) for a, b in zip(preferred, reference))


def test_only_demonstrations_are_cloned(make_learner):
    cloned = actor_after_updates(saturated_learner(make_learner, 1.0, 1.0), 0.0)
    reference = actor_after_updates(saturated_learner(make_learner, 0.0, 1.0), 0.0)
    assert all(torch.equal(a, b) for a, b in zip(cloned, reference))


def test_the_buffer_flags_demonstrations_and_keeps_the_flags(device):
    buffer = ReplayBuffer(100, her_probability=0.5, generator=torch.Generator().manual_seed(0),
                          device=device)
    buffer.extend(cart_path(2))
    buffer.extend(cart_path(1), demonstration=True)
    assert buffer['demonstration'].tolist() == [False] * 10 + [True] * 5
    sample = buffer.sample(200)
    flags = demonstration_flags(sample)
    assert flags.shape == (200, 1) and flags.device == sample.device
    stored = buffer.state_dict()
    restored = ReplayBuffer(100, device=device)
    restored.load_state_dict(stored)
    assert torch.equal(restored['demonstration'], buffer['demonstration'])
    assert 0 < flags.sum() < 200


def test_a_buffer_saved_before_the_flags_loads_without_demonstrations(device):
    buffer = ReplayBuffer(100, device=device)
    buffer.extend(cart_path(2), demonstration=True)
    state = buffer.state_dict()
    del state['data']['demonstration']
    restored = ReplayBuffer(100, device=device)
    restored.load_state_dict(state)
    assert not restored['demonstration'].any()
    assert torch.equal(restored['states'], buffer['states'])


def test_the_flags_reach_the_update_from_the_learner(make_learner):
    def trained(weight: float, with_demonstrations: bool):
        learner = make_learner(graph=CartPath(), **{'learner.demo_bc_weight': weight})
        # A critic that prefers the demonstrations' actions (+1 normalized), so that the
        # Q-filter lets them through.
        learner.critic.set_network(ActionValue(2 * learner.plant.state_dimension,
                                               learner.plant.action_dimension, 1.0))
        if with_demonstrations:
            learner.graph_rollout()
        learner.policy_rollout()
        torch.manual_seed(0)
        learner.train_batches(3, 16, 0.98)
        return [p.detach().cpu() for p in learner.actor.action_net.parameters()]

    assert all(torch.equal(a, b) for a, b in zip(trained(1.0, False), trained(0.0, False)))
    assert not all(torch.equal(a, b) for a, b in zip(trained(1.0, True), trained(0.0, True)))
