#!/usr/bin/env python3
"""HTTP load for `make bench-pg`: keyward on PostgreSQL, one replica and
three behind nginx, beside SQLite with the same keys in the same run. Every
figure is also a ratio to GET /livez of the same server (or of nginx, for
the rows through it), measured in the same run, because these machines are
shared and noisy. Then revocation propagation: a key cached by every
replica is revoked through one, and the others are asked until they
refuse it.

Environment: PG_URL (a role that may create databases; default
postgres://keyward:keyward@127.0.0.1:5432/postgres), BENCH_KEYS (1000000),
BENCH_SECONDS (10), BENCH_CONNECTIONS (16), BENCH_REVOCATIONS (1000).
"""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import load  # noqa: E402  (the SQLite bench's helpers)

PG_URL = os.environ.get("PG_URL", "postgres://keyward:keyward@127.0.0.1:5432/postgres")
KEYS = int(os.environ.get("BENCH_KEYS", "1000000"))
REVOCATIONS = int(os.environ.get("BENCH_REVOCATIONS", "1000"))
SECONDS = load.SECONDS


def psql(sql):
    subprocess.run(["psql", PG_URL, "-qc", sql], check=True, capture_output=True)


def serve(db, *extra):
    port = load.free_port()
    server = load.serve(db, port, *extra)
    return server, port


def stop(server):
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)


def fixture(db, keys_file):
    started = time.time()
    loaded = json.loads(subprocess.run(
        [load.FIXTURE, "--db", db, "--keys", str(KEYS), "--service-accounts", "10000",
         "--sample", str(load.SAMPLE), "--sample-file", keys_file],
        capture_output=True, text=True, check=True).stdout)
    return loaded, time.time() - started


def measure(base, scripts, keys_file, admin, results, label):
    env = {"KEYS_FILE": keys_file}
    me = load.post(f"{base}/graphql", admin, load.AUTH_INFO)["data"]["auth_info"]
    create = load.CREATE_KEY.replace("USER_ID", me["user_id"])
    results[f"{label}: GET /livez (baseline)"] = load.wrk(base, scripts["verify"], {**env, "REQUEST_PATH": "/livez"}, SECONDS)
    # Warm: every sampled key cached (on every replica), so that the row
    # below measures cache hits, which should cost alike on both backends.
    load.wrk(base, scripts["verify"], {**env, "REQUEST_PATH": "/auth/verify"}, 4)
    results[f"{label}: GET /auth/verify (random valid keys, cached)"] = load.wrk(
        base, scripts["verify"], {**env, "REQUEST_PATH": "/auth/verify"}, SECONDS)
    results[f"{label}: POST /graphql auth_info"] = load.wrk(
        f"{base}/graphql", scripts["graphql"], {"KEY": admin, "BODY": load.AUTH_INFO}, SECONDS)
    results[f"{label}: POST /graphql create_api_key"] = load.wrk(
        f"{base}/graphql", scripts["graphql"], {"KEY": admin, "BODY": create}, SECONDS)


