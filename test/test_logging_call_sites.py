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
Every logging call site logs at one severity, as rclpy demands (checked without ROS).

rclpy keys each logging call site (function, file, line, bytecode offset) to the severity of its
first call and raises ``ValueError: Logger severity cannot be changed between calls`` when the
same site logs at another one later: ``(logger.info if ok else logger.error)(message)`` works
until the first failure, and then the failure itself is lost in that error. This test reads the
package's source and refuses any call whose severity is chosen at run time: a callee that is a
conditional, a boolean choice, a dict lookup or a ``getattr`` of logger methods of different
severities, a name bound to one of those, or ``logger.log(message, severity)`` with a computed
severity.
"""

from __future__ import annotations

import ast
from pathlib import Path
import textwrap

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ('ddpg_manipulation', 'launch', 'bench', 'scripts', 'setup.py')

#: Logger method -> severity (``warn`` is rclpy's old spelling of ``warning``).
SEVERITIES = {'debug': 'DEBUG', 'info': 'INFO', 'warning': 'WARN', 'warn': 'WARN',
              'error': 'ERROR', 'fatal': 'FATAL', 'critical': 'FATAL'}
#: A severity that only the running program knows.
RUN_TIME = '<chosen at run time>'


def _looks_like_logger(node: ast.expr) -> bool:
    return 'log' in ast.unparse(node).lower()


_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _own_nodes(body: list[ast.AST]) -> list[ast.AST]:
    """List the nodes of a scope, without those of the functions defined inside it."""
    nodes, pending = [], list(body)
    while pending:
        node = pending.pop()
        nodes.append(node)
        if not isinstance(node, _NESTED):
            pending += ast.iter_child_nodes(node)
    return nodes


class _Scope:
    """
    The severities each name may hold (bound to logger methods) in one function or module.

    :param nodes: The scope's own nodes.
    :param parent: The enclosing scope, whose names a closure sees.
    """

    def __init__(self, nodes: list[ast.AST], parent: _Scope | None = None) -> None:
        self.parent = parent
        self.names: dict[str, set[str]] = {}
        for node in nodes:
            if isinstance(node, ast.Assign):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None \
                    and isinstance(node.target, ast.Name):
                targets = [node.target.id]
            else:
                continue
            found = self.severities(node.value)
            for target in targets:
                if found:
                    self.names.setdefault(target, set()).update(found)

    def lookup(self, name: str) -> set[str]:
        """
        Return the severities a name may hold here or in an enclosing scope.

        :param name: The name.

        :returns: Severity names (empty: not bound to a logger method).
        """
        if name in self.names:
            return set(self.names[name])
        return self.parent.lookup(name) if self.parent is not None else set()

    def severities(self, node: ast.expr | None) -> set[str]:
        """
        Return the severities a callee expression may log at (empty: not a logger method).

        :param node: The expression.

        :returns: Severity names, with :data:`RUN_TIME` where the program chooses one.
        """
        if node is None:
            return set()
        if isinstance(node, ast.Attribute) and node.attr in SEVERITIES \
                and _looks_like_logger(node.value):
            return {SEVERITIES[node.attr]}
        if isinstance(node, ast.IfExp):
            return self.severities(node.body) | self.severities(node.orelse)
        if isinstance(node, ast.BoolOp):
            return set().union(*(self.severities(value) for value in node.values))
        if isinstance(node, ast.Dict):
            return set().union(*(self.severities(value) for value in node.values))
        if isinstance(node, ast.Subscript):
            return self.severities(node.value)
        if isinstance(node, ast.Name):
            return self.lookup(node.id)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == 'getattr' and len(node.args) >= 2:
                obj, attribute = node.args[0], node.args[1]
                default = self.severities(node.args[2]) if len(node.args) > 2 else set()
                if isinstance(attribute, ast.Constant) and attribute.value in SEVERITIES:
                    return {SEVERITIES[attribute.value]} | default
                if not isinstance(attribute, ast.Constant) and _looks_like_logger(obj):
                    return {RUN_TIME} | default
                return default
            if isinstance(func, ast.Attribute) and func.attr == 'get':
                # {'info': logger.info, ...}.get(level, default)
                default = self.severities(node.args[1]) if len(node.args) > 1 else set()
                return self.severities(func.value) | default
        return set()


def _computed_severity(call: ast.Call) -> bool:
    """Tell whether ``logger.log(message, severity)`` gets a severity computed at run time."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == 'log'
            and _looks_like_logger(func.value)):
        return False
    severity = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg in ('severity', 'level')), None)
    if severity is None:
        return False
    # A literal or a named constant (LoggingSeverity.WARN) is fixed; anything else is not.
    return not isinstance(severity, (ast.Constant, ast.Attribute))


