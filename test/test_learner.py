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

"""Learner: rollouts, rewards, updates, determinism, demonstrations seam, HER, normalizer."""

import pytest
from tensordict import TensorDict
import torch

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.learning.networks import actor_critic, soft_update
from ddpg_manipulation.learning.normalizer import Normalizer
from ddpg_manipulation.learning.replay_buffer import ReplayBuffer
from ddpg_manipulation.transitions import trajectory_transitions


def test_policy_rollout_batches_environments(make_learner):
    learner = make_learner(**{'learner.rollouts': 3})
    data = learner.policy_rollout()
    assert data.batch_size == (3 * 10,)
    for key in ('states', 'start_states', 'goal_states', 'next_states'):
        assert data[key].shape == (30, 4) and data[key].dtype == torch.float32
    assert data['relative_actions'].shape == (30, 1)
    assert len(learner.replay_buffer) == 30
    # path consistency inside each trajectory
    assert torch.equal(data['next_states'][:9], data['states'][1:10])
    assert data['relative_actions'].abs().max() <= 0.4 + 1e-6  # range 1 * time step 0.4
    assert learner.state_norm.count.item() == 60  # next states and goals


def test_sparse_dense_and_mixed_rewards(make_learner):
    learner = make_learner()
    start = torch.tensor([[9.0, 0.0, 0.0, 0.0]] * 3)
    goal = torch.tensor([[9.0, 2.0, 0.0, 0.0]] * 3)
    current = torch.tensor([[9.0, 1.99, 0.0, 0.0], [9.0, 1.0, 0.0, 0.0], [9.0, -1.0, 0.0, 0.0]])
    distances = learner.relative_distances_to(start, current, goal)
    torch.testing.assert_close(distances, torch.tensor([0.005, 0.5, 1.5]))
    rewards, terminated = learner.reward_function(start, current, goal)
    torch.testing.assert_close(rewards, torch.tensor([0.0, -1.0, -1.0]))
    torch.testing.assert_close(terminated, torch.tensor([1.0, 0.0, 0.0]))
    dense = make_learner(**{'learner.reward_type': 'dense'})
    rewards, terminated = dense.reward_function(start, current, goal)
    torch.testing.assert_close(rewards, torch.tensor([-0.005, -0.5, -1.0]))
    mixed = make_learner(**{'learner.reward_type': 'mixed'})
    rewards, terminated = mixed.reward_function(start, current, goal)
    # Half of each: -0.5 until success, plus minus half the clipped distance.
    torch.testing.assert_close(rewards, torch.tensor([-0.0025, -0.75, -1.0]))
    torch.testing.assert_close(terminated, torch.tensor([1.0, 0.0, 0.0]))


def test_preprocess_sample_shapes_and_normalized_actions(make_learner):
    learner = make_learner()
    learner.policy_rollout()
    obs, next_obs, actions, rewards, terminated = learner.preprocess_sample(
        learner.replay_buffer.sample(16))
    assert obs.shape == next_obs.shape == (16, 8)
    assert actions.shape == rewards.shape == terminated.shape[:1] + (1,) == (16, 1)
    assert actions.abs().max() <= 1.0
    assert obs.abs().max() <= learner.params.learner_normalizer_clip


def test_terminate_on_success_decides_whether_success_ends_the_backup(make_learner):
    start = torch.tensor([[9.0, 0.0, 0.0, 0.0]] * 2)
    goal = torch.tensor([[9.0, 2.0, 0.0, 0.0]] * 2)
    next_states = torch.tensor([[9.0, 2.0, 0.0, 0.0], [9.0, 1.0, 0.0, 0.0]])
    data = TensorDict({'states': start.clone(), 'start_states': start, 'goal_states': goal,
                       'next_states': next_states,
                       'relative_actions': torch.zeros(2, 1)}, batch_size=[2])
    for terminate, expected in ((True, [[1.0], [0.0]]), (False, [[0.0], [0.0]])):
        learner = make_learner(**{'learner.terminate_on_success': terminate})
        learner.update_norm(next_states, goal)
        _, _, _, rewards, terminated = learner.preprocess_sample(data)
        # The reward marks the success either way; only the bootstrap cut differs.
        assert rewards.device == terminated.device == learner.device  # computed on the device
        torch.testing.assert_close(rewards.cpu(), torch.tensor([[0.0], [-1.0]]))
        torch.testing.assert_close(terminated.cpu(), torch.tensor(expected))


