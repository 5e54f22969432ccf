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
What of a learner goes into a checkpoint, and how it comes back.

``checkpoint.py`` knows files (atomic directories, manifests, hashes, URLs); this module knows
the learner: the manifest fields that describe it, the training state that exact resumption
needs (counters, history, every random generator, optionally the replay buffer), and the seed's
``save_models`` / ``load_models`` verbs and ``resume``. When a checkpoint is due is decided at
the edges of the epochs (``epochs.py``).
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any, cast, TYPE_CHECKING

import torch

from ddpg_manipulation.learning import checkpoint

if TYPE_CHECKING:
    from ddpg_manipulation.config import ParameterContainer
    from ddpg_manipulation.learning.learner import Learner
    from ddpg_manipulation.sim.plant import MujocoPlant


def expected_manifest(params: ParameterContainer, plant: MujocoPlant) -> dict[str, Any]:
    """
    Manifest fields a checkpoint must match to be loaded into a learner of these parameters.

    :param params: The learner's parameters.
    :param plant: Its plant.

    :returns: Task, config hash and network sizes.
    """
    return {
        'task': params.task_name,
        'config_hash': params.config_hash(),
        'state_dimension': plant.state_dimension,
        'action_dimension': plant.action_dimension,
        'nlayers': params.learner_nlayers,
        'layer_width': params.learner_layer_width,
    }


def manifest_info(learner: Learner) -> dict[str, Any]:
    """
    Manifest fields describing a learner's task, networks, epoch and metrics.

    :param learner: The learner.

    :returns: Fields for ``checkpoint.build_manifest``.
    """
    p = learner.params
    return {
        **expected_manifest(p, learner.plant),
        'task_file': str(p.task_file),
        'params': p.to_dict(),
        'epoch': learner.epoch,
        'cycle': learner.cycle,
        'metrics': learner.history[-1] if learner.history else {},
        'created': datetime.datetime.now().isoformat(timespec='microseconds'),
    }


def training_state(learner: Learner) -> dict[str, Any]:
    """
    Everything beyond the networks that exact resumption needs.

    :param learner: The learner.

    :returns: A dict of tensors and plain values (``weights_only``-loadable).
    """
    state = {
        'epoch': learner.epoch,
        'cycle': learner.cycle,
        'epoch_elapsed': learner.epoch_elapsed,
        'planner_share': learner.planner_share,
        'demo_transitions': learner.demo_transitions,
        'policy_transitions': learner.policy_transitions,
        'epochs_requested': learner.epochs_requested,
        'best': learner.best,
        'history': learner.history,
        'initial_injections_done': learner.initial_injections_done,
        'torch_rng': torch.get_rng_state(),
        **{key: generator.get_state() for key, generator in _generators(learner).items()},
    }
    if learner.device.type == 'cuda':  # a CUDA replay storage draws its indices there
        state['cuda_rng'] = torch.cuda.get_rng_state(learner.device)
    graph_state = getattr(learner.graph, 'state_dict', None)
    if graph_state is not None:
        state['graph'] = graph_state()
    if learner.save_buffer:
        state['replay_buffer'] = learner.replay_buffer.state_dict()
    return state


