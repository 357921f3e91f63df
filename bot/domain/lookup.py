"""The catalog entries a command names, or a refusal that says which names would do."""

from __future__ import annotations

from collections.abc import Iterable

from bot.catalog.model import Catalog, Environment, Service


class Refused(Exception):
    """The request can't be made; the message says why and what would work."""


def service_of(catalog: Catalog, service: str) -> Service:
    """The service's catalog entry, or Refused naming the known services."""
    if service not in catalog.services:
        raise Refused(f"Unknown service `{service}`. Known services: {choices(catalog.services)}.")
    return catalog.services[service]


def environment_of(catalog: Catalog, service: str, environment: str) -> Environment:
    """The environment's catalog entry, or Refused naming the valid choices."""
    environments = service_of(catalog, service).environments
    if environment not in environments:
        raise Refused(
            f"`{service}` has no environment `{environment}`. "
            f"Its environments: {choices(environments)}."
        )
    return environments[environment]


def choices(names: Iterable[str]) -> str:
    """Names as a sorted list of inline code: `a`, `b`."""
    return ", ".join(f"`{n}`" for n in sorted(names))
