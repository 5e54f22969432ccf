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
``Learner`` module encapsulating the Deep Deterministic Policy Gradient (DDPG) algorithm.

:class:`.Learner` initializes the actor, critic, and normalizers and takes care of checkpoints
during training as well as network loading if starting from pre-trained networks.

One epoch = ``learner_cycles`` cycles; a cycle = ``learner_rollouts`` environments rolled out as
one batch (some of them replaced by planner demonstrations, per the injection strategy), then
``learner_batches`` DDPG updates of ``learner_batch_size`` transitions, then soft target updates.
After each epoch the policy is evaluated on ``learner_evals`` episodes, run as one batch.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
import datetime
import os
from pathlib import Path
import threading
import time
from typing import Any, Callable, Protocol

from tensordict import TensorDict
import torch
import torch.nn.functional as F

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.learning import checkpoint
from ddpg_manipulation.learning.networks import Actor, Critic, DEVICE
from ddpg_manipulation.learning.normalizer import Normalizer
from ddpg_manipulation.learning.replay_buffer import ReplayBuffer
from ddpg_manipulation.learning.threads import ThreadGovernor
from ddpg_manipulation.sim.plant import MujocoPlant, usable_cores
from ddpg_manipulation.transitions import (
    check_transitions,
    empty_transitions,
    trajectory_transitions,
)


class DemonstrationSource(Protocol):
    """
    What the learner needs of a graph: demonstrations as transitions.

    The planner's ``Graph`` offers it, and so does the ROS training node's queue of
    demonstrations received on a topic.
    """

    def sample_demonstration(self) -> TensorDict | None:
        """Return one demonstration as transitions (the learner's keys), or None if none."""