def test_train_actor_critic_changes_both_networks(make_learner):
    learner = make_learner()
    learner.policy_rollout()
    actor_before = [p.clone() for p in learner.actor.action_net.parameters()]
    critic_before = [p.clone() for p in learner.critic.critic_net.parameters()]
    target_before = [p.clone() for p in learner.actor.target_net.parameters()]
    learner.train_actor_critic(learner.replay_buffer.sample(32), 0.98)
    assert any(not torch.equal(a, b) for a, b in
               zip(actor_before, learner.actor.action_net.parameters()))
    assert any(not torch.equal(a, b) for a, b in
               zip(critic_before, learner.critic.critic_net.parameters()))
    # targets move only with update_target
    assert all(torch.equal(a, b) for a, b in
               zip(target_before, learner.actor.target_net.parameters()))


@pytest.mark.parametrize('her', [0.0, 0.5])
def test_sample_batches_draws_what_successive_samples_draw(her):
    states = torch.arange(3 * 9 * 2, dtype=torch.float32).reshape(3, 9, 2)
    data = trajectory_transitions(states, torch.zeros(3, 8, 1), torch.full((3, 2), -1.0))
    batches = []
    for together in (False, True):
        torch.manual_seed(3)
        buffer = ReplayBuffer(100, her, generator=torch.Generator().manual_seed(4))
        buffer.extend(data)
        if together:
            batches.append(buffer.sample_batches(5, 7))
        else:
            batches.append(torch.stack([buffer.sample(7) for _ in range(5)]))
    separate, together = batches
    assert together.batch_size == (5, 7)
    for key in ('states', 'goal_states', 'next_states'):
        assert torch.equal(separate[key], together[key]), key
    assert ((together['goal_states'] != -1.0).any()) == (her > 0)
    with pytest.raises(ValueError, match='batches 0'):
        buffer.sample_batches(0, 7)


@pytest.mark.parametrize('task', ['box_reach', 'box_push'])
def test_train_batches_equals_one_train_actor_critic_per_batch(make_learner, task):
    learners = []
    for together in (False, True):
        learner = make_learner(task, **{'learner.her_probability': 0.5})
        learner.policy_rollout()
        if together:
            learner.train_batches(4, 16, 0.9)
        else:
            for _ in range(4):
                learner.train_actor_critic(learner.replay_buffer.sample(16), 0.9)
        learners.append(learner)
    separate, together = learners
    pairs = [*zip(separate.actor.action_net.parameters(),
                  together.actor.action_net.parameters()),
             *zip(separate.critic.critic_net.parameters(),
                  together.critic.critic_net.parameters())]
    assert all(torch.equal(a, b) for a, b in pairs)
    assert torch.equal(separate.replay_buffer.generator.get_state(),
                       together.replay_buffer.generator.get_state())


def test_soft_update_interpolates():
    net, target = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    expected = [0.1 * p + 0.9 * t for p, t in zip(net.parameters(), target.parameters())]
    soft_update(net, target, 0.1)
    for e, t in zip(expected, target.parameters()):
        torch.testing.assert_close(e, t)
    with pytest.raises(ValueError, match='tau'):
        soft_update(net, target, 1.5)


def test_eval_agent_runs_evals_episodes_in_one_batch(make_learner, monkeypatch):
    learner = make_learner(**{'learner.evals': 7})
    batches = []
    original = learner.plant.step

    def spy(states, *args):
        batches.append(states.shape[0])
        return original(states, *args)

    monkeypatch.setattr(learner.plant, 'step', spy)
    success, distance = learner.eval_agent()
    assert set(batches) == {7} and len(batches) == 10
    assert 0.0 <= success <= 1.0 and distance > 0
    assert learner.actor.training  # eval mode is restored to train mode


def test_seeded_runs_are_bit_for_bit_identical(make_learner):
    runs = []
    for _ in range(2):
        learner = make_learner(**{'learner.her_probability': 0.5})
        learner.save_local = False
        learner.train(2)
        runs.append(learner)
    a, b = runs
    assert torch.equal(a.replay_buffer['states'], b.replay_buffer['states'])
    assert torch.equal(a.replay_buffer['relative_actions'], b.replay_buffer['relative_actions'])
    for pa, pb in zip(a.actor.action_net.parameters(), b.actor.action_net.parameters()):
        assert torch.equal(pa, pb)
    for pa, pb in zip(a.critic.target_net.parameters(), b.critic.target_net.parameters()):
        assert torch.equal(pa, pb)
    assert a.history[-1]['success_rate'] == b.history[-1]['success_rate']
    c = make_learner(seed=1)
    c.save_local = False
    c.train(1)
    first = a.replay_buffer['states'][:len(c.replay_buffer)]
    assert not torch.equal(c.replay_buffer['states'], first)


