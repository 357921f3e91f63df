"""AnsibleDeployer runs real playbooks against localhost through ansible-runner (no mocks)."""

from __future__ import annotations

import asyncio
import gc
import re
import threading
from pathlib import Path

import pytest

from bot.ports.deployer import DeployError, DeployFailed, DeployJob, DeployUnreachable, Progress
from integrations import ansible as ansible_module
from integrations.ansible import AnsibleDeployer
from tests.fakes.recorders import ProgressRecorder
from tests.processes import left_running, playbook_processes
from tests.waiting import until

PLAYBOOKS = Path(__file__).parent / "playbooks"
DEMO = Path(__file__).parent.parent / "examples" / "demo" / "deploy" / "site.yml"
TIMEOUT = 300  # seconds a playbook of these tests may take


def job(**overrides: object) -> DeployJob:
    fields: dict = {
        "request_id": "req-1",
        "service": "web-h5",
        "version": "1.2.3",
        "environment": "staging",
        "datacenter": "dc-a",
    }
    return DeployJob(**(fields | overrides))


def marker_deployer(tmp_path: Path, playbook: str = "ok.yml", **vars: object) -> AnsibleDeployer:
    return AnsibleDeployer(
        PLAYBOOKS / playbook,
        vars={"marker_file": str(tmp_path / "marker"), **vars},
        workdir=tmp_path,
        timeout_seconds=TIMEOUT,
    )


def demo_site(tmp_path: Path, environment: str = "staging", datacenter: str = "dc-a") -> Path:
    return tmp_path / "demo-site" / environment / datacenter


async def test_success_reports_each_step(tmp_path: Path) -> None:
    """A successful run reports playbook start, task start and the host result, in order."""
    recorder = ProgressRecorder()
    await marker_deployer(tmp_path).run(job(), recorder)
    assert recorder.messages == [
        "playbook ok.yml started",
        "TASK [write marker]",
        "TASK [write marker] changed on localhost",
    ]


async def test_progress_carries_the_datacenter(tmp_path: Path) -> None:
    """Every progress event names the job's data centre and none is a failure."""
    recorder = ProgressRecorder()
    await marker_deployer(tmp_path).run(job(datacenter="dc-b"), recorder)
    assert {(event.datacenter, event.failed) for event in recorder.events} == {("dc-b", False)}


async def test_progress_is_delivered_on_the_event_loop(tmp_path: Path) -> None:
    """The report callback is awaited on the loop's thread, never on runner's worker thread."""
    recorder = ProgressRecorder()
    await marker_deployer(tmp_path).run(job(), recorder)
    assert recorder.threads == {threading.get_ident()}


async def test_extra_vars_reach_the_playbook(tmp_path: Path) -> None:
    """The playbook sees exactly the job's service, version, environment, dc, action and id."""
    await marker_deployer(tmp_path).run(job(action="rollback"), ProgressRecorder())
    assert (tmp_path / "marker").read_text() == "web-h5 1.2.3 staging dc-a rollback req-1\n"


async def test_job_vars_win_over_catalog_vars(tmp_path: Path) -> None:
    """A var set both in the catalog and on the job takes the job's value."""
    deployer = marker_deployer(tmp_path)  # catalog: marker_file = tmp/marker
    await deployer.run(job(vars={"marker_file": str(tmp_path / "job-marker")}), ProgressRecorder())
    assert (tmp_path / "job-marker").read_text() == "web-h5 1.2.3 staging dc-a deploy req-1\n"


async def test_shipbot_vars_win_over_job_and_catalog_vars(tmp_path: Path) -> None:
    """shipbot_* vars cannot be overridden by the catalog or the job."""
    deployer = marker_deployer(tmp_path, shipbot_version="catalog")
    await deployer.run(job(vars={"shipbot_service": "job"}), ProgressRecorder())
    assert (tmp_path / "marker").read_text() == "web-h5 1.2.3 staging dc-a deploy req-1\n"


async def test_job_values_are_never_templated(tmp_path: Path) -> None:
    """A version that looks like a Jinja template reaches the playbook as plain text."""
    version = "{{ lookup('pipe', 'id') }}"
    await marker_deployer(tmp_path).run(job(version=version), ProgressRecorder())
    assert (tmp_path / "marker").read_text() == f"web-h5 {version} staging dc-a deploy req-1\n"


async def test_catalog_vars_may_be_templates(tmp_path: Path) -> None:
    """Catalog vars are trusted: ansible renders a template in them."""
    deployer = AnsibleDeployer(
        PLAYBOOKS / "ok.yml",
        vars={"marker_file": "{{ shipbot_workdir }}/rendered"},
        workdir=tmp_path,
        timeout_seconds=TIMEOUT,
    )
    await deployer.run(job(), ProgressRecorder())
    assert (tmp_path / "rendered").read_text() == "web-h5 1.2.3 staging dc-a deploy req-1\n"


