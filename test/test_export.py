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

"""Export to ONNX and TorchScript: parity with the checkpoint, metadata, torch-free loading."""

from __future__ import annotations

import json
import os
from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest

from ddpg_manipulation import export
from ddpg_manipulation.cli import main
from ddpg_manipulation.config import ParameterContainer
from ddpg_manipulation.policy import EXPORT_REQUIRED_KEYS, Policy, PolicyFileError

onnx = pytest.importorskip('onnx')
onnxruntime = pytest.importorskip('onnxruntime')

TOLERANCE = 1e-5
REPO = Path(__file__).resolve().parent.parent

# Run in a child process: torch and mujoco cannot be imported there at all.
TORCH_FREE_SCRIPT = """
import json
import sys


class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'mujoco'):
            raise ImportError(f'{name} is not installed on this robot')
        return None


sys.meta_path.insert(0, Refuse())
import numpy as np

from ddpg_manipulation.policy import Policy

policy = Policy.load(sys.argv[1])
data = json.loads(sys.stdin.read())
states = np.asarray(data['states'], dtype=np.float32)
goals = np.asarray(data['goals'], dtype=np.float32)
print(json.dumps({
    'actions': policy.act(states, goals).tolist(),
    'single': policy.act(states[0], goals[0]).tolist(),
    'start_end': policy.start_end_actions(states, goals).tolist(),
    'threads': policy.session.get_session_options().intra_op_num_threads,
    'backend': policy.metadata['backend'],
    'loaded': sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'mujoco')),
}))
"""


@pytest.fixture(scope='module')
def policy(tmp_path_factory: pytest.TempPathFactory, device: str) -> Policy:
    """Train a tiny box_reach policy one epoch on a device (4x256 network); load it there."""
    from ddpg_manipulation.learning.learner import build_learner

    params = ParameterContainer('box_reach', {'learner.cycles': 1, 'learner.batches': 1,
                                              'learner.evals': 2})
    learner = build_learner(params, None, output_dir=tmp_path_factory.mktemp('runs'),
                            verbose=False, device=device)
    learner.train(1)
    return Policy.load(learner.last_checkpoint, device=device)


