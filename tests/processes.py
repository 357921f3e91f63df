"""What a playbook leaves running: tests/playbooks/sleep.yml writes a pid file naming its task
process and every process above it; these helpers read it back through /proc (Linux)."""

from __future__ import annotations

import time
from pathlib import Path


def playbook_processes(pid_file: Path) -> dict[int, str]:
    """The task process and the ansible-playbook processes above it (a worker, the playbook
    itself), by pid, with their command lines; empty until the task has written the file."""
    text = pid_file.read_text() if pid_file.exists() else ""
    lines = [line.split(" ", 1) for line in text.splitlines() if line]
    found = {int(pid): command for pid, command in lines}
    return {
        pid: command
        for number, (pid, command) in enumerate(found.items())
        if number == 0 or "ansible-playbook" in command
    }


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def left_running(pid_file: Path, seconds: float = 10) -> list[str]:
    """The processes of ``playbook_processes`` still running after ``seconds`` at the most
    (returning as soon as none is)."""
    processes = playbook_processes(pid_file)
    deadline = time.monotonic() + seconds
    while (running := [c for pid, c in processes.items() if alive(pid)]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    return running