async def test_the_approved_commit_reaches_the_playbook_only_when_known(tmp_path: Path) -> None:
    """shipbot_commit is the job's commit; a job without one passes no shipbot_commit."""
    deployer = AnsibleDeployer(
        PLAYBOOKS / "ok.yml",
        vars={"marker_file": "{{ shipbot_workdir }}/{{ shipbot_commit | default('none') }}"},
        workdir=tmp_path,
        timeout_seconds=TIMEOUT,
    )
    await deployer.run(job(commit="1a2b3c4d5e6f"), ProgressRecorder())
    await deployer.run(job(), ProgressRecorder())
    line = "web-h5 1.2.3 staging dc-a deploy req-1\n"
    assert [line, line] == [(tmp_path / name).read_text() for name in ("1a2b3c4d5e6f", "none")]


async def test_failing_progress_sink_does_not_fail_the_deploy(tmp_path: Path) -> None:
    """A report callback that raises is logged; the playbook still runs to success."""

    async def broken_sink(progress: Progress) -> None:
        raise RuntimeError("slack is down")

    await marker_deployer(tmp_path).run(job(), broken_sink)
    assert (tmp_path / "marker").read_text() == "web-h5 1.2.3 staging dc-a deploy req-1\n"


async def test_failed_task_raises_deploy_failed_naming_task_and_host(tmp_path: Path) -> None:
    """A failing task becomes DeployFailed naming the task, the host and the module's msg."""
    deployer = marker_deployer(tmp_path, "fail_in.yml", fail_dc="dc-b")
    with pytest.raises(DeployFailed) as caught:
        await deployer.run(job(datacenter="dc-b"), ProgressRecorder())
    expected = "task 'check capacity' failed on host 'localhost': no capacity left in dc-b"
    assert str(caught.value) == expected


async def test_failed_task_is_reported_as_failed_progress(tmp_path: Path) -> None:
    """The failing host result is reported with failed=True before the error is raised."""
    recorder = ProgressRecorder()
    deployer = marker_deployer(tmp_path, "fail_in.yml", fail_dc="dc-b")
    with pytest.raises(DeployFailed):
        await deployer.run(job(datacenter="dc-b"), recorder)
    failed = [event.message for event in recorder.events if event.failed]
    assert failed == ["TASK [check capacity] failed on localhost: no capacity left in dc-b"]


async def test_other_datacenter_passes_the_capacity_check(tmp_path: Path) -> None:
    """fail_in.yml behaves like ok.yml outside fail_dc."""
    await marker_deployer(tmp_path, "fail_in.yml", fail_dc="dc-b").run(job(), ProgressRecorder())
    assert (tmp_path / "marker").read_text() == "web-h5 1.2.3 staging dc-a deploy req-1\n"


async def test_missing_playbook_raises_deploy_error(tmp_path: Path) -> None:
    """A playbook path that does not exist is a DeployError saying so."""
    playbook = tmp_path / "deploy" / "web.yml"
    with pytest.raises(DeployError) as caught:
        await AnsibleDeployer(playbook, timeout_seconds=TIMEOUT).run(job(), ProgressRecorder())
    assert str(caught.value) == f"playbook {playbook} could not run: playbook {playbook} not found"


async def test_missing_inventory_raises_deploy_error(tmp_path: Path) -> None:
    """An inventory path that does not exist is a DeployError, not a host named after it."""
    inventory = tmp_path / "hosts.ini"
    with pytest.raises(DeployError) as caught:
        await AnsibleDeployer(PLAYBOOKS / "ok.yml", inventory, timeout_seconds=TIMEOUT).run(
            job(), ProgressRecorder()
        )
    expected = f"playbook {PLAYBOOKS / 'ok.yml'} could not run: inventory {inventory} not found"
    assert str(caught.value) == expected


async def test_broken_playbook_raises_deploy_error_with_ansible_reason(tmp_path: Path) -> None:
    """A YAML error is a DeployError quoting ansible's one-line reason and where it is."""
    playbook = tmp_path / "broken.yml"
    playbook.write_text("- hosts: all\n  tasks:\n    - debug: {msg: 1\n")
    with pytest.raises(DeployError) as caught:
        await AnsibleDeployer(playbook, timeout_seconds=TIMEOUT).run(job(), ProgressRecorder())
    where = re.escape(str(playbook))
    pattern = rf"playbook {where} could not run: YAML parsing failed: .+ Origin: {where}:\d+:\d+"
    assert re.fullmatch(pattern, str(caught.value))


