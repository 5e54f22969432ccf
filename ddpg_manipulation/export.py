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
Export a trained policy (normalizer + actor) to one ONNX or TorchScript file.

The file maps ``state`` and ``goal`` (float32, shape (batch, nx), any batch) to the normalized
``action`` in [-1, 1] (float32, shape (batch, nu)), exactly as ``Policy.act`` does, and carries
what a deployment needs besides the network as metadata: task and config hash, sizes, action
bounds, range, time step and modes, actuated qpos indices, normalizer statistics and clip,
nominal start and goal, joint and actuator names. ONNX keeps it in ``metadata_props``, TorchScript
in the extra file ``ddpg_manipulation.json``; every value is a JSON string in both.

The ONNX graph is written from the weights with ``onnx.helper`` rather than traced: the actor is
a plain MLP (a handful of nodes), the TorchScript-based ``torch.onnx`` exporter is deprecated and
the newer one needs onnxscript. IR version 8 and opset 17 keep the file loadable by
onnxruntime 1.14 and later, which robot computers often pin. TorchScript is still written for
C++ (libtorch) deployments, but torch has deprecated it: prefer ONNX.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime
import json
import os
from pathlib import Path
from typing import Any, Iterator
import warnings

import mujoco
import numpy as np
import torch
from torch import nn

from ddpg_manipulation import __version__
from ddpg_manipulation.atomic import atomic_path, write_bytes
from ddpg_manipulation.errors import PackageError
from ddpg_manipulation.policy import (
    decode_export_metadata,
    EXPORT_FORMAT,
    EXPORT_FORMAT_VERSION,
    ONNX_INPUTS,
    ONNX_OUTPUT,
    Policy,
    PolicyFileError,
)
from ddpg_manipulation.sim.joints import joint_layout

FORMATS = ('onnx', 'torchscript')
SUFFIXES = {'onnx': '.onnx', 'torchscript': '.pt'}
TORCHSCRIPT_METADATA = 'ddpg_manipulation.json'
ONNX_OPSET = 17
ONNX_IR_VERSION = 8
#: An export passes when it is within this many times the float32 rounding error of the
#: checkpoint's own (torch, float32) evaluation of the float64 reference; see :func:`parity`.
PARITY_FACTOR = 16.0
#: ... or within a few float32 steps of an action in [-1, 1] (2**-23 each), where the
#: checkpoint's evaluation happens to be exact.
PARITY_FLOOR = 8 * 2.0 ** -23


class ExportError(PackageError, ValueError):
    """A policy cannot be exported (unsupported network, unknown format, bad destination)."""


