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

"""``ddpg-manipulation``: train, plan, evaluate, export and benchmark, without ROS."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from ddpg_manipulation import __version__

# Subcommand -> module in ddpg_manipulation.commands with configure(parser) and run(args) -> int.
COMMANDS = {
    'train': 'train a policy with DDPG (and planner demonstrations where the task enables them)',
    'eval': 'evaluate a checkpoint on seeded episodes (optionally render them)',
    'plan': 'run the graph planner once and write its graph, best path plot and summary',
    'plot': 'draw the learning curves of training runs (--compare: two runs overlaid)',
    'export': 'export a checkpoint to one ONNX or TorchScript file for deployment',
}


class UsageError(Exception):
    """A command-line argument is wrong; the message says which and what is expected."""


def build_parser() -> argparse.ArgumentParser:
    """
    Build the argument parser with every available subcommand.

    :returns: The parser.
    """
    parser = argparse.ArgumentParser(
        prog='ddpg-manipulation',
        description='Learn manipulation policies with DDPG from graph-planner demonstrations.',
    )
    parser.add_argument('--version', action='version', version=f'%(prog)s {__version__}')
    sub = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f'ddpg_manipulation.commands.{name}')
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run the CLI.

    :param argv: Arguments (default: ``sys.argv[1:]``).

    :returns: Process exit code: 0 success, 1 a failed check (e.g. a bad file), 2 bad usage.
    """
    from ddpg_manipulation.errors import PackageError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UsageError as error:
        parser.error(str(error))  # exits with code 2
    except PackageError as error:
        print(f'ddpg-manipulation {args.command}: error: {error}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