class FakeGraph:
    """A demonstration source that returns a straight-line path of the cart."""

    def __init__(self):
        self.calls = 0

    def sample_demonstration(self):
        self.calls += 1
        states = torch.zeros(1, 6, 4)
        states[0, :, 0] = 9.0
        states[0, :, 1] = torch.linspace(0.0, 2.0, 6)
        relative = torch.full((1, 5, 1), 0.4)
        return trajectory_transitions(states, relative, states[:, -1])


@pytest.mark.parametrize('strategy,share', [('fixed', 0.25), ('fixed', 0.75)])
def test_fixed_injection_share(make_learner, strategy, share):
    graph = FakeGraph()
    learner = make_learner(graph=graph, **{
        'learner.use_planner': True, 'learner.injection_strategy': strategy,
        'learner.max_planner_experience_share': share, 'learner.cycles': 200,
        'learner.batches': 1, 'learner.rollouts': 2, 'learner.evals': 1})
    learner.save_local = False
    learner.train(1)
    assert graph.calls / (200 * 2) == pytest.approx(share, abs=0.06)
    assert 0.0 < learner.history[-1]['demo_share'] < 1.0


def test_initial_and_decreasing_injection(make_learner):
    graph = FakeGraph()
    learner = make_learner(graph=graph, **{
        'learner.use_planner': True, 'learner.injection_strategy': 'initial',
        'learner.initial_injections': 5})
    learner.save_local = False
    learner.train(2)
    assert graph.calls == 5  # once, before the first epoch, none later
    decreasing = make_learner(graph=FakeGraph(), **{
        'learner.use_planner': True, 'learner.injection_strategy': 'decreasing',
        'learner.max_planner_experience_share': 0.5})
    decreasing.history = [{'success_rate': 0.8}]
    decreasing.set_demonstration_injection()
    assert decreasing.planner_share == pytest.approx(0.1)


def test_graph_rollout_rejects_malformed_demonstrations(make_learner):
    class Bad:
        """A source of demonstrations with a missing key."""

        def sample_demonstration(self):
            return TensorDict({'states': torch.zeros(3, 5)}, batch_size=[3])

    learner = make_learner(graph=Bad())
    with pytest.raises(ValueError, match='missing key|shape'):
        learner.graph_rollout()
    assert len(learner.replay_buffer) == 0


