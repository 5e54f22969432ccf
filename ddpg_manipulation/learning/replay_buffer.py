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

"""Replay buffer of transitions, on torchrl's replay buffer, with HER goal relabelling."""

from __future__ import annotations

import logging
from typing import Any

from tensordict import TensorDict
import torch
from torchrl.data import LazyTensorStorage
from torchrl.data import ReplayBuffer as TorchRLReplayBuffer
from torchrl.data.replay_buffers.samplers import RandomSampler

from ddpg_manipulation.transitions import TRANSITION_KEYS

# What the buffer stores per transition: the shared format, the steps after it in its trajectory
# (HER draws the future from them) and whether it came from a demonstration.
STORED_KEYS = (*TRANSITION_KEYS, 'steps_left', 'demonstration')

# torchrl announces every storage it initialises at INFO level; that is noise in a progress bar.
logging.getLogger('torchrl').setLevel(logging.WARNING)


class ReplayBuffer:
    """
    Transitions of whole trajectories, sampled uniformly, with optional HER relabelling.

    Transitions are stored in the order they are added, trajectory after trajectory, so the
    future of a transition lies ``1..steps_left`` places after it in the ring storage.

    :param capacity: Maximum number of transitions (the oldest are overwritten).
    :param her_probability: Probability to replace a sampled goal by a state its trajectory reached
        later (hindsight experience replay, "future" strategy).
    :param generator: Random generator for HER draws (a CPU generator: the draws are the same
        on every device); the global torch RNG of the storage's device samples indices.
    :param device: Where the transitions are stored, sampled and relabelled: the learner's
        device, so that a cycle's batches never cross to the host.
    """

    def __init__(
        self, capacity: int, her_probability: float = 0.0,
        generator: torch.Generator | None = None, device: torch.device | str = 'cpu',
    ) -> None:
        self.capacity = int(capacity)
        self.her_probability = her_probability
        self.generator = generator
        self.device = torch.device(device)
        self._buffer = _torchrl_buffer(self.capacity, self.device)

    @classmethod
    def from_params(cls, params: Any, generator: torch.Generator | None = None,
                    device: torch.device | str = 'cpu') -> ReplayBuffer:
        """
        Build the buffer a task's parameters ask for.

        :param params: Task parameters (capacity in trajectories, HER probability).
        :param generator: Random generator for HER draws.
        :param device: Storage device.

        :returns: The replay buffer.
        """
        capacity = params.learner_replay_capacity * params.learner_trajectory_length
        return cls(capacity, params.learner_her_probability, generator, device)

    def extend(self, data: TensorDict, demonstration: bool = False) -> torch.Tensor:
        """
        Add transitions.

        :param data: Transitions; ``steps_left`` is added (0, no future) where missing.
        :param demonstration: Whether they are a demonstration's (sampled batches carry the
            flag as ``demonstration``).

        :returns: Storage indices of the added transitions.
        """
        with_steps = 'steps_left' in data.keys()
        data = data.select(*TRANSITION_KEYS, *(('steps_left',) if with_steps else ()))
        count = data.batch_size[0]
        if not with_steps:
            data['steps_left'] = torch.zeros(count, dtype=torch.long)
        data['demonstration'] = torch.full((count,), demonstration, dtype=torch.bool)
        return self._buffer.extend(data.to(self.device))

    def sample(self, batch_size: int) -> TensorDict:
        """
        Sample transitions uniformly, relabelling goals with HER.

        :param batch_size: Number of transitions.

        :returns: Transitions, batch size ``batch_size``.
        """
        return self.sample_batches(1, batch_size)[0]

    def sample_batches(self, batches: int, batch_size: int) -> TensorDict:
        """
        Sample several batches at once, as if :meth:`sample` had been called ``batches`` times.

        One gather of ``batches * batch_size`` rows costs little more than one of
        ``batch_size``; the random draws are those of the calls one after another.

        :param batches: Number of batches.
        :param batch_size: Transitions per batch.

        :returns: Transitions, batch size ``(batches, batch_size)``.
        """
        if batches < 1 or batch_size < 1:
            raise ValueError(f'sample_batches: batches {batches} and batch_size {batch_size}: '
                             'expected >= 1 each')
        if self.her_probability <= 0:
            data = self._buffer.sample(batches * batch_size)
        else:
            data, info = self._buffer.sample(batches * batch_size, return_info=True)
            data = self._relabel(data, torch.as_tensor(info['index']), batches, batch_size)
        return data.reshape(batches, batch_size)

    def _relabel(self, data: TensorDict, index: torch.Tensor, batches: int,
                 batch_size: int) -> TensorDict:
        # Per batch: the relabel draws, then the offset draws (the order single calls use).
        draws = torch.rand(batches, 2, batch_size, generator=self.generator).to(self.device)
        relabel = draws[:, 0].reshape(-1) < self.her_probability
        # Offset in 0..steps_left: the transition's own next state counts as a future too.
        offset = (draws[:, 1].reshape(-1) * (data['steps_left'] + 1)).long()
        future = (index + offset) % len(self)
        # Index the one stored key needed: indexing the storage itself gathers all seven.
        future_states = self._buffer.storage._storage.get('next_states')[future]
        data['goal_states'] = torch.where(relabel[:, None], future_states, data['goal_states'])
        return data

    def __len__(self) -> int:
        return len(self._buffer)

    def __getitem__(self, key: str) -> torch.Tensor:
        """
        Return all stored values of one key, in storage order.

        :param key: A transition key such as ``states``.

        :returns: Tensor of shape (len(self), ...).
        """
        if len(self) == 0:
            raise KeyError(f'{key!r}: the replay buffer is empty')
        return self._buffer.storage[torch.arange(len(self))][key]

    def state_dict(self) -> dict[str, Any]:
        """
        Return the contents and write position as plain tensors (``weights_only``-loadable).

        :returns: ``data`` (key -> tensor in storage order), ``cursor`` and ``write_count``.
        """
        writer = self._buffer._writer.state_dict()
        data = {}
        if len(self) > 0:
            stored = self._buffer.storage[torch.arange(len(self))]
            data = {key: stored[key].cpu().clone() for key in STORED_KEYS}
        return {'capacity': self.capacity, 'data': data, 'cursor': int(writer['_cursor']),
                'write_count': int(writer['_write_count'])}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """
        Restore contents saved by :meth:`state_dict`, so sampling continues identically.

        :param state: What :meth:`state_dict` returned.
        """
        if int(state['capacity']) != self.capacity:
            raise ValueError(f'replay buffer state: capacity {state["capacity"]} does not match '
                             f'{self.capacity}')
        self.reset()
        if state['data']:
            data = dict(state['data'])
            size = next(iter(data.values())).shape[0]
            # Checkpoints written before demonstrations were flagged: none counts as one.
            data.setdefault('demonstration', torch.zeros(size, dtype=torch.bool))
            self._buffer.extend(TensorDict(data, batch_size=[size]).to(self.device))
        self._buffer._writer.load_state_dict(
            {'_cursor': int(state['cursor']), '_write_count': int(state['write_count'])})

    def to(self, device: torch.device | str) -> ReplayBuffer:
        """
        Move the storage (and what it holds) to a device.

        :param device: The torch device.

        :returns: This buffer.
        """
        device = torch.device(device)
        if device != self.device:
            state = self.state_dict()
            self.device = device
            self._buffer = _torchrl_buffer(self.capacity, device)
            self.load_state_dict(state)
        return self

    def reset(self) -> None:
        """Remove every transition."""
        self._buffer.empty()


def _torchrl_buffer(capacity: int, device: torch.device) -> TorchRLReplayBuffer:
    return TorchRLReplayBuffer(storage=LazyTensorStorage(capacity, device=device),
                               sampler=RandomSampler())


def demonstration_flags(data: TensorDict) -> torch.Tensor:
    """
    Mark the demonstrations among sampled transitions.

    :param data: Transitions, batch dimension = transitions.

    :returns: 1.0 where a transition is a demonstration's, else 0.0, shape (batch, 1); all 0.0
        if ``data`` carries no ``demonstration`` key.
    """
    if 'demonstration' not in data.keys():
        return torch.zeros(data.batch_size[0], 1, device=data.device)
    return data['demonstration'].float()[:, None]