def random_inputs(policy: Policy, count: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Draw states and goals around the normalizer mean, wide enough to hit the clip."""
    generator = np.random.default_rng(seed)
    mean, std = policy.normalizer['mean'], policy.normalizer['std']
    shape = (count, policy.state_dimension)
    states = mean + 8 * std * generator.standard_normal(shape)
    goals = mean + 8 * std * generator.standard_normal(shape)
    return states.astype(np.float32), goals.astype(np.float32)


def test_onnx_parity_with_onnxruntime(policy: Policy, tmp_path: Path) -> None:
    path = export.export_onnx(policy, tmp_path / 'policy.onnx')
    session = onnxruntime.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    assert [i.name for i in session.get_inputs()] == ['state', 'goal']
    assert [o.name for o in session.get_outputs()] == ['action']
    assert session.get_inputs()[0].shape == ['batch', policy.state_dimension]
    for count in (1, 7, 256):  # the batch axis is dynamic
        states, goals = random_inputs(policy, count, seed=count)
        exported = session.run(['action'], {'state': states, 'goal': goals})[0]
        assert exported.shape == (count, policy.action_dimension)
        assert exported.dtype == np.float32
        assert np.max(np.abs(exported - policy.act(states, goals))) <= TOLERANCE


def test_onnx_metadata(policy: Policy, tmp_path: Path) -> None:
    path = export.export_onnx(policy, tmp_path / 'policy.onnx')
    model = onnx.load(str(path))
    raw = {p.key: p.value for p in model.metadata_props}
    metadata = {key: json.loads(value) for key, value in raw.items()}  # every value is JSON
    for key in EXPORT_REQUIRED_KEYS:
        assert key in metadata
    params = policy.params
    assert metadata['task'] == 'box_reach'
    assert metadata['config_hash'] == params.config_hash()
    assert metadata['actuated_qpos'] == params.actuated_qpos
    assert metadata['action_time_step'] == params.action_time_step
    assert metadata['goal_state'] == params.goal_state
    assert metadata['joint_names'] == ['object_x', 'cart_x']
    assert metadata['actuated_joint_names'] == ['cart_x']
    assert metadata['normalizer_mean'] == [float(x) for x in policy.normalizer['mean']]
    assert model.ir_version == export.ONNX_IR_VERSION
    assert model.opset_import[0].version == export.ONNX_OPSET


def test_torchscript_parity_and_metadata(policy: Policy, tmp_path: Path) -> None:
    import torch

    path = export.export_torchscript(policy, tmp_path / 'policy.pt')
    module, metadata = export.load_torchscript(path)
    onnx_metadata = export.policy_metadata(policy)
    for key in EXPORT_REQUIRED_KEYS:
        assert metadata[key] == onnx_metadata[key]
    for count in (1, 33):
        states, goals = random_inputs(policy, count, seed=10 + count)
        with torch.inference_mode():
            exported = module(torch.from_numpy(states), torch.from_numpy(goals)).numpy()
        assert exported.shape == (count, policy.action_dimension)
        assert np.max(np.abs(exported - policy.act(states, goals))) <= TOLERANCE


def test_onnx_policy_runs_without_torch_or_mujoco(policy: Policy, tmp_path: Path) -> None:
    path = export.export_onnx(policy, tmp_path / 'policy.onnx')
    script = tmp_path / 'robot.py'
    script.write_text(TORCH_FREE_SCRIPT)
    states, goals = random_inputs(policy, 16, seed=3)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get('PYTHONPATH')) if p))
    done = subprocess.run(
        [sys.executable, str(script), str(path)], input=json.dumps(
            {'states': states.tolist(), 'goals': goals.tolist()}),
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer['loaded'] == []
    assert answer['backend'] == 'onnxruntime'
    assert answer['threads'] == 1
    expected = policy.act(states, goals)
    assert np.max(np.abs(np.asarray(answer['actions']) - expected)) <= TOLERANCE
    assert np.max(np.abs(np.asarray(answer['single']) - expected[0])) <= TOLERANCE
    start_end = policy.start_end_actions(states, goals)
    scale = float(np.max(policy.actions.range * policy.actions.time_step))
    assert np.max(np.abs(np.asarray(answer['start_end']) - start_end)) <= TOLERANCE * scale


def test_policy_load_dispatches_on_onnx(policy: Policy, tmp_path: Path) -> None:
    path = export.export_onnx(policy, tmp_path / 'policy.onnx')
    loaded = Policy.load(path, task='box_reach')
    assert loaded.metadata['backend'] == 'onnxruntime'
    assert loaded.state_dimension == policy.state_dimension
    assert loaded.action_dimension == policy.action_dimension
    np.testing.assert_array_equal(loaded.actuated_pos, policy.actuated_pos)
    np.testing.assert_array_equal(loaded.actions.lower, policy.actions.lower)
    assert loaded.actions.time_step == policy.actions.time_step
    assert Policy.load_onnx(path, threads=2).session.get_session_options(
    ).intra_op_num_threads == 2
    with pytest.raises(PolicyFileError, match="task is 'box_reach', expected 'box_push'"):
        Policy.load(path, task='box_push')


def test_bad_onnx_files_are_clear_errors(policy: Policy, tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match='no such file'):
        Policy.load(tmp_path / 'missing.onnx')
    garbage = tmp_path / 'garbage.onnx'
    garbage.write_bytes(b'not a model')
    with pytest.raises(PolicyFileError, match='not a loadable ONNX model'):
        Policy.load(garbage)
    path = export.export_onnx(policy, tmp_path / 'policy.onnx')
    model = onnx.load(str(path))
    del model.metadata_props[:]
    foreign = tmp_path / 'foreign.onnx'
    foreign.write_bytes(model.SerializeToString())
    with pytest.raises(PolicyFileError, match='not an exported ddpg_manipulation policy'):
        Policy.load(foreign)
    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == 'actuated_qpos':
            prop.value = '[99]'
    broken = tmp_path / 'broken.onnx'
    broken.write_bytes(model.SerializeToString())
    with pytest.raises(PolicyFileError, match='actuated_qpos'):
        Policy.load(broken)


def test_export_cli_writes_checked_file(policy: Policy, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / 'out' / 'box_reach.onnx'
    assert main(['export', '--checkpoint', policy.metadata['path'], '--output',
                 str(output)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary['max_abs_diff'] <= TOLERANCE
    assert Policy.load(output).metadata['task'] == 'box_reach'
    assert sorted(p.name for p in output.parent.iterdir()) == ['box_reach.onnx']
    torchscript = tmp_path / 'box_reach.pt'
    assert main(['export', '--checkpoint', policy.metadata['path'], '--format', 'torchscript',
                 '--output', str(torchscript)]) == 0
    assert export.load_torchscript(torchscript)[1]['task'] == 'box_reach'


def test_export_that_disagrees_is_not_written(policy: Policy, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    output = tmp_path / 'policy.onnx'
    output.write_bytes(b'previous good export')
    monkeypatch.setattr(export, 'parity', lambda *args, **kwargs: 0.5)
    with pytest.raises(export.ExportError, match='differs from the checkpoint'):
        export.export_verified(policy, 'onnx', output)
    assert output.read_bytes() == b'previous good export'
    assert [p.name for p in tmp_path.iterdir()] == ['policy.onnx']


def test_onnx_export_of_an_exported_policy_is_refused(policy: Policy, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = export.export_onnx(policy, tmp_path / 'policy.onnx')
    assert main(['export', '--checkpoint', str(path), '--output', str(tmp_path / 'x.onnx')]) == 1
    assert 'already an exported policy' in capsys.readouterr().err


# The policy node's logic, as on a robot computer: ONNX file in, commands out, no torch/MuJoCo.
TORCH_FREE_NODE_SCRIPT = TORCH_FREE_SCRIPT.split('import numpy as np')[0] + """
import numpy as np

from ddpg_manipulation.ros.policy_logic import load_policy, PolicyController, TaskContext

policy = load_policy(sys.argv[1], 'unused', 'box_reach', threads=1)
context = TaskContext.of(policy)
controller = PolicyController(policy, 50.0, 0.5, goal=context.goal,
                              joint_map=context.joint_map, base_state=context.start_state)
controller.reset()
controller.set_joint_state(['cart_x'], [0.2], [0.0], now=0.0)
commands = [controller.step(now=0.02 * k).command.tolist() for k in range(25)]
print(json.dumps({
    'commands': commands, 'joints': list(context.joint_map.names),
    'loaded': sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'mujoco')),
}))
"""


def test_policy_node_logic_runs_from_onnx_without_torch_or_mujoco(
        policy: Policy, tmp_path: Path) -> None:
    path = export.export_onnx(policy, tmp_path / 'policy.onnx')
    script = tmp_path / 'node_logic.py'
    script.write_text(TORCH_FREE_NODE_SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get('PYTHONPATH')) if p))
    done = subprocess.run([sys.executable, str(script), str(path)], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer['loaded'] == []
    assert answer['joints'] == ['object_x', 'cart_x']
    commands = np.asarray(answer['commands'])
    assert commands.shape == (25, 1) and np.all(np.isfinite(commands))
    assert np.all(commands >= -12.0) and np.all(commands <= 12.0)
