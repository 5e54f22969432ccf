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
Thread-safe bounded store of demonstrations received on a topic (no rclpy).

The training node's subscription callback validates each message and :meth:`~DemonstrationQueue.
put` s it; the learner, in its worker thread, draws with :meth:`~DemonstrationQueue.
sample_demonstration` (the learner's ``DemonstrationSource`` protocol, as the planner's graph).

Demonstrations not yet used are served first, oldest first. When all have been used once, a
stored one is drawn again at random (``reuse``), so the learner's demonstration share does not
collapse between two messages; ``None`` only while nothing has arrived. Both the unused queue
and the pool of used ones are bounded; the oldest entries are evicted.
"""

from __future__ import annotations

from collections import deque
import threading
from typing import Any, Mapping, Sequence

import numpy as np

from ddpg_manipulation.ros.messages import flat_to_demonstration, FlatArray, LayoutError


class DemonstrationQueue:
    """
    Demonstrations for the learner, fed from another thread.

    :param state_dimension: The task's nx (messages are validated against it).
    :param action_dimension: The task's nu.
    :param capacity: Most demonstrations kept (unused + pool); the oldest are evicted.
    :param reuse: Serve stored demonstrations again once all have been used.
    :param seed: Seed of the random draws when reusing.
    :param quaternion_slots: The w slot of each quaternion of the task's state: received states
        must hold unit quaternions there.
    """

    def __init__(self, state_dimension: int, action_dimension: int, capacity: int = 256,
                 reuse: bool = True, seed: int = 0, quaternion_slots: Sequence[int] = ()) -> None:
        if capacity < 1:
            raise ValueError(f'capacity must be >= 1, got {capacity}')
        self.state_dimension = int(state_dimension)
        self.action_dimension = int(action_dimension)
        self.quaternion_slots = tuple(int(i) for i in quaternion_slots)
        self.capacity = int(capacity)
        self.reuse = reuse
        self._fresh: deque[dict[str, np.ndarray]] = deque()
        self._pool: deque[dict[str, np.ndarray]] = deque()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._rng = np.random.default_rng(seed)
        self.received = 0
        self.rejected = 0
        self.evicted = 0
        self.served = 0

    # -- producer side ---------------------------------------------------------------------

    def put_flat(self, flat: FlatArray) -> dict[str, np.ndarray]:
        """
        Validate a received message layout and store the demonstration.

        :param flat: The message's layout and data.

        :returns: The stored demonstration (block name -> array).
        """
        try:
            demonstration = flat_to_demonstration(flat, self.state_dimension,
                                                  self.action_dimension, self.quaternion_slots)
        except LayoutError:
            with self._lock:
                self.rejected += 1
            raise
        self.put(demonstration)
        return demonstration

    def put(self, demonstration: Mapping[str, Any]) -> None:
        """
        Store an already validated demonstration (block name -> array (rows, width)).

        :param demonstration: The demonstration.
        """
        item = {k: np.asarray(v, dtype=np.float32) for k, v in demonstration.items()}
        with self._arrived:
            self._fresh.append(item)
            self.received += 1
            while len(self._fresh) + len(self._pool) > self.capacity:
                (self._pool if self._pool else self._fresh).popleft()
                self.evicted += 1
            self._arrived.notify_all()

    # -- consumer side ---------------------------------------------------------------------

    def sample_demonstration(self) -> Any:
        """
        Return one demonstration as a TensorDict of transitions, or None if none yet.

        :returns: TensorDict with the learner's transition keys (float32), or None.
        """
        with self._lock:
            if self._fresh:
                item = self._fresh.popleft()
                if self.reuse:
                    self._pool.append(item)
            elif self.reuse and self._pool:
                item = self._pool[int(self._rng.integers(len(self._pool)))]
            else:
                return None
            self.served += 1
        return to_transitions(item)

    def wait_for(self, count: int, timeout: float) -> bool:
        """
        Block until at least ``count`` demonstrations have been received, or timeout.

        :param count: Demonstrations to wait for.
        :param timeout: Seconds.

        :returns: True if they arrived.
        """
        with self._arrived:
            return self._arrived.wait_for(lambda: self.received >= count, timeout)

    def __len__(self) -> int:
        with self._lock:
            return len(self._fresh) + len(self._pool)

    def stats(self) -> dict[str, int]:
        """
        Counters for diagnostics.

        :returns: received, rejected, evicted, served, stored, unused.
        """
        with self._lock:
            return {'received': self.received, 'rejected': self.rejected,
                    'evicted': self.evicted, 'served': self.served,
                    'stored': len(self._fresh) + len(self._pool), 'unused': len(self._fresh)}


def to_transitions(demonstration: Mapping[str, np.ndarray]) -> Any:
    """
    Build the learner's TensorDict of transitions from a demonstration's blocks.

    :param demonstration: Block name -> float32 array (rows, width).

    :returns: TensorDict with batch size rows (plus ``steps_left``, the transitions after each).
    """
    from tensordict import TensorDict
    import torch  # only the consumer needs torch

    rows = next(iter(demonstration.values())).shape[0]
    data = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in demonstration.items()}
    # One message is one path, rows in path order: as for a rollout, each transition's future
    # lies after it in the same demonstration (what HER relabelling draws from).
    data['steps_left'] = torch.arange(rows - 1, -1, -1, dtype=torch.long)
    return TensorDict(data, batch_size=[rows])
