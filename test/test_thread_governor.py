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

"""Thread governor: its choices, and training results that do not depend on the thread count."""

import time

import pytest
import torch

from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.learning.build import build_learner
from ddpg_manipulation.learning.threads import ThreadGovernor, TrainingThreads
from ddpg_manipulation.sim.plant import MujocoPlant

# Seconds per update of a two-core machine: two threads alone, one thread alone, and both with
# a CPU-bound neighbour (two threads collapse, one thread degrades gracefully).
IDLE = {2: 0.007, 1: 0.011}
LOADED = {2: 0.021, 1: 0.016}


def run(governor: ThreadGovernor, timings: dict[int, float], cycles: int) -> list[int]:
    counts = []
    for _ in range(cycles):
        counts.append(governor.threads)
        governor.record(timings[governor.threads])
    return counts


def test_candidates_halve_down_to_one():
    assert ThreadGovernor(8).candidates == [8, 4, 2, 1]
    assert ThreadGovernor(6).candidates == [6, 3, 1]
    assert ThreadGovernor(1).candidates == [1]


def test_idle_machine_keeps_all_cores_and_probes_rarely():
    governor = ThreadGovernor(2, probe_every=50)
    counts = run(governor, IDLE, 300)
    # a probe after 50 cycles with two threads; it loses, so the next comes after 100, and
    # (max_backoff 2) every 100 from then on
    assert [i for i, c in enumerate(counts) if c == 1] == [50, 151, 252]
    assert governor.threads == 2


def test_neighbour_switches_to_fewer_threads_at_once_and_back_soon_after_it_leaves():
    governor = ThreadGovernor(2, probe_every=50, recover_every=20)
    run(governor, IDLE, 10)
    counts = run(governor, LOADED, 40)
    assert counts[:3] == [2, 1, 1]  # the first slow cycle triggers the probe; one thread wins
    assert counts.count(2) == 2  # and one probe of two threads 20 cycles later, which loses
    counts = run(governor, IDLE, 50)
    # one thread is not slower when the neighbour leaves: the next probe, at most twice the
    # interval after the last one, finds two again
    assert counts.index(2) <= 40 and counts[counts.index(2):] == [2] * (50 - counts.index(2))
    assert governor.switches == 4


def test_lost_probes_stretch_the_interval_and_a_switch_resets_it():
    governor = ThreadGovernor(2, probe_every=50, recover_every=10, max_backoff=4)
    run(governor, IDLE, 5)
    counts = run(governor, LOADED, 200)
    probes = [i for i, c in enumerate(counts) if c == 2][1:]  # after the switch to one thread
    gaps = [b - a for a, b in zip(probes, probes[1:])]
    assert probes[0] == 12 and gaps[:4] == [21, 41, 41, 41]  # 10, 20, 40, 40 cycles between
    counts = run(governor, IDLE, 60)
    back = counts.index(2)
    assert back <= 40 and counts[back:].count(1) == 0  # two threads win and stay
    counts = run(governor, LOADED, 40)
    # back at two threads the backoff starts over: the neighbour's return is met at once and
    # the first probe of two threads comes after 10 cycles again
    assert counts[:3] == [2, 1, 1] and counts.index(2, 1) == 12


def test_probes_go_to_the_neighbouring_counts_alternately():
    governor = ThreadGovernor(4, probe_every=50, recover_every=5, max_backoff=1)
    timings = {4: 0.02, 2: 0.01, 1: 0.015}  # two threads are fastest (a neighbour on 2 cores)
    counts = run(governor, timings, 80)
    assert counts[:3] == [4, 4, 4] and counts[50] == 2  # the first probe, after 50 cycles
    probes = [c for c in counts[51:] if c != 2]
    assert probes == [4, 1, 4, 1] and counts[51:].count(2) == 25  # a probe every 6th cycle


def test_single_core_never_probes():
    governor = ThreadGovernor(1, probe_every=1)
    assert run(governor, {1: 0.01}, 5) == [1] * 5 and governor.switches == 0


