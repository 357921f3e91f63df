"""The catalog's rules that relate several keys: approvals and approvers, a deployer and the
options it needs.

pydantic checks each value on its own, and a model validator runs only once every field of
its model is valid, so one wrong value would hide a broken rule. These rules read the data as
written instead, and `checked` reports what they find beside pydantic's own errors, in one
pass. A rule skips a value that is itself invalid (pydantic reports that one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from bot.catalog.issues import RULE, Loc
from bot.catalog.options import DEPLOYERS, OPTION_KEYS, required_options
from bot.catalog.rule_checks import rule_problems

Problem = tuple[Loc, str]  # where (relative to the model checked), and what is wrong
ANSIBLE_ONLY = ("playbook", "inventory", "vars")
T = TypeVar("T")


def checked(data: Any, handler: Callable[[Any], T], problems: list[Problem]) -> T:
    """Validate `data` with `handler`; raise its errors and `problems` together, if any."""
    if not problems:
        return handler(data)
    errors: list[InitErrorDetails] = []
    try:
        handler(data)
    except ValidationError as exc:
        errors = [_again(error) for error in exc.errors()]
    rules = [_error(loc, message, data) for loc, message in problems]
    raise ValidationError.from_exception_data("catalog", [*errors, *rules])


def _again(error: ErrorDetails) -> InitErrorDetails:
    """A pydantic error, with its type, message and context, fit to raise again."""
    ctx = {**error.get("ctx", {}), "message": error["msg"]}
    kind = PydanticCustomError(error["type"], "{message}", ctx)
    return {"type": kind, "loc": error["loc"], "input": error["input"]}


def _error(loc: Loc, message: str, data: Any) -> InitErrorDetails:
    kind = PydanticCustomError(RULE, "{message}", {"message": message})
    return {"type": kind, "loc": loc, "input": data}


def environment_problems(data: Any) -> list[Problem]:
    """Approvals that cannot be given, and data centres listed twice."""
    env = _mapping(data)
    needed, approvers = _count(env.get("approvals", 0)), env.get("approvers", [])
    problems: list[Problem] = []
    if needed is not None and isinstance(approvers, list):
        problems += _too_few_approvers(needed, approvers)
        problems += rule_problems(env, (needed, [str(a) for a in approvers]))
    rollback = _count(env.get("rollback_approvals"))
    if needed is not None and rollback is not None and rollback > needed:
        problems.append((("rollback_approvals",), f"may not exceed approvals ({needed})"))
    names = env.get("datacenters")
    twice = sorted({str(n) for n in names if names.count(n) > 1}) if isinstance(names, list) else []
    if twice:
        problems.append((("datacenters",), f"listed more than once: {', '.join(twice)}"))
    return problems


def _too_few_approvers(needed: int, approvers: list[Any]) -> list[Problem]:
    """A user-group ID (S...) may stand for any number of people; user IDs for one each."""
    people = len({str(a) for a in approvers})
    group = any(isinstance(a, str) and a.startswith("S") for a in approvers)
    if needed and not approvers:
        return [(("approvers",), f"approvals is {needed}, so at least one approver is required")]
    if not group and needed > people:
        return [(("approvers",), f"approvals is {needed} but only {people} can approve")]
    return []


def _count(value: Any) -> int | None:
    """`value` if it is a valid count (an int of 0 or more, not a bool), else None."""
    valid = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if valid else None


def service_problems(data: Any) -> list[Problem]:
    """Keys the service's deployer needs and lacks, or does not use."""
    service = _mapping(data)
    deployer = service.get("deployer")
    if not isinstance(deployer, str) or deployer not in DEPLOYERS:
        return []
    return [
        *_ansible_keys(service, deployer),
        *_stray_options(service, deployer),
        *_missing_options(service, deployer),
    ]


