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

"""DemonstrationQueue: the training node's thread-safe, bounded demonstration source."""

import threading

import numpy as np
import pytest

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.learning.build import build_learner
from ddpg_manipulation.ros.demo_queue import DemonstrationQueue
from ddpg_manipulation.ros.messages import demonstration_to_flat, FlatArray, LayoutError

NX, NU = 4, 1


def demo(value, rows=3):
    """Return a demonstration whose every entry equals value (to tell them apart)."""
    sizes = {'states': NX, 'relative_actions': NU, 'next_states': NX, 'start_states': NX,
             'goal_states': NX}
    return {k: np.full((rows, n), value, np.float32) for k, n in sizes.items()}


def value_of(transitions):
    return float(transitions['states'][0, 0])


def test_empty_queue_gives_none():
    assert DemonstrationQueue(NX, NU).sample_demonstration() is None


def test_unused_demonstrations_come_first_oldest_first():
    queue = DemonstrationQueue(NX, NU, reuse=False)
    for value in (1, 2, 3):
        queue.put(demo(value))
    assert [value_of(queue.sample_demonstration()) for _ in range(3)] == [1, 2, 3]
    assert queue.sample_demonstration() is None  # no reuse: used up


def test_reuse_draws_stored_ones_once_all_are_used():
    queue = DemonstrationQueue(NX, NU, reuse=True, seed=3)
    for value in (1, 2):
        queue.put(demo(value))
    first = [value_of(queue.sample_demonstration()) for _ in range(2)]
    again = {value_of(queue.sample_demonstration()) for _ in range(50)}
    assert first == [1, 2] and again == {1.0, 2.0}
    queue.put(demo(7))
    assert value_of(queue.sample_demonstration()) == 7  # a new one beats reuse


def test_queue_is_bounded_and_evicts_the_oldest():
    queue = DemonstrationQueue(NX, NU, capacity=3, reuse=False)
    for value in range(10):
        queue.put(demo(value))
    stats = queue.stats()
    assert len(queue) == 3
    assert stats['received'] == 10 and stats['evicted'] == 7 and stats['stored'] == 3
    assert [value_of(queue.sample_demonstration()) for _ in range(3)] == [7, 8, 9]
    assert len(queue) == 0  # without reuse, used ones are not kept


def test_used_ones_are_evicted_before_unused_ones():
    queue = DemonstrationQueue(NX, NU, capacity=2, reuse=True)
    queue.put(demo(1))
    queue.sample_demonstration()  # 1 is now used
    queue.put(demo(2))
    queue.put(demo(3))  # full: the used 1 goes, 2 and 3 stay unused
    assert [value_of(queue.sample_demonstration()) for _ in range(2)] == [2, 3]


def test_transitions_carry_steps_left_in_path_order():
    queue = DemonstrationQueue(NX, NU)
    queue.put(demo(1, rows=4))
    transitions = queue.sample_demonstration()
    assert transitions.batch_size[0] == 4
    assert transitions['steps_left'].tolist() == [3, 2, 1, 0]


def test_bad_messages_are_counted_and_not_stored():
    queue = DemonstrationQueue(NX, NU)
    flat = demonstration_to_flat(demo(1))
    bad = FlatArray(flat.dims, flat.data.copy())
    bad.data[0] = np.nan
    with pytest.raises(LayoutError):
        queue.put_flat(bad)
    with pytest.raises(LayoutError):
        DemonstrationQueue(NX + 1, NU).put_flat(flat)
    queue.put_flat(flat)
    assert queue.stats()['rejected'] == 1 and len(queue) == 1


def test_wait_for_returns_when_enough_arrived():
    queue = DemonstrationQueue(NX, NU)
    assert not queue.wait_for(1, timeout=0.01)
    timer = threading.Timer(0.05, queue.put, args=(demo(1),))
    timer.start()
    assert queue.wait_for(1, timeout=5.0)
    timer.join()


def test_concurrent_producers_and_consumers_stay_consistent():
    queue = DemonstrationQueue(NX, NU, capacity=16, reuse=False)
    producers, per_producer = 4, 200
    taken = []
    done = threading.Event()

    def produce(offset):
        for i in range(per_producer):
            queue.put(demo(offset * 1000 + i, rows=2))

    def consume():
        while not done.is_set() or queue.stats()['unused']:
            item = queue.sample_demonstration()
            if item is not None:
                assert item['states'].shape == (2, NX)
                taken.append(value_of(item))

    consumers = [threading.Thread(target=consume) for _ in range(2)]
    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for thread in consumers + threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    for thread in consumers:
        thread.join()
    stats = queue.stats()
    assert stats['received'] == producers * per_producer
    assert len(taken) == stats['served']
    assert stats['served'] + stats['evicted'] == stats['received']  # each one exactly once
    assert len(set(taken)) == len(taken)
    assert len(queue) == 0


def test_the_learner_draws_demonstrations_from_the_queue():
    params = ParameterContainer('box_reach', {'learner.use_planner': True})
    queue = DemonstrationQueue(params.state_dimension, params.action_dimension)
    learner = build_learner(params, queue, save_local=False, verbose=False)
    assert learner.graph_rollout().batch_size[0] == 0  # nothing yet: no transitions
    queue.put(demo(0.5, rows=6))
    added = learner.graph_rollout()
    assert added.batch_size[0] == 6 and len(learner.replay_buffer) == 6
    assert learner.demo_transitions == 6
