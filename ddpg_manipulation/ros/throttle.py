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

"""Throttled warnings that count what they suppressed (no rclpy)."""

from __future__ import annotations

import threading


class Throttle:
    """
    Let a message through at most once per period and count the ones held back.

    :param period: Seconds between two messages that get through.
    """

    def __init__(self, period: float = 2.0) -> None:
        self.period = float(period)
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, key: str, now: float) -> int | None:
        """
        Ask whether a message of this kind may be logged now.

        :param key: Kind of message (each kind is throttled on its own).
        :param now: Current time in seconds.

        :returns: None to stay silent, else how many messages of this kind were suppressed since
            the last one that got through.
        """
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.period:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return None
            self._last[key] = now
            return self._suppressed.pop(key, 0)


def with_suppressed(message: str, suppressed: int) -> str:
    """
    Append the count of suppressed repeats to a log message.

    :param message: The message.
    :param suppressed: Repeats held back since the last one logged.

    :returns: The message, with ``(N similar suppressed)`` when N > 0.
    """
    return f'{message} ({suppressed} similar suppressed)' if suppressed else message