class NormalizedActor(nn.Module):
    """
    Normalizer and actor in one module: (state, goal) -> normalized action.

    :param layers: The actor's layers (``DDP.net``: Linear/ReLU/.../Tanh).
    :param mean: Normalizer mean of a state, shape (nx,).
    :param std: Normalizer standard deviation of a state, shape (nx,).
    :param clip_range: Normalized observations are clipped to +- this.
    """

    def __init__(self, layers: nn.Sequential, mean: torch.Tensor, std: torch.Tensor,
                 clip_range: float) -> None:
        super().__init__()
        self.layers = layers
        self.register_buffer('mean', mean.float().repeat(2))
        self.register_buffer('std', std.float().repeat(2))
        self.clip_range = float(clip_range)

    def forward(self, state: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """
        Compute normalized actions.

        :param state: States, shape (batch, nx).
        :param goal: Goals, shape (batch, nx).

        :returns: Actions in [-1, 1], shape (batch, nu).
        """
        obs = torch.cat([state, goal], dim=-1)
        obs = ((obs - self.mean) / self.std).clamp(-self.clip_range, self.clip_range)
        return self.layers(obs).clamp(-1.0, 1.0)


def policy_metadata(policy: Policy) -> dict[str, Any]:
    """
    Collect what a deployment needs besides the network, from a checkpoint-loaded policy.

    :param policy: A policy from ``Policy.load`` of a checkpoint (torch backend).

    :returns: Key -> plain JSON-able value.
    """
    params, manifest, norm = policy.params, policy.metadata, policy.normalizer
    return {
        'format': EXPORT_FORMAT,
        'format_version': EXPORT_FORMAT_VERSION,
        'task': params.task_name,
        'config_hash': params.config_hash(),
        'state_dimension': int(params.state_dimension),
        'action_dimension': int(params.action_dimension),
        'inputs': list(ONNX_INPUTS),
        'output': ONNX_OUTPUT,
        'action_bound_lower': [float(x) for x in params.action_bound_lower],
        'action_bound_upper': [float(x) for x in params.action_bound_upper],
        'action_range': [float(x) for x in params.action_range],
        'action_time_step': float(params.action_time_step),
        'action_start_mode': params.action_start_mode,
        'action_end_mode': params.action_end_mode,
        'actuated_qpos': [int(i) for i in params.actuated_qpos],
        # float32 -> Python float is exact, and JSON keeps every digit of a double.
        'normalizer_mean': [float(x) for x in np.asarray(norm['mean'], dtype=np.float32)],
        'normalizer_std': [float(x) for x in np.asarray(norm['std'], dtype=np.float32)],
        'normalizer_clip': float(norm['clip_range']),
        'start_state': [float(x) for x in params.start_state],
        'goal_state': [float(x) for x in params.goal_state],
        'goal_bound_lower': [float(x) for x in params.goal_bound_lower],
        'goal_bound_upper': [float(x) for x in params.goal_bound_upper],
        'reward_distance_scaling': [float(x) for x in params.reward_distance_scaling],
        'final_success_distance': float(params.learner_final_success_distance),
        'model_timestep': float(params.model.opt.timestep),
        **joint_layout(params.model),
        'nlayers': int(manifest.get('nlayers', params.learner_nlayers)),
        'layer_width': int(manifest.get('layer_width', params.learner_layer_width)),
        'epoch': manifest.get('epoch'),
        'metrics': manifest.get('metrics', {}),
        'source_checkpoint': str(manifest.get('path', '')),
        'exported': datetime.datetime.now().isoformat(timespec='seconds'),
        'versions': {'ddpg_manipulation': __version__, 'torch': torch.__version__,
                     'mujoco': mujoco.__version__},
    }


def normalized_actor(policy: Policy) -> NormalizedActor:
    """
    Build the exportable module of a checkpoint-loaded policy (a copy, in eval mode).

    :param policy: A policy from ``Policy.load`` of a checkpoint (torch backend).

    :returns: The module.
    """
    if not hasattr(policy, 'network'):
        raise ExportError(f'{policy.metadata.get("path")}: only a checkpoint (torch) policy can '
                          'be exported')
    norm = policy.normalizer
    # A copy, on the CPU: the export must not share parameters with a policy that may keep
    # running, and it is exported for any device (a CUDA-loaded policy too).
    layers = copy.deepcopy(policy.network.net).cpu()
    module = NormalizedActor(layers, torch.as_tensor(norm['mean']),
                             torch.as_tensor(norm['std']), norm['clip_range'])
    return module.train(False)


def onnx_model(module: NormalizedActor, metadata: dict[str, Any]) -> Any:
    """
    Write the graph of a normalized actor as an ONNX model.

    :param module: The module (normalizer + Linear/ReLU/Tanh layers).
    :param metadata: Metadata to store (values are JSON-encoded).

    :returns: The checked ``onnx.ModelProto``.
    """
    try:
        import onnx
        from onnx import helper, numpy_helper, TensorProto
    except ImportError as error:
        raise ExportError('ONNX export needs the onnx package: pip install onnx (or '
                          'pip install -e .[export])') from error

    initializers: list[Any] = []

    def constant(name: str, value: Any) -> str:
        array = np.asarray(value.detach().numpy() if isinstance(value, torch.Tensor) else value,
                           dtype=np.float32)
        initializers.append(numpy_helper.from_array(array, name))
        return name

    nx, nu = metadata['state_dimension'], metadata['action_dimension']
    clip = module.clip_range
    nodes = [
        helper.make_node('Concat', list(ONNX_INPUTS), ['observation'], axis=1),
        helper.make_node('Sub', ['observation', constant('normalizer_mean', module.mean)],
                         ['centred']),
        helper.make_node('Div', ['centred', constant('normalizer_std', module.std)],
                         ['scaled']),
        helper.make_node('Clip', ['scaled', constant('clip_low', -clip),
                                  constant('clip_high', clip)], ['normalized']),
    ]
    current = 'normalized'
    for index, layer in enumerate(module.layers):
        output = f'layer_{index}'
        if isinstance(layer, nn.Linear):
            nodes.append(helper.make_node(
                'Gemm', [current, constant(f'{output}.weight', layer.weight),
                         constant(f'{output}.bias', layer.bias)], [output], transB=1))
        elif isinstance(layer, nn.ReLU):
            nodes.append(helper.make_node('Relu', [current], [output]))
        elif isinstance(layer, nn.Tanh):
            nodes.append(helper.make_node('Tanh', [current], [output]))
        else:
            raise ExportError(f'actor layer {index} is a {type(layer).__name__}; the ONNX '
                              'writer knows Linear, ReLU and Tanh')
        current = output
    nodes.append(helper.make_node('Clip', [current, constant('action_low', -1.0),
                                           constant('action_high', 1.0)], [ONNX_OUTPUT]))
    graph = helper.make_graph(
        nodes, 'ddpg_manipulation_policy',
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ['batch', nx])
         for name in ONNX_INPUTS],
        [helper.make_tensor_value_info(ONNX_OUTPUT, TensorProto.FLOAT, ['batch', nu])],
        initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', ONNX_OPSET)],
                              producer_name='ddpg_manipulation', producer_version=__version__,
                              doc_string=f'{metadata["task"]}: (state, goal) -> normalized '
                                         'action in [-1, 1]')
    model.ir_version = ONNX_IR_VERSION
    helper.set_model_props(model, {key: json.dumps(value) for key, value in metadata.items()})
    onnx.checker.check_model(model, full_check=True)
    return model