async def test_playbook_matching_no_hosts_raises_deploy_error(tmp_path: Path) -> None:
    """A run whose plays match no host is an error, not a silent success."""
    playbook = tmp_path / "nowhere.yml"
    playbook.write_text("- hosts: nowhere\n  tasks:\n    - ansible.builtin.ping:\n")
    with pytest.raises(DeployError) as caught:
        await AnsibleDeployer(playbook, timeout_seconds=TIMEOUT).run(job(), ProgressRecorder())
    assert str(caught.value) == f"playbook {playbook} matched no hosts in its inventory"


async def test_unreachable_host_raises_deploy_unreachable(tmp_path: Path) -> None:
    """A host ansible cannot connect to becomes DeployUnreachable naming the host."""
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("web1 ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh\n")
    deployer = AnsibleDeployer(
        PLAYBOOKS / "ok.yml", inventory, {"marker_file": "/dev/null"}, timeout_seconds=TIMEOUT
    )
    with pytest.raises(DeployUnreachable) as caught:
        await deployer.run(job(), ProgressRecorder())
    assert str(caught.value).startswith("host 'web1' unreachable: Failed to connect to the host")


def sleeper(tmp_path: Path, timeout_seconds: int = 3600) -> AnsibleDeployer:
    """A deployer of sleep.yml, which names its processes in tmp_path/pids."""
    pids = {"pid_file": str(tmp_path / "pids")}
    return AnsibleDeployer(PLAYBOOKS / "sleep.yml", vars=pids, timeout_seconds=timeout_seconds)


async def test_timeout_is_deploy_failed_naming_the_last_task(tmp_path: Path) -> None:
    """A run that outlives timeout_seconds is stopped and fails as DeployFailed (the playbook
    may have changed the target), naming the task it was at."""
    with pytest.raises(DeployError) as caught:
        await sleeper(tmp_path, timeout_seconds=4).run(job(), ProgressRecorder())
    expected = (
        f"playbook {PLAYBOOKS / 'sleep.yml'} did not finish within 4s, so shipbot stopped it"
        " (last: TASK [sleep])"
    )
    assert (DeployFailed, expected) == (type(caught.value), str(caught.value))


async def test_timeout_leaves_no_process_running(tmp_path: Path) -> None:
    """Out of time, ansible-playbook, its worker and the task's process all end."""
    with pytest.raises(DeployFailed):
        await sleeper(tmp_path, timeout_seconds=4).run(job(), ProgressRecorder())
    assert (True, []) == ((tmp_path / "pids").exists(), left_running(tmp_path / "pids"))


async def test_stopping_leaves_no_process_running(tmp_path: Path) -> None:
    """Cancelled, ansible-playbook, its worker and the task's process all end."""
    running = asyncio.create_task(sleeper(tmp_path).run(job(), ProgressRecorder()))
    await until(lambda: playbook_processes(tmp_path / "pids"), "the playbook running", timeout=30)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert [] == left_running(tmp_path / "pids")


