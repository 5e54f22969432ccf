#!/usr/bin/env bash
# Copyright 2026 The ddpg_manipulation Authors
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# `colcon test` as a ROS user runs it, without ROS: the set-up of docs/ros.md in a fresh
# workspace (a venv of the system Python with --system-site-packages and COLCON_IGNORE, torch
# first, then the package with its `test` extra only), colcon and the ament linters from PyPI
# standing in for the ROS distribution's (ament-lint-flake8 pins flake8 4.0.1, as on Humble;
# the flake8 plugins at the versions of Ubuntu 22.04), then `python -m colcon build`,
# `python -m colcon test` and `colcon test-result --verbose`.
#
# Fails unless the suite's tests ran there (not 0), none failed or errored, and test_pep257 and
# test_flake8 really ran (not skipped). The rclpy tests and test_copyright (ament_copyright is
# not on PyPI) skip here.
#
#   .ci/colcon_test.sh            # workspace in a new temporary directory, removed afterwards
#   COLCON_TEST_DIR=/tmp/ws .ci/colcon_test.sh   # kept, and reused if it holds a venv
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
TORCH_PIP_ARGS=${TORCH_PIP_ARGS:-}
# Stand-ins for the ROS distribution's test tools (package.xml test_depends), flake8 4.0.1 as on
# Humble with plugin versions that register their options the way flake8 4 expects.
ROS_TEST_TOOLS=(
  'colcon-common-extensions'
  'ament-lint-pep257'
  'ament-lint-flake8'
  'flake8==4.0.1'
  'flake8-blind-except==0.2.1'
  'flake8-builtins==1.5.3'
  'flake8-class-newline==1.6.0'
  'flake8-comprehensions==3.10.1'
  'flake8-deprecated==1.3'
  'flake8-docstrings==1.6.0'
  'flake8-import-order==0.18.2'
  'flake8-quotes==3.3.2'
)

if [ -n "${COLCON_TEST_DIR:-}" ]; then
  ws=$COLCON_TEST_DIR
  mkdir -p "$ws"
else
  ws=$(mktemp -d "${TMPDIR:-/tmp}/ddpg_colcon_test.XXXXXX")
  trap 'rm -rf "$ws"' EXIT
fi
start=$(date +%s)
step() { echo "== colcon_test [$(( $(date +%s) - start )) s] $*"; }
# pip, quiet but for errors: this machine's pip configuration names local indexes that may be
# missing, and pip warns about each of them for every package.
pip_install() {
  venv/bin/python -m pip install --quiet "$@" 2> >(grep -v 'is ignored: it is neither' >&2)
}

step "workspace $ws: the package's files (tracked and unignored) in src/"
rm -rf "$ws/src" "$ws/build" "$ws/install" "$ws/log"
mkdir -p "$ws/src/ddpg_manipulation"
git -C "$repo" ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' file; do [ -e "$repo/$file" ] && printf '%s\0' "$file"; done \
  | tar -C "$repo" --null -T - -cf - | tar -C "$ws/src/ddpg_manipulation" -xf -

cd "$ws"
if [ ! -x venv/bin/python ]; then
  step 'venv (--system-site-packages, COLCON_IGNORE), torch first, then .[test]'
  "$PYTHON" -m venv --system-site-packages venv
  touch venv/COLCON_IGNORE
  # shellcheck disable=SC2086
  pip_install $TORCH_PIP_ARGS "$TORCH_SPEC"
fi
# The package's own dependencies and its test extra, as docs/ros.md says; torch stays as is.
pip_install -e 'src/ddpg_manipulation[test]' "$TORCH_SPEC"
step 'colcon and the ament linters from PyPI (the ROS distribution provides them under ROS)'
pip_install "${ROS_TEST_TOOLS[@]}" "$TORCH_SPEC"

# shellcheck disable=SC1091
source venv/bin/activate
step 'python -m colcon build --symlink-install'
python -m colcon build --symlink-install
step 'python -m colcon test'
python -m colcon test
step 'colcon test-result --verbose'
set +e
colcon test-result --verbose | tee log/test-result.txt
set -e

step "checking the result"
python - build/ddpg_manipulation/pytest.xml log/test-result.txt <<'EOF'
import os
import re
import sys
import xml.etree.ElementTree as ET

junit, summary_file = sys.argv[1], sys.argv[2]
text = open(summary_file, encoding='utf-8').read()
match = re.search(r'Summary: (\d+) tests?, (\d+) errors?, (\d+) failures?, (\d+) skipped', text)
if not match:
    sys.exit('colcon test-result printed no summary')
tests, errors, failures, skipped = map(int, match.groups())
problems = []
if os.path.exists(junit):
    cases = {case.get('name'): case for case in ET.parse(junit).iter('testcase')}
else:  # colcon fell back to unittest discovery
    cases = {}
    problems.append("colcon did not run pytest (is pytest in extras_require['test']?)")
if tests - skipped <= 0:
    problems.append(f'no test ran ({tests} tests, {skipped} skipped)')
if errors or failures:
    problems.append(f'{errors} errors, {failures} failures')
for linter in ('test_pep257', 'test_flake8'):
    case = cases.get(linter)
    if case is None:
        problems.append(f'{linter} was not collected')
    elif case.find('skipped') is not None:
        problems.append(f'{linter} was skipped: {case.find("skipped").get("message")}')
if problems:
    print('colcon test FAILED: ' + '; '.join(problems))
else:
    print('colcon test: test_pep257 and test_flake8 ran')
print(f'colcon: {tests - skipped - errors - failures} passed, {errors + failures} failed, '
      f'{skipped} skipped')
sys.exit(1 if problems else 0)
EOF