@dataclass
class Learner:
    """
    Deep Deterministic Policy Gradient algorithm class.

    :param plant: The task's simulation.
    :param graph: Source of demonstrations (the planner's graph), or None.
    :param replay_buffer: Buffer of transitions.
    :param params: Task parameters.
    :param save_local: Save checkpoints under ``output_dir``.
    :param save_cloud: Save checkpoints to ``cloud_url`` (fsspec).
    :param load_local: Load ``load_path`` (a local checkpoint) at construction.
    :param load_cloud: Load ``load_path`` (an fsspec URL) at construction.
    :param verbose: Print one line per epoch (when no ``progress`` callback is given).
    :param output_dir: Root of run directories.
    :param cloud_url: fsspec URL under which cloud checkpoints are written.
    :param load_path: Checkpoint to start from, with ``load_local`` or ``load_cloud``.
    :param progress: Called after every epoch with the epoch's metrics.
    :param keep_checkpoints: Newest checkpoints kept per run (0 = all).
    :param save_buffer: Put the replay buffer into each checkpoint (needed to resume bit-exactly).
    """

    plant: MujocoPlant
    graph: DemonstrationSource | None
    replay_buffer: ReplayBuffer
    params: ParameterContainer
    save_local: bool = True
    save_cloud: bool = False
    load_local: bool = False
    load_cloud: bool = False
    verbose: bool = True
    output_dir: str | os.PathLike = 'runs'
    cloud_url: str = ''
    load_path: str = ''
    progress: Callable[[dict[str, Any]], None] | None = None
    keep_checkpoints: int = 3
    save_buffer: bool = False

    actor: Actor = field(init=False, repr=False)
    critic: Critic = field(init=False, repr=False)
    state_norm: Normalizer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Construct a Learner object."""
        self.stop_event = threading.Event()
        self.thread_governor: ThreadGovernor | None = None
        self.thread_cycles: Counter[int] = Counter()  # cycles of this epoch per thread count
        self.run_dir: Path | None = None
        self.last_checkpoint: str | None = None
        self.reset()
        if self.load_local or self.load_cloud:
            if not self.load_path:
                raise ValueError('load_local/load_cloud need load_path')
            path = Path(self.load_path) if self.load_local else self.load_path
            self.load_models(path, is_local=self.load_local)

    # -- set-up ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Reset the Learner for additional runs."""
        p = self.params
        torch.manual_seed(p.seed)
        self.generator = torch.Generator().manual_seed(p.seed)
        size_s = 2 * self.plant.state_dimension
        size_a = self.plant.action_dimension
        self.actor = Actor(size_s, size_a, p.learner_nlayers, p.learner_layer_width,
                           p.learner_actor_lr, p.learner_random_eps, p.learner_action_clip)
        self.actor.noise_std = p.learner_noise_std
        self.actor.generator = torch.Generator().manual_seed(p.seed + 1)
        self.critic = Critic(size_s, size_a, p.learner_nlayers, p.learner_layer_width,
                             p.learner_critic_lr)
        self.state_norm = Normalizer(self.plant.state_dimension,
                                     clip_range=p.learner_normalizer_clip)
        self.replay_buffer.reset()
        self.replay_buffer.generator = torch.Generator().manual_seed(p.seed + 2)
        self.epoch = 0
        self.history: list[dict[str, Any]] = []
        self.planner_share = 0.0
        self.demo_transitions = 0
        self.policy_transitions = 0
        self.initial_injections_done = False
        self.epochs_requested = 0
        self.cycle = 0  # cycles of the running epoch already done (a stop may end mid-epoch)
        self.epoch_elapsed = 0.0  # seconds the running epoch took before a stop
        self.value_bound = 1.0 / (1.0 - p.learner_discount) if p.learner_discount < 1 else 1e6

    # -- acting ----------------------------------------------------------------------------

    def actor_actions(
        self, states: torch.FloatTensor, goal_state: torch.FloatTensor
    ) -> torch.FloatTensor:
        """
        Use the actor network to select normalized actions for states and goals.

        :param states: States, shape (batch, nx).
        :param goal_state: Goals, shape (batch, nx).

        :returns: Normalized actions in [-1, 1], shape (batch, nu); noisy in train mode.
        """
        return self.actor.select_action(self.state_norm, Normalizer.wrap_obs(states, goal_state))

    def _explore(self, states: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
        # Noisy in train mode, deterministic in eval mode (the actor's mode decides).
        return self.actor_actions(states, goals).cpu()

    # -- rewards ---------------------------------------------------------------------------

    def relative_distances_to(
        self, start_states: torch.FloatTensor, current_states: torch.FloatTensor,
        goal_states: torch.FloatTensor,
    ) -> torch.FloatTensor:
        """
        Scaled distance from states in a given container to ``goal_states``.

        Relative to the scaled distance from the start state to the goal, so 1 means "no
        progress" and 0 means "at the goal".

        :param start_states: Start states, shape (batch, nx).
        :param current_states: Current states, shape (batch, nx).
        :param goal_states: Goals, shape (batch, nx).

        :returns: Relative distances, shape (batch,).
        """
        initial = self.plant.scaled_distances_to(start_states, goal_states)
        current = self.plant.scaled_distances_to(current_states, goal_states)
        return current / initial.clamp_min(1e-6)

    def reward_function(
        self, start_states: torch.FloatTensor, current_states: torch.FloatTensor,
        goal_states: torch.FloatTensor,
    ) -> tuple[torch.FloatTensor, torch.FloatTensor]:
        """
        Learner reward function.

        Sparse: -1 until the relative distance is below ``learner_final_success_distance``, then
        0. Dense: minus the relative distance clipped to [0, 1].

        :param start_states: Start states, shape (batch, nx).
        :param current_states: States reached, shape (batch, nx).
        :param goal_states: Goals, shape (batch, nx).

        :returns: Rewards and terminated flags (1.0 where the goal is reached), shape (batch,)
            each.
        """
        distances = self.relative_distances_to(start_states, current_states, goal_states)
        terminated = (distances < self.params.learner_final_success_distance).float()
        if self.params.learner_reward_type == 'sparse':
            rewards = terminated - 1.0
        else:
            rewards = -distances.clamp(0.0, 1.0)
        return rewards, terminated

    # -- experience ------------------------------------------------------------------------

    def update_norm(self, states: torch.FloatTensor, goals: torch.FloatTensor) -> None:
        """
        Update the normalizers with the current episode of play experience.

        Samples the trajectory instead of taking every experience to create a goal distribution
        that is equal to what the networks encouter: with HER, a share of the goals are states
        the trajectory reached later, exactly as in the relabelled replay samples.

        :param states: States of the new transitions, shape (batch, nx).
        :param goals: Their goals, shape (batch, nx).
        """
        her = self.params.learner_her_probability
        if her > 0:
            relabel = torch.rand(goals.shape[0], generator=self.generator) < her
            future = torch.randint(0, states.shape[0], (goals.shape[0],),
                                   generator=self.generator)
            goals = torch.where(relabel[:, None], states[future], goals)
        self.state_norm.update(torch.cat([states, goals]))

    def _add(self, data: TensorDict, demonstration: bool) -> None:
        self.replay_buffer.extend(data)
        self.update_norm(data['next_states'], data['goal_states'])
        if demonstration:
            self.demo_transitions += data.batch_size[0]
        else:
            self.policy_transitions += data.batch_size[0]

    def _policy_rollout(self, num_envs: int) -> TensorDict:
        starts = self.plant.sample_start_states(num_envs, self.generator)
        goals = self.plant.sample_goal_states(num_envs, self.generator)
        states, relative = self.plant.rollout(
            self._explore, starts, goals, self.params.learner_trajectory_length)
        data = trajectory_transitions(states, relative, goals)
        self._add(data, demonstration=False)
        return data

    def policy_rollout(self) -> TensorDict:
        """
        Rollout trained policy from random start and goal states and add to the replay buffer.

        Runs ``learner_rollouts`` environments as one batch.

        :returns: The new transitions.
        """
        return self._policy_rollout(self.params.learner_rollouts)

    def graph_rollout(self) -> TensorDict:
        """
        Trace a trajectory in the graph from a sampled start to a goal; add it to the buffer.

        :returns: The demonstration's transitions (empty if the graph has none to give).
        """
        if self.graph is None:
            raise RuntimeError('graph_rollout needs a graph (a source of demonstrations)')
        data = self.graph.sample_demonstration()
        if data is None or data.batch_size[0] == 0:
            return empty_transitions(self.plant.state_dimension, self.plant.action_dimension)
        check_transitions(data, self.plant.state_dimension, self.plant.action_dimension)
        self._add(data, demonstration=True)
        return data

    def set_demonstration_injection(self) -> None:
        """
        Set the demonstration injection.

        Chooses the share of rollouts replaced by planner demonstrations this epoch:
        ``initial`` injects ``learner_initial_injections`` demonstrations once, before the
        first epoch, and none after; ``fixed`` uses ``learner_max_planner_experience_share``;
        ``decreasing`` scales that share by (1 - the last evaluation success rate).
        """
        p = self.params
        if self.graph is None or not p.learner_use_planner:
            self.planner_share = 0.0
            return
        strategy = p.learner_injection_strategy
        if strategy == 'initial':
            self.planner_share = 0.0
            if not self.initial_injections_done:
                for _ in range(p.learner_initial_injections):
                    self.graph_rollout()
                self.initial_injections_done = True
        elif strategy == 'fixed':
            self.planner_share = p.learner_max_planner_experience_share
        else:
            success = self.history[-1]['success_rate'] if self.history else 0.0
            self.planner_share = p.learner_max_planner_experience_share * (1.0 - success)

    # -- training --------------------------------------------------------------------------

    def train(self, num_epochs: int = 50) -> None:
        """
        Train a policy to solve the environment with DDPG.

        A stop request (``stop_event``) ends training after the running cycle with a
        checkpoint that records the cycle, so :meth:`resume` continues the epoch exactly.

        :param num_epochs: Epochs to run (continuing from ``self.epoch``).
        """
        p = self.params
        # 0 = adapt: the usable cores while they are free, fewer while a neighbour competes.
        if p.learner_threads != 0:
            self.thread_governor = None
        elif self.thread_governor is None:  # kept across train() calls: it has measured
            self.thread_governor = ThreadGovernor(usable_cores())
        self._use_threads(self.thread_governor.threads if self.thread_governor is not None
                          else p.learner_threads)
        if self.save_local and self.run_dir is None:
            checkpoint.check_writable(self.output_dir)
        last_epoch = self.epoch + num_epochs
        self.epochs_requested = last_epoch
        while self.epoch < last_epoch:
            started = time.perf_counter() - self.epoch_elapsed
            if self.cycle == 0:
                self.set_demonstration_injection()
                self.demo_transitions = self.policy_transitions = 0
                self.thread_cycles = Counter()
            while self.cycle < p.learner_cycles:
                if self.stop_event.is_set():
                    self.epoch_elapsed = time.perf_counter() - started
                    self.save_checkpoints()
                    return
                self._cycle()
                self.cycle += 1
            success_rate, distance = self.eval_agent()
            self.epoch += 1
            self.cycle = 0
            self.epoch_elapsed = 0.0
            added = self.demo_transitions + self.policy_transitions
            metrics = {
                'epoch': self.epoch,
                'success_rate': success_rate,
                'relative_distance': distance,
                'demo_share': self.demo_transitions / added if added else 0.0,
                'epoch_time': time.perf_counter() - started,
                'replay_size': len(self.replay_buffer),
                # the thread count most of the epoch's updates ran with
                'threads': (self.thread_cycles.most_common(1)[0][0] if self.thread_cycles
                            else torch.get_num_threads()),
            }
            self.history.append(metrics)
            if (self.epoch % p.learner_checkpoint_every == 0 or self.epoch == last_epoch
                    or self.stop_event.is_set()):
                self.save_checkpoints()
            self._report(metrics)
            if self.stop_event.is_set():
                return

    def _cycle(self) -> None:
        p = self.params
        demos = 0
        if self.planner_share > 0:
            draws = torch.rand(p.learner_rollouts, generator=self.generator)
            demos = int((draws < self.planner_share).sum())
        for _ in range(demos):
            self.graph_rollout()
        if p.learner_rollouts - demos > 0:
            self._policy_rollout(p.learner_rollouts - demos)
        self.thread_cycles[torch.get_num_threads()] += 1
        if p.learner_batches > 0:
            started = time.perf_counter()
            self.train_batches(p.learner_batches, p.learner_batch_size, p.learner_discount)
            if self.thread_governor is not None:
                seconds_per_update = (time.perf_counter() - started) / p.learner_batches
                self._use_threads(self.thread_governor.record(seconds_per_update))
        self.actor.update_target(p.learner_tau)
        self.critic.update_target(p.learner_tau)

    def _use_threads(self, count: int) -> None:
        if torch.get_num_threads() != count:
            torch.set_num_threads(count)
        # The plant's rollout threads wait on each other like torch's: they follow the
        # governor, unless the task fixes their count.
        if self.thread_governor is not None and self.params.model_nthread == 0:
            self.plant.set_threads(count)

    def _report(self, metrics: dict[str, Any]) -> None:
        if self.progress is not None:
            self.progress(metrics)
        elif self.verbose:
            print(format_metrics(metrics), flush=True)

    def preprocess_sample(
        self, data: TensorDict
    ) -> tuple[torch.FloatTensor, torch.FloatTensor, torch.FloatTensor, torch.FloatTensor,
               torch.FloatTensor]:
        """
        Preprocess sample.

        :param data: Tensor to preprocess.

        :returns: observation, next observation, actions, rewards, terminated
        """
        if DEVICE.type != 'cpu':  # on the CPU this would only cost a copy per update
            data = data.to(DEVICE)
        goals = data['goal_states']
        obs = self.state_norm.normalize_obs(Normalizer.wrap_obs(data['states'], goals))
        next_obs = self.state_norm.normalize_obs(Normalizer.wrap_obs(data['next_states'], goals))
        actions = self.plant.actions.normalized_actions(data['relative_actions'])
        actions = actions.clamp(-self.actor.action_clip, self.actor.action_clip)
        rewards, terminated = self.reward_function(
            data['start_states'], data['next_states'], goals)
        if not self.params.learner_terminate_on_success:
            terminated = torch.zeros_like(terminated)
        return obs, next_obs, actions, rewards[:, None], terminated[:, None]

    def train_actor_critic(self, data: TensorDict, discount_factor: float = 0.98) -> None:
        """
        Train the agent and critic network with experience sampled from the replay buffer.

        :param data: Sampled transitions.
        :param discount_factor: Discount of future rewards.
        """
        self.gradient_step(self.preprocess_sample(data), discount_factor)

    def train_batches(self, batches: int, batch_size: int, discount_factor: float) -> None:
        """
        Run one DDPG update per batch, on batches sampled and preprocessed together.

        Equal, bit for bit, to ``batches`` calls of :meth:`train_actor_critic` on
        ``replay_buffer.sample(batch_size)``: the buffer and normalizer do not change between
        the updates of a cycle, so one gather and one preprocessing serve them all.

        :param batches: Number of updates.
        :param batch_size: Transitions per update.
        :param discount_factor: Discount of future rewards.
        """
        data = self.replay_buffer.sample_batches(batches, batch_size)
        preprocessed = [x.unflatten(0, (batches, batch_size))
                        for x in self.preprocess_sample(data.reshape(-1))]
        for i in range(batches):
            self.gradient_step(tuple(x[i] for x in preprocessed), discount_factor)

    def gradient_step(self, batch: tuple[torch.Tensor, ...], discount_factor: float) -> None:
        """
        Update the critic, then the actor, on one preprocessed batch.

        :param batch: What :meth:`preprocess_sample` returns.
        :param discount_factor: Discount of future rewards.
        """
        obs, next_obs, actions, rewards, terminated = batch
        with torch.no_grad():
            next_q = self.critic.target(next_obs, self.actor.target(next_obs))
            target_q = rewards + discount_factor * (1.0 - terminated) * next_q
            # Rewards lie in [-1, 0], so every return does too: clipping only removes error.
            target_q = target_q.clamp(-self.value_bound, 0.0)
        critic_loss = F.mse_loss(self.critic(obs, actions), target_q)
        self.critic.backward_step(critic_loss)

        # The actor's loss needs gradients through the critic's input, not of its weights:
        # freezing them skips a third of that backward pass.
        self.critic.critic_net.requires_grad_(False)
        try:
            policy_actions = self.actor(obs)
            actor_loss = -self.critic(obs, policy_actions).mean()
            penalty = self.params.learner_action_l2 * policy_actions.square().mean()
            self.actor.backward_step(actor_loss + penalty)
        finally:
            self.critic.critic_net.requires_grad_(True)

    def eval_agent(self) -> tuple[float, float]:
        """
        Evaluate the current agent performance on the task.

        Runs ``learner_evals`` episodes as one batch, without exploration noise, from the same
        seeded starts and goals every time (so curves compare epochs, not samples).

        :returns: Success rate and mean final relative distance.
        """
        generator = torch.Generator().manual_seed(self.params.seed + 10_000)
        count = self.params.learner_evals
        starts = self.plant.sample_start_states(count, generator)
        goals = self.plant.sample_goal_states(count, generator)
        was_training = self.actor.training
        self.actor.evaluation_mode()
        try:
            states, _ = self.plant.rollout(
                self._explore, starts, goals, self.params.learner_trajectory_length)
        finally:
            if was_training:
                self.actor.train()
        distances = self.relative_distances_to(starts, states[:, -1], goals)
        success = distances < self.params.learner_final_success_distance
        return float(success.float().mean()), float(distances.mean())

    # -- checkpoints -----------------------------------------------------------------------

    def manifest_info(self) -> dict[str, Any]:
        """
        Manifest fields describing this learner's task, networks, epoch and metrics.

        :returns: Fields for ``checkpoint.build_manifest``.
        """
        p = self.params
        return {
            'task': p.task_name,
            'task_file': str(p.task_file),
            'config_hash': p.config_hash(),
            'params': p.to_dict(),
            'state_dimension': self.plant.state_dimension,
            'action_dimension': self.plant.action_dimension,
            'nlayers': p.learner_nlayers,
            'layer_width': p.learner_layer_width,
            'epoch': self.epoch,
            'cycle': self.cycle,
            'metrics': self.history[-1] if self.history else {},
            'created': datetime.datetime.now().isoformat(timespec='microseconds'),
        }

    def training_state(self) -> dict[str, Any]:
        """
        Everything beyond the networks that exact resumption needs.

        :returns: A dict of tensors and plain values (``weights_only``-loadable).
        """
        state = {
            'epoch': self.epoch,
            'cycle': self.cycle,
            'epoch_elapsed': self.epoch_elapsed,
            'planner_share': self.planner_share,
            'demo_transitions': self.demo_transitions,
            'policy_transitions': self.policy_transitions,
            'epochs_requested': self.epochs_requested,
            'history': self.history,
            'initial_injections_done': self.initial_injections_done,
            'torch_rng': torch.get_rng_state(),
            'generator': self.generator.get_state(),
            'actor_generator': self.actor.generator.get_state(),
            'buffer_generator': self.replay_buffer.generator.get_state(),
        }
        if self.graph is not None and hasattr(self.graph, 'state_dict'):
            state['graph'] = self.graph.state_dict()
        if self.save_buffer:
            state['replay_buffer'] = self.replay_buffer.state_dict()
        return state

    def resume(self, path: str | os.PathLike, with_buffer: bool = False) -> None:
        """
        Continue a run from a checkpoint exactly where it stopped.

        Restores actor, critic, their targets and optimizer states, the normalizer, the epoch,
        history, injection state, every random generator and (``with_buffer``) the replay
        buffer. With the buffer, a seeded run resumed at epoch k ends bit-for-bit identical to
        an uninterrupted one on CPU; without it the buffer starts empty.

        :param path: Checkpoint, run or output directory, or URL.
        :param with_buffer: Restore the replay buffer (the checkpoint must hold one).
        """
        loaded = checkpoint.load(path, self.expected_manifest(), with_critic=True,
                                 with_training_state=True)
        state = loaded.training_state
        if state is None:
            raise checkpoint.CheckpointError(f'{loaded.path}: holds no training state to resume')
        if with_buffer and 'replay_buffer' not in state:
            raise checkpoint.CheckpointError(
                f'{loaded.path}: holds no replay buffer (train with --save-buffer to store it)')
        try:
            self.actor.load(loaded.actor)
            self.critic.load(loaded.critic)
            self.state_norm.load(loaded.state_norm)
            if with_buffer:
                self.replay_buffer.load_state_dict(state['replay_buffer'])
            if 'graph' in state and hasattr(self.graph, 'load_state_dict'):
                self.graph.load_state_dict(state['graph'])
            self.epoch = int(state['epoch'])
            self.cycle = int(state['cycle'])
            self.epoch_elapsed = float(state['epoch_elapsed'])
            self.planner_share = float(state['planner_share'])
            self.demo_transitions = int(state['demo_transitions'])
            self.policy_transitions = int(state['policy_transitions'])
            self.epochs_requested = int(state['epochs_requested'])
            self.history = list(state['history'])
            self.initial_injections_done = bool(state['initial_injections_done'])
            torch.set_rng_state(state['torch_rng'])
            self.generator.set_state(state['generator'])
            self.actor.generator.set_state(state['actor_generator'])
            self.replay_buffer.generator.set_state(state['buffer_generator'])
        except (KeyError, TypeError, ValueError, RuntimeError) as error:
            raise checkpoint.CheckpointError(
                f'{loaded.path}: training state does not fit: {error}') from None
        local = Path(loaded.path)
        if '://' not in loaded.path and local.parent.name == 'checkpoints':
            self.run_dir = local.parent.parent  # continue in the same run directory
        self.last_checkpoint = loaded.path

    def save_checkpoints(self) -> None:
        """Save to every enabled destination (local run directory and/or cloud URL)."""
        if self.save_local:
            self.save_models(is_local=True)
        if self.save_cloud:
            self.save_models(is_local=False)

    def save_models(self, is_local: bool) -> None:
        """
        Save the actor and critic networks and the normalizers.

        Local saves are located under ``<output_dir>/<task>/<run>/checkpoints/epoch_<N>/``;
        cloud saves under ``<cloud_url>/<task>/<run>/epoch_<N>/``.

        :param is_local: Save to the local output directory (else to ``cloud_url``).
        """
        files = checkpoint.build_files(self.actor, self.critic, self.state_norm,
                                       self.training_state())
        info = self.manifest_info()
        if self.run_dir is None:
            self.run_dir = checkpoint.new_run_dir(self.output_dir, self.params.task_name)
        name = f'epoch_{self.epoch:06d}' + (f'_cycle_{self.cycle:04d}' if self.cycle else '')
        if is_local:
            target = self.run_dir / 'checkpoints' / name
            if target.exists():  # saved this epoch already (e.g. stop right after a save)
                return
            self.last_checkpoint = str(checkpoint.save_local(target, files, info,
                                                             self.keep_checkpoints))
        else:
            if not self.cloud_url:
                raise ValueError('save_cloud needs cloud_url (an fsspec URL)')
            base = self.cloud_url.rstrip('/')
            url = f'{base}/{self.params.task_name}/{self.run_dir.name}/{name}'
            self.last_checkpoint = checkpoint.save_cloud(url, files, info)

    def expected_manifest(self) -> dict[str, Any]:
        """
        Manifest fields a checkpoint must match to be loaded into this learner.

        :returns: Task, config hash and network sizes.
        """
        return {
            'task': self.params.task_name,
            'config_hash': self.params.config_hash(),
            'state_dimension': self.plant.state_dimension,
            'action_dimension': self.plant.action_dimension,
            'nlayers': self.params.learner_nlayers,
            'layer_width': self.params.learner_layer_width,
        }

    def load_models(self, path: Path, is_local: bool) -> None:
        """
        Load the actor and critic networks and the normalizers.

        :param path: Local checkpoint, run or output directory; with ``is_local=False`` an fsspec
            URL given as a string (a ``Path`` would fold its ``//``), or a path relative to
            ``cloud_url``.
        :param is_local: Whether ``path`` is local.
        """
        source = str(path)
        if not is_local and '://' not in source:
            if not self.cloud_url:
                raise ValueError(f'{source}: not a URL, and no cloud_url to resolve it against')
            source = f'{self.cloud_url.rstrip("/")}/{source.lstrip("/")}'
        loaded = checkpoint.load(source, self.expected_manifest(), with_critic=True)
        try:
            self.actor.load(loaded.actor)
            self.critic.load(loaded.critic)
            self.state_norm.load(loaded.state_norm)
        except ValueError as error:
            raise checkpoint.CheckpointError(f'{loaded.path}: {error}') from None
        self.last_checkpoint = loaded.path


def format_metrics(metrics: dict[str, Any]) -> str:
    """
    One line per epoch: success rate, relative distance, demo share, epoch time.

    :param metrics: An epoch's metrics.

    :returns: The line.
    """
    return (
        f'epoch {metrics["epoch"]:3d}  success {metrics["success_rate"]:.2f}  '
        f'rel. distance {metrics["relative_distance"]:.3f}  '
        f'demo share {metrics["demo_share"]:.2f}  time {metrics["epoch_time"]:.1f} s'
    )


def build_learner(
    params: ParameterContainer, graph: DemonstrationSource | None = None, **kwargs: Any
) -> Learner:
    """
    Build a learner with its plant and replay buffer for a task.

    :param params: Task parameters.
    :param graph: Source of demonstrations, or None.
    :param kwargs: Further ``Learner`` fields (output_dir, save_local, progress, ...).

    :returns: The learner.
    """
    plant = MujocoPlant(params)
    buffer = ReplayBuffer.from_params(params)
    return Learner(plant=plant, graph=graph, replay_buffer=buffer, params=params, **kwargs)
