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

"""``ddpg-manipulation export``: a checkpoint -> one ONNX or TorchScript file for deployment."""

from __future__ import annotations

import argparse
import json
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    """
    Declare the arguments of ``export``.

    :param parser: The subcommand's parser.
    """
    parser.add_argument('--checkpoint', required=True,
                        help='checkpoint directory, run directory (its best checkpoint), '
                             'output directory, or fsspec URL')
    parser.add_argument('--newest', action='store_true',
                        help='with a run or output directory: its newest checkpoint instead of '
                             "its best (the run's result, chosen by validation)")
    parser.add_argument('--task', default=None,
                        help="task the checkpoint must belong to (default: the manifest's)")
    parser.add_argument('--format', dest='export_format', choices=('onnx', 'torchscript'),
                        default='onnx', help='file format (default: %(default)s)')
    parser.add_argument('--output', default=None,
                        help='file to write (default: TASK_epoch_N.onnx or .pt in the current '
                             'directory)')


def run(args: argparse.Namespace) -> int:
    """
    Export, then check the file against the checkpoint on random inputs.

    :param args: Parsed arguments.

    :returns: Exit code 0, or 1 if the export fails or its outputs differ from the checkpoint's
        (then nothing is written).
    """
    from ddpg_manipulation.export import default_output, export_verified, ExportError
    from ddpg_manipulation.policy import Policy, PolicyFileError

    try:
        policy = Policy.load(args.checkpoint, task=args.task, newest=args.newest)
        if not hasattr(policy, 'network'):
            raise ExportError(f'{args.checkpoint}: already an exported policy; pass a checkpoint')
        output = args.output or default_output(policy, args.export_format)
        path, check = export_verified(policy, args.export_format, output)
    except (ExportError, PolicyFileError) as error:
        print(f'ddpg-manipulation export: error: {error}', file=sys.stderr)
        return 1
    size = path.stat().st_size
    print(f'wrote {path} ({args.export_format}, {size / 1024:.0f} KiB, task '
          f'{policy.params.task_name}, epoch {policy.metadata.get("epoch")}); over 256 random '
          f'(state, goal) pairs, max |exported - checkpoint in float64| = '
          f"{check.difference:.1e} (accepted up to {check.tolerance:.1e}; the checkpoint's "
          f'own float32 evaluation: {check.float32_error:.1e})')
    print(json.dumps({'task': policy.params.task_name, 'checkpoint': policy.metadata['path'],
                      'format': args.export_format, 'output': str(path), 'bytes': size,
                      'max_abs_diff': check.difference, 'float32_error': check.float32_error,
                      'tolerance': check.tolerance}))
    return 0
