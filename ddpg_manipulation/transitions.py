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
The transition format that rollouts, demonstrations and the replay buffer share.

A batch of transitions is a ``TensorDict`` whose batch dimension counts transitions, with the
float32 keys of :data:`TRANSITION_KEYS`: ``states``, ``relative_actions``, ``start_states`` and
``goal_states`` (of the transition's trajectory) and ``next_states``. Transitions built from
whole trajectories also carry ``steps_left``, the number of transitions after each one in its
trajectory, which hindsight relabelling draws the future from. The planner produces this
format and the learner consumes it; neither owns it.
"""

from __future__ import annotations

from typing import Protocol

from tensordict import TensorDict
import torch

TRANSITION_KEYS = ('states', 'relative_actions', 'start_states', 'goal_states', 'next_states')


class DemonstrationSource(Protocol):
    """
    Whatever gives demonstrations in this format: the learner takes them from one.

    The planner's ``Graph`` is one, and so is the ROS training node's queue of demonstrations
    received on a topic; the planner bridge node publishes what one gives.
    """

    def sample_demonstration(self) -> TensorDict | None:
        """
        Sample one demonstration.

        :returns: Its transitions, or None when there is none (yet).
        """


def transition_sizes(state_dimension: int, action_dimension: int) -> dict[str, int]:
    """
    Width of each transition key for a task.

    :param state_dimension: State size.
    :param action_dimension: Action size.

    :returns: Key -> width, in the order of :data:`TRANSITION_KEYS`.
    """
    sizes = dict.fromkeys(TRANSITION_KEYS, state_dimension)
    sizes['relative_actions'] = action_dimension
    return sizes


def check_transitions(data: TensorDict, state_dimension: int, action_dimension: int) -> None:
    """
    Check that a TensorDict holds well-formed transitions of a task.

    :param data: Transitions, batch dimension = transitions.
    :param state_dimension: Expected state size.
    :param action_dimension: Expected action size.

    :raises ValueError: A key is missing, has the wrong shape, or holds NaN or inf.
    """
    if data.batch_dims != 1:
        raise ValueError(f'transitions: expected one batch dimension, got {data.batch_size}')
    for key, size in transition_sizes(state_dimension, action_dimension).items():
        if key not in data.keys():
            raise ValueError(f'transitions: missing key {key!r}')
        if data[key].shape[-1] != size or data[key].dim() != 2:
            raise ValueError(
                f'transitions: key {key!r} has shape {tuple(data[key].shape)}, '
                f'expected ({data.batch_size[0]}, {size})'
            )
        if not torch.isfinite(data[key]).all():
            raise ValueError(f'transitions: key {key!r} holds NaN or inf')


def empty_transitions(state_dimension: int, action_dimension: int) -> TensorDict:
    """
    Build a batch of no transitions with a task's key widths.

    :param state_dimension: State size.
    :param action_dimension: Action size.

    :returns: Transitions with batch size 0.
    """
    sizes = transition_sizes(state_dimension, action_dimension)
    return TensorDict({key: torch.empty(0, size) for key, size in sizes.items()}, batch_size=[0])


def trajectory_transitions(
    states: torch.Tensor, relative_actions: torch.Tensor, goal_states: torch.Tensor
) -> TensorDict:
    """
    Build the transitions of trajectories laid out as tensors.

    :param states: Visited states, shape (batch, steps + 1, nx); index 0 is the start state.
    :param relative_actions: Relative actions, shape (batch, steps, nu).
    :param goal_states: Goal of each trajectory, shape (batch, nx).

    :returns: Transitions ordered trajectory by trajectory, batch size batch * steps, with
        ``steps_left`` (transitions after this one in its trajectory) for HER.
    """
    batch, steps = relative_actions.shape[:2]
    nx = states.shape[-1]

    def per_step(x: torch.Tensor) -> torch.Tensor:
        return x[:, None].expand(batch, steps, nx).reshape(-1, nx)

    steps_left = torch.arange(steps - 1, -1, -1).repeat(batch)
    return TensorDict(
        {
            'states': states[:, :-1].reshape(-1, nx),
            'relative_actions': relative_actions.reshape(batch * steps, -1),
            'start_states': per_step(states[:, 0]),
            'goal_states': per_step(goal_states),
            'next_states': states[:, 1:].reshape(-1, nx),
            'steps_left': steps_left,
        },
        batch_size=[batch * steps],
    )