def test_her_relabels_with_a_future_state_of_the_same_trajectory():
    torch.manual_seed(0)
    buffer = ReplayBuffer(1000, her_probability=1.0, generator=torch.Generator().manual_seed(0))
    states = torch.arange(2 * 6 * 4, dtype=torch.float32).reshape(2, 6, 4)
    goals = torch.full((2, 4), -1.0)
    data = trajectory_transitions(states, torch.zeros(2, 5, 1), goals)
    buffer.extend(data)
    sample = buffer.sample(200)
    assert (sample['goal_states'] != -1.0).all()
    for row in range(200):
        traj = int(sample['states'][row, 0] // 24)
        step = int((sample['states'][row, 0] - traj * 24) // 4)
        future_steps = states[traj, step + 1:]
        assert (future_steps == sample['goal_states'][row]).all(-1).any()


def test_normalizer_statistics_and_clipping():
    norm = Normalizer(2, eps=1e-2, clip_range=3.0)
    data = torch.tensor([[1.0, 10.0], [3.0, 10.0]])
    norm.update(data)
    torch.testing.assert_close(norm.mean, torch.tensor([2.0, 10.0]))
    torch.testing.assert_close(norm.std, torch.tensor([1.0, 0.01]))
    obs = Normalizer.wrap_obs(torch.tensor([[3.0, 10.0]]), torch.tensor([[100.0, 10.0]]))
    torch.testing.assert_close(norm.normalize_obs(obs), torch.tensor([[1.0, 0.0, 3.0, 0.0]]))


def test_normalizer_update_clip_bounds_what_an_outlier_adds():
    # One flung object must not widen the statistics for ever: with update_clip 5 a sample joins
    # them clipped to mean +- 5 std of the statistics so far; the first batch has none to clip to.
    norm = Normalizer(1, eps=1e-2, update_clip=5.0)
    norm.update(torch.tensor([[0.0], [2.0]]))  # mean 1, std 1
    norm.update(torch.tensor([[1000.0], [-1.0]]))  # 1000 joins as 6, -1 as itself
    torch.testing.assert_close(norm.mean, torch.tensor([7.0 / 4.0]))
    torch.testing.assert_close(norm.std, torch.tensor([(41.0 / 4.0 - 49.0 / 16.0) ** 0.5]))
    first = Normalizer(1, eps=1e-2, update_clip=5.0)
    first.update(torch.tensor([[0.0], [1000.0]]))
    torch.testing.assert_close(first.mean, torch.tensor([500.0]))
    plain = Normalizer(1, eps=1e-2)
    plain.update(torch.tensor([[0.0], [2.0]]))
    plain.update(torch.tensor([[1000.0], [-1.0]]))
    torch.testing.assert_close(plain.mean, torch.tensor([1001.0 / 4.0]))


def test_learner_normalizer_takes_update_clip_and_keeps_it_over_a_load(make_learner):
    learner = make_learner(**{'learner.normalizer_update_clip': 5.0})
    assert learner.state_norm.update_clip == 5.0
    assert make_learner().state_norm.update_clip == 0.0  # the default: states join as they are
    other = Normalizer(learner.plant.state_dimension)
    learner.state_norm.load(other.state_dict())  # a checkpoint holds statistics, not the rule
    assert learner.state_norm.update_clip == 5.0


def test_normalizer_follows_every_statistics_change():
    # normalize_obs keeps the doubled statistics between updates; an update or a load must
    # still take effect on the very next call.
    norm = Normalizer(1, eps=1e-2, clip_range=100.0)
    obs = Normalizer.wrap_obs(torch.tensor([[4.0]]), torch.tensor([[0.0]]))
    torch.testing.assert_close(norm.normalize_obs(obs), torch.tensor([[4.0, 0.0]]))
    norm.update(torch.tensor([[0.0], [4.0]]))  # mean 2, std 2
    torch.testing.assert_close(norm.normalize_obs(obs), torch.tensor([[1.0, -1.0]]))
    other = Normalizer(1, eps=1e-2, clip_range=100.0)
    other.update(torch.tensor([[4.0], [4.0]]))  # mean 4, std eps
    norm.load(other.state_dict())
    torch.testing.assert_close(norm.normalize_obs(obs), torch.tensor([[0.0, -100.0]]))


def test_the_averaged_actor_trails_the_actor_and_acts_in_evaluation(make_learner):
    learner = make_learner(**{'learner.average_tau': 0.25})
    average = learner.actor.average_net
    assert average is not None
    start = [p.clone() for p in average.parameters()]
    learner.save_local = False
    learner.train(1)  # two cycles: the average moves 1 - 0.75**2 of the way each cycle
    moved = list(average.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(start, moved))
    assert not all(torch.equal(a, b) for a, b in zip(moved, learner.actor.action_net.parameters()))
    obs = torch.zeros(3, 8)
    learner.actor.evaluation_mode()
    with torch.no_grad():
        expected = average(learner.state_norm.normalize_obs(obs.to(learner.device)))
    torch.testing.assert_close(learner.actor.select_action(learner.state_norm, obs),
                               expected.clamp(-1, 1))


def test_the_layer_normed_critic_has_a_norm_per_hidden_layer(make_learner):
    learner = make_learner(**{'learner.critic_layer_norm': True, 'learner.nlayers': 3})
    norms = [m for m in learner.critic.critic_net.modules()
             if isinstance(m, torch.nn.LayerNorm)]
    assert len(norms) == 2
    assert learner.critic.optim.param_groups[0]['params'][0] is next(
        learner.critic.critic_net.parameters())
    learner.policy_rollout()
    learner.train_actor_critic(learner.replay_buffer.sample(16), 0.98)


def test_evaluating_restores_the_mode_before_even_after_an_error(make_learner):
    actor = make_learner().actor
    with pytest.raises(RuntimeError, match='inside'):
        with actor.evaluating():
            assert not actor.training and not actor.action_net.training
            raise RuntimeError('inside')
    assert actor.training and actor.action_net.training
    actor.evaluation_mode()
    with actor.evaluating():
        pass
    assert not actor.training  # an actor in evaluation mode stays there


def test_actor_critic_builds_what_the_learner_keys_say_the_same_for_a_seed():
    params = ParameterContainer('box_reach', {'learner.critic_layer_norm': True,
                                              'learner.average_tau': 0.1, 'learner.nlayers': 3,
                                              'learner.layer_width': 16, 'learner.noise_std': 0.3})
    weights = []
    for _ in range(2):
        torch.manual_seed(params.seed)
        actor, critic = actor_critic(8, 2, params)
        assert actor.average_net is not None and actor.noise_std == 0.3
        assert any(isinstance(m, torch.nn.LayerNorm) for m in critic.critic_net.modules())
        assert actor.generator is not None
        assert actor.generator.initial_seed() == params.seed + 1
        weights.append([*actor.action_net.parameters(), *critic.critic_net.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*weights))
    plain, _ = actor_critic(8, 2, ParameterContainer('box_reach', {'learner.average_tau': 0.0}))
    assert plain.average_net is None
