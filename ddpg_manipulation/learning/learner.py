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
``Learner``: the Deep Deterministic Policy Gradient (DDPG) algorithm, with demonstrations.

An epoch is ``learner_cycles`` cycles, each ``learner_rollouts`` episodes in one batch (some
replaced by demonstrations), ``learner_batches`` updates and one soft update of the targets; then
an evaluation and a validation. Read top to bottom: set-up, acting, rewards, experience, one
update, the epoch loop. Elsewhere: threads (``threads.py``), the epochs' edges (``epochs.py``:
stops, the run's result, checkpoint cadence, the report), checkpoint I/O (``checkpointing.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import os
from pathlib import Path
import threading
import time
from typing import Any, Callable

from tensordict import TensorDict
import torch
import torch.nn.functional as F

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.learning import epochs
from ddpg_manipulation.learning.checkpointing import CheckpointVerbs
from ddpg_manipulation.learning.cuda_graph import GraphedUpdates
from ddpg_manipulation.learning.devices import resolve_device
from ddpg_manipulation.learning.networks import Actor, actor_critic, Critic
from ddpg_manipulation.learning.normalizer import Normalizer
from ddpg_manipulation.learning.replay_buffer import demonstration_flags, ReplayBuffer
from ddpg_manipulation.learning.threads import TrainingThreads
from ddpg_manipulation.sim.episodes import run_episodes
from ddpg_manipulation.sim.plant import MujocoPlant, usable_cores
from ddpg_manipulation.transitions import (
    check_transitions,
    DemonstrationSource,
    empty_transitions,
    trajectory_transitions,
)


