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
Parameter declarations: one per key, the YAML rendered from them, the types a checker sees.

mypy checks this module in CI (``.ci/run``): the ``assert_type`` lines fail there if a
parameter loses its declared type (to ``Any``, say). ``assert_type`` comes from typing_extensions
(a dependency of torch): ``typing`` has it from Python 3.11 on.
"""

from pathlib import Path
import shutil
import typing
from typing import Literal

import pytest
from typing_extensions import assert_type
import yaml

from ddpg_manipulation.config import (
    ConfigError,
    load_defaults,
    ParameterContainer,
    TASKS_DIR,
)
from ddpg_manipulation.parameters import (
    DECLARATIONS,
    DEFAULTS_FILE,
    Parameters,
    render_defaults,
    SECTIONS,
)


def test_committed_defaults_yaml_is_rendered_from_the_declarations() -> None:
    assert DEFAULTS_FILE.read_text(encoding='utf-8') == render_defaults(), (
        'tasks/defaults.yaml is out of date: python -m ddpg_manipulation.parameters --write')


def test_defaults_yaml_reads_back_as_the_declared_defaults() -> None:
    tree = yaml.safe_load(render_defaults())
    flat = {}
    for name, value in tree.items():
        if isinstance(value, dict):
            flat.update({f'{name}.{key}': item for key, item in value.items()})
        else:
            flat[name] = value
    defaults = load_defaults()
    assert list(flat) == list(defaults)
    for dotted, value in flat.items():
        # Compared with their types so that a default of 1 is not taken for 1.0 or True.
        assert (value, type(value)) == (defaults[dotted], type(defaults[dotted])), dotted


@pytest.mark.parametrize('dotted', sorted(DECLARATIONS))
def test_every_key_has_a_doc_and_a_default_of_its_type(dotted: str) -> None:
    key = DECLARATIONS[dotted]
    assert key.doc.strip() and key.doc == key.doc.strip(), dotted
    assert key.name == dotted.replace('.', '_')
    assert dotted.partition('.')[0] in SECTIONS or '.' not in dotted
    origin = typing.get_origin(key.annotation)
    if origin is Literal:
        assert key.default in key.choices
    elif origin is list:
        assert type(key.default) is list
        assert all(type(item) is float for item in key.default)
    else:
        assert type(key.default) is key.annotation


def test_container_attributes_are_exactly_the_declared_names() -> None:
    params = ParameterContainer('box_reach')
    declared = {key.name for key in DECLARATIONS.values()}
    assert declared == set(Parameters.__annotations__)
    extra = {'task_file', 'task_name', 'model', 'model_path', 'state_space', 'actuated_qpos',
             '_values'}
    assert set(vars(params)) == declared | extra
    for key in DECLARATIONS.values():
        assert isinstance(getattr(params, key.name), type(key.default)), key.name


def test_the_type_checker_sees_declared_types() -> None:
    params = ParameterContainer('box_push')
    assert_type(params.learner_batch_size, int)
    assert_type(params.learner_tau, float)
    assert_type(params.action_range, list[float])
    assert_type(params.learner_use_planner, bool)
    assert_type(params.learner_reward_type, Literal['sparse', 'dense', 'mixed'])
    assert_type(params.learner_device, str)
    assert_type(params.seed, int)
    assert_type(params.actuated_qpos, list[int])
    assert_type(params.task_file, Path)
    assert isinstance(params.learner_batch_size, int)
    assert isinstance(params.learner_tau, float)


@pytest.mark.parametrize('device', ['auto', 'cpu', 'cuda', 'cuda:0', 'cuda:12'])
def test_device_accepts_torch_device_names(device: str) -> None:
    assert ParameterContainer('box_reach', {'learner.device': device}).learner_device == device


def test_device_defaults_to_auto_and_stays_out_of_the_config_hash() -> None:
    auto = ParameterContainer('box_push')
    assert auto.learner_device == 'auto'
    assert auto.to_dict()['learner']['device'] == 'auto'
    cuda = ParameterContainer('box_push', {'learner': {'device': 'cuda:1'}})
    assert cuda.config_hash() == auto.config_hash()


@pytest.mark.parametrize('device', ['gpu', 'cuda:', 'cuda:-1', 'cuda:x', 'CUDA', 'cpu:0', ''])
def test_bad_device_names_file_key_and_form(tmp_path: Path, device: str) -> None:
    shutil.copy(TASKS_DIR / 'box_push.xml', tmp_path / 'box_push.xml')
    tree = yaml.safe_load((TASKS_DIR / 'box_push.yaml').read_text())
    tree['learner']['device'] = device
    path = tmp_path / 'task.yaml'
    path.write_text(yaml.safe_dump(tree))
    with pytest.raises(ConfigError) as error:
        ParameterContainer(path)
    assert str(error.value) == (
        f"{path}: key 'learner.device': expected auto, cpu, cuda or cuda:N (N an integer >= 0), "
        f'got {device!r}')


def test_device_must_be_a_string() -> None:
    with pytest.raises(ConfigError, match="key 'learner.device': expected a string"):
        ParameterContainer('box_push', {'learner.device': 0})