@pytest.mark.parametrize('kwargs', [{'max_threads': 0}, {'max_threads': 2, 'probe_every': 0},
                                    {'max_threads': 2, 'recover_every': 0},
                                    {'max_threads': 2, 'slowdown': 1.0},
                                    {'max_threads': 2, 'max_backoff': 0}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError, match='expected'):
        ThreadGovernor(**kwargs)


class FollowingPlant:
    """Keeps the thread counts it is given."""

    def __init__(self) -> None:
        self.counts: list[int] = []

    def set_threads(self, nthread: int) -> None:
        self.counts.append(nthread)


class SlowGovernor(ThreadGovernor):
    """Records what it is told and always asks for one thread."""

    def __init__(self) -> None:
        super().__init__(2)
        self.recorded: list[float] = []

    def record(self, seconds_per_unit: float) -> int:
        self.recorded.append(seconds_per_unit)
        return 1


def test_a_cycle_is_counted_and_its_updates_timed_per_update():
    previous = torch.get_num_threads()
    plant = FollowingPlant()
    threads = TrainingThreads(0, 2, plant, plant_follows=True)
    threads.governor = governor = SlowGovernor()
    try:
        torch.set_num_threads(2)
        with threads.cycle_updates(0):  # nothing to time: the count stays
            pass
        with threads.cycle_updates(4):
            pass
        assert threads.cycles == {2: 2}
        assert len(governor.recorded) == 1 and governor.recorded[0] >= 0.0
        # The governor's answer is applied to torch; the plant's rollouts have their own.
        assert torch.get_num_threads() == 1 and plant.counts == []
        with pytest.raises(RuntimeError):
            with threads.cycle_updates(4):
                raise RuntimeError('update failed')
        assert len(governor.recorded) == 1  # a failed cycle's time is not taken
        assert threads.cycles == {2: 2, 1: 1} and threads.most_used() == 2
    finally:
        torch.set_num_threads(previous)


def test_a_rollout_is_timed_per_step_of_a_full_batch_and_sets_only_the_plant_count():
    previous = torch.get_num_threads()
    plant = FollowingPlant()
    threads = TrainingThreads(0, 2, plant, plant_follows=True)
    threads.start()
    assert plant.counts == [2]  # all usable cores to begin with
    threads.rollout_governor = governor = SlowGovernor()  # on 2 threads, answers 1
    try:
        torch.set_num_threads(2)
        with threads.cycle_rollout(0, 8, 50):  # demonstrations took every episode
            pass
        assert governor.recorded == []
        # Three of eight episodes on two threads: two rounds of the full batch's four, so the
        # time per step of the full batch is twice the measured time per step.
        with threads.cycle_rollout(3, 8, 50):
            time.sleep(0.05)
        assert len(governor.recorded) == 1
        assert 2 * 0.05 / 50 <= governor.recorded[0] < 2 * 0.5 / 50
        # The governor's answer goes to the plant only.
        assert plant.counts == [2, 1] and torch.get_num_threads() == 2
        with pytest.raises(RuntimeError):
            with threads.cycle_rollout(8, 8, 50):
                raise RuntimeError('rollout failed')
        assert len(governor.recorded) == 1  # a failed rollout's time is not taken
        # Counted by the governor's count (SlowGovernor keeps 2 while it answers 1).
        assert threads.rollout_cycles == {2: 3} and threads.most_used_by_rollouts() == 2
        threads.start_epoch()
        assert threads.most_used_by_rollouts() == 2  # none yet: the governor's current count
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize('requested, follows, adapt',
                         [(1, True, True), (0, False, True), (0, True, False)])
def test_rollout_threads_are_adapted_only_when_the_updates_adapt_and_the_task_lets_them(
        requested, follows, adapt):
    plant = FollowingPlant()
    threads = TrainingThreads(requested, 2, plant, plant_follows=follows, adapt=adapt)
    assert threads.rollout_governor is None and threads.most_used_by_rollouts() is None
    with threads.cycle_rollout(8, 8, 50):
        pass
    assert plant.counts == []  # fixed by model.nthread, by --threads, or on a GPU run


def train_weights(tmp_path, threads: int, governor: ThreadGovernor | None = None) -> list:
    # Reference layer sizes and batch, so the matrix products split across threads as in a
    # real run; few cycles and updates.
    params = ParameterContainer('box_push', {
        'learner.cycles': 6, 'learner.batches': 2, 'learner.evals': 4,
        'learner.trajectory_length': 10, 'learner.threads': threads, 'model.nthread': 0,
    })
    learner = build_learner(params, None, output_dir=tmp_path / f'runs{threads}', verbose=False,
                            save_local=False)
    learner.threads.governor = governor
    if governor is not None:  # the rollouts switch as often, on their own governor
        learner.threads.rollout_governor = ThreadGovernor(2, probe_every=1, recover_every=1)
    previous = torch.get_num_threads()
    try:
        learner.train(1)
    finally:
        torch.set_num_threads(previous)
    if governor is None:
        assert learner.history[-1]['threads'] == threads
        assert 'rollout_threads' not in learner.history[-1]  # fixed, not adapted
    else:
        assert learner.threads.rollout_governor.switches >= 3
        assert learner.history[-1]['rollout_threads'] in (1, 2)
    return [t.detach().clone() for t in (*learner.actor.action_net.parameters(),
                                         *learner.critic.critic_net.parameters())]


def test_training_does_not_depend_on_the_thread_count(tmp_path):
    one = train_weights(tmp_path, 1)
    two = train_weights(tmp_path, 2)
    # a governor that switches between two threads and one every other cycle
    switching = ThreadGovernor(2, probe_every=1, recover_every=1)
    adaptive = train_weights(tmp_path, 0, switching)
    assert switching.switches >= 3
    for a, b, c in zip(one, two, adaptive):
        assert torch.equal(a, b) and torch.equal(a, c)


def test_plant_thread_count_changes_nothing_but_speed():
    plant = MujocoPlant(ParameterContainer('box_push'), nthread=1)
    generator = torch.Generator().manual_seed(0)
    starts = plant.sample_start_states(6, generator)
    actions = torch.rand(6, 3, 2, 1, generator=generator) * 4.0 - 2.0
    single = plant.dynamics(starts, actions)
    plant.set_threads(2)
    assert plant.nthread == 2
    assert torch.equal(plant.dynamics(starts, actions), single)
    plant.set_threads(1)
    assert torch.equal(plant.dynamics(starts, actions), single)
    with pytest.raises(ValueError, match='nthread 0: expected >= 1'):
        plant.set_threads(0)
    plant.close()
