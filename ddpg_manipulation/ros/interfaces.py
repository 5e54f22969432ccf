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
What the ROS seams need of the objects passed into them (no rclpy, no torch).

The nodes and their logic take policies, policy loaders and demonstration sources as arguments
(tests pass stand-ins); these protocols say what such an object must offer.
:class:`ddpg_manipulation.policy.Policy` is a :class:`ControlPolicy`,
:func:`.policy_logic.load_policy` a :class:`PolicyLoader`; a graph factory builds a
:class:`~ddpg_manipulation.transitions.DemonstrationSource`.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol, TYPE_CHECKING

import numpy as np

from ddpg_manipulation.sim.actions import ActionSpace

if TYPE_CHECKING:  # type names only: the torch-free deployment path imports this module
    from ddpg_manipulation.config import ParameterContainer
    from ddpg_manipulation.transitions import DemonstrationSource


class ControlPolicy(Protocol):
    """What the policy node's controller needs of a policy."""

    @property
    def actions(self) -> ActionSpace:
        """
        Return the task's action space (bounds, range, time step, modes).

        :returns: The action space.
        """

    @property
    def state_dimension(self) -> int:
        """
        Return the length of a state (nx).

        :returns: nx.
        """

    @property
    def action_dimension(self) -> int:
        """
        Return the number of actuators (nu).

        :returns: nu.
        """

    @property
    def metadata(self) -> Mapping[str, Any]:
        """
        Return where the policy came from: ``task``, ``path``, ``epoch``, ...

        :returns: Key -> value.
        """

    def start_end_actions(self, states: np.ndarray, goals: np.ndarray,
                          previous_end: np.ndarray | None = None) -> np.ndarray:
        """
        Return the actuator targets at the start and end of the next action step.

        :param states: State, shape (nx,).
        :param goals: Goal, shape (nx,).
        :param previous_end: The previous step's end targets, or None.

        :returns: Start and end targets, shape (2, nu).
        """


class PolicyLoader(Protocol):
    """What the policy node needs of a loader: configure and ``~/reload`` call it."""

    def __call__(self, checkpoint: str, output_dir: str, task: str, threads: int = 1,
                 device: str = 'cpu', choice: str = 'best') -> ControlPolicy:
        """
        Load the policy the node's parameters name.

        :param checkpoint: The ``checkpoint`` parameter (a location or ``latest``).
        :param output_dir: The ``output_dir`` parameter.
        :param task: The task the policy must belong to.
        :param threads: Inference threads.
        :param device: The ``device`` parameter (torch device of the network).
        :param choice: The ``checkpoint_choice`` parameter (``best`` or ``newest`` of a run).

        :returns: The policy.

        :raises Exception: Anything that makes the load fail (the node reports it).
        """


class GraphFactory(Protocol):
    """Builds a planner's graph for a task (tests pass stand-ins)."""

    def __call__(self, params: ParameterContainer) -> DemonstrationSource:
        """
        Build the graph.

        :param params: The task's parameters.

        :returns: The graph.
        """
