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

"""The device is a run-time choice; every path works on every device present."""

import json
from pathlib import Path

from conftest import DEVICES, TINY
import numpy as np
import pytest
import torch

from ddpg_manipulation.cli import main
from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.learning import checkpoint
from ddpg_manipulation.learning.build import build_learner
from ddpg_manipulation.learning.devices import DeviceError, resolve_device
from ddpg_manipulation.policy import Policy, PolicyFileError

NO_CUDA = not torch.cuda.is_available()


def test_resolve_device_accepts_the_documented_forms():
    assert resolve_device('cpu') == torch.device('cpu')
    assert resolve_device(' CPU ') == torch.device('cpu')
    expected = 'cuda' if torch.cuda.is_available() else 'cpu'
    assert resolve_device('auto').type == expected


@pytest.mark.parametrize('text', ['gpu', 'cuda:x', 'cuda:-1', '', 'cpu:0:1', 'mps'])
def test_a_malformed_device_names_the_parameter_and_the_forms(text):
    with pytest.raises(DeviceError, match=r'--device .*expected auto, cpu, cuda or cuda:N'):
        resolve_device(text, '--device')


@pytest.mark.skipif(not NO_CUDA, reason='this machine has CUDA')
@pytest.mark.parametrize('text', ['cuda', 'cuda:0', 'cuda:3'])
def test_cuda_where_there_is_none_is_a_clear_error(text):
    with pytest.raises(DeviceError, match=rf"learner.device '{text}': no CUDA device"):
        resolve_device(text, 'learner.device')


@pytest.mark.skipif(NO_CUDA, reason='needs CUDA')
def test_a_cuda_index_beyond_the_machine_is_a_clear_error():
    count = torch.cuda.device_count()
    with pytest.raises(DeviceError, match=f'has {count} CUDA device'):
        resolve_device(f'cuda:{count}', '--device')


@pytest.mark.skipif(not NO_CUDA, reason='this machine has CUDA')
def test_learner_and_cli_refuse_cuda_without_it(tmp_path, capsys):
    params = ParameterContainer('box_reach', TINY)
    with pytest.raises(DeviceError, match="device 'cuda': no CUDA device"):
        build_learner(params, device='cuda', output_dir=tmp_path)
    assert main(['train', '--task', 'box_reach', '--device', 'cuda', '--epochs', '1',
                 '--output', str(tmp_path / 'runs'), '--quiet']) == 1
    assert "--device 'cuda': no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / 'runs' / 'box_reach').exists() or not any(
        (tmp_path / 'runs' / 'box_reach').iterdir())  # refused before any work


def test_everything_the_learner_trains_lives_on_its_device(make_learner, device):
    learner = make_learner()
    assert learner.device.type == device
    for net in (learner.actor.action_net, learner.actor.target_net, learner.critic.critic_net,
                learner.critic.target_net):
        assert all(p.device.type == device for p in net.parameters())
    learner.save_local = False
    learner.train(1)
    assert learner.replay_buffer['states'].device.type == device
    obs, next_obs, actions, rewards, terminated = learner.preprocess_sample(
        learner.replay_buffer.sample(8))
    assert {x.device.type for x in (obs, next_obs, actions, rewards, terminated)} == {device}
    for state in learner.actor.optim.state.values():  # Adam's moments follow the parameters
        assert all(v.device.type == device for v in state.values() if torch.is_tensor(v))
    # MuJoCo simulates on the CPU: rollouts hand back CPU tensors
    data = learner.policy_rollout()
    assert data['states'].device.type == 'cpu'


def test_checkpoints_hold_cpu_tensors_only(make_learner):
    learner = make_learner()
    learner.train(1)
    directory = Path(learner.last_checkpoint)

    def devices(tree):
        if torch.is_tensor(tree):
            yield tree.device.type
        elif isinstance(tree, dict):
            for value in tree.values():
                yield from devices(value)
        elif isinstance(tree, (list, tuple)):
            for value in tree:
                yield from devices(value)

    for name in (*checkpoint.MODEL_FILES, checkpoint.TRAINING_STATE):
        # No map_location: what was written is what a CPU-only robot computer reads.
        loaded = torch.load(directory / name, weights_only=True)
        assert set(devices(loaded)) == {'cpu'}, name


