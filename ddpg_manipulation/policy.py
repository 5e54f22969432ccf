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
Policy: a trained checkpoint -> actions for (state, goal). Used by eval, export and ROS.

The policy speaks numpy at its boundary (``act``, ``start_end_actions``) so that callers such as
the ROS policy node need no torch types; the torch backend converts internally.

Two backends: a checkpoint directory runs with torch; an exported ``.onnx`` file (see
``ddpg_manipulation.export``) runs with onnxruntime and numpy only, taking everything else it
needs (action space, actuated joints, normalizer) from the file's metadata. That path imports
neither torch nor MuJoCo, so a robot computer needs neither.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ddpg_manipulation.errors import PackageError
from ddpg_manipulation.sim.actions import ActionSpace

# Metadata of an exported policy file (ONNX metadata_props, TorchScript extra file): every value
# is a JSON string. A reader checks the format name and version before it trusts the rest.
EXPORT_FORMAT = 'ddpg_manipulation.policy'
EXPORT_FORMAT_VERSION = 1
EXPORT_REQUIRED_KEYS = (
    'task', 'config_hash', 'state_dimension', 'action_dimension', 'action_bound_lower',
    'action_bound_upper', 'action_range', 'action_time_step', 'action_start_mode',
    'action_end_mode', 'actuated_qpos', 'normalizer_mean', 'normalizer_std', 'normalizer_clip',
)
ONNX_INPUTS = ('state', 'goal')
ONNX_OUTPUT = 'action'


class PolicyFileError(PackageError, ValueError):
    """An exported policy file is missing, unreadable, not ours, or inconsistent."""