def export_onnx(policy: Policy, path: str | os.PathLike) -> Path:
    """
    Write a checkpoint-loaded policy as one ONNX file, atomically.

    :param policy: A policy from ``Policy.load`` of a checkpoint.
    :param path: Destination ``.onnx`` file.

    :returns: The file.
    """
    model = onnx_model(normalized_actor(policy), policy_metadata(policy))
    return write_bytes(Path(path), model.SerializeToString())


@contextlib.contextmanager
def _quiet_jit() -> Iterator[None]:
    # Recent torch releases flag torch.jit as deprecated on every call. The caller asked for
    # TorchScript explicitly; the docs recommend ONNX for new deployments.
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', category=DeprecationWarning, message=r'.*torch\.jit')
        yield


def export_torchscript(policy: Policy, path: str | os.PathLike) -> Path:
    """
    Write a checkpoint-loaded policy as one TorchScript file, atomically.

    :param policy: A policy from ``Policy.load`` of a checkpoint.
    :param path: Destination file (``.pt``).

    :returns: The file.
    """
    metadata = {key: json.dumps(value) for key, value in policy_metadata(policy).items()}
    path = Path(path)
    with atomic_path(path) as tmp, _quiet_jit():
        scripted = torch.jit.script(normalized_actor(policy))
        torch.jit.save(scripted, str(tmp),
                       _extra_files={TORCHSCRIPT_METADATA: json.dumps(metadata, indent=1)})
    return path


def load_torchscript(path: str | os.PathLike) -> tuple[torch.jit.ScriptModule, dict[str, Any]]:
    """
    Load an exported TorchScript policy and its metadata.

    :param path: File written by :func:`export_torchscript`.

    :returns: The module (``module(state, goal) -> action``) and the parsed metadata.
    """
    files = {TORCHSCRIPT_METADATA: ''}
    try:
        with _quiet_jit():
            module = torch.jit.load(str(path), map_location='cpu', _extra_files=files)
        raw = json.loads(files[TORCHSCRIPT_METADATA] or '{}')
    except (RuntimeError, ValueError, OSError) as error:
        first = str(error).splitlines()[0] if str(error) else ''
        raise PolicyFileError(f'{path}: not a loadable TorchScript policy ({first})') from error
    return module.train(False), decode_export_metadata(raw, str(path))


def default_output(policy: Policy, export_format: str) -> Path:
    """
    Name an export after its task and epoch, in the current directory.

    :param policy: The policy.
    :param export_format: ``onnx`` or ``torchscript``.

    :returns: E.g. ``box_push_epoch_000030.onnx``.
    """
    epoch = policy.metadata.get('epoch')
    stem = policy.params.task_name + (f'_epoch_{int(epoch):06d}' if epoch is not None else '')
    return Path(stem + SUFFIXES[export_format])


def export_policy(policy: Policy, export_format: str, path: str | os.PathLike) -> Path:
    """
    Export in the given format.

    :param policy: A policy from ``Policy.load`` of a checkpoint.
    :param export_format: ``onnx`` or ``torchscript``.
    :param path: Destination file.

    :returns: The file.
    """
    if export_format == 'onnx':
        return export_onnx(policy, path)
    if export_format == 'torchscript':
        return export_torchscript(policy, path)
    raise ExportError(f'format {export_format!r}: expected one of {", ".join(FORMATS)}')


@dataclasses.dataclass(frozen=True)
class Parity:
    """
    How closely an exported file computes its checkpoint's actions (see :func:`parity`).

    :param difference: Largest absolute difference between the file's actions and the float64
        evaluation of the checkpoint.
    :param float32_error: Largest absolute difference between the checkpoint's own float32
        evaluation (``Policy.act``) and the float64 one: the rounding error of float32
        arithmetic on this network and these inputs.
    :param tolerance: The largest ``difference`` accepted.
    """

    difference: float
    float32_error: float
    tolerance: float

    @property
    def ok(self) -> bool:
        """
        Tell whether the file computes the checkpoint's actions.

        :returns: True if ``difference`` is within ``tolerance``.
        """
        return self.difference <= self.tolerance


