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
Graph files: a planner graph written with ``torch.save`` and read back, checked.

A graph file holds tensors and plain values only (read with ``weights_only=True``): the node and
search tensors of :class:`~ddpg_manipulation.planner.graph.Graph` and what they belong to (task,
config hash, sizes). Reading checks every field, shape, dtype and the tree structure, so a
missing, truncated, foreign or inconsistent file is a :class:`GraphFileError` naming it, and the
graph it was to be read into stays as it was.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ddpg_manipulation.atomic import atomic_path
from ddpg_manipulation.errors import PackageError
from ddpg_manipulation.planner.graph import (
    Graph,
    NODE_TENSORS,
    REACHABILITY_TENSORS,
    SEARCH_TENSORS,
)

GRAPH_FORMAT = 'ddpg_manipulation.graph'
GRAPH_VERSION = 1


class GraphFileError(PackageError, ValueError):
    """A graph file is missing, truncated, foreign or inconsistent; the message names it."""


def save_graph(graph: Graph, filename: str | os.PathLike) -> Path:
    """
    Write a graph with ``torch.save`` (tensors and plain values only), atomically.

    The file is written next to its destination and renamed over it, so a reader finds the
    old graph or the new one, never half of one.

    :param graph: The graph.
    :param filename: Destination file.

    :returns: The destination path.
    """
    path = Path(filename)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = graph.num_nodes
    data: dict[str, Any] = {
        'format': GRAPH_FORMAT,
        'version': GRAPH_VERSION,
        'task': graph.params.task_name,
        'config_hash': graph.params.config_hash(),
        'state_dimension': graph.plant.state_dimension,
        'action_dimension': graph.plant.action_dimension,
        'searches': graph.searches,
        'num_nodes': n,
        'nodes': {name: getattr(graph, name)[:n].clone()
                  for name in (*NODE_TENSORS, *REACHABILITY_TENSORS)},
        'search': {name: getattr(graph, name).clone() for name in SEARCH_TENSORS},
    }
    with atomic_path(path) as tmp:
        torch.save(data, tmp)
    return path


def load_graph(graph: Graph, filename: str | os.PathLike) -> None:
    """
    Replace a graph's contents by a graph file written by :func:`save_graph`.

    The file must belong to the graph's task (config hash) and sizes; the graph's capacity
    becomes the larger of its own and the file's node count.

    :param graph: The graph to fill.
    :param filename: The graph file.

    :raises GraphFileError: The file is missing, unreadable, of another task, or inconsistent.
    """
    path = Path(filename)
    data = _read_graph_file(path)
    plant = graph.plant
    expected = {
        'task': graph.params.task_name, 'config_hash': graph.params.config_hash(),
        'state_dimension': plant.state_dimension,
        'action_dimension': plant.action_dimension,
    }
    for key, value in expected.items():
        if data[key] != value:
            raise GraphFileError(f'{path}: {key} is {data[key]!r}, expected {value!r} '
                                 f'(a graph of another task or configuration)')
    n, searches = data['num_nodes'], data['searches']
    sizes = {'nx': (plant.state_dimension,), 'nu': (plant.action_dimension,), '': ()}
    nodes, search = data['nodes'], data['search']
    for name, (dtype, size) in NODE_TENSORS.items():
        _check_tensor(path, f'nodes.{name}', nodes.get(name), dtype, (n, *sizes[size]))
    for name in SEARCH_TENSORS:
        _check_tensor(path, f'search.{name}', search.get(name), torch.float32,
                      (searches, plant.state_dimension))
    for name in REACHABILITY_TENSORS:
        _check_tensor(path, f'nodes.{name}', nodes.get(name), torch.float32,
                      (n, *getattr(graph, name).shape[1:]))
    _check_tree(path, nodes, n, searches)
    graph.restore(nodes, search, n, searches)


def _read_graph_file(path: Path) -> dict[str, Any]:
    try:
        data = torch.load(path, map_location='cpu', weights_only=True)
    except FileNotFoundError as error:
        raise GraphFileError(f'{path}: graph file not found') from error
    except IsADirectoryError as error:
        raise GraphFileError(f'{path}: is a directory, expected a graph file') from error
    except Exception as error:  # noqa: BLE001 - torch raises many types for bad files
        raise GraphFileError(
            f'{path}: not a readable graph file (truncated, corrupt, or holding more than '
            f'tensors and plain values): {type(error).__name__}: {error}'
        ) from error
    if not isinstance(data, dict) or data.get('format') != GRAPH_FORMAT:
        raise GraphFileError(f'{path}: not a ddpg_manipulation graph file')
    if data.get('version') != GRAPH_VERSION:
        raise GraphFileError(f'{path}: graph format version {data.get("version")!r}, this '
                             f'package reads version {GRAPH_VERSION}')
    for key, kind in (('task', str), ('config_hash', str), ('state_dimension', int),
                      ('action_dimension', int), ('searches', int), ('num_nodes', int),
                      ('nodes', dict), ('search', dict)):
        if not isinstance(data.get(key), kind):
            raise GraphFileError(f'{path}: field {key!r} missing or not a {kind.__name__}')
    if data['searches'] < 1 or data['num_nodes'] < data['searches']:
        raise GraphFileError(f'{path}: {data["num_nodes"]} nodes cannot hold '
                             f'{data["searches"]} roots')
    return data


def _check_tensor(path: Path, name: str, value: Any, dtype: torch.dtype,
                  shape: tuple[int, ...]) -> None:
    if not isinstance(value, torch.Tensor):
        raise GraphFileError(f'{path}: tensor {name!r} missing')
    if value.dtype != dtype or tuple(value.shape) != shape:
        raise GraphFileError(f'{path}: tensor {name!r} is {value.dtype} {tuple(value.shape)}, '
                             f'expected {dtype} {shape}')
    if value.is_floating_point() and not torch.isfinite(value).all():
        raise GraphFileError(f'{path}: tensor {name!r} holds NaN or inf')


def _check_tree(path: Path, nodes: dict[str, torch.Tensor], n: int, searches: int) -> None:
    ids = torch.arange(n)
    parents, roots = nodes['parents'], nodes['root_ids']
    is_root = ids < searches
    # Roots come first and are their own parents; every other node's parent was added before it.
    valid = torch.where(is_root, parents == ids, (parents >= 0) & (parents < ids))
    if not valid.all():
        bad = int(ids[~valid][0])
        raise GraphFileError(f'{path}: node {bad} has an invalid parent {int(parents[bad])}')
    if not (roots == torch.where(is_root, ids, roots[parents])).all():
        raise GraphFileError(f'{path}: root ids do not follow the parents')
    depths = nodes['depths']
    if not (depths == torch.where(is_root, 0, depths[parents] + 1)).all():
        raise GraphFileError(f'{path}: depths do not follow the parents')
    search = nodes['search_indices']
    if not ((search[:searches] == ids[:searches]).all() and (search == search[roots]).all()):
        raise GraphFileError(f'{path}: search indices do not follow the roots')
