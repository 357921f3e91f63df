"""shipbot's Redis key names: the only module that knows them.

Keys (all under one prefix, default ``shipbot``):

- ``req:{id}`` hash, one deploy request; ``req:{id}:approvers`` sorted set (by time)
- ``lane:{service}:{env}`` list of queued and running request ids; the head runs;
  ``urgent:{service}:{env}`` set of the emergencies queued there (they start first, in order)
- ``open:{service}`` sorted set of open (pending, queued, running) request ids
- ``history:{service}:{env}`` list of finished deploys, newest first, capped
- ``current:{service}:{env}`` hash, data centre -> what runs there
- ``undone:{service}:{env}`` set of request ids whose releases a rollback undid
- ``workers`` sorted set, worker name -> its last heartbeat (epoch seconds);
  ``workers:jobs`` hash, worker name -> how many jobs it was running when it last said so;
  ``workers:figures`` hash, the workers' running totals Prometheus reads (job durations by
  function and outcome, lease renewals by outcome)
- ``running`` set of running request ids; ``lease:{id}`` says its worker is alive (TTL);
  ``suspect:{id}`` marks a lapsed lease seen once by the sweep
- ``audit`` stream, append-only, every transition
- ``seen:{delivery}`` short-lived marks that make Slack retries and replays take effect once
- ``group:{id}`` short-lived cache of a Slack user group's members
- ``news:{topic}`` a one-item list a webhook pushes to wake whoever follows ``topic``
- ``external:{id}:{service}:{env}`` marks a deployment run outside shipbot as recorded (once)
- ``metrics:day:{service}:{env}:{day}`` hash, the delivery-metrics aggregate of one production
  environment and day (``_all:_all`` for all services), ``metrics:week:{service}:{env}:{monday}``
  the same for a week; ``metrics:state:{service}:{env}`` its latest
  release and open failure; ``metrics:flagged:{service}:{env}`` set of deploys counted as failed
  changes; ``metrics:leads:{service}:{env}`` hash, request id -> lead times recorded (for rebuilds)
- ``tally`` hash, the running totals Prometheus reads
- ``once:{name}`` marks a scheduled thing done (the metrics digest), short-lived
- ``audit:head`` hash, the audit chain's head (seq, hash, stream id); ``audit:index`` sorted set
  (score 0) of ``<request id>|<stream id>``, a request's entries; ``audit:anchor`` hash, the
  last entry trimmed by retention (seq, hash, stream id, when); ``audit:inbox`` stream, the
  entries written with their change and not hashed into ``audit`` yet (chained within seconds)
- ``jobs`` arq's queue; ``{function}:{subject}`` the id of a job (arq keys its job data by it,
  as ``arq:job:<prefix>:…``, its result as ``arq:result:<prefix>:…``); ``cron:<prefix>:{name}``
  a periodic job, its ids and keys too
- ``lock:{service}:{env}`` JSON, the lock of one environment (its TTL is the lock's expiry);
  ``hold:{service}:{env}:{dc}`` JSON, a held data centre (``_all`` for every service; TTL too)
- ``freeze:{service}:{env}`` hash, a chat freeze (``_all`` for every service), expiring at its end
- ``rejected:{service}:{env}`` list of rejected requests (history entries), newest first, capped;
  kept apart from ``history`` so runs, rollbacks and metrics never see them
"""

from __future__ import annotations

from arq.constants import job_key_prefix, result_key_prefix


class Keys:
    """Full key names under ``prefix``, so installations sharing one Redis never mix."""

    def __init__(self, prefix: str = "shipbot") -> None:
        self.prefix = prefix

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def req(self, request_id: str) -> str:
        return self._k("req", request_id)

    def approvers(self, request_id: str) -> str:
        return self._k("req", request_id, "approvers")

    def lane(self, service: str, environment: str) -> str:
        return self._k("lane", service, environment)

    def urgent(self, service: str, environment: str) -> str:
        return self._k("urgent", service, environment)

    def open(self, service: str) -> str:
        return self._k("open", service)

    def history(self, service: str, environment: str) -> str:
        return self._k("history", service, environment)

    def current(self, service: str, environment: str) -> str:
        return self._k("current", service, environment)

    def undone(self, service: str, environment: str) -> str:
        return self._k("undone", service, environment)

    def workers(self) -> str:
        return self._k("workers")

    def worker_jobs(self) -> str:
        return self._k("workers", "jobs")

    def worker_figures(self) -> str:
        return self._k("workers", "figures")

    def running(self) -> str:
        return self._k("running")

    def lease(self, request_id: str) -> str:
        return self._k("lease", request_id)

    def suspect(self, request_id: str) -> str:
        return self._k("suspect", request_id)

    def audit(self) -> str:
        return self._k("audit")

    def seen(self, delivery: str) -> str:
        """The replay mark of a Slack delivery; '' for none, which the Lua scripts skip."""
        return self._k("seen", delivery) if delivery else ""

    def group(self, group: str) -> str:
        return self._k("group", group)

    def news(self, topic: str) -> str:
        return self._k("news", topic)

    def external(self, deployment_id: str, service: str, environment: str) -> str:
        return self._k("external", deployment_id, service, environment)

    def metric_day(self, service: str, environment: str, day: str) -> str:
        return self._k("metrics", "day", service, environment, day)

    def metric_week(self, service: str, environment: str, monday: str) -> str:
        return self._k("metrics", "week", service, environment, monday)

    def metric_state(self, service: str, environment: str) -> str:
        return self._k("metrics", "state", service, environment)

    def metric_flagged(self, service: str, environment: str) -> str:
        return self._k("metrics", "flagged", service, environment)

    def metric_leads(self, service: str, environment: str) -> str:
        return self._k("metrics", "leads", service, environment)

    def is_metric_leads(self, key: str) -> bool:
        return key.startswith(self._k("metrics", "leads", ""))

    def metrics_pattern(self) -> str:
        """Every day aggregate, state, flag set and lead record: what a rebuild clears."""
        return self._k("metrics", "*")

    def tally(self) -> str:
        return self._k("tally")

    def once(self, name: str) -> str:
        return self._k("once", name)

    def jobs(self) -> str:
        return self._k("jobs")

    def job(self, function: str, subject: str) -> str:
        return self._k(function, subject)

    @staticmethod
    def arq_job(job_id: str) -> str:
        """Where arq keeps a job's data (its own prefix, not shipbot's)."""
        return job_key_prefix + job_id

    @staticmethod
    def arq_result(job_id: str) -> str:
        """Where arq keeps a job's result."""
        return result_key_prefix + job_id

    def cron(self, name: str) -> str:
        """The name of a periodic job, which arq also makes its job ids (and keys) of."""
        return f"cron:{self._k(name)}"

    def lock(self, service: str, environment: str) -> str:
        return self._k("lock", service, environment)

    def hold(self, service: str, environment: str, datacenter: str) -> str:
        """``service`` "all" is kept as ``_all``, which no service can be named."""
        return self._k("hold", "_all" if service == "all" else service, environment, datacenter)

    def freeze(self, service: str, environment: str) -> str:
        """A chat freeze of one service (or, for ``all``, every service) in an environment."""
        return self._k("freeze", "_all" if service == "all" else service, environment)

    def audit_head(self) -> str:
        return self._k("audit", "head")

    def audit_index(self) -> str:
        return self._k("audit", "index")

    def audit_anchor(self) -> str:
        return self._k("audit", "anchor")

    def audit_inbox(self) -> str:
        return self._k("audit", "inbox")

    def rejected(self, service: str, environment: str) -> str:
        return self._k("rejected", service, environment)
