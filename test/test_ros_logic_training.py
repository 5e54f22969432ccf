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

"""TrainingRun and the bridge's DemonstrationSourceRunner, without ROS."""

from pathlib import Path
import threading

import numpy as np
import pytest
from tensordict import TensorDict
import torch

from ddpg_manipulation.ros.bridge_logic import DemonstrationSourceRunner
from ddpg_manipulation.ros.messages import demonstration_to_flat, flat_to_demonstration
from ddpg_manipulation.ros.params import load_task, ParameterError
from ddpg_manipulation.ros.policy_logic import load_policy
from ddpg_manipulation.ros.training_logic import (
    diagnostic_values,
    select_device,
    TrainingRun,
)

TINY = {'learner.cycles': 1, 'learner.batches': 1, 'learner.evals': 2,
        'learner.use_planner': True}


def tiny_params(**extra):
    return load_task('box_reach', {**TINY, **extra})


def demonstration(rows=4, nx=4, nu=1, value=0.0):
    sizes = {'states': nx, 'relative_actions': nu, 'next_states': nx, 'start_states': nx,
             'goal_states': nx}
    return TensorDict({k: torch.full((rows, n), value) for k, n in sizes.items()},
                      batch_size=[rows])


class FakeGraph:

    def __init__(self, empty=False):
        self.empty = empty
        self.samples = 0

    def sample_demonstration(self):
        self.samples += 1
        return None if self.empty else demonstration(value=float(self.samples))


class Recorder:

    def __init__(self):
        self.epochs, self.checkpoints, self.logs = [], [], []
        self.first_epoch = threading.Event()

    def on_epoch(self, metrics):
        self.epochs.append(metrics)
        self.first_epoch.set()

    def on_checkpoint(self, path):
        self.checkpoints.append(path)

    def log(self, level, message):
        self.logs.append((level, message))


def make_run(tmp_path, recorder, params=None, **kwargs):
    return TrainingRun(params or tiny_params(), output_dir=str(tmp_path),
                       on_epoch=recorder.on_epoch, on_checkpoint=recorder.on_checkpoint,
                       log=recorder.log, **kwargs)


def wait_done(run, timeout=120.0):
    run._done.wait(timeout)
    assert run.done


def test_training_in_a_worker_reports_epochs_and_checkpoints(tmp_path):
    recorder = Recorder()
    run = make_run(tmp_path, recorder, epochs=2)
    assert run.learner.graph is run.queue  # the topic's queue is the demonstration source
    run.queue.put({k: v.numpy() for k, v in demonstration().items()})
    run.start()
    wait_done(run)
    assert [m['epoch'] for m in recorder.epochs] == [1, 2]
    assert {'success_rate', 'relative_distance', 'demo_share', 'epoch_time'} <= set(
        recorder.epochs[0])
    assert len(recorder.checkpoints) == 2 and Path(recorder.checkpoints[-1]).is_dir()
    assert run.finish() == recorder.checkpoints[-1]  # nothing new to save
    assert len(recorder.checkpoints) == 2
    assert run.exit_code == 0 and run.summary()['epochs'] == 2


def test_stopping_saves_a_loadable_final_checkpoint(tmp_path):
    recorder = Recorder()
    run = make_run(tmp_path, recorder, epochs=10_000)
    run.start()
    assert recorder.first_epoch.wait(120)
    path = run.finish(timeout=120)
    assert run.done and run.summary()['interrupted']
    assert path == recorder.checkpoints[-1]
    assert path.endswith(f'epoch_{run.learner.epoch:06d}')
    policy = load_policy(path, '', 'box_reach')
    assert policy.metadata['epoch'] == run.learner.epoch


def test_stopping_while_waiting_for_demonstrations_still_saves(tmp_path):
    recorder = Recorder()
    run = make_run(tmp_path, recorder, min_demonstrations=1)
    run.start()
    assert not run.queue.wait_for(1, 0.2)
    path = run.finish(timeout=60)
    assert path is not None and Path(path, 'manifest.json').is_file()
    assert recorder.epochs == [] and recorder.checkpoints == [path]
    load_policy(path, '', 'box_reach')  # an untrained but complete checkpoint


