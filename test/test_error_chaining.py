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

"""Errors keep their cause (no ``raise ... from None``); the CLI still prints only the message."""

import ast
import hashlib
import json
from pathlib import Path

from ddpg_manipulation.cli import main

PACKAGE = Path(__file__).resolve().parents[1] / 'ddpg_manipulation'


def test_no_error_drops_its_cause():
    dropped = []
    for path in sorted(PACKAGE.rglob('*.py')):
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            if (isinstance(node, ast.Raise) and isinstance(node.cause, ast.Constant)
                    and node.cause.value is None):
                dropped.append(f'{path.relative_to(PACKAGE.parent)}:{node.lineno}')
    assert not dropped, f'raise ... from None throws the cause away: {dropped}'


def test_a_chained_user_error_is_still_one_line(trained_checkpoint, capsys):
    # torch.load's own exception becomes the cause of a CheckpointError
    (trained_checkpoint / 'actor.pt').write_bytes(b'not a weights file')
    manifest = json.loads((trained_checkpoint / 'manifest.json').read_text())
    manifest['files']['actor.pt'] = hashlib.sha256(b'not a weights file').hexdigest()
    (trained_checkpoint / 'manifest.json').write_text(json.dumps(manifest))
    assert main(['eval', '--checkpoint', str(trained_checkpoint), '--episodes', '1']) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'not a loadable weights file' in err[0], err