@pytest.mark.parametrize('load_on', DEVICES)
def test_a_checkpoint_from_any_device_runs_on_any_device(make_learner, device, load_on):
    learner = make_learner()
    learner.train(1)
    on_cpu = Policy.load(learner.last_checkpoint, device='cpu')
    elsewhere = Policy.load(learner.last_checkpoint, device=load_on)
    assert elsewhere.metadata['device'].startswith(load_on)
    rng = np.random.default_rng(0)
    states = rng.normal(size=(16, 4)).astype(np.float32) + [9.0, 0.0, 0.0, 0.0]
    goals = states + [0.0, 1.0, 0.0, 0.0]
    np.testing.assert_allclose(on_cpu.act(states, goals), elsewhere.act(states, goals),
                               atol=1e-5)
    # and resumes training on the other device
    resumed = build_learner(learner.params, output_dir=learner.output_dir, verbose=False,
                            device=load_on)
    resumed.resume(learner.last_checkpoint)
    resumed.save_local = False
    resumed.train(1)
    assert resumed.epoch == 2 and resumed.device.type == load_on


def test_an_onnx_policy_refuses_a_torch_device(tmp_path):
    with pytest.raises(PolicyFileError, match='runs with onnxruntime on the CPU'):
        Policy.load(tmp_path / 'policy.onnx', device='cuda')


def test_train_summary_and_eval_name_the_device(tmp_path, capsys):
    output = tmp_path / 'runs'
    assert main(['train', '--task', 'box_reach', '--epochs', '1', '--device', 'cpu', '--quiet',
                 '--output', str(output), '--set', 'learner.cycles=1', '--set',
                 'learner.batches=1', '--set', 'learner.evals=2']) == 0
    summary = json.loads(next(output.rglob('summary.json')).read_text())
    assert summary['device'] == 'cpu'
    capsys.readouterr()
    assert main(['eval', '--checkpoint', str(output), '--episodes', '2', '--device',
                 'cpu']) == 0
    assert main(['eval', '--checkpoint', str(output), '--episodes', '2', '--device',
                 'tpu']) == 1
    assert "--device 'tpu': expected auto, cpu, cuda or cuda:N" in capsys.readouterr().err


@pytest.mark.skipif(NO_CUDA, reason='needs CUDA')
@pytest.mark.parametrize('layer_norm', [False, True])
def test_a_cuda_graph_update_equals_the_eager_update(layer_norm):
    learners = []
    for graphs in (False, True):
        learner = build_learner(ParameterContainer('box_reach', {
            **TINY, 'learner.cuda_graphs': graphs, 'learner.critic_layer_norm': layer_norm}),
            device='cuda', save_local=False, verbose=False)
        learner.policy_rollout()
        torch.manual_seed(0)
        learner.train_batches(8, 32, 0.98)  # 3 eager, then captured and replayed
        learners.append(learner)
    eager, graphed = learners
    [step] = graphed._graphed.steps.values()
    assert step.graph is not None
    for a, b in zip(eager.actor.action_net.parameters(), graphed.actor.action_net.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(eager.critic.critic_net.parameters(), graphed.critic.critic_net.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_a_checkpoint_of_a_captured_run_loads_anywhere(make_learner):
    learner = make_learner()
    for group in learner.actor.optim.param_groups:  # as a run with CUDA graphs saves it
        group['capturable'] = True
    learner.train(1)
    fresh = make_learner()
    fresh.load_models(Path(learner.last_checkpoint), is_local=True)
    assert not any(g['capturable'] for g in fresh.actor.optim.param_groups)
    fresh.save_local = False
    fresh.train(1)
