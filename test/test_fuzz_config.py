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

"""Property-based fuzzing of the config loader: only ConfigError, never execution."""

import os
from pathlib import Path
import shutil
import tempfile

import pytest
import yaml

from ddpg_manipulation.config import (
    ConfigError,
    load_defaults,
    ParameterContainer,
    parse_number,
    TASKS_DIR,
)

# colcon test on a ROS machine may run without the dev extras: skip, do not error.
hypothesis = pytest.importorskip('hypothesis')
given, HealthCheck, settings = hypothesis.given, hypothesis.HealthCheck, hypothesis.settings
st = pytest.importorskip('hypothesis.strategies')


# `FUZZ=long` runs many more examples than the default suite can afford.
EXAMPLES = 2000 if os.environ.get('FUZZ') == 'long' else 60
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

DEFAULT_KEYS = sorted(load_defaults())
SECTIONS = sorted({k.split('.')[0] for k in DEFAULT_KEYS})
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(['pi', '-pi/2', '2*pi', '__import__("os").system("true")', '1e-3*2',
                     '!!python/object/apply:os.system ["true"]', 'sparse', 'dense', 'current']),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
# Trees mostly made of real sections and keys, so the fuzzer gets past the unknown-key check.
keys = st.one_of(st.sampled_from(SECTIONS), st.text(max_size=10))
sub_keys = st.one_of(st.sampled_from(sorted({k.split('.')[-1] for k in DEFAULT_KEYS})),
                     st.text(max_size=10))
trees = st.dictionaries(keys, st.one_of(values, st.dictionaries(sub_keys, values, max_size=6)),
                        max_size=6)

_WORKDIR = Path(tempfile.mkdtemp(prefix='ddpg-fuzz-'))
shutil.copy(TASKS_DIR / 'box_push.xml', _WORKDIR / 'box_push.xml')
_BASE = yaml.safe_load((TASKS_DIR / 'box_push.yaml').read_text())


def _load(text: str) -> None:
    path = _WORKDIR / 'task.yaml'
    path.write_text(text)
    try:
        ParameterContainer(path)
    except ConfigError:
        pass  # the only acceptable failure


@FUZZ
@given(trees)
def test_random_trees_only_raise_config_error(tree):
    _load(yaml.safe_dump(tree))


@FUZZ
@given(st.dictionaries(st.sampled_from(DEFAULT_KEYS), values, max_size=4))
def test_random_overrides_of_a_valid_task_only_raise_config_error(overrides):
    tree = {section: dict(body) if isinstance(body, dict) else body
            for section, body in _BASE.items()}
    for dotted, value in overrides.items():
        section, _, key = dotted.rpartition('.')
        if section:
            tree.setdefault(section, {})[key] = value
        else:
            tree[key] = value
    _load(yaml.safe_dump(tree))


@FUZZ
@given(st.text(max_size=200))
def test_random_text_only_raises_config_error(text):
    marker = Path('/tmp/ddpg_manipulation_fuzz_pwned')
    _load(text.replace('MARKER', str(marker)))
    assert not marker.exists()


@FUZZ
@given(st.text(max_size=30))
def test_parse_number_never_raises(text):
    value = parse_number(text)
    assert value is None or isinstance(value, float)
