"""The Ray Data executor against the local executor, in the same run, on this machine.

One Ray instance (``ray.init(num_cpus=<cores>)``, no dashboard) for the whole run.
For the offline engine and for the LLM engine (the stand-in model at ``--latency``
100 ms), the synthesis pipeline runs on the three demo databases with the local
executor and with the Ray executor at 1, 2 and 4 actors per step (``actors=(1, k)``:
Ray Data grows a step's pool up to k when its queue backs up), the executors
taking turns in each of ``--repeat`` rounds. Each run starts cold (a new run
folder; a Ray run starts its actors), so Ray's fixed cost is in its figures.

Ray's overhead per record comes from two sizes (``--small``, ``--num-per-db``
queries per database) at 1 actor: the slope of (Ray - local) wall time over the
records, and what is left at zero records (actor start-up).

The cost model (:func:`predict`) takes the measured per-record CPU cost, the
overheads and the LLM requests per kept sample, predicts the runs measured here
(shown beside them) and then 100 nodes x 1,000 databases x 100 samples.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import cpu_seconds, demo_dbs, load, machine

HERE = Path(__file__).resolve().parent


def run_once(
    executor: object, folder: Path, num_per_db: int, llm: dict | None
) -> tuple[float, int]:
    """Wall seconds and records of one cold synthesis run."""
    from sqlfoundry.api.synthesis import synthesize

    options: dict = {"engine": "offline"}
    if llm is not None:
        options = {"engine": "llm", "llm": llm, "config": {"synth": {"embedder": "endpoint"}}}
    start = time.perf_counter()
    run = synthesize(demo_dbs(), num_per_db=num_per_db, seed=0, run_dir=folder,
                     executor=executor, **options)  # fmt: skip
    return time.perf_counter() - start, len(run.samples)


def executors(actor_counts: list[int], per_step: list[int]) -> dict[str, object]:
    """The local executor, Ray with the steps in one pool of 1..k actors, and Ray with a
    pool per step (``fuse=False``, each of 1..k actors)."""
    from sqlfoundry.core.executors.ray import RayExecutor

    out: dict[str, object] = {"local": "local"}
    for k in actor_counts:
        out[f"ray x{k}"] = RayExecutor(actors=(1, k))
    for k in per_step:
        out[f"ray x{k} per step"] = RayExecutor(actors=(1, k), fuse=False)
    return out


def actors_of(name: str) -> int:
    """The most actors of a pool, from an executor's label (1 for the local one)."""
    return 1 if name == "local" else int(name.split("x")[1].split()[0])


def measure(label: str, num_per_db: int, llm: dict | None, args: argparse.Namespace,
            requests: object = None) -> dict[str, dict]:  # fmt: skip
    """Every executor, ``--repeat`` rounds taking turns: wall seconds, records, requests."""
    runners = executors(args.actors, args.per_step)
    results: dict[str, dict] = {name: {"walls": [], "records": 0, "requests": [], "cpu": []}
                                for name in runners}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        for round_ in range(args.repeat):
            for name, executor in runners.items():
                before = requests() if requests else 0
                cpu = cpu_seconds()
                wall, records = run_once(executor, Path(tmp) / f"{label}-{name}-{round_}",
                                         num_per_db, llm)  # fmt: skip
                results[name]["walls"].append(wall)
                # This process's CPU and its finished children's: all the work for the local
                # executor (its worker processes end with the run), the driver's on Ray.
                results[name]["cpu"].append(cpu_seconds() - cpu)
                results[name]["records"] = records
                if requests:
                    results[name]["requests"].append(requests() - before)
    return results