def mixed_severity_calls(source: str, filename: str = '<source>') -> list[str]:
    """
    Find the logging calls whose severity can differ from one call to the next.

    :param source: Python source.
    :param filename: Name used in the findings.

    :returns: ``file:line: code -> severities`` for each offending call.
    """
    tree = ast.parse(source, filename)
    findings = []

    def visit(scope_node: ast.AST, parent: _Scope | None) -> None:
        body = scope_node.body if isinstance(scope_node.body, list) else [scope_node.body]
        nodes = _own_nodes(body)
        scope = _Scope(nodes, parent)
        for node in nodes:
            if isinstance(node, _NESTED):
                visit(node, scope)
            elif isinstance(node, ast.Call):
                severities = scope.severities(node.func)
                if len(severities) > 1 or RUN_TIME in severities or _computed_severity(node):
                    chosen = ', '.join(sorted(severities)) or 'a computed severity'
                    findings.append(f'{filename}:{node.lineno}: {ast.unparse(node.func)} -> '
                                    f'{chosen}')

    visit(tree, None)
    return sorted(set(findings))


def package_files() -> list[Path]:
    """
    List the Python files of the package, launch files, benchmarks and scripts.

    :returns: The files.
    """
    files = []
    for name in SOURCES:
        path = ROOT / name
        files += sorted(path.rglob('*.py')) if path.is_dir() else [path]
    return [f for f in files if f.is_file()]


def test_no_logging_call_site_chooses_its_severity_at_run_time() -> None:
    files = package_files()
    assert any(f.name == 'policy_node.py' for f in files)  # the check reads the nodes
    findings = []
    for path in files:
        findings += mixed_severity_calls(path.read_text(encoding='utf-8'),
                                         str(path.relative_to(ROOT)))
    assert findings == [], 'one severity per logging call site (rclpy):\n' + '\n'.join(findings)


@pytest.mark.parametrize('code', [
    # policy_node._reload before the fix
    '(self.get_logger().info if ok else self.get_logger().error)(message)',
    # training_node._log before the fix
    "{'info': logger.info, 'error': logger.error}.get(level, logger.warning)(message)",
    "{'info': logger.info, 'error': logger.error}[level](message)",
    'log = logger.info if ok else logger.error\nlog(message)',
    'getattr(self._logger, level)(message)',
    'getattr(logger, "error", None) or logger.info\n'
    '(getattr(logger, "error", None) or logger.info)(message)',
    'self.get_logger().log(message, severity)',
    'logger.log(message, severity=LEVELS[ok])',
])
def test_a_severity_chosen_at_run_time_is_found(code: str) -> None:
    source = 'def f(self, logger, ok, level, message, severity):\n' + textwrap.indent(code, '    ')
    assert mixed_severity_calls(source) != []


@pytest.mark.parametrize('code', [
    'if ok:\n    logger.info(message)\nelse:\n    logger.error(message)',
    'logger.warning(message, throttle_duration_sec=2.0)',
    # the same severity under two spellings
    "(getattr(logger, 'warning', None) or logger.warn)(message)",
    'logger.log(message, LoggingSeverity.WARN)',
    'math.log(x, base)',
    'self.info(message)',  # not a logger
])
def test_one_severity_per_call_site_passes(code: str) -> None:
    source = 'def f(self, logger, ok, message, x, base):\n' + textwrap.indent(code, '    ')
    assert mixed_severity_calls(source) == []
