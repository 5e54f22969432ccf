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
What the planner bridge node does, without ROS: plan in a worker thread, hand out messages.

:class:`DemonstrationSourceRunner` runs ``planner.search.demonstration_graph(params)`` in a
worker thread (a search takes seconds to minutes, the node keeps spinning meanwhile). Once the
graph is ready, every call of :meth:`~DemonstrationSourceRunner.next_message` samples one
demonstration from it and packs it in the ``Float32MultiArray`` layout of
:mod:`ddpg_manipulation.ros.messages`.
"""

from __future__ import annotations

import threading
from typing import Any, TYPE_CHECKING

from ddpg_manipulation.ros.interfaces import GraphFactory
from ddpg_manipulation.ros.messages import demonstration_to_flat, FlatArray
from ddpg_manipulation.ros.params import (
    at_least,
    non_negative,
    ParamSpec,
    parse_overrides,
    positive,
    task_spec,
)

if TYPE_CHECKING:
    from ddpg_manipulation.config import ParameterContainer
    from ddpg_manipulation.transitions import DemonstrationSource

BRIDGE_PARAMS = (
    task_spec(),
    ParamSpec('seed', -1, "planner seed; -1 = the task's seed (give each bridge its own)",
              'int', check=at_least(-1)),
    ParamSpec('rate', 2.0, 'demonstrations published per second once the graph is ready',
              'float', check=positive),
    ParamSpec('qos_depth', 100,
              'history depth of the reliable, transient-local ~/demonstrations publisher: the '
              'newest this many are delivered to a trainer that starts later', 'int',
              check=at_least(1)),
    ParamSpec('count', 0, 'demonstrations to publish, then stay idle (still serving late '
              'subscribers); 0 = no limit', 'int', check=at_least(0)),
    ParamSpec('threads', 0, "MuJoCo threads of the planner; 0 = the task's setting", 'int',
              check=at_least(0)),
    ParamSpec('overrides', [], "task parameter overrides 'section.key=value', e.g. "
              "['planner.max_main_nodes=500']", 'str_list'),
    ParamSpec('warn_period', 2.0, 'seconds between two repeats of the same warning', 'float',
              check=non_negative),
)


def bridge_overrides(values: dict[str, Any]) -> dict[str, Any]:
    """
    Task parameter overrides implied by the bridge's parameters.

    :param values: Validated node parameters.

    :returns: Flat ``section.key`` -> value overrides.
    """
    overrides = parse_overrides(values['overrides'])
    if values['seed'] >= 0:
        overrides['seed'] = values['seed']
    if values['threads'] > 0:
        overrides['model.nthread'] = values['threads']
    return overrides


class DemonstrationSourceRunner:
    """
    Builds a demonstration graph in a worker thread and samples messages from it.

    :param params: The task's ``ParameterContainer``.
    :param graph_factory: Builds the graph (default ``planner.search.demonstration_graph``).
    :param limit: Messages to hand out; 0 = no limit.
    """

    def __init__(self, params: ParameterContainer, graph_factory: GraphFactory | None = None,
                 limit: int = 0) -> None:
        self.params = params
        self._factory = graph_factory or _default_graph_factory
        self.limit = int(limit)
        self.graph: DemonstrationSource | None = None
        self.error: BaseException | None = None
        self.produced = 0
        self.empty_samples = 0
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start planning in a worker thread."""
        self._thread = threading.Thread(target=self._plan, name='planner', daemon=True)
        self._thread.start()

    def _plan(self) -> None:
        try:
            self.graph = self._factory(self.params)
        except BaseException as error:  # noqa: BLE001 - reported to the node, which exits 1
            self.error = error
        finally:
            self._ready.set()

    @property
    def ready(self) -> bool:
        """Whether planning has ended (graph built or failed)."""
        return self._ready.is_set()

    @property
    def exhausted(self) -> bool:
        """Whether the message limit has been reached."""
        return self.limit > 0 and self.produced >= self.limit

    def wait(self, timeout: float | None = None) -> bool:
        """
        Wait for planning to end.

        :param timeout: Seconds.

        :returns: True if it ended.
        """
        return self._ready.wait(timeout)

    def next_message(self) -> FlatArray | None:
        """
        Sample one demonstration and pack it; None if not ready, failed, exhausted or empty.

        :returns: The message layout and data, or None.
        """
        if not self.ready or self.graph is None or self.exhausted:
            return None
        demonstration = self.graph.sample_demonstration()
        if demonstration is None or demonstration['states'].shape[0] == 0:
            self.empty_samples += 1
            return None
        flat = demonstration_to_flat(demonstration)
        self.produced += 1
        return flat


def _default_graph_factory(params: ParameterContainer) -> DemonstrationSource:
    from ddpg_manipulation.planner.search import demonstration_graph

    return demonstration_graph(params, show_progress=False)
