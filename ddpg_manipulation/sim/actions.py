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
The one definition of actions, shared by simulation, planner, learner and policy node.

The actor outputs normalized actions ``a`` in [-1, 1]. A relative action is
``a * action_range * action_time_step``. The end action (actuator target) is a base (the current
actuated position, or the previous end action) plus the relative action, clipped to the action
bounds. Over one action time step the actuator target moves from the start action to the end
action by first-order hold, sub-stepped at the model's timestep.

Every function accepts numpy arrays or torch tensors and returns the same kind, so the torch-free
deployment path (numpy + onnxruntime) uses exactly this code. Torch is never imported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

Array = TypeVar('Array')


@dataclass(frozen=True)
class ActionSpace:
    """
    Bounds, range and timing of a task's actions.

    :param lower: Lower actuator target bounds, shape (nu,).
    :param upper: Upper actuator target bounds, shape (nu,).
    :param range: Relative action per second at a normalized action of 1, shape (nu,).
    :param time_step: Seconds per action.
    :param start_mode: ``current`` (FOH starts at the actuated position) or ``previous``.
    :param end_mode: ``current`` (end = actuated position + relative) or ``previous``.
    """

    lower: np.ndarray
    upper: np.ndarray
    range: np.ndarray  # noqa: A003 - the task's name for it (action.range)
    time_step: float
    start_mode: str = 'current'
    end_mode: str = 'current'
    # Torch copies of the constants, made once per dtype/device: hot loops call these methods
    # every action step and every update.
    _torch_constants: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_params(cls, params: Any) -> ActionSpace:
        """
        Build the action space of a task.

        :param params: A ``ParameterContainer`` (or anything with the same ``action_*`` fields).

        :returns: The action space.
        """
        return cls(
            lower=np.asarray(params.action_bound_lower, dtype=np.float64),
            upper=np.asarray(params.action_bound_upper, dtype=np.float64),
            range=np.asarray(params.action_range, dtype=np.float64),
            time_step=float(params.action_time_step),
            start_mode=params.action_start_mode,
            end_mode=params.action_end_mode,
        )

    def _constant(self, name: str, reference: Any) -> Any:
        if isinstance(reference, np.ndarray):
            return self._numpy_constant(name).astype(reference.dtype, copy=False)
        key = (name, reference.dtype, reference.device)
        if key not in self._torch_constants:
            self._torch_constants[key] = _to_torch(self._numpy_constant(name), reference)
        return self._torch_constants[key]

    def _numpy_constant(self, name: str) -> np.ndarray:
        if name == 'scale':
            return self.range * self.time_step
        if name == 'inverse_scale':
            scale = self.range * self.time_step
            return np.divide(1.0, scale, out=np.zeros_like(scale), where=scale > 0)
        return getattr(self, name)

    @property
    def dimension(self) -> int:
        """Return the number of actuators."""
        return int(self.lower.shape[0])

    def relative_actions(self, normalized: Array) -> Array:
        """
        Turn normalized actions in [-1, 1] into relative actuator target changes.

        :param normalized: Normalized actions, shape (..., nu).

        :returns: Relative actions, same shape and kind.
        """
        return normalized * self._constant('scale', normalized)

    def normalized_actions(self, relative: Array) -> Array:
        """
        Invert :meth:`relative_actions` (entries with zero range map to zero).

        :param relative: Relative actions, shape (..., nu).

        :returns: Normalized actions, same shape and kind.
        """
        return relative * self._constant('inverse_scale', relative)

    def clip(self, targets: Array) -> Array:
        """
        Clip actuator targets to the action bounds.

        :param targets: Actuator targets, shape (..., nu).

        :returns: Clipped targets, same shape and kind.
        """
        return targets.clip(self._constant('lower', targets), self._constant('upper', targets))

    def start_end_actions(
        self, actuated_positions: Array, relative: Array, previous_end: Array | None = None
    ) -> Array:
        """
        Start and end actuator targets of one action step.

        :param actuated_positions: Current actuated joint positions, shape (..., nu).
        :param relative: Relative actions, shape (..., nu).
        :param previous_end: End actions of the previous step, or None at the first step (then the
            actuated positions stand in for it).

        :returns: Stacked start and end targets, shape (..., 2, nu), same kind as the inputs.
        """
        previous = actuated_positions if previous_end is None else previous_end
        start = previous if self.start_mode == 'previous' else actuated_positions
        base = previous if self.end_mode == 'previous' else actuated_positions
        start = self.clip(start)
        end = self.clip(base + relative)
        return _stack(start, end)


def first_order_hold(start_end: np.ndarray, substeps: int) -> np.ndarray:
    """
    Interpolate actuator targets from start to end over the sub-steps of each action step.

    Sub-step ``k`` (0-based) of ``substeps`` gets ``start + (end - start) * (k + 1) / substeps``,
    so the last sub-step applies exactly the end action.

    :param start_end: Start and end targets, shape (batch, steps, 2, nu).
    :param substeps: Physics steps per action step.

    :returns: Controls, shape (batch, steps * substeps, nu).
    """
    start, end = start_end[:, :, 0, None, :], start_end[:, :, 1, None, :]
    alpha = (np.arange(1, substeps + 1, dtype=start_end.dtype) / substeps)[:, None]
    controls = start + (end - start) * alpha
    return controls.reshape(start_end.shape[0], -1, start_end.shape[-1])


def _to_torch(values: np.ndarray, reference: Any) -> Any:
    import torch  # only torch callers get here: the module stays torch-free

    return torch.as_tensor(values, dtype=reference.dtype, device=reference.device)


def _stack(start: Any, end: Any) -> Any:
    if isinstance(start, np.ndarray):
        return np.stack([start, end], axis=-2)
    import torch

    return torch.stack([start, end], dim=-2)