def save(learner: Learner, is_local: bool) -> None:
    """
    Save a learner's networks, normalizer and training state (the seed's ``save_models``).

    Local saves go to ``<output_dir>/<task>/<run>/checkpoints/epoch_<N>[_cycle_<M>]/``; cloud
    saves to ``<cloud_url>/<task>/<run>/epoch_<N>[_cycle_<M>]/``.

    :param learner: The learner.
    :param is_local: Save to the local output directory (else to ``cloud_url``).
    """
    files = checkpoint.build_files(learner.actor, learner.critic, learner.state_norm,
                                   training_state(learner))
    info = manifest_info(learner)
    if learner.run_dir is None:
        learner.run_dir = checkpoint.new_run_dir(learner.output_dir, learner.params.task_name)
    name = f'epoch_{learner.epoch:06d}' + (f'_cycle_{learner.cycle:04d}' if learner.cycle else '')
    if is_local:
        target = learner.run_dir / 'checkpoints' / name
        if target.exists():  # saved this epoch already (e.g. stop right after a save)
            return
        best = learner.best
        if best is not None and best['epoch'] == learner.epoch and not learner.cycle:
            best['checkpoint'] = str(target)  # this epoch is the best so far
        kept = Path(best['checkpoint']) if best is not None and best['checkpoint'] else None
        learner.last_checkpoint = str(
            checkpoint.save_local(target, files, info, learner.keep_checkpoints, kept))
        if best is not None and kept == target and best['validation'] is not None:
            success, distance = best['validation']
            checkpoint.write_best(learner.run_dir, target, {
                'epoch': best['epoch'], 'validation_success_rate': success,
                'validation_distance': distance})
    else:
        if not learner.cloud_url:
            raise ValueError('save_cloud needs cloud_url (an fsspec URL)')
        base = learner.cloud_url.rstrip('/')
        url = f'{base}/{learner.params.task_name}/{learner.run_dir.name}/{name}'
        learner.last_checkpoint = checkpoint.save_cloud(url, files, info)


def load(learner: Learner, path: Path | str, is_local: bool) -> None:
    """
    Load networks and normalizer into a learner (the seed's ``load_models``).

    :param learner: The learner.
    :param path: Local checkpoint, run or output directory; with ``is_local=False`` an fsspec
        URL given as a string (a ``Path`` would fold its ``//``), or a path relative to
        ``cloud_url``.
    :param is_local: Whether ``path`` is local.
    """
    source = str(path)
    if not is_local and '://' not in source:
        if not learner.cloud_url:
            raise ValueError(f'{source}: not a URL, and no cloud_url to resolve it against')
        source = f'{learner.cloud_url.rstrip("/")}/{source.lstrip("/")}'
    loaded = checkpoint.load(source, expected_manifest(learner.params, learner.plant),
                             with_critic=True)
    try:
        learner.actor.load(loaded.actor)
        learner.critic.load(loaded.critic)
        learner.state_norm.load(loaded.state_norm)
        learner._graphed.reset()  # a captured update refers to the replaced optimizer state
    except ValueError as error:
        raise checkpoint.CheckpointError(f'{loaded.path}: {error}') from error
    learner.last_checkpoint = loaded.path


def resume(learner: Learner, path: str | os.PathLike, with_buffer: bool = False) -> None:
    """
    Continue a run from a checkpoint exactly where it stopped.

    Restores actor, critic, their targets and optimizer states, the normalizer, the epoch,
    history, injection state, every random generator and (``with_buffer``) the replay buffer.
    With the buffer, a seeded run resumed at epoch k ends bit-for-bit identical to an
    uninterrupted one on the CPU; without it the buffer starts empty.

    :param learner: The learner, built with the checkpoint's parameters.
    :param path: Checkpoint, run or output directory, or URL.
    :param with_buffer: Restore the replay buffer (the checkpoint must hold one).
    """
    loaded = checkpoint.load(path, expected_manifest(learner.params, learner.plant),
                             with_critic=True, with_training_state=True, newest=True)
    state = loaded.training_state
    if state is None:
        raise checkpoint.CheckpointError(f'{loaded.path}: holds no training state to resume')
    if with_buffer and 'replay_buffer' not in state:
        raise checkpoint.CheckpointError(
            f'{loaded.path}: holds no replay buffer (train with --save-buffer to store it)')
    try:
        learner.actor.load(loaded.actor)
        learner.critic.load(loaded.critic)
        learner.state_norm.load(loaded.state_norm)
        learner._graphed.reset()  # a captured update refers to the replaced optimizer state
        if with_buffer:
            learner.replay_buffer.load_state_dict(state['replay_buffer'])
        load_graph_state = getattr(learner.graph, 'load_state_dict', None)
        if 'graph' in state and load_graph_state is not None:
            load_graph_state(state['graph'])
        learner.epoch = int(state['epoch'])
        learner.cycle = int(state['cycle'])
        learner.epoch_elapsed = float(state['epoch_elapsed'])
        learner.planner_share = float(state['planner_share'])
        learner.demo_transitions = int(state['demo_transitions'])
        learner.policy_transitions = int(state['policy_transitions'])
        learner.epochs_requested = int(state['epochs_requested'])
        learner.best = state.get('best')
        learner.history = list(state['history'])
        learner.initial_injections_done = bool(state['initial_injections_done'])
        torch.set_rng_state(state['torch_rng'])
        for key, generator in _generators(learner).items():
            generator.set_state(state[key])
        if 'cuda_rng' in state and learner.device.type == 'cuda':
            torch.cuda.set_rng_state(state['cuda_rng'], learner.device)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise checkpoint.CheckpointError(
            f'{loaded.path}: training state does not fit: {error}') from error
    local = Path(loaded.path)
    if '://' not in loaded.path and local.parent.name == 'checkpoints':
        learner.run_dir = local.parent.parent  # continue in the same run directory
    learner.last_checkpoint = loaded.path


