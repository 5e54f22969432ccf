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

"""``ddpg-manipulation eval``: success rate and mean relative distance of a checkpoint."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ddpg_manipulation.config import ConfigError, ParameterContainer


def configure(parser: argparse.ArgumentParser) -> None:
    """
    Declare the arguments of ``eval``.

    :param parser: The subcommand's parser.
    """
    parser.add_argument('--checkpoint', required=True,
                        help='checkpoint directory, run directory (its best checkpoint), '
                             'output directory (its newest run), fsspec URL, or an exported '
                             '.onnx policy')
    parser.add_argument('--newest', action='store_true',
                        help='with a run or output directory: its newest checkpoint instead of '
                             "its best (the run's result, chosen by validation)")
    parser.add_argument('--task', default=None,
                        help="task the checkpoint must belong to (default: the manifest's)")
    parser.add_argument('--episodes', type=int, default=100,
                        help='episodes, run as one batch (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=None,
                        help="seed of the starts and goals (default: the task's, i.e. the "
                             "episodes of the training run's evaluation)")
    parser.add_argument('--device', default='cpu',
                        help='torch device of the policy network: cpu, cuda, cuda:N or auto '
                             '(default: %(default)s; MuJoCo simulates on the CPU, and one small '
                             'network per step gains little from a GPU)')
    parser.add_argument('--render', default=None, metavar='PATH',
                        help='also render the first episodes to this .mp4 or .gif (headless; '
                             'goal drawn as a translucent ghost)')
    parser.add_argument('--render-episodes', type=int, default=3, metavar='N',
                        help='episodes to render with --render (default: %(default)s)')


def task_params(policy: Any, task: str | None) -> ParameterContainer:
    """
    Get the task parameters of a policy; an exported one carries only its task name and hash.

    :param policy: The loaded policy.
    :param task: ``--task``, or None for the policy's own task.

    :returns: The parameters, checked against the policy's config hash.
    """
    from ddpg_manipulation.learning.checkpoint import CheckpointError

    params = getattr(policy, 'params', None)
    if params is not None:
        return params
    params = ParameterContainer(task if task is not None else policy.metadata['task'])
    if policy.metadata.get('config_hash') != params.config_hash():
        raise CheckpointError(
            f'{policy.metadata["path"]}: exported config_hash is '
            f'{policy.metadata.get("config_hash")!r}, the task {params.task_name!r} has '
            f'{params.config_hash()!r}')
    return params


def run(args: argparse.Namespace) -> int:
    """
    Evaluate and print the success rate and mean relative distance; optionally render.

    :param args: Parsed arguments.

    :returns: Exit code 0.
    """
    from ddpg_manipulation.evaluation import evaluate
    from ddpg_manipulation.learning.devices import resolve_device
    from ddpg_manipulation.policy import Policy
    from ddpg_manipulation.render import check_video_path, gl_backend

    if args.episodes < 1:
        raise ConfigError(f'--episodes {args.episodes}: expected an integer >= 1')
    if args.render_episodes < 1:
        raise ConfigError(f'--render-episodes {args.render_episodes}: expected an integer >= 1')
    resolve_device(args.device, '--device')
    if args.render:
        # Before the evaluation, not after it: a missing GL or writer fails in a second.
        check_video_path(args.render)
        gl_backend()
    policy = Policy.load(args.checkpoint, task=args.task, device=args.device,
                         newest=args.newest)
    params = task_params(policy, args.task)
    result = evaluate(policy, params, args.episodes, args.seed)
    rendered = None
    if args.render:
        from ddpg_manipulation.render import render_trajectories

        count = min(args.render_episodes, args.episodes)
        rendered = render_trajectories(params, result.states, result.goals, args.render,
                                       episodes=count)
    print(f'success rate {result.success_rate:.3f}  mean relative distance '
          f'{result.relative_distance:.4f}  ({args.episodes} episodes, {params.task_name}, '
          f'{policy.metadata["path"]})')
    if rendered is not None:
        print(f'rendered {count} episode(s) to {rendered}')
    summary = {'task': params.task_name, 'checkpoint': policy.metadata['path'],
               'episodes': args.episodes, 'success_rate': result.success_rate,
               'relative_distance': result.relative_distance}
    if rendered is not None:
        summary['render'] = str(rendered)
    print(json.dumps(summary))
    return 0
