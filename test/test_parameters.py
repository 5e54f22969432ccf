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

"""Parameter declarations: one per key, and the YAML rendered from them."""

import typing
from typing import Literal

import pytest
import yaml

from ddpg_manipulation.config import (
    load_defaults,
    ParameterContainer,
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
        assert value == defaults[dotted] and type(value) is type(defaults[dotted]), dotted


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
    extra = {'task_file', 'task_name', 'model', 'model_path', 'actuated_qpos', '_values'}
    assert set(vars(params)) == declared | extra
    for key in DECLARATIONS.values():
        assert isinstance(getattr(params, key.name), type(key.default)), key.name
