"""Member clusters through Karmada's cluster proxy (the simulator serves it as Karmada does)."""

from __future__ import annotations

from pathlib import Path

from kubernetes_asyncio import client

from kurator_sim import testing
from shared.k8s import connection, members, objects, resources


def test_the_proxy_path_quotes_the_name() -> None:
    assert members.proxy_host("https://karmada:5443/", "member-1") == (
        "https://karmada:5443/apis/cluster.karmada.io/v1alpha1/clusters/member-1/proxy"
    )


async def test_each_member_is_its_own_api(tmp_path: Path) -> None:
    async with testing.serve() as sim:
        karmada = await connection.api_client(sim.write_kubeconfig(tmp_path / "kubeconfig"))
        clients = members.MemberClients(karmada)
        try:
            beijing = clients("cluster-beijing")
            assert clients("cluster-beijing") is beijing
            nodes = await client.CoreV1Api(beijing).list_node()
            assert nodes.items
            assert all(n.metadata.name for n in nodes.items)

            config = {"metadata": {"name": "only-in-beijing", "namespace": "default"}, "data": {"k": "v"}}
            await objects.Objects(beijing, field_manager="kurator-test").apply(resources.CONFIGMAPS, config)
            shanghai = objects.Objects(clients("cluster-shanghai"), field_manager="kurator-test")
            assert await shanghai.find(resources.CONFIGMAPS, name="only-in-beijing", namespace="default") is None
            on_karmada = objects.Objects(karmada, field_manager="kurator-test")
            assert await on_karmada.find(resources.CONFIGMAPS, name="only-in-beijing", namespace="default") is None
            # The Karmada client itself is untouched by the copies.
            assert "/proxy" not in karmada.configuration.host
        finally:
            await clients.close()
            await karmada.close()