def decode_export_metadata(raw: Mapping[str, str], where: str) -> dict[str, Any]:
    """
    Parse and check the metadata of an exported policy file.

    :param raw: Key -> JSON string, as stored in the file.
    :param where: The file, for error messages.

    :returns: Key -> parsed value.
    """
    metadata = {}
    for key, text in raw.items():
        try:
            metadata[key] = json.loads(text)
        except (TypeError, ValueError) as error:
            raise PolicyFileError(
                f'{where}: metadata {key!r} is not JSON: {text!r:.80}') from error
    if metadata.get('format') != EXPORT_FORMAT:
        raise PolicyFileError(f'{where}: not an exported ddpg_manipulation policy (metadata '
                              f'format is {metadata.get("format")!r}, expected {EXPORT_FORMAT!r})')
    if metadata.get('format_version') != EXPORT_FORMAT_VERSION:
        raise PolicyFileError(f'{where}: export format_version {metadata.get("format_version")!r}'
                              f', this reader knows {EXPORT_FORMAT_VERSION}')
    missing = [key for key in EXPORT_REQUIRED_KEYS if key not in metadata]
    if missing:
        raise PolicyFileError(f'{where}: metadata lacks {", ".join(missing)}')
    nx, nu = metadata['state_dimension'], metadata['action_dimension']
    if not (isinstance(nx, int) and isinstance(nu, int) and nx > 0 and nu > 0):
        raise PolicyFileError(f'{where}: state/action dimensions {nx!r}/{nu!r} are not positive '
                              'integers')
    lengths = {'action_bound_lower': nu, 'action_bound_upper': nu, 'action_range': nu,
               'actuated_qpos': nu, 'normalizer_mean': nx, 'normalizer_std': nx}
    for key, length in lengths.items():
        value = metadata[key]
        numbers = isinstance(value, list) and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
        if not numbers or len(value) != length or not np.all(np.isfinite(value)):
            raise PolicyFileError(f'{where}: metadata {key!r}: expected a list of {length} '
                                  f'finite numbers, got {value!r:.80}')
    for key in ('action_time_step', 'normalizer_clip'):
        value = metadata[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise PolicyFileError(f'{where}: metadata {key!r}: expected a number > 0, got '
                                  f'{value!r:.80}')
    for key in ('action_start_mode', 'action_end_mode'):
        if metadata[key] not in ('current', 'previous'):
            raise PolicyFileError(f'{where}: metadata {key!r} is {metadata[key]!r}, expected '
                                  "'current' or 'previous'")
    if not all(isinstance(i, int) and 0 <= i < nx for i in metadata['actuated_qpos']):
        raise PolicyFileError(f'{where}: metadata actuated_qpos {metadata["actuated_qpos"]} '
                              f'does not index a state of {nx} values')
    return metadata


class Policy:
    """
    A deterministic policy: normalizer + actor, with the task's action definition.

    Build it with :meth:`load`; the constructor takes already-loaded parts, so a backend that
    needs neither torch nor MuJoCo (e.g. onnxruntime) can build one from its own metadata.

    :param actions: The task's action space.
    :param forward: Maps normalized observations (batch, 2 * nx) float32 -> actions (batch, nu).
    :param mean: Normalizer mean, shape (nx,).
    :param std: Normalizer standard deviation, shape (nx,).
    :param clip_range: Normalized observations are clipped to +- this.
    :param actuated_pos: Indices of the actuated joint positions in the state.
    :param metadata: Where the policy came from: task name, config hash, sizes, path, ...
    """

    def __init__(
        self, actions: ActionSpace, forward: Callable[[np.ndarray], np.ndarray],
        mean: np.ndarray, std: np.ndarray, clip_range: float, actuated_pos: Sequence[int],
        metadata: dict[str, Any],
    ) -> None:
        self.actions = actions
        self.state_dimension = int(mean.shape[0])
        self.action_dimension = actions.dimension
        self.actuated_pos = np.asarray(actuated_pos, dtype=np.int64)
        self.metadata = metadata
        self._forward = forward
        self._mean = np.tile(np.asarray(mean, dtype=np.float32), 2)
        self._std = np.tile(np.asarray(std, dtype=np.float32), 2)
        self._clip = float(clip_range)

    @classmethod
    def load(cls, path: str | os.PathLike, task: str | os.PathLike | None = None,
             device: str = 'cpu', newest: bool = False) -> Policy:
        """
        Load a policy from a checkpoint (directory, run/output directory, or URL).

        A path ending in ``.onnx`` is an exported policy: it loads with :meth:`load_onnx`
        (onnxruntime and numpy only, one intra-op thread, on the CPU).

        :param path: Checkpoint location (see ``checkpoint.load``), or an ``.onnx`` file.
        :param task: Task name or YAML the checkpoint must belong to; default: the manifest's task.
        :param device: Torch device of the network (``cpu``, ``cuda``, ``cuda:N``, ``auto``).
            The CPU is the default: one small network per action answers faster there than
            through a round trip to a GPU. Checkpoints load on any device, whatever device
            they were trained on.
        :param newest: Resolve a run or output directory to its newest checkpoint rather than
            its best (the run's result).

        :returns: The policy.
        """
        if str(path).lower().endswith('.onnx'):
            if str(device) != 'cpu':
                raise PolicyFileError(f'{path}: an exported .onnx policy runs with onnxruntime '
                                      f'on the CPU; device {str(device)!r} applies to '
                                      'checkpoints only')
            return cls.load_onnx(path, task=task)

        import torch  # torch is needed for .pt checkpoints only

        from ddpg_manipulation.config import ParameterContainer
        from ddpg_manipulation.learning import checkpoint
        from ddpg_manipulation.learning.devices import resolve_device
        from ddpg_manipulation.learning.networks import DDP

        where = resolve_device(device, 'device')

        loaded = checkpoint.load(path, with_critic=False, newest=newest)
        manifest = loaded.manifest
        params = ParameterContainer(task if task is not None else manifest['task'])
        expected = {'task': params.task_name, 'config_hash': params.config_hash(),
                    'state_dimension': params.state_dimension,
                    'action_dimension': params.action_dimension}
        for key, value in expected.items():
            if manifest.get(key) != value:
                raise checkpoint.CheckpointError(
                    f'{loaded.path}: checkpoint {key} is {manifest.get(key)!r}, the task '
                    f'{params.task_name!r} has {value!r}'
                )
        net = DDP(2 * params.state_dimension, params.action_dimension,
                  int(manifest['nlayers']), int(manifest['layer_width']))
        try:
            # The averaged actor where the run kept one: it is the policy that was evaluated.
            net.load_state_dict(loaded.actor.get('average', loaded.actor['net']))
        except (KeyError, RuntimeError) as error:
            raise checkpoint.CheckpointError(
                f'{loaded.path}/actor.pt: does not fit the network: {error}') from error
        net.train(False)
        net.to(where)

        def forward(obs: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return net(torch.from_numpy(obs).to(where)).cpu().numpy()

        norm = loaded.state_norm
        policy = cls(ActionSpace.from_params(params), forward, norm['mean'].numpy(),
                     norm['std'].numpy(), float(norm['clip_range']), params.actuated_qpos,
                     {**manifest, 'path': loaded.path, 'device': str(where)})
        policy.params = params
        policy.network = net
        policy.normalizer = {'mean': norm['mean'].numpy(), 'std': norm['std'].numpy(),
                             'clip_range': float(norm['clip_range'])}
        return policy

    @classmethod
    def load_onnx(
        cls, path: str | os.PathLike, task: str | os.PathLike | None = None, threads: int = 1,
    ) -> Policy:
        """
        Load an exported ``.onnx`` policy to run with onnxruntime: no torch, no MuJoCo.

        The normalizer is part of the ONNX graph (inputs ``state`` and ``goal``), so this
        policy's own normalization is the identity; the statistics are in ``normalizer``.

        :param path: The ``.onnx`` file written by ``ddpg-manipulation export``.
        :param task: Task name or YAML path the policy must belong to (compared by name).
        :param threads: onnxruntime intra-op threads. The default 1 runs on the calling thread:
            lowest latency for one state at a time and no cores taken from the robot; 0 lets
            onnxruntime use every core.

        :returns: The policy, with ``session`` (the onnxruntime session) and ``normalizer``.
        """
        try:
            import onnxruntime
        except ImportError as error:
            raise ImportError('loading an .onnx policy needs onnxruntime: pip install '
                              'onnxruntime') from error
        if threads < 0:
            raise ValueError(f'threads {threads}: expected an integer >= 0')
        where = str(path)
        if not Path(path).expanduser().is_file():
            raise PolicyFileError(f'{where}: no such file')
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # errors only: a robot's log is not for optimizer notes
        try:
            session = onnxruntime.InferenceSession(
                str(Path(path).expanduser()), sess_options=options,
                providers=['CPUExecutionProvider'])
        except Exception as error:  # noqa: BLE001 - onnxruntime raises its own exception types
            first = str(error).splitlines()[0] if str(error) else ''
            raise PolicyFileError(f'{where}: not a loadable ONNX model '
                                  f'({type(error).__name__}: {first})') from error
        metadata = decode_export_metadata(session.get_modelmeta().custom_metadata_map, where)
        nx, nu = metadata['state_dimension'], metadata['action_dimension']
        inputs = {i.name: i.shape for i in session.get_inputs()}
        outputs = {o.name: o.shape for o in session.get_outputs()}
        if (set(inputs) != set(ONNX_INPUTS) or ONNX_OUTPUT not in outputs
                or any(shape[-1] != nx for shape in inputs.values())
                or outputs[ONNX_OUTPUT][-1] != nu):
            raise PolicyFileError(
                f'{where}: graph inputs {inputs} / outputs {outputs} do not match the metadata '
                f'(expected inputs state, goal of {nx} values and output action of {nu})')
        if task is not None and Path(str(task)).stem != metadata['task']:
            raise PolicyFileError(f'{where}: policy task is {metadata["task"]!r}, expected '
                                  f'{Path(str(task)).stem!r}')
        actions = ActionSpace(
            lower=np.asarray(metadata['action_bound_lower'], dtype=np.float64),
            upper=np.asarray(metadata['action_bound_upper'], dtype=np.float64),
            range=np.asarray(metadata['action_range'], dtype=np.float64),
            time_step=float(metadata['action_time_step']),
            start_mode=str(metadata['action_start_mode']),
            end_mode=str(metadata['action_end_mode']),
        )

        def forward(obs: np.ndarray) -> np.ndarray:
            feed = {'state': np.ascontiguousarray(obs[:, :nx]),
                    'goal': np.ascontiguousarray(obs[:, nx:])}
            return session.run([ONNX_OUTPUT], feed)[0]

        policy = cls(actions, forward, np.zeros(nx, dtype=np.float32),
                     np.ones(nx, dtype=np.float32), np.inf, metadata['actuated_qpos'],
                     {**metadata, 'path': where, 'backend': 'onnxruntime'})
        policy.session = session
        policy.normalizer = {'mean': np.asarray(metadata['normalizer_mean'], dtype=np.float32),
                             'std': np.asarray(metadata['normalizer_std'], dtype=np.float32),
                             'clip_range': float(metadata['normalizer_clip'])}
        return policy

    def normalize(self, states: np.ndarray, goals: np.ndarray) -> np.ndarray:
        """
        Build normalized, clipped observations.

        :param states: States, shape (batch, nx).
        :param goals: Goals, shape (batch, nx).

        :returns: Observations, shape (batch, 2 * nx), float32.
        """
        # In float64: extreme (finite) inputs then saturate at the clip instead of overflowing.
        obs = np.concatenate([states, goals], axis=-1).astype(np.float64, copy=False)
        normalized = np.clip((obs - self._mean) / self._std, -self._clip, self._clip)
        return normalized.astype(np.float32)

    def act(self, states: np.ndarray, goals: np.ndarray) -> np.ndarray:
        """
        Select normalized actions without exploration.

        :param states: States, shape (nx,) or (batch, nx).
        :param goals: Goals, same shape as ``states``.

        :returns: Normalized actions in [-1, 1], shape (nu,) or (batch, nu).
        """
        states, goals = np.asarray(states), np.asarray(goals)
        single = states.ndim == 1
        states2, goals2 = np.atleast_2d(states), np.atleast_2d(goals)
        for name, value in (('state', states2), ('goal', goals2)):
            if value.shape[-1] != self.state_dimension:
                raise ValueError(
                    f'{name}: expected {self.state_dimension} values, got {value.shape[-1]}')
            if not np.all(np.isfinite(value)):
                raise ValueError(f'{name}: holds NaN or inf')
        # Saturate to the float32 range: normalized observations are clipped far inside it,
        # so this changes no action, and the cast below never overflows to inf.
        limit = float(np.finfo(np.float32).max)
        states2, goals2 = np.clip(states2, -limit, limit), np.clip(goals2, -limit, limit)
        actions = np.clip(self._forward(self.normalize(states2, goals2)), -1.0, 1.0)
        # A network can still produce NaN from finite inputs (e.g. corrupt weights): never pass
        # it on; zero is "hold position" in relative terms.
        actions = np.nan_to_num(actions, nan=0.0)
        return actions[0] if single else actions

    def start_end_actions(
        self, states: np.ndarray, goals: np.ndarray, previous_end: np.ndarray | None = None
    ) -> np.ndarray:
        """
        Actuator targets (start and end of the first-order hold) for the next action step.

        :param states: States, shape (nx,) or (batch, nx).
        :param goals: Goals, same shape.
        :param previous_end: Previous end actions, or None.

        :returns: Start and end targets within the action bounds, shape ([batch,] 2, nu), float64.
        """
        normalized = self.act(states, goals).astype(np.float64)
        relative = self.actions.relative_actions(normalized)
        positions = np.asarray(states, dtype=np.float64)[..., self.actuated_pos]
        return self.actions.start_end_actions(positions, relative, previous_end)
