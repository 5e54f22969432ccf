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

from ddpg_manipulation.config import ConfigError, ParameterContainer


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of ``eval``.

    Args:
        parser: The subcommand's parser.
    """
    parser.add_argument('--checkpoint', required=True,
                        help='checkpoint directory, run directory (its newest checkpoint), '
                             'output directory, or fsspec URL')
    parser.add_argument('--task', default=None,
                        help="task the checkpoint must belong to (default: the manifest's)")
    parser.add_argument('--episodes', type=int, default=100,
                        help='episodes, run as one batch (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=None,
                        help="seed of the starts and goals (default: the task's, i.e. the "
                             "episodes of the training run's evaluation)")


def run(args: argparse.Namespace) -> int:
    """Evaluate and print the success rate and mean relative distance.

    Args:
        args: Parsed arguments.

    Returns:
        Exit code 0.
    """
    from ddpg_manipulation.evaluation import evaluate
    from ddpg_manipulation.policy import Policy

    if args.episodes < 1:
        raise ConfigError(f'--episodes {args.episodes}: expected an integer >= 1')
    policy = Policy.load(args.checkpoint, task=args.task)
    params: ParameterContainer = policy.params
    result = evaluate(policy, params, args.episodes, args.seed)
    print(f'success rate {result.success_rate:.3f}  mean relative distance '
          f'{result.relative_distance:.4f}  ({args.episodes} episodes, {params.task_name}, '
          f'{policy.metadata["path"]})')
    print(json.dumps({'task': params.task_name, 'checkpoint': policy.metadata['path'],
                      'episodes': args.episodes, 'success_rate': result.success_rate,
                      'relative_distance': result.relative_distance}))
    return 0