def nginx_front(tmp, ports):
    listen = load.free_port()
    d = os.path.join(tmp, "nginx")
    os.makedirs(d, exist_ok=True)
    servers = "".join(f"    server 127.0.0.1:{p};\n" for p in ports)
    conf = f"""daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{}}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  upstream keyward {{
{servers}    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{listen};
    location / {{
      proxy_pass http://keyward;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"""
    open(os.path.join(d, "nginx.conf"), "w").write(conf)
    proc = subprocess.Popen(["nginx", "-c", os.path.join(d, "nginx.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            load.urllib.request.urlopen(f"http://127.0.0.1:{listen}/livez")
            break
        except OSError:
            time.sleep(0.05)
    return proc, listen


def status(conn, key):
    conn.request("GET", "/auth/verify", headers={"Authorization": f"Bearer {key}"})
    r = conn.getresponse()
    r.read()
    return r.status


def propagation(ports, admin):
    """Seconds from a revoke's answer (through the first replica) until the
    last other replica refuses the key, for each of REVOCATIONS keys."""
    first = http.client.HTTPConnection("127.0.0.1", ports[0])
    others = [http.client.HTTPConnection("127.0.0.1", p) for p in ports[1:]]
    me = load.post(f"http://127.0.0.1:{ports[0]}/graphql", admin, load.AUTH_INFO)["data"]["auth_info"]["user_id"]

    def gql(query, variables):
        first.request("POST", "/graphql", json.dumps({"query": query, "variables": variables}),
                      {"Content-Type": "application/json", "Authorization": f"Bearer {admin}"})
        v = json.load(first.getresponse())
        assert "errors" not in v, v
        return v["data"]

    gaps, at_once = [], 0
    for i in range(REVOCATIONS):
        made = gql("mutation($i: create_api_key_input!) { create_api_key(input: $i) { id key } }",
                   {"i": {"user_id": me, "name": f"propagation {i}"}})["create_api_key"]
        for c in others:
            assert status(c, made["key"]) == 200
        gql("mutation($i: delete_api_key_input!) { delete_api_key(input: $i) { success } }",
            {"i": {"key_id": made["id"]}})
        answered = time.perf_counter()
        waiting = list(others)
        first_round = True
        while waiting:
            waiting = [c for c in waiting if status(c, made["key"]) != 401]
            if first_round and not waiting:
                at_once += 1
            first_round = False
        gaps.append(time.perf_counter() - answered)
    gaps.sort()
    return {
        "p50": gaps[len(gaps) // 2] * 1000,
        "p99": gaps[int(len(gaps) * 0.99) - 1] * 1000,
        "max": gaps[-1] * 1000,
        "at_once": at_once,
        "n": len(gaps),
    }


def main():
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        scripts = {}
        for name, text in (("verify", load.VERIFY_LUA), ("graphql", load.GRAPHQL_LUA)):
            scripts[name] = os.path.join(tmp, f"{name}.lua")
            open(scripts[name], "w").write(text)
        # SQLite, the same keys, the same run.
        lite_keys = os.path.join(tmp, "lite.keys")
        lite, lite_load = fixture(os.path.join(tmp, "k.db"), lite_keys)
        server, port = serve(os.path.join(tmp, "k.db"))
        try:
            measure(f"http://127.0.0.1:{port}", scripts, lite_keys, lite["admin_key"], results, "SQLite")
        finally:
            stop(server)
        name = f"kwbench_{uuid.uuid4().hex[:12]}"
        psql(f"CREATE DATABASE {name}")
        db = PG_URL.rsplit("/", 1)[0] + "/" + name
        replicas = []
        try:
            keys_file = os.path.join(tmp, "pg.keys")
            loaded, pg_load = fixture(db, keys_file)
            admin = loaded["admin_key"]
            replicas.append(serve(db))
            base = f"http://127.0.0.1:{replicas[0][1]}"
            measure(base, scripts, keys_file, admin, results, "PostgreSQL, one replica")
            # Every request a miss: the database's cost per verification.
            miss, miss_port = serve(db, "--cache-ttl", "0")
            try:
                env = {"KEYS_FILE": keys_file, "REQUEST_PATH": "/auth/verify"}
                results["PostgreSQL, no cache (--cache-ttl 0): GET /auth/verify"] = load.wrk(
                    f"http://127.0.0.1:{miss_port}", scripts["verify"], env, SECONDS)
                results["PostgreSQL, no cache (--cache-ttl 0): GET /auth/verify, one client"] = load.wrk(
                    f"http://127.0.0.1:{miss_port}", scripts["verify"], env, SECONDS, connections=1)
            finally:
                stop(miss)
            replicas += [serve(db), serve(db)]
            front, listen = nginx_front(tmp, [p for _, p in replicas])
            try:
                measure(f"http://127.0.0.1:{listen}", scripts, keys_file, admin, results,
                        "PostgreSQL, three replicas behind nginx")
            finally:
                front.send_signal(signal.SIGQUIT)
                front.wait(timeout=30)
            spread = propagation([p for _, p in replicas], admin)
        finally:
            for s, _ in replicas:
                stop(s)
            psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(f"wrk -t1 -c{load.CONNECTIONS} -d{SECONDS}s on loopback; keyward release build, default workers; "
          f"{KEYS:,} keys (loaded in {lite_load:.0f} s on SQLite, {pg_load:.0f} s on PostgreSQL)\n")
    print("| endpoint | req/s | p50 ms | p99 ms | ratio to /livez |")
    print("|---|---:|---:|---:|---:|")
    for label, x in results.items():
        group = label.split(":")[0]
        base = results.get(f"{group}: GET /livez (baseline)", results["PostgreSQL, one replica: GET /livez (baseline)"])
        print(f"| {label} | {x['rps']:,.0f} | {x['p50']:.3f} | {x['p99']:.3f} | {x['rps'] / base['rps']:.2f} |")
    print(f"\nRevocation through one of three replicas, until the other two refuse the key "
          f"({spread['n']} keys): p50 {spread['p50']:.2f} ms, p99 {spread['p99']:.2f} ms, "
          f"max {spread['max']:.2f} ms; refused at the first ask: {spread['at_once']} of {spread['n']}")


if __name__ == "__main__":
    main()
