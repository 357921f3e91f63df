"""End to end: a service on Kubernetes in two data centres, one API server each
(FakeKubernetes, its controller rolling out by itself), driven by the worker's kubernetes
client."""

from __future__ import annotations

from tests.conftest import TRADE_IMAGE
from tests.fakes import FakeKubernetes
from tests.stack import Stack

Clusters = dict[str, FakeKubernetes]


def images(kube: Clusters) -> dict[str, str]:
    """The image of container `app` of Deployment trading/trade in each data centre."""
    return {dc: cluster.images("trading", "trade")["app"] for dc, cluster in kube.items()}


def with_v1(bot: Stack, kube: Clusters) -> None:
    """The Deployment exists in both clusters and shipbot has deployed v1 to it."""
    for cluster in kube.values():
        cluster.add_deployment("trading", "trade", {"app": f"{TRADE_IMAGE}:v0"}, replicas=2)
    bot.deployed("trade v1 to prod")


def test_each_datacenter_rolls_out_the_new_image(bot: Stack, kube: Clusters) -> None:
    """v2 becomes the image tag in dc-a, then dc-b, each rolled out to the end."""
    with_v1(bot, kube)
    bot.deployed("trade v2 to prod")
    assert {"dc-a": f"{TRADE_IMAGE}:v2", "dc-b": f"{TRADE_IMAGE}:v2"} == images(kube)
    assert all(cluster.rolled_out("trading", "trade") for cluster in kube.values())


def test_stuck_rollout_in_second_datacenter_returns_both(bot: Stack, kube: Clusters) -> None:
    """v2 exceeds its progress deadline in dc-b: dc-b and dc-a are undone back to v1."""
    with_v1(bot, kube)
    kube["dc-b"].broken_images.add(f"{TRADE_IMAGE}:v2")
    request_id = bot.deploy("trade v2 to prod")
    card = bot.wait_card(request_id, "Failed")
    assert {"dc-a": f"{TRADE_IMAGE}:v1", "dc-b": f"{TRADE_IMAGE}:v1"} == images(kube)
    assert "exceeded its progress deadline" in card
    assert "dc-a rolled back to v1" in card and "dc-b rolled back to v1" in card


def test_rollback_is_a_rollout_undo(bot: Stack, kube: Clusters) -> None:
    """/rollback after v2 restores v1's ReplicaSet template (no new one is made)."""
    with_v1(bot, kube)
    bot.deployed("trade v2 to prod")
    before = [len(c.replicasets("trading", "trade")) for c in kube.values()]
    bot.wait_card(bot.rollback("trade prod"), "Rolled back to")
    assert {"dc-a": f"{TRADE_IMAGE}:v1", "dc-b": f"{TRADE_IMAGE}:v1"} == images(kube)
    assert before == [len(c.replicasets("trading", "trade")) for c in kube.values()]