def predict(records: float, cpu_per_record: float, cores: float, fixed: float,
            overhead_per_record: float, requests_per_record: float = 0.0,
            latency: float = 0.0, concurrency: float = 1.0) -> dict[str, float]:  # fmt: skip
    """Wall seconds and LLM requests of a synthesis run.

    Args:
        records: samples kept at the end.
        cpu_per_record: CPU seconds the pipeline spends per kept record (local run).
        cores: CPUs working at once (nodes x cores per node, capped by the actors).
        fixed: seconds that do not grow with the records (Ray: actors starting).
        overhead_per_record: Ray's extra CPU seconds per record (serialising, part files).
        requests_per_record: LLM requests per kept record; latency: seconds per request;
        concurrency: requests in flight at once over the whole cluster.
    """
    cpu = records * (cpu_per_record + overhead_per_record) / cores
    waiting = records * requests_per_record * latency / concurrency
    return {"wall": fixed + max(cpu, waiting), "requests": records * requests_per_record}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def table(title: str, results: dict[str, dict], cores: int, model: dict | None) -> None:
    print(f"\n{title}")
    base = median(results["local"]["walls"])
    print(f"  {'executor':<9} {'records':>7} {'wall s (median, min-max)':>28} {'rec/s':>7} "
          f"{'vs local':>8} {'requests':>8} {'model s':>8}")  # fmt: skip
    for name, r in results.items():
        walls = r["walls"]
        wall = median(walls)
        reqs = f"{median(r['requests']):.0f}" if r["requests"] else "-"
        predicted = f"{model[name]:.1f}" if model and name in model else "-"
        print(f"  {name:<9} {r['records']:>7} {wall:>10.2f} ({min(walls):.2f}-{max(walls):.2f})"
              f"{'':>6} {r['records'] / wall:>7.1f} {base / wall:>7.2f}x {reqs:>8} "
              f"{predicted:>8}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-per-db", type=int, default=80)
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--llm-num-per-db", type=int, default=12)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument(
        "--per-step",
        type=int,
        nargs="*",
        default=[1],
        help="actor counts of a run with one pool per step (fuse=False)",
    )
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    try:
        import ray
    except ImportError:
        print("skipped: ray is not installed (pip install 'sqlfoundry[ray]')")
        return
    cores = os.cpu_count() or 1
    home = Path(tempfile.mkdtemp(prefix="bench-ray-home-"))
    os.environ.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0",
                      SQLFOUNDRY_CACHE_DIR=str(home / "cache"), OPENAI_API_KEY="x")  # fmt: skip
    print(f"machine: {machine()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · load before: {load()}")
    started = time.perf_counter()
    ray_temp = f"/tmp/bench-ray-{os.getpid()}"  # short: Ray's socket paths live under it
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False,
             object_store_memory=300 * 2**20, _temp_dir=ray_temp)  # fmt: skip
    print(f"ray.init: {time.perf_counter() - started:.1f} s (Ray {ray.__version__})")
    try:
        offline = measure("offline", args.num_per_db, None, args)
        small = measure(
            "small",
            args.small,
            None,
            argparse.Namespace(**{**vars(args), "actors": [1], "per_step": []}),
        )
        # Ray's overhead: the slope and the intercept of (Ray - local) over the records.
        big_r, small_r = offline["local"]["records"], small["local"]["records"]
        extra_big = median(offline["ray x1"]["walls"]) - median(offline["local"]["walls"])
        extra_small = median(small["ray x1"]["walls"]) - median(small["local"]["walls"])
        per_record = (extra_big - extra_small) / max(1, big_r - small_r)
        fixed = extra_small - per_record * small_r
        local_wall = median(offline["local"]["walls"])
        cpu_per_record = median(offline["local"]["cpu"]) / big_r
        model = {"local": predict(big_r, cpu_per_record, 1, 0, 0)["wall"]}
        for name in offline:
            if name != "local":
                model[name] = predict(big_r, cpu_per_record, min(actors_of(name), cores), fixed,
                                      max(per_record, 0.0))["wall"]  # fmt: skip
        table(f"offline engine, {args.num_per_db} queries per database, {args.repeat} rounds",
              offline, cores, model)  # fmt: skip
        table(f"offline engine, {args.small} queries per database (for the overhead)", small,
              cores, None)  # fmt: skip
        print(f"\nRay overhead: {fixed:.1f} s fixed (actors starting) + "
              f"{per_record * 1000:.2f} ms per record; local CPU {cpu_per_record * 1000:.2f} "
              f"ms per record (wall {local_wall / big_r * 1000:.2f} ms)")  # fmt: skip

        from bench_synth_llm import start_model

        log = home / "model.jsonl"
        server, port = start_model(log, args.latency)
        try:
            llm = {"base_url": f"http://127.0.0.1:{port}/v1", "model": "fake-model",
                   "max_concurrency": args.concurrency, "cache": "off", "timeout": 60}  # fmt: skip

            def requests() -> int:
                return sum(1 for line in log.read_text().splitlines() if line.strip())

            on_llm = measure("llm", args.llm_num_per_db, llm, args, requests)
        finally:
            server.terminate()
        kept = on_llm["local"]["records"]
        per_kept = median(on_llm["local"]["requests"]) / max(1, kept)
        llm_cpu = median(on_llm["local"]["cpu"]) / max(1, kept)
        llm_model = {}
        for name in on_llm:
            k = actors_of(name)
            # Each actor has its own client: the concurrency limit is per actor.
            llm_model[name] = predict(kept, llm_cpu, min(k, cores),
                                      0 if name == "local" else fixed, max(per_record, 0.0),
                                      per_kept, args.latency, args.concurrency * k)["wall"]  # fmt: skip
        table(f"LLM engine, stand-in model at {args.latency * 1000:.0f} ms, "
              f"{args.llm_num_per_db} queries per database, max_concurrency {args.concurrency}",
              on_llm, cores, llm_model)  # fmt: skip
        print(f"LLM requests per kept sample: {per_kept:.2f}; local CPU per kept sample "
              f"{llm_cpu * 1000:.1f} ms")  # fmt: skip

        nodes, databases, samples, cores_per_node = 100, 1000, 100, 2
        total = databases * samples
        off = predict(total, cpu_per_record, nodes * cores_per_node, fixed, max(per_record, 0.0))
        print(f"\ncost model, {nodes} nodes x {cores_per_node} cores, {databases:,} databases x "
              f"{samples} samples = {total:,} records:")  # fmt: skip
        print(f"  offline: {off['wall'] / 60:.1f} min wall, 0 LLM requests "
              f"(one core locally: {total * cpu_per_record / 3600:.1f} h)")  # fmt: skip
        for replicas, concurrency in ((1, 64), (8, 512)):
            on = predict(total, llm_cpu, nodes * cores_per_node, fixed,
                         max(per_record, 0.0), per_kept, args.latency, concurrency)  # fmt: skip
            print(f"  LLM at {args.latency * 1000:.0f} ms, {replicas} endpoint replica(s) taking "
                  f"{concurrency} requests at once: {on['wall'] / 60:.1f} min wall, "
                  f"{on['requests']:,.0f} requests")  # fmt: skip
        print(json.dumps({"fixed_s": round(fixed, 2), "per_record_ms": round(per_record * 1000, 3),
                          "cpu_per_record_ms": round(cpu_per_record * 1000, 3),
                          "llm_cpu_per_kept_ms": round(llm_cpu * 1000, 2),
                          "llm_requests_per_kept": round(per_kept, 2)}))  # fmt: skip
        print(f"load after: {load()}")
    finally:
        ray.shutdown()
        shutil.rmtree(ray_temp, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
