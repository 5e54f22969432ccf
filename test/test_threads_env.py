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

"""The OpenMP wait default the package sets before torch loads, and what overrides it."""

import json
import os
import subprocess
import sys

import pytest

PROBE = ('import json, os, ddpg_manipulation; '
         'print(json.dumps({k: os.environ.get(k) for k in '
         '("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}))')


def probe(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT')}
    done = subprocess.run([sys.executable, '-c', PROBE], env={**clean, **env},
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_short_spin_is_the_default():
    assert probe() == {'OMP_WAIT_POLICY': None, 'GOMP_SPINCOUNT': '3000'}


@pytest.mark.parametrize('env', [{'OMP_WAIT_POLICY': 'PASSIVE'}, {'GOMP_SPINCOUNT': '100000'},
                                 {'OMP_WAIT_POLICY': 'ACTIVE', 'GOMP_SPINCOUNT': '5'}])
def test_an_explicit_setting_wins(env):
    expected = {'OMP_WAIT_POLICY': None, 'GOMP_SPINCOUNT': None, **env}
    assert probe(**env) == expected
