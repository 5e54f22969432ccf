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

"""ament_copyright: every source file carries the Apache-2.0 header (skipped without ament)."""

from pathlib import Path

import pytest

ament_copyright_main = pytest.importorskip('ament_copyright.main')

ROOT = Path(__file__).resolve().parents[1]
# Explicit paths: a colcon workspace inside the repository (build/, install/, log/) holds
# copies of these files that must not be checked twice.
PATHS = [str(ROOT / p)
         for p in ('ddpg_manipulation', 'launch', 'test', 'bench', 'scripts', 'setup.py')
         if (ROOT / p).exists()]


@pytest.mark.copyright
@pytest.mark.linter
def test_copyright():
    rc = ament_copyright_main.main(argv=PATHS)
    assert rc == 0, 'Found errors'