async def test_a_run_that_outlasts_the_stop_wait_is_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Stopped, a run whose runner thread has not ended within the stop wait is logged as a
    warning naming the playbook, which may still be running."""
    started, release = threading.Event(), threading.Event()

    def stuck_runner(**kwargs: object) -> None:
        started.set()
        release.wait(30)
        raise OSError("released")  # the thread ends as a run that could not start

    monkeypatch.setattr("integrations.ansible.ansible_runner.run", stuck_runner)
    monkeypatch.setattr("integrations.ansible._STOP_WAIT", 0.1)
    deployer = marker_deployer(tmp_path)
    running = asyncio.create_task(deployer.run(job(), ProgressRecorder()))
    try:
        await asyncio.to_thread(started.wait, 30)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    finally:
        release.set()
    expected = (
        f"playbook {deployer.playbook} did not end within 0.1s of being stopped;"
        " it may still be running"
    )
    assert [expected] == [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


def test_timeout_must_be_positive() -> None:
    """timeout_seconds below 1 is refused when the deployer is made."""
    with pytest.raises(ValueError):
        AnsibleDeployer(PLAYBOOKS / "ok.yml", timeout_seconds=0)


async def test_slow_playbook_holds_until_the_gate_opens(tmp_path: Path) -> None:
    """slow.yml keeps the deploy running until the test creates gate_file."""
    recorder = ProgressRecorder()
    deployer = marker_deployer(tmp_path, "slow.yml", gate_file=str(tmp_path / "gate"))
    running = asyncio.create_task(deployer.run(job(), recorder))
    await until(lambda: "TASK [wait for gate]" in recorder.messages, "the gate task", timeout=30)
    held = not running.done()
    (tmp_path / "gate").touch()
    await running
    assert (held, (tmp_path / "marker").exists()) == (True, True)


async def test_cancelling_run_stops_the_playbook(tmp_path: Path) -> None:
    """Cancelling run() kills ansible-playbook: opening the gate afterwards writes nothing."""
    recorder = ProgressRecorder()
    deployer = marker_deployer(tmp_path, "slow.yml", gate_file=str(tmp_path / "gate"))
    running = asyncio.create_task(deployer.run(job(), recorder))
    await until(lambda: "TASK [wait for gate]" in recorder.messages, "the gate task", timeout=30)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    (tmp_path / "gate").touch()
    await asyncio.sleep(4)  # slow.yml polls the gate every second
    assert not (tmp_path / "marker").exists()


async def test_demo_deploy_creates_release_and_points_current_at_it(tmp_path: Path) -> None:
    """The demo playbook writes releases/<version>/index.html and links current to it."""
    await AnsibleDeployer(DEMO, workdir=tmp_path, timeout_seconds=TIMEOUT).run(
        job(), ProgressRecorder()
    )
    site = demo_site(tmp_path)
    assert (site / "current").resolve() == (site / "releases" / "1.2.3").resolve()


async def test_demo_page_names_service_version_environment_dc_and_request(
    tmp_path: Path,
) -> None:
    """The demo page shows what was deployed, where, and for which request."""
    await AnsibleDeployer(DEMO, workdir=tmp_path, timeout_seconds=TIMEOUT).run(
        job(), ProgressRecorder()
    )
    page = (demo_site(tmp_path) / "current" / "index.html").read_text()
    expected = ["web-h5", "<dd>1.2.3</dd>", "<dd>staging</dd>", "<dd>dc-a</dd>", "<dd>req-1</dd>"]
    assert [text for text in expected if text in page] == expected


async def test_demo_without_datacenter_deploys_under_the_environment(tmp_path: Path) -> None:
    """With no data centre the site lives directly under <site_dir>/<environment>."""
    deployer = AnsibleDeployer(
        DEMO, vars={"site_dir": "h5"}, workdir=tmp_path, timeout_seconds=TIMEOUT
    )
    await deployer.run(job(datacenter=""), ProgressRecorder())
    assert (tmp_path / "h5" / "staging" / "current" / "index.html").is_file()


async def test_demo_rollback_points_current_back(tmp_path: Path) -> None:
    """Rolling back to an earlier release flips current to it."""
    deployer = AnsibleDeployer(DEMO, workdir=tmp_path, timeout_seconds=TIMEOUT)
    await deployer.run(job(version="1.0.0"), ProgressRecorder())
    await deployer.run(job(version="2.0.0", request_id="req-2"), ProgressRecorder())
    await deployer.run(
        job(version="1.0.0", action="rollback", request_id="req-3"), ProgressRecorder()
    )
    site = demo_site(tmp_path)
    assert (site / "current").resolve() == (site / "releases" / "1.0.0").resolve()


async def test_demo_rollback_to_unknown_release_fails_clearly(tmp_path: Path) -> None:
    """Rolling back to a version that was never deployed names the version and the site."""
    deployer = AnsibleDeployer(DEMO, workdir=tmp_path, timeout_seconds=TIMEOUT)
    with pytest.raises(DeployFailed) as caught:
        await deployer.run(job(version="9.9.9", action="rollback"), ProgressRecorder())
    expected = (
        "task 'check release exists' failed on host 'localhost': cannot roll back to 9.9.9:"
        f" it was never deployed to {demo_site(tmp_path)}"
    )
    assert str(caught.value) == expected


async def test_demo_refuses_an_odd_version(tmp_path: Path) -> None:
    """A version with a path in it fails the version check with a message saying why."""
    deployer = AnsibleDeployer(DEMO, workdir=tmp_path, timeout_seconds=TIMEOUT)
    with pytest.raises(DeployFailed) as caught:
        await deployer.run(job(version="../../etc"), ProgressRecorder())
    expected = (
        "task 'check version' failed on host 'localhost': version '../../etc' is not a plain"
        " release name (letters, digits and . _ + - only, at most 64 characters)"
    )
    assert str(caught.value) == expected


async def test_a_runner_error_after_a_stop_is_never_left_unread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The runner's thread may end with an error after the run was stopped and nobody awaits it
    any more: it is read when it ends, so asyncio never logs it as "never retrieved", with its
    traceback, into the console or the worker's log."""
    loop = asyncio.get_running_loop()
    execution: asyncio.Future[tuple[str, int | None]] = loop.create_future()
    execution.add_done_callback(ansible_module._read)
    execution.set_exception(OSError(39, "Directory not empty"))
    await asyncio.sleep(0)  # the done callbacks run
    del execution
    gc.collect()
    assert [] == [r for r in caplog.records if "never retrieved" in r.getMessage()]
