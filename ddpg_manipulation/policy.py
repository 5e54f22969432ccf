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

"""Policy: a trained checkpoint -> actions for (state, goal). Used by eval, export and ROS.

The policy speaks numpy at its boundary (``act``, ``start_end_actions``) so that callers such as
the ROS policy node need no torch types; the torch backend converts internally.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import numpy as np

from ddpg_manipulation.sim.actions import ActionSpace


class Policy:
    """A deterministic policy: normalizer + actor, with the task's action definition.

    Build it with :meth:`load`; the constructor takes already-loaded parts, so a backend that
    needs neither torch nor MuJoCo (e.g. onnxruntime) can build one from its own metadata.

    Args:
        actions: The task's action space.
        forward: Maps normalized observations (batch, 2 * nx) float32 -> actions (batch, nu).
        mean: Normalizer mean, shape (nx,).
        std: Normalizer standard deviation, shape (nx,).
        clip_range: Normalized observations are clipped to +- this.
        actuated_pos: Indices of the actuated joint positions in the state.
        metadata: Where the policy came from: task name, config hash, sizes, path, ...
    """

    def __init__(
        self, actions: ActionSpace, forward: Callable[[np.ndarray], np.ndarray],
        mean: np.ndarray, std: np.ndarray, clip_range: float, actuated_pos: Sequence[int],
        metadata: dict[str, Any],
    ) -> None:
        self.actions = actions
        self.state_dimension = int(mean.shape[0])
        self.action_dimension = actions.dimension
        self.actuated_pos = np.asarray(actuated_pos, dtype=np.int64)
        self.metadata = metadata
        self._forward = forward
        self._mean = np.tile(np.asarray(mean, dtype=np.float32), 2)
        self._std = np.tile(np.asarray(std, dtype=np.float32), 2)
        self._clip = float(clip_range)

    @classmethod
    def load(cls, path: str | os.PathLike, task: str | os.PathLike | None = None) -> Policy:
        """Load a policy from a checkpoint (directory, run/output directory, or URL).

        Args:
            path: Checkpoint location (see ``checkpoint.load``).
            task: Task name or YAML the checkpoint must belong to; default: the manifest's task.

        Returns:
            The policy.
        """
        import torch  # torch is needed for .pt checkpoints only

        from ddpg_manipulation.config import ParameterContainer
        from ddpg_manipulation.learning import checkpoint
        from ddpg_manipulation.learning.networks import DDP

        loaded = checkpoint.load(path, with_critic=False)
        manifest = loaded.manifest
        params = ParameterContainer(task if task is not None else manifest['task'])
        expected = {'task': params.task_name, 'config_hash': params.config_hash(),
                    'state_dimension': params.state_dimension,
                    'action_dimension': params.action_dimension}
        for key, value in expected.items():
            if manifest.get(key) != value:
                raise checkpoint.CheckpointError(
                    f'{loaded.path}: checkpoint {key} is {manifest.get(key)!r}, the task '
                    f'{params.task_name!r} has {value!r}'
                )
        net = DDP(2 * params.state_dimension, params.action_dimension,
                  int(manifest['nlayers']), int(manifest['layer_width']))
        try:
            net.load_state_dict(loaded.actor['net'])
        except (KeyError, RuntimeError) as error:
            raise checkpoint.CheckpointError(
                f'{loaded.path}/actor.pt: does not fit the network: {error}') from None
        net.eval()

        def forward(obs: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return net(torch.from_numpy(obs)).numpy()

        norm = loaded.state_norm
        policy = cls(ActionSpace.from_params(params), forward, norm['mean'].numpy(),
                     norm['std'].numpy(), float(norm['clip_range']), params.actuated_qpos,
                     {**manifest, 'path': loaded.path})
        policy.params = params
        policy.network = net
        return policy

    def normalize(self, states: np.ndarray, goals: np.ndarray) -> np.ndarray:
        """Build normalized, clipped observations.

        Args:
            states: States, shape (batch, nx).
            goals: Goals, shape (batch, nx).

        Returns:
            Observations, shape (batch, 2 * nx), float32.
        """
        obs = np.concatenate([states, goals], axis=-1).astype(np.float32, copy=False)
        return np.clip((obs - self._mean) / self._std, -self._clip, self._clip)

    def act(self, states: np.ndarray, goals: np.ndarray) -> np.ndarray:
        """Select normalized actions without exploration.

        Args:
            states: States, shape (nx,) or (batch, nx).
            goals: Goals, same shape as ``states``.

        Returns:
            Normalized actions in [-1, 1], shape (nu,) or (batch, nu).
        """
        states, goals = np.asarray(states), np.asarray(goals)
        single = states.ndim == 1
        states2, goals2 = np.atleast_2d(states), np.atleast_2d(goals)
        for name, value in (('state', states2), ('goal', goals2)):
            if value.shape[-1] != self.state_dimension:
                raise ValueError(
                    f'{name}: expected {self.state_dimension} values, got {value.shape[-1]}')
            if not np.all(np.isfinite(value)):
                raise ValueError(f'{name}: holds NaN or inf')
        actions = np.clip(self._forward(self.normalize(states2, goals2)), -1.0, 1.0)
        # A network can still produce NaN from finite inputs (e.g. corrupt weights): never pass
        # it on; zero is "hold position" in relative terms.
        actions = np.nan_to_num(actions, nan=0.0)
        return actions[0] if single else actions

    def start_end_actions(
        self, states: np.ndarray, goals: np.ndarray, previous_end: np.ndarray | None = None
    ) -> np.ndarray:
        """Actuator targets (start and end of the first-order hold) for the next action step.

        Args:
            states: States, shape (nx,) or (batch, nx).
            goals: Goals, same shape.
            previous_end: Previous end actions, or None.

        Returns:
            Start and end targets within the action bounds, shape ([batch,] 2, nu), float64.
        """
        normalized = self.act(states, goals).astype(np.float64)
        relative = self.actions.relative_actions(normalized)
        positions = np.asarray(states, dtype=np.float64)[..., self.actuated_pos]
        return self.actions.start_end_actions(positions, relative, previous_end)