def parity_inputs(policy: Policy, samples: int = 256,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """
    Draw the states and goals a parity check runs on.

    They spread over three normalizer standard deviations around the mean, so that the
    observation clip is exercised too.

    :param policy: The checkpoint-loaded policy (its normalizer).
    :param samples: Number of (state, goal) pairs.
    :param seed: Seed of the inputs.

    :returns: States and goals, float32, shape (samples, nx) each.
    """
    generator = np.random.default_rng(seed)
    mean = np.asarray(policy.normalizer['mean'], dtype=np.float32)
    std = np.asarray(policy.normalizer['std'], dtype=np.float32)
    shape = (samples, mean.shape[0])
    states = (mean + 3 * std * generator.standard_normal(shape)).astype(np.float32)
    goals = (mean + 3 * std * generator.standard_normal(shape)).astype(np.float32)
    return states, goals


def reference_actions(policy: Policy, states: np.ndarray, goals: np.ndarray) -> np.ndarray:
    """
    Evaluate a checkpoint's policy in float64: the actions its float32 parameters define.

    Built from the checkpoint's network and normalizer directly, not from the exported module,
    so that a mistake in building the export is not in the reference too.

    :param policy: The checkpoint-loaded policy.
    :param states: States, shape (batch, nx).
    :param goals: Goals, shape (batch, nx).

    :returns: Normalized actions in [-1, 1], float64, shape (batch, nu).
    """
    # On the CPU in float64, whatever device the policy runs on.
    network = copy.deepcopy(policy.network.net).cpu().double().train(False)
    norm = policy.normalizer
    mean = np.tile(np.asarray(norm['mean'], dtype=np.float32).astype(np.float64), 2)
    std = np.tile(np.asarray(norm['std'], dtype=np.float32).astype(np.float64), 2)
    obs = np.concatenate([states, goals], axis=-1).astype(np.float64)
    clip = float(norm['clip_range'])
    normalized = np.clip((obs - mean) / std, -clip, clip)
    with torch.inference_mode():
        actions = network(torch.from_numpy(normalized)).numpy()
    return np.clip(actions, -1.0, 1.0)


def parity(policy: Policy, path: str | os.PathLike, export_format: str, samples: int = 256,
           seed: int = 0) -> Parity:
    """
    Compare an exported file with the checkpoint it came from, at float32's own precision.

    A float32 evaluation of a network differs from the exact one by rounding errors that grow
    with the network's size, weights and input scales: a trained 4 x 256 policy on realistic
    inputs differs by more than 1e-5 from itself evaluated in another order. So the file is
    compared with the float64 evaluation of the checkpoint, and the tolerance is
    :data:`PARITY_FACTOR` times the error that the checkpoint's own float32 evaluation
    (``Policy.act``, torch) makes against that same reference, or :data:`PARITY_FLOOR`. A
    correct export, in float32 like the checkpoint, stays within it for any network; a wrong one
    (weights or normalizer off, a layer missing or transposed, half-precision weights) lands far
    outside.

    :param policy: The checkpoint-loaded policy.
    :param path: The exported file.
    :param export_format: ``onnx`` or ``torchscript``.
    :param samples: Number of random (state, goal) pairs, run as one batch.
    :param seed: Seed of the inputs.

    :returns: The comparison.
    """
    states, goals = parity_inputs(policy, samples, seed)
    reference = reference_actions(policy, states, goals)
    float32_error = float(np.max(np.abs(policy.act(states, goals) - reference)))
    if export_format == 'onnx':
        exported = Policy.load_onnx(path).act(states, goals)
    else:
        module, _ = load_torchscript(path)
        with torch.inference_mode():
            exported = module(torch.from_numpy(states), torch.from_numpy(goals)).numpy()
    difference = float(np.max(np.abs(exported - reference)))
    if not np.isfinite(difference):
        difference = float('inf')
    return Parity(difference, float32_error,
                  max(PARITY_FACTOR * float32_error, PARITY_FLOOR))


def export_verified(policy: Policy, export_format: str,
                    path: str | os.PathLike) -> tuple[Path, Parity]:
    """
    Export, compare with the checkpoint (:func:`parity`), and only then move the file in place.

    A file that disagrees with its checkpoint never replaces a good one at ``path``.

    :param policy: A policy from ``Policy.load`` of a checkpoint.
    :param export_format: ``onnx`` or ``torchscript``.
    :param path: Destination file.

    :returns: The file and the comparison.

    :raises ExportError: The file disagrees with the checkpoint (nothing written).
    """
    path = Path(path)
    with atomic_path(path) as staged:  # moved into place only if the parity check passes
        export_policy(policy, export_format, staged)
        check = parity(policy, staged, export_format)
        if not check.ok:
            raise ExportError(
                f'{path}: the exported policy differs from the checkpoint by '
                f'{check.difference:.2e}, more than {check.tolerance:.2e} ({PARITY_FACTOR:g} x '
                f"the {check.float32_error:.2e} of the checkpoint's own float32 evaluation); "
                'nothing written')
    return path, check