def test_in_process_planner_source(tmp_path):
    recorder, graph = Recorder(), FakeGraph()
    params = tiny_params(**{'learner.rollouts': 8, 'learner.max_planner_experience_share': 1.0})
    run = make_run(tmp_path, recorder, params=params, epochs=1, source='planner',
                   graph_factory=lambda p: graph)
    assert run.queue is None
    run.start()
    wait_done(run)
    assert run.learner.graph is graph and graph.samples > 0
    assert recorder.epochs[0]['demo_share'] > 0


def test_a_failing_planner_ends_the_run_with_exit_code_1(tmp_path):
    recorder = Recorder()

    def broken(params):
        raise RuntimeError('search exploded')

    run = make_run(tmp_path, recorder, source='planner', graph_factory=broken)
    run.start()
    wait_done(run)
    assert run.exit_code == 1
    assert ('error', 'training failed: RuntimeError: search exploded') in recorder.logs


def test_an_unwritable_output_dir_is_a_parameter_error(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('not a directory')
    with pytest.raises(ParameterError, match="parameter 'output_dir'"):
        make_run(blocker / 'runs', Recorder())


def test_device_selection():
    assert select_device('auto') in ('cpu', 'cuda:0', 'cuda')
    assert select_device('cpu') == 'cpu'
    with pytest.raises(ParameterError, match="parameter 'device' 'gpu': expected auto, cpu"):
        select_device('gpu')
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match="parameter 'device' 'cuda': no CUDA device"):
            select_device('cuda')


def test_the_run_trains_on_the_chosen_device(tmp_path, device):
    run = make_run(tmp_path, Recorder(), source='none', device=device)
    assert run.learner.device.type == device


def test_diagnostic_values_are_strings_named_as_documented():
    metrics = {'epoch': 3, 'success_rate': 0.5, 'relative_distance': 0.25, 'demo_share': 0.2,
               'epoch_time': 1.5, 'replay_size': 100, 'threads': 1}
    values = dict(diagnostic_values(metrics, {'received': 4}))
    assert values['threads'] == '1' and values['replay_size'] == '100'
    assert values['epoch'] == '3' and values['success_rate'] == '0.5000'
    assert values['demo_share'] == '0.2000' and values['epoch_time'] == '1.500'
    assert values['demonstrations_received'] == '4'
    assert all(isinstance(v, str) for v in values.values())
    assert 'rollout_threads' not in values  # MuJoCo's count fixed: not reported
    adapted = dict(diagnostic_values({**metrics, 'rollout_threads': 2}))
    assert adapted['rollout_threads'] == '2' and adapted['threads'] == '1'


# -- planner bridge ---------------------------------------------------------------------------

def test_bridge_plans_in_a_worker_then_hands_out_messages():
    release = threading.Event()
    graph = FakeGraph()

    def slow_factory(params):
        release.wait(10)
        return graph

    runner = DemonstrationSourceRunner(tiny_params(), slow_factory, limit=2)
    runner.start()
    assert not runner.ready and runner.next_message() is None
    release.set()
    assert runner.wait(10) and runner.error is None
    first = runner.next_message()
    back = flat_to_demonstration(first, 4, 1)
    np.testing.assert_array_equal(back['states'], np.full((4, 4), 1.0, np.float32))
    assert runner.next_message() is not None
    assert runner.exhausted and runner.next_message() is None and runner.produced == 2


def test_bridge_reports_planner_failures_and_empty_samples():
    def broken(params):
        raise ValueError('no graph')

    runner = DemonstrationSourceRunner(tiny_params(), broken)
    runner.start()
    runner.wait(10)
    assert isinstance(runner.error, ValueError) and runner.next_message() is None
    empty = DemonstrationSourceRunner(tiny_params(), lambda p: FakeGraph(empty=True))
    empty.start()
    empty.wait(10)
    assert empty.next_message() is None and empty.empty_samples == 1


def test_bridge_messages_match_the_layout_the_trainer_expects():
    params = load_task('planar_hand')
    flat = demonstration_to_flat(demonstration(rows=3, nx=14, nu=4))
    assert flat_to_demonstration(flat, params.state_dimension, params.action_dimension)
