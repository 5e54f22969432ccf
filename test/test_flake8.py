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
ament_flake8: code style as ``colcon test`` checks it (skipped without ament).

ament_flake8's configuration (google import order) does not know which imports are this
package's own; like the repository's ruff configuration (``known-first-party``), it is told
here, so that ``from ddpg_manipulation ...`` forms its own group after the third-party ones.
"""

from pathlib import Path

import pytest

ament_flake8_main = pytest.importorskip('ament_flake8.main')

ROOT = Path(__file__).resolve().parents[1]
PATHS = [str(ROOT / p)
         for p in ('ddpg_manipulation', 'launch', 'test', 'bench', 'scripts', 'setup.py')
         if (ROOT / p).exists()]


def _config(tmp_path: Path) -> Path:
    """Return ament_flake8's own configuration plus this package's import names."""
    default = Path(ament_flake8_main.__file__).parent / 'configuration' / 'ament_flake8.ini'
    config = tmp_path / 'ament_flake8.ini'
    config.write_text(default.read_text(encoding='utf-8').rstrip('\n')
                      + '\napplication-import-names = ddpg_manipulation,bench\n',
                      encoding='utf-8')
    return config


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8(tmp_path):
    rc, errors = ament_flake8_main.main_with_errors(
        argv=['--config', str(_config(tmp_path)), *PATHS])
    assert rc == 0, \
        'Found %d code style errors / warnings:\n' % len(errors) + \
        '\n'.join(errors)
