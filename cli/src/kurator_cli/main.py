"""``kurator``: the command line entry point (typer + rich)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import nats
import nats.errors
import typer
from nats.aio.client import Client
from rich.console import Console
from rich.live import Live
from rich.table import Table

from kurator_cli import manifests, stack, views
from shared.bus import client, queries, reader
from shared.contracts import cloudevents, kinds, status, subjects

if TYPE_CHECKING:
    from shared.contracts import plan as plan_contract

app = typer.Typer(
    name="kurator",
    help="Multi-cluster, cloud-to-edge control plane over NATS: run it, publish intents, watch status.",
    no_args_is_help=True,
    add_completion=False,
)
# Like kubectl, never wrap a table row when the output is not a terminal (scripts grep it).
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 4096)
err = Console(stderr=True, soft_wrap=True)

NatsUrl = Annotated[
    str, typer.Option("--nats-url", envvar="KURATOR_NATS_URL", help="NATS server URL(s), comma separated.")
]
Namespace = Annotated[str | None, typer.Option("--namespace", "-n", help="Namespace of namespaced objects.")]
DEFAULT_NATS = "nats://127.0.0.1:4222"


async def _connect(url: str) -> Client:
    async def quiet(_: Exception) -> None:  # the one error that matters is raised below
        return None

    try:
        # max_reconnect_attempts=1: nats-py treats 0 as "forever" on the first connect.
        return await nats.connect(
            servers=[u.strip() for u in url.split(",")],
            connect_timeout=3,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.2,
            error_cb=quiet,
            name="kurator-cli",
        )
    except (OSError, nats.errors.NoServersError, nats.errors.TimeoutError) as exc:
        err.print(f"[red]error:[/red] cannot reach NATS at {url}; is `kurator up` running?")
        raise typer.Exit(2) from exc


def _load(files: list[str], recursive: bool, namespace: str | None) -> tuple[list[manifests.Manifest], int]:
    try:
        docs = manifests.read(files, recursive=recursive)
    except manifests.ManifestError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    routed: list[manifests.Manifest] = []
    failures = 0
    for source, doc in docs:
        try:
            routed.append(manifests.route(source, doc, namespace=namespace))
        except manifests.ManifestError as exc:
            err.print(f"[red]error:[/red] {exc}")
            failures += 1
    if not routed and not failures:
        err.print("[red]error:[/red] no objects passed to apply")
        raise typer.Exit(1)
    return routed, failures


_WORDS = {"updated": "configured"}


def _report(routed: list[manifests.Manifest], answers: list[client.Answer], timeout: float) -> int:
    failures = 0
    for m, a in zip(routed, answers, strict=True):
        if a.ok:
            phase = f" ({a.phase})" if a.phase and a.result != "deleted" else ""
            out.print(f"{m.display} {_WORDS.get(a.result, a.result)}{phase}", highlight=False)
            continue
        failures += 1
        if a.result == "rejected":
            err.print(
                f'[red]error:[/red] The {m.info.kind} "{m.address.name}" is invalid ({m.source}):', highlight=False
            )
            for r in a.reasons:
                err.print(f"  * {r.get('field')}: {r.get('message')}", highlight=False)
        elif a.result == "not-found":
            err.print(f'Error from server (NotFound): {m.info.plural} "{m.address.name}" not found', highlight=False)
        else:
            err.print(
                f"[red]error:[/red] {m.display}: no answer from the {m.address.service} service within "
                f"{timeout:g}s (is it running?)",
                highlight=False,
            )
    return failures


@app.command()
def apply(
    filename: Annotated[list[str], typer.Option("--filename", "-f", help="File, directory or - for stdin.")],
    recursive: Annotated[bool, typer.Option("--recursive", "-R", help="Read directories recursively.")] = False,
    namespace: Namespace = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each answer.")] = 30.0,
    nats_url: NatsUrl = DEFAULT_NATS,
) -> None:
    """Publish each document as an intent to the service that owns it and wait for the answer."""
    _submit(filename, recursive, namespace, timeout, nats_url, verb=cloudevents.APPLY, ignore_not_found=False)


@app.command()
def delete(
    kind_and_name: Annotated[list[str] | None, typer.Argument(help="KIND NAME, as an alternative to -f.")] = None,
    filename: Annotated[list[str] | None, typer.Option("--filename", "-f", help="File, directory or -.")] = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-R")] = False,
    namespace: Namespace = None,
    ignore_not_found: Annotated[bool, typer.Option("--ignore-not-found")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each answer.")] = 30.0,
    nats_url: NatsUrl = DEFAULT_NATS,
) -> None:
    """Publish delete intents for the objects in the files, or for KIND NAME."""
    if filename:
        _submit(
            filename,
            recursive,
            namespace,
            timeout,
            nats_url,
            verb=cloudevents.DELETE,
            ignore_not_found=ignore_not_found,
        )
        return
    if not kind_and_name or len(kind_and_name) != 2:
        err.print("[red]error:[/red] give -f FILE, or KIND NAME")
        raise typer.Exit(2)
    info = _kind(kind_and_name[0])
    doc: dict[str, Any] = {"apiVersion": info.api_version, "kind": info.kind, "metadata": {"name": kind_and_name[1]}}
    if info.namespaced:
        doc["metadata"]["namespace"] = namespace or "default"
    routed = [manifests.route("<command line>", doc)]
    _run_submit(routed, 0, timeout, nats_url, verb=cloudevents.DELETE, ignore_not_found=ignore_not_found)


def _submit(
    files: list[str],
    recursive: bool,
    namespace: str | None,
    timeout: float,
    nats_url: str,
    *,
    verb: str,
    ignore_not_found: bool,
) -> None:
    routed, failures = _load(files, recursive, namespace)
    _run_submit(routed, failures, timeout, nats_url, verb=verb, ignore_not_found=ignore_not_found)


def _run_submit(
    routed: list[manifests.Manifest], failures: int, timeout: float, nats_url: str, *, verb: str, ignore_not_found: bool
) -> None:
    async def go() -> list[client.Answer]:
        nc = await _connect(nats_url)
        try:
            return await client.submit(
                nc,
                [(m.address, m.document) for m in routed],
                verb=verb,
                timeout_seconds=timeout,
                source="kurator/cli",
            )
        finally:
            await nc.close()

    try:
        answers = asyncio.run(go()) if routed else []
    except client.NoIntentStream as exc:
        err.print(f"[red]error:[/red] {exc} (kurator up)")
        raise typer.Exit(2) from exc
    if ignore_not_found:
        kept = [(m, a) for m, a in zip(routed, answers, strict=True) if a.result != "not-found"]
        routed, answers = [m for m, _ in kept], [a for _, a in kept]
    failures += _report(routed, answers, timeout)
    if failures:
        raise typer.Exit(1)


def _kind(name: str) -> kinds.KindInfo:
    try:
        return kinds.resolve_name(name)
    except kinds.UnknownKind as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


Output = Annotated[str, typer.Option("--output", "-o", help="table, yaml, json or name.")]


@app.command()
def get(
    kind: Annotated[str, typer.Argument(help="Kind as kubectl takes it: singular, plural or short name.")],
    name: Annotated[str | None, typer.Argument()] = None,
    namespace: Namespace = None,
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A")] = False,
    output: Output = "table",
    nats_url: NatsUrl = DEFAULT_NATS,
) -> None:
    """Print the current objects of a kind from the status stream."""
    info = _kind(kind)
    ns: str | None = None
    if info.namespaced and not all_namespaces:
        ns = namespace or "default"

    async def go() -> list[dict[str, Any]]:
        nc = await _connect(nats_url)
        try:
            js = nc.jetstream()
            if name:
                addr = subjects.ObjectAddress(
                    info.service, info.token, ns or ("default" if info.namespaced else None), name
                )
                found = await reader.last(js, subjects.status(addr))
                return [found.document] if found and found.phase != status.DELETED else []
            found_all = await reader.snapshot(js, subjects.statuses(info.service, info.token, ns))
            # A Deleted status lingers briefly for live watchers; it is not a current object.
            return [m.document for m in found_all if m.phase != status.DELETED]
        finally:
            await nc.close()

    docs = asyncio.run(go())
    docs.sort(key=lambda d: ((d.get("metadata") or {}).get("namespace") or "", (d.get("metadata") or {}).get("name")))
    if name and not docs:
        err.print(f'Error from server (NotFound): {info.plural} "{name}" not found', highlight=False)
        raise typer.Exit(1)
    if output in ("yaml", "json"):
        out.print(views.document(docs, fmt=output, single=bool(name)), highlight=False, markup=False)
    elif output == "name":
        for d in docs:
            out.print(f"{info.singular}/{(d.get('metadata') or {}).get('name')}", highlight=False)
    elif not docs:
        err.print(f"No resources found{f' in {ns} namespace' if ns else ''}.")
    else:
        out.print(views.table(docs, with_namespace=all_namespaces and info.namespaced))


@app.command()
def watch(
    kind: Annotated[str | None, typer.Argument(help="Kind to watch; every kind when omitted.")] = None,
    namespace: Namespace = None,
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A")] = False,
    output: Annotated[str, typer.Option("--output", "-o", help="table or json (one object per line).")] = "table",
    nats_url: NatsUrl = DEFAULT_NATS,
) -> None:
    """Stream changes as they happen, starting with the current state of every object."""
    info = _kind(kind) if kind else None
    if info is not None:
        ns = None if (all_namespaces or not info.namespaced) else (namespace or "default")
        filter_subject = subjects.statuses(info.service, info.token, ns)
    else:
        filter_subject = subjects.statuses()

    async def go() -> None:
        nc = await _connect(nats_url)
        try:
            async for msg in reader.watch(nc.jetstream(), filter_subject):
                _, addr = subjects.parse_object(msg.subject)
                kinfo = kinds.for_token(addr.service, addr.kind)
                if output == "json":
                    print(views.document([msg.document], fmt="json", single=True).replace("\n", ""), flush=True)
                else:
                    views.print_watch(out, views.watch_line(kinfo, msg.document))
        finally:
            await nc.close()

    if output == "table":
        views.print_watch(out, ["TIME", "KIND", "NAME", "PHASE", "GEN"])
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(go())


@app.command(name="plan")
def plan_command(
    filename: Annotated[
        list[str], typer.Option("--filename", "-f", help="Policy and workload: file, directory or - for stdin.")
    ],
    clusters: Annotated[
        str | None, typer.Option("--clusters", help="Member Cluster objects (default: ask the live fleet).")
    ] = None,
    previous: Annotated[
        str | None, typer.Option("--previous", help="A ResourceBinding, or its spec.clusters list.")
    ] = None,
    reschedule: Annotated[bool, typer.Option("--reschedule", help="Plan an explicit reschedule.")] = False,
    output: Annotated[str, typer.Option("--output", "-o", help="table, json or yaml.")] = "table",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the fleet service.")] = 10.0,
    nats_url: NatsUrl = DEFAULT_NATS,
) -> None:
    """Preview where Karmada would place a workload under a propagation policy, and why not elsewhere."""
    # Imported here: the placement engine is only needed by this command, and every other
    # command (scripts call them in loops) should not pay for loading it.
    from kurator_cli import plan as planning

    if output not in ("table", "json", "yaml"):
        err.print(f"[red]error:[/red] unknown output format {output!r} (table, json or yaml)")
        raise typer.Exit(2)
    try:
        request = planning.build_request(
            filename, clusters_file=clusters, previous_file=previous, reschedule=reschedule
        )
    except planning.PlanInputError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    if request.clusters is not None:
        response = planning.run_local(request)
    else:

        async def go() -> plan_contract.PlanResponse:
            nc = await _connect(nats_url)
            try:
                return await planning.ask_fleet(nc, request, timeout_seconds=timeout)
            finally:
                await nc.close()

        try:
            response = asyncio.run(go())
        except (queries.QueryError, nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
            err.print(f"[red]error:[/red] the fleet service did not plan: {exc} (is it running? or pass --clusters)")
            raise typer.Exit(1) from exc
    if output == "table":
        planning.print_tables(out, err, response)
    else:
        out.print(planning.document(response, output), highlight=False, markup=False)
        if response.error is not None:
            err.print(f"[red]error:[/red] {response.error.reason}: {response.error.message}", highlight=False)
    if response.error is not None:
        raise typer.Exit(1)


@app.command()
def up(
    nats_url: Annotated[
        str | None, typer.Option("--nats-url", help="Use this NATS instead of the embedded one.")
    ] = None,
    nats_port: Annotated[int, typer.Option(help="Port of the embedded NATS server.")] = 4222,
    http_port_base: Annotated[int, typer.Option(help="First health/metrics port; one per process.")] = 8081,
    replicas: Annotated[int, typer.Option(help="Processes per service.")] = 1,
    data_dir: Annotated[Path, typer.Option(envvar="KURATOR_DATA_DIR", help="Where state and logs live.")] = Path(
        ".kurator"
    ),
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for every service to be ready.")] = 60.0,
    exit_when_ready: Annotated[bool, typer.Option(help="Stop everything once ready (a smoke test).")] = False,
    kubeconfig: Annotated[
        Path | None, typer.Option(help="A real Karmada's kubeconfig: use it instead of starting the simulator.")
    ] = None,
    sim_port: Annotated[int, typer.Option(help="Kubernetes API port of the simulator.")] = 6443,
    crds: Annotated[Path | None, typer.Option(help="CRD directory the simulator validates against.")] = None,
    topology: Annotated[Path | None, typer.Option(help="Simulator topology file (default: example fleet).")] = None,
    time_scale: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 1.0,
) -> None:
    """Start NATS (embedded unless --nats-url), the fleet simulator (unless --kubeconfig) and
    every service, each as its own process."""
    sim_args = [f"--time-scale={time_scale}"]
    if crds:
        sim_args.append(f"--crds={crds}")
    if topology:
        sim_args.append(f"--topology={topology}")
    s = stack.Stack(
        data_dir=data_dir,
        nats_url=nats_url,
        nats_port=nats_port,
        http_port_base=http_port_base,
        replicas=replicas,
        kubeconfig=kubeconfig,
        sim_port=sim_port,
        sim_args=sim_args,
    )
    stopping = False

    def on_term(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    try:
        s.start()
    except Exception as exc:
        s.stop()
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    try:
        if not _await_ready(s, ready_timeout, lambda: stopping):
            raise typer.Exit(1)
        out.print(f"kurator is up: NATS at [bold]{s.url}[/bold], data and logs in {data_dir}/", highlight=False)
        out.print(f"Kubernetes (Karmada) for the services: kubectl --kubeconfig {s.kubeconfig_in_use}", highlight=False)
        out.print("Apply the examples with: kurator apply -f examples/   (Ctrl-C stops everything)", highlight=False)
        while not stopping and not exit_when_ready:
            for name in s.supervise():
                err.print(f"[yellow]restarted[/yellow] {name} (see {data_dir}/logs/{name}.log)")
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        out.print("stopping: services drain in-flight intents, then NATS stops")
        s.stop()


@app.command()
def sim(
    port: Annotated[int, typer.Option(help="Kubernetes API port (0: a free one).")] = 6443,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    topology: Annotated[Path | None, typer.Option(help="Topology file (default: the example fleet).")] = None,
    crds: Annotated[Path | None, typer.Option(help="CRD directory to validate custom resources against.")] = None,
    kubeconfig: Annotated[Path | None, typer.Option(help="Write a kubeconfig pointing at the simulator here.")] = None,
    time_scale: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 1.0,
    prometheus_port: Annotated[int | None, typer.Option(help="Serve the Prometheus query API here.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for fault injection.")] = None,
) -> None:
    """Run the fleet simulator alone: a Karmada API server with member clusters behind its proxy."""
    from kurator_sim.__main__ import run as run_sim
    from kurator_sim.settings import SimSettings

    run_sim(
        SimSettings(
            host=host,
            port=port,
            topology=topology,
            crds=crds,
            kubeconfig=kubeconfig,
            time_scale=time_scale,
            prometheus_port=prometheus_port,
            seed=seed,
        )
    )


def _await_ready(s: stack.Stack, timeout: float, stopping: Any) -> bool:
    deadline = time.monotonic() + timeout

    def render() -> Table:
        t = Table(box=None, header_style="bold")
        for col in ("PROCESS", "PID", "HTTP", "STATE"):
            t.add_column(col)
        if s.nats is not None:
            t.add_row("nats-server", str(s.nats.pid), "-", "[green]running[/green]" if s.nats.running() else "down")
        for p in s.processes:
            state = "[green]ready[/green]" if p.ready() else ("starting" if p.alive() else "[red]exited[/red]")
            t.add_row(p.name, str(p.proc.pid if p.proc else ""), str(p.http_port), state)
        return t

    with Live(render(), console=out, refresh_per_second=4, transient=not sys.stdout.isatty()) as live:
        while time.monotonic() < deadline and not stopping():
            live.update(render())
            if all(p.ready() for p in s.processes):
                live.update(render())
                return True
            for p in s.processes:
                if not p.alive():
                    err.print(f"[red]error:[/red] {p.name} exited; see {p.log_path}")
                    return False
            time.sleep(0.25)
    err.print("[red]error:[/red] not every service became ready in time")
    return False