@dataclass
class Learner(CheckpointVerbs):
    """
    Deep Deterministic Policy Gradient algorithm class.

    Its checkpoint verbs (``save_models``, ``load_models``, ``save_checkpoints``, ``resume``)
    come from :class:`~ddpg_manipulation.learning.checkpointing.CheckpointVerbs`.

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
    :param device: Torch device of the networks, replay storage and updates (``auto``, ``cpu``,
        ``cuda``, ``cuda:N``); empty = the task's ``learner.device``. MuJoCo runs on the CPU.
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
    # Given as text (or a torch device); after construction, the resolved ``torch.device``.
    device: Any = ''

    actor: Actor = field(init=False, repr=False)
    critic: Critic = field(init=False, repr=False)
    state_norm: Normalizer = field(init=False, repr=False)

    # -- set-up ----------------------------------------------------------------------------

    def __post_init__(self) -> None:
        """Construct a Learner object."""
        p = self.params
        requested = self.device or p.learner_device
        parameter = 'device' if self.device else f"{p.task_file}: key 'learner.device'"
        self.device = resolve_device(requested, parameter)
        self.stop_event = threading.Event()
        self.threads = TrainingThreads(p.learner_threads, usable_cores(), self.plant,
                                       plant_follows=p.model_nthread == 0,
                                       adapt=self.device.type == 'cpu')
        self.run_dir: Path | None = None
        self.last_checkpoint: str | None = None
        self.reset()
        self.load_requested()

    def reset(self) -> None:
        """Reset the Learner for additional runs."""
        p = self.params
        torch.manual_seed(p.seed)
        self.generator = torch.Generator().manual_seed(p.seed)
        # Built on the CPU and then moved: the same seed gives the same weights on every device.
        self.actor, self.critic = actor_critic(
            2 * self.plant.state_dimension, self.plant.action_dimension, p)
        self.actor.to(self.device)
        self.critic.to(self.device)
        self.state_norm = Normalizer(self.plant.state_dimension,
                                     clip_range=p.learner_normalizer_clip,
                                     update_clip=p.learner_normalizer_update_clip)
        self.replay_buffer.reset()
        self.replay_buffer.to(self.device)
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
        # The update captured as a CUDA graph (learner.cuda_graphs), made at the first cycle.
        self._graphed = GraphedUpdates(self.gradient_step, [self.actor.optim, self.critic.optim])
        # The epoch whose validation was best: the result of the run (see checkpointing).
        self.best: dict[str, Any] | None = None
        self.value_bound = 1.0 / (1.0 - p.learner_discount) if p.learner_discount < 1 else 1e6

    # -- acting ----------------------------------------------------------------------------

    def actor_actions(
        self, states: torch.FloatTensor, goal_state: torch.FloatTensor
    ) -> torch.FloatTensor:
        """
        Use the actor network to select normalized actions for states and goals (batch, nx).

        :returns: Actions in [-1, 1], (batch, nu), on the learner's device; noisy in train mode.
        """
        return self.actor.select_action(self.state_norm, Normalizer.wrap_obs(states, goal_state))

    def _explore(self, states: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
        # Noisy in train mode, deterministic in eval mode (the actor's mode decides); on the CPU,
        # where MuJoCo simulates.
        return self.actor_actions(states, goals).cpu()

    # -- rewards ---------------------------------------------------------------------------

    def relative_distances_to(
        self, start_states: torch.FloatTensor, current_states: torch.FloatTensor,
        goal_states: torch.FloatTensor,
    ) -> torch.FloatTensor:
        """Scaled distance to the goals relative to the starts' (batch,): 1 no progress, 0 done."""
        return self.plant.relative_distances_to(start_states, current_states, goal_states)

    def reward_function(
        self, start_states: torch.FloatTensor, current_states: torch.FloatTensor,
        goal_states: torch.FloatTensor,
    ) -> tuple[torch.FloatTensor, torch.FloatTensor]:
        """
        Learner reward function.

        Sparse: -1 until the relative distance is below ``learner_final_success_distance``, then
        0. Dense: minus the relative distance clipped to [0, 1]. Mixed: the mean of the two, so
        the reward grades every step and still steps up by half at the success distance.

        :returns: Rewards and terminated flags (1.0 where the goal is reached), shape (batch,).
        """
        distances = self.relative_distances_to(start_states, current_states, goal_states)
        terminated = (distances < self.params.learner_final_success_distance).float()
        sparse = terminated - 1.0
        if self.params.learner_reward_type == 'sparse':
            return sparse, terminated
        dense = -distances.clamp(0.0, 1.0)
        if self.params.learner_reward_type == 'dense':
            return dense, terminated
        # The mean, not the sum: rewards stay in [-1, 0], within the critic's value bound.
        return 0.5 * (sparse + dense), terminated

    # -- experience ------------------------------------------------------------------------

    def update_norm(self, states: torch.FloatTensor, goals: torch.FloatTensor) -> None:
        """
        Update the normalizers with the current episode of play experience.

        Samples the trajectory instead of taking every experience to create a goal distribution
        that is equal to what the networks encouter: with HER, a share of the goals are states
        the trajectory reached later, exactly as in the relabelled replay samples.
        """
        her = self.params.learner_her_probability
        if her > 0:
            relabel = torch.rand(goals.shape[0], generator=self.generator) < her
            future = torch.randint(0, states.shape[0], (goals.shape[0],),
                                   generator=self.generator)
            goals = torch.where(relabel[:, None], states[future], goals)
        self.state_norm.update(torch.cat([states, goals]))

    def _add(self, data: TensorDict, demonstration: bool) -> None:
        self.replay_buffer.extend(data, demonstration)
        self.update_norm(data['next_states'], data['goal_states'])
        if demonstration:
            self.demo_transitions += data.batch_size[0]
        else:
            self.policy_transitions += data.batch_size[0]

    def policy_rollout(self) -> TensorDict:
        """
        Rollout trained policy from random start and goal states and add to the replay buffer.

        Runs ``learner_rollouts`` environments as one batch.

        :returns: The new transitions.
        """
        return self._policy_rollout(self.params.learner_rollouts)

    def _policy_rollout(self, num_envs: int) -> TensorDict:
        starts = self.plant.sample_start_states(num_envs, self.generator)
        goals = self.plant.sample_goal_states(num_envs, self.generator)
        states, relative = self.plant.rollout(
            self._explore, starts, goals, self.params.learner_trajectory_length)
        data = trajectory_transitions(states, relative, goals)
        self._add(data, demonstration=False)
        return data

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

    # -- one DDPG update -------------------------------------------------------------------

    def preprocess_sample(
        self, data: TensorDict
    ) -> tuple[torch.FloatTensor, torch.FloatTensor, torch.FloatTensor, torch.FloatTensor,
               torch.FloatTensor]:
        """
        Turn sampled transitions into what an update needs, computing rewards here.

        Rewards and termination are computed at sampling time, from the goal the transition
        carries now: after HER relabelling, so a relabelled goal gets the reward it deserves.

        :param data: Sampled transitions (moved to the learner's device if elsewhere).

        :returns: Normalized observation, next observation, normalized actions, rewards and
            terminated flags (the last two of shape (batch, 1)).
        """
        data = data.to(self.device)
        goals = data['goal_states']
        obs = self.state_norm.normalize_obs(Normalizer.wrap_obs(data['states'], goals))
        actions = self.plant.actions.normalized_actions(data['relative_actions'])
        actions = actions.clamp(-self.actor.action_clip, self.actor.action_clip)
        next_obs = self.state_norm.normalize_obs(Normalizer.wrap_obs(data['next_states'], goals))
        rewards, terminated = self.reward_function(
            data['start_states'], data['next_states'], goals)
        if not self.params.learner_terminate_on_success:
            terminated = torch.zeros_like(terminated)
        return obs, next_obs, actions, rewards[:, None], terminated[:, None]

    def train_actor_critic(self, data: TensorDict, discount_factor: float = 0.98) -> None:
        """Train the agent and critic network with experience sampled from the replay buffer."""
        flags = demonstration_flags(data).to(self.device)
        self.gradient_step((*self.preprocess_sample(data), flags), discount_factor)

    def train_batches(self, batches: int, batch_size: int, discount_factor: float) -> None:
        """
        Run one DDPG update per batch, on batches sampled and preprocessed together.

        Bit for bit ``batches`` calls of :meth:`train_actor_critic` on ``replay_buffer.sample``:
        the buffer and normalizer stay the same within a cycle, so one gather serves them all.
        """
        data = self.replay_buffer.sample_batches(batches, batch_size).reshape(-1)
        preprocessed = [x.unflatten(0, (batches, batch_size))
                        for x in (*self.preprocess_sample(data), demonstration_flags(data))]
        # With learner.cuda_graphs on CUDA, the same update replayed as one captured graph.
        graphed = self.params.learner_cuda_graphs and self.device.type == 'cuda'
        step = self._graphed if graphed else self.gradient_step
        for i in range(batches):
            step(tuple(x[i] for x in preprocessed), discount_factor)

    def gradient_step(self, batch: tuple[torch.Tensor, ...], discount_factor: float) -> None:
        """
        Update the critic, then the actor, on one preprocessed batch.

        The target networks are not moved here: they follow once per cycle (see ``_cycle``).

        :param batch: What :meth:`preprocess_sample` returns, and which transitions are
            demonstrations (1.0, shape (batch, 1)).
        """
        obs, next_obs, actions, rewards, terminated, demonstration = batch
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
            preactivation = self.actor.action_net.preactivation(obs)
            policy_actions = torch.tanh(preactivation)  # what self.actor(obs) computes
            policy_q = self.critic(obs, policy_actions)
            penalty = self.params.learner_action_l2 * policy_actions.square().mean()
            actor_loss = -policy_q.mean() + penalty
            if self.params.learner_demo_bc_weight > 0:
                # Behaviour cloning of the demonstrations, only where the critic values the
                # demonstrated action above the actor's (the Q-filter): the planner's actions
                # guide the actor until it finds better ones, and no longer. The error is taken
                # before the tanh, so that an actor stuck at its bounds still gets a gradient.
                with torch.no_grad():
                    better = demonstration * (self.critic(obs, actions) > policy_q).float()
                    cloned = torch.atanh(actions.clamp(-0.995, 0.995))
                cloning = (better * (preactivation - cloned).square()).sum(-1).mean()
                actor_loss = actor_loss + self.params.learner_demo_bc_weight * cloning
            self.actor.backward_step(actor_loss)
        finally:
            self.critic.critic_net.requires_grad_(True)

    # -- the epoch loop --------------------------------------------------------------------

    def train(self, num_epochs: int = 50) -> None:
        """
        Train a policy to solve the environment with DDPG.

        A stop request (``stop_event``) ends training after the running cycle with a
        checkpoint that records the cycle, so :meth:`resume` continues the epoch exactly.

        :param num_epochs: Epochs to run (continuing from ``self.epoch``).
        """
        p = self.params
        last_epoch = epochs.begin_training(self, num_epochs)
        while self.epoch < last_epoch:
            started = time.perf_counter() - self.epoch_elapsed
            if self.cycle == 0:
                self.set_demonstration_injection()
                self.demo_transitions = self.policy_transitions = 0
                self.threads.start_epoch()
            while self.cycle < p.learner_cycles:
                if epochs.stop_mid_epoch(self, started):
                    return
                self._cycle()
                self.cycle += 1
            if epochs.end_epoch(self, self.eval_agent(), self.validate(), started, last_epoch):
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
            episodes = p.learner_rollouts - demos
            with self.threads.cycle_rollout(episodes, p.learner_rollouts,
                                            p.learner_trajectory_length):
                self._policy_rollout(episodes)
        with self.threads.cycle_updates(p.learner_batches):
            if p.learner_batches > 0:
                self.train_batches(p.learner_batches, p.learner_batch_size, p.learner_discount)
        # One soft update of the targets per cycle, after all of its gradient steps (as the
        # reference does; tau is sized for it), not one per update.
        self.actor.update_target(p.learner_tau)
        self.critic.update_target(p.learner_tau)
        if self.actor.average_net is not None:
            self.actor.update_average(p.learner_average_tau)

    def eval_agent(self) -> tuple[float, float]:
        """
        Evaluate the current agent performance on the task.

        ``learner_evals`` episodes in one batch, without noise, from the same seeded starts and
        goals every epoch (curves compare epochs, not samples).

        :returns: Success rate and mean final relative distance.
        """
        return self._evaluate(self.params.seed + 10_000, self.params.learner_evals)

    def validate(self) -> tuple[float, float] | None:
        """
        Evaluate on the validation episodes, which pick the best epoch.

        ``learner_validation_evals`` episodes of their own seed, not the reported ones.

        :returns: Success rate and mean final relative distance, or None without validation.
        """
        count = self.params.learner_validation_evals
        return self._evaluate(self.params.seed + 20_000, count) if count > 0 else None

    def _evaluate(self, seed: int, count: int) -> tuple[float, float]:
        p = self.params
        with self.actor.evaluating():
            result = run_episodes(self.plant, self._explore, seed, count,
                                  p.learner_trajectory_length, p.learner_final_success_distance)
        return result.success_rate, result.relative_distance
