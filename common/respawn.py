"""Run a command and start it again whenever it exits: ``python -m common.respawn CMD ...``.

``make run`` starts the worker and beat under honcho, which restarts nothing: when one
process exits, honcho stops all the others, and mail waits until a person notices. This
small supervisor sits between honcho and the process. It restarts the command after any
exit, waiting a little longer after each quick failure (so a broken configuration does
not spin), and forwards SIGTERM and SIGINT, after which it stops instead of restarting.
In production the container's restart policy does the same job (docker-compose.yml).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from types import FrameType

# Delay before restarting; doubled after each exit that followed a short run.
FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 30.0
# A run this long counts as healthy: the next restart comes after the first delay again.
HEALTHY_RUN_SECONDS = 60.0


class Supervisor:
    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.stopping = False
        self.child: subprocess.Popen[bytes] | None = None

    def stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            # Celery takes SIGTERM twice (honcho signals the whole group) as one warm stop.
            self.child.send_signal(signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        delay = FIRST_DELAY_SECONDS
        while True:
            started = time.monotonic()
            self.child = subprocess.Popen(self.command)  # noqa: S603 - our own command line
            returncode = self.child.wait()
            if self.stopping:
                return returncode
            if time.monotonic() - started >= HEALTHY_RUN_SECONDS:
                delay = FIRST_DELAY_SECONDS
            name = self.command[0]
            print(
                f"respawn: {name} exited with {returncode}; starting it again in {delay:.0f}s",
                file=sys.stderr,
                flush=True,
            )
            deadline = time.monotonic() + delay
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.stopping:
                return returncode
            delay = min(MAX_DELAY_SECONDS, delay * 2)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m common.respawn COMMAND [ARGS...]", file=sys.stderr)
        return 2
    return Supervisor(argv).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