def _ansible_keys(service: dict[Any, Any], deployer: str) -> list[Problem]:
    """An ansible service needs a playbook; any other has no use for the ansible keys."""
    if deployer == "ansible" and service.get("playbook") is None:
        return [(("playbook",), "missing key 'playbook', required by deployer 'ansible'")]
    if deployer == "ansible":
        return []
    return [
        ((key,), f"only used by deployer 'ansible', but the service's deployer is {deployer}")
        for key in ANSIBLE_ONLY
        if key in service
    ]


def _stray_options(service: dict[Any, Any], deployer: str) -> list[Problem]:
    return [
        ((*loc, key), f"{key} options given, but the service's deployer is {deployer}")
        for loc, level in _levels(service)
        for key in OPTION_KEYS
        if key != deployer and level.get(key) is not None
    ]


def _levels(service: dict[Any, Any]) -> Iterator[tuple[Loc, dict[Any, Any]]]:
    """The service, each environment, each data centre given as a mapping: where options go."""
    yield (), service
    for name, env in _environments(service):
        yield ("environments", name), env
        for target, options in _mapping(env.get("datacenters")).items():
            yield ("environments", name, "datacenters", target), _mapping(options)


def _missing_options(service: dict[Any, Any], deployer: str) -> list[Problem]:
    """Required options no level gives: once at the service for those no target has, and at
    each target for the rest."""
    lacking = dict(_lacking(service, deployer))
    everywhere = [
        key for key in required_options(deployer) if all(key in v for v in lacking.values())
    ]
    problems: list[Problem] = []
    if lacking and everywhere:
        at: Loc = (deployer,) if isinstance(service.get(deployer), dict) else ()
        problems.append((at, _lack_everywhere(deployer, everywhere)))
    for loc, lack in lacking.items():
        rest = [key for key in lack if key not in everywhere]
        at_datacenter = len(loc) > 2  # ("environments", env, "datacenters", datacenter)
        if rest:
            problems.append((loc, _lack_here(deployer, rest, at_datacenter)))
    return problems


def _lacking(service: dict[Any, Any], deployer: str) -> Iterator[tuple[Loc, list[str]]]:
    """Each target whose option blocks are valid, and the required options it lacks."""
    for loc, blocks in _targets(service, deployer):
        if all(block is None or isinstance(block, dict) for block in blocks):
            given = {k for block in blocks if block for k, v in block.items() if v is not None}
            yield loc, [key for key in required_options(deployer) if key not in given]


def _targets(service: dict[Any, Any], deployer: str) -> Iterator[tuple[Loc, list[Any]]]:
    """Each environment without data centres, and each data centre: its option blocks."""
    for name, env in _environments(service):
        blocks = [service.get(deployer), env.get(deployer)]
        centres = env.get("datacenters")
        if isinstance(centres, list):
            centres = dict.fromkeys(c for c in centres if isinstance(c, str))
        if centres is None or centres == {}:
            yield ("environments", name), blocks
        for target, options in _mapping(centres).items():
            block = options.get(deployer) if isinstance(options, dict) else options
            yield ("environments", name, "datacenters", target), [*blocks, block]


def _environments(service: dict[Any, Any]) -> Iterator[tuple[Any, dict[Any, Any]]]:
    """Each environment given as a mapping (or empty: every default)."""
    for name, env in _mapping(service.get("environments")).items():
        if env is None or isinstance(env, dict):
            yield name, env or {}


def _lack_everywhere(deployer: str, keys: list[str]) -> str:
    return (
        f"{deployer} options lack {', '.join(keys)} in every environment; give them under "
        f"{deployer}: in the service"
    )


def _lack_here(deployer: str, keys: list[str], datacenter: bool) -> str:
    levels = (
        "the service, the environment or the data centre"
        if datacenter
        else "the service or the environment"
    )
    return f"{deployer} options lack {', '.join(keys)}; give them under {deployer}: in {levels}"


def _mapping(value: Any) -> dict[Any, Any]:
    """`value` if it is a mapping; an absent or invalid one has no keys."""
    return value if isinstance(value, dict) else {}