def _generators(learner: Learner) -> dict[str, torch.Generator]:
    # Every random generator of a run by its key in the training state; reset() makes them all.
    found = {'generator': learner.generator, 'actor_generator': learner.actor.generator,
             'buffer_generator': learner.replay_buffer.generator}
    generators = {key: value for key, value in found.items() if value is not None}
    if len(generators) != len(found):
        missing = sorted(set(found) - set(generators))
        raise RuntimeError(f'learner without its random generators {missing}')
    return generators


class CheckpointVerbs:
    """The seed's checkpoint verbs of a :class:`~ddpg_manipulation.learning.learner.Learner`."""

    save_local: bool
    save_cloud: bool
    load_local: bool
    load_cloud: bool
    load_path: str

    def load_requested(self) -> None:
        """Load ``load_path`` if ``load_local`` or ``load_cloud`` asks for it (at construction)."""
        if self.load_local or self.load_cloud:
            if not self.load_path:
                raise ValueError('load_local/load_cloud need load_path')
            # A URL stays a string: a Path would fold its '//'.
            path = Path(self.load_path) if self.load_local else self.load_path
            self.load_models(path, is_local=self.load_local)  # type: ignore[arg-type]

    def save_checkpoints(self) -> None:
        """Save to every enabled destination (local run directory and/or cloud URL)."""
        if self.save_local:
            self.save_models(is_local=True)
        if self.save_cloud:
            self.save_models(is_local=False)

    def save_models(self, is_local: bool) -> None:
        """
        Save the actor and critic networks and the normalizers.

        Local saves are located under ``<output_dir>/<task>/<run>/checkpoints/epoch_<N>/``;
        cloud saves under ``<cloud_url>/<task>/<run>/epoch_<N>/``.

        :param is_local: Save to the local output directory (else to ``cloud_url``).
        """
        save(cast('Learner', self), is_local)

    def load_models(self, path: Path, is_local: bool) -> None:
        """
        Load the actor and critic networks and the normalizers.

        :param path: Local checkpoint, run or output directory; with ``is_local=False`` an fsspec
            URL given as a string, or a path relative to ``cloud_url``.
        :param is_local: Whether ``path`` is local.
        """
        load(cast('Learner', self), path, is_local)

    def resume(self, path: str | os.PathLike, with_buffer: bool = False) -> None:
        """
        Continue a run from a checkpoint exactly where it stopped (see :func:`resume`).

        :param path: Checkpoint, run or output directory, or URL.
        :param with_buffer: Restore the replay buffer (the checkpoint must hold one).
        """
        resume(cast('Learner', self), path, with_buffer)
