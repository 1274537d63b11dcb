#!/usr/bin/env python3
"""HTTP load for `make bench`: wrk against a release keyward preloaded with
N keys, on loopback. Every figure is also given as a ratio to GET /livez
(which does no work) measured in the same run on the same server, because
these machines are shared and noisy.

The list section asks for pages of keys as an admin (its own keys and
every service-account key of the tenant), a user (its own few) and a
service account (its own), for the first page of service accounts, for the
largest document the cost budget lets through, and sends a document of 499
aliases that the budget refuses.

Environment: BENCH_KEYS (default "10000,1000000"), BENCH_SERVICE_ACCOUNTS
(10000), BENCH_SECONDS (10), BENCH_CONNECTIONS (16), KEYWARD
(target/release/keyward).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = os.environ.get("KEYWARD", "target/release/keyward")
FIXTURE = os.environ.get("KEYWARD_BENCH_FIXTURE", "target/release/examples/bench_fixture")
SIZES = [int(n) for n in os.environ.get("BENCH_KEYS", "10000,1000000").split(",")]
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
SERVICE_ACCOUNTS = int(os.environ.get("BENCH_SERVICE_ACCOUNTS", "10000"))
SAMPLE = 10_000

VERIFY_LUA = """
local keys = {}
for line in io.lines(os.getenv("KEYS_FILE")) do keys[#keys + 1] = line end
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
local path = os.getenv("REQUEST_PATH")
request = function()
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. keys[math.random(#keys)] })
end
"""

# The same, as nginx asks for a Prefect call: the original request named.
ROUTE_LUA = VERIFY_LUA.replace(
    '{ ["Authorization"] = "Bearer " .. keys[math.random(#keys)] }',
    '{ ["Authorization"] = "Bearer " .. keys[math.random(#keys)], ["X-Original-Method"] = "GET", '
    '["X-Original-URI"] = "/api/flow_runs/0b7e6f7e-1111-4000-8000-000000000000?x=1", '
    '["X-Forwarded-Host"] = "prefect.local" }')

GRAPHQL_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
wrk.body = os.getenv("BODY")
"""

def doc(query):
    return json.dumps({"query": query})


AUTH_INFO = doc("{ auth_info { user_id tenant_id role } }")
KEY_PAGE = doc("{ auth_api_key(order_by: {created: desc}, limit: 10) { id name user_id created expires_at last_used_at } }")
SA_PAGE = doc("{ service_account(limit: 10) { id name role created api_keys { id name created } } }")
SA_DEFAULT = doc("{ service_account { id name role created api_keys { id name created } } }")
LARGEST = doc("{ " + " ".join(f"a{i}: auth_api_key(limit: 1000) {{ id name created }}" for i in range(4))
              + " a4: auth_api_key(limit: 900) { id name created } }")
ABUSIVE = doc("{ " + " ".join(f"a{i}: auth_api_key {{ id }}" for i in range(499)) + " }")
CREATE_KEY = json.dumps({
    "query": "mutation($i: create_api_key_input!) { create_api_key(input: $i) { id } }",
    "variables": {"i": {"user_id": "USER_ID", "name": "bench"}},
})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def to_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, script, env, seconds, connections=CONNECTIONS):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url]
    out = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        sys.exit(f"wrk saw errors against {url}:\n{out}")
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s))\s*$", out, re.M))
    ms = {k: to_ms(*re.match(r"([\d.]+)(us|ms|s)", v).groups()) for k, v in lat.items()}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"rps": rps, "p50": ms["50"], "p99": ms["99"]}


def post(url, key, body):
    req = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    return json.load(urllib.request.urlopen(req))


def serve(db, port, *extra):
    server = subprocess.Popen([BIN, "serve", "--db", db, "--listen", f"127.0.0.1:{port}", *extra],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "warn"})
    for _ in range(400):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/livez")
            break
        except OSError:
            time.sleep(0.05)
    return server


def read_only_policies(tmp):
    """The defaults plus the prefect-read-only example: Forward decided per
    key and route (and cached), not allowed wholesale."""
    d = os.path.join(tmp, "prefect-read-only")
    if not os.path.isdir(d):
        subprocess.run([BIN, "policy", "init", d], check=True, capture_output=True)
        ex = "policies/examples/prefect-read-only"
        shutil.copy(f"{ex}/prefect-read-only.cedar", d)
        shutil.copy(f"{ex}/tests/prefect-read-only.toml", os.path.join(d, "tests"))
    return d


def rss_mb(pid):
    status = open(f"/proc/{pid}/status").read()
    return {k: int(re.search(rf"{k}:\s+(\d+) kB", status).group(1)) / 1024 for k in ("VmRSS", "VmHWM")}


def run(n, tmp):
    db, keys_file = os.path.join(tmp, f"{n}.db"), os.path.join(tmp, f"{n}.keys")
    started = time.time()
    loaded = json.loads(subprocess.run(
        [FIXTURE, "--db", db, "--keys", str(n), "--service-accounts", str(SERVICE_ACCOUNTS),
         "--sample", str(SAMPLE), "--sample-file", keys_file],
        capture_output=True, text=True, check=True).stdout)
    load_s = time.time() - started
    port = free_port()
    server = serve(db, port)
    base = f"http://127.0.0.1:{port}"
    try:
        admin = loaded["admin_key"]
        me = post(f"{base}/graphql", admin, AUTH_INFO)["data"]["auth_info"]
        create = CREATE_KEY.replace("USER_ID", me["user_id"])
        assert "errors" not in post(f"{base}/graphql", admin, create), "create_api_key failed"
        scripts = {}
        for name, text in (("verify", VERIFY_LUA), ("route", ROUTE_LUA), ("graphql", GRAPHQL_LUA), ("plain", "")):
            scripts[name] = os.path.join(tmp, f"{name}.lua")
            open(scripts[name], "w").write(text)
        keys = {"admin": admin, "user": loaded["user_key"], "service account": loaded["robot_key"]}
        for who, key in keys.items():
            answer = post(f"{base}/graphql", key, KEY_PAGE)
            assert len(answer["data"]["auth_api_key"]) == 10, f"{who}: {answer}"
        refused = post(f"{base}/graphql", admin, ABUSIVE)
        assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_EXPENSIVE", refused
        assert "errors" not in post(f"{base}/graphql", admin, LARGEST), "the largest document runs"
        gql = {"KEY": admin}
        lists = {f"auth_api_key(limit: 10), {who}": (KEY_PAGE, key) for who, key in keys.items()}
        lists["service_account(limit: 10) with their keys"] = (SA_PAGE, admin)
        lists["service_account, default page (100) with their keys"] = (SA_DEFAULT, admin)
        lists["5 x auth_api_key(limit: 1000 or 900), cost 5,000 (the budget)"] = (LARGEST, admin)
        lists["499 aliases of auth_api_key (refused: over the budget)"] = (ABUSIVE, admin)
        results = {
            # The baseline sends the very same requests (a random key each,
            # built by the same Lua) to an endpoint that does no work: the
            # cost of actix and of wrk itself, which shares the 2 cores.
            "GET /livez (baseline)": wrk(base, scripts["verify"], {"KEYS_FILE": keys_file, "REQUEST_PATH": "/livez"}, SECONDS),
            "GET /livez, static request": wrk(f"{base}/livez", scripts["plain"], {}, SECONDS),
            "GET /auth/verify (random valid keys)": wrk(
                base, scripts["verify"], {"KEYS_FILE": keys_file, "REQUEST_PATH": "/auth/verify"}, SECONDS),
            "GET /auth/verify, a Prefect route named (X-Original-*)": wrk(
                base, scripts["route"], {"KEYS_FILE": keys_file, "REQUEST_PATH": "/auth/verify"}, SECONDS),
            "POST /graphql auth_info": wrk(f"{base}/graphql", scripts["graphql"], {**gql, "BODY": AUTH_INFO}, SECONDS),
            "POST /graphql create_api_key": wrk(f"{base}/graphql", scripts["graphql"], {**gql, "BODY": create}, SECONDS),
        }
        for name, (body, key) in lists.items():
            results[f"POST /graphql {name}"] = wrk(f"{base}/graphql", scripts["graphql"], {"KEY": key, "BODY": body}, SECONDS)
        # Alone (one connection): how long one such request takes.
        for name in ("service_account, default page (100) with their keys",
                     "5 x auth_api_key(limit: 1000 or 900), cost 5,000 (the budget)"):
            body, key = lists[name]
            results[f"POST /graphql {name}, one client"] = wrk(
                f"{base}/graphql", scripts["graphql"], {"KEY": key, "BODY": body}, SECONDS, connections=1)
        memory = rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    # The same database under prefect-read-only: each key's route decided
    # by Cedar once, then cached.
    port = free_port()
    server = serve(db, port, "--policies", read_only_policies(tmp))
    try:
        base = f"http://127.0.0.1:{port}"
        env = {"KEYS_FILE": keys_file, "REQUEST_PATH": "/auth/verify"}
        results["GET /livez (baseline), prefect-read-only server"] = wrk(
            base, scripts["verify"], {**env, "REQUEST_PATH": "/livez"}, SECONDS)
        results["GET /auth/verify, a Prefect route, prefect-read-only (decisions cached)"] = wrk(
            base, scripts["route"], env, SECONDS)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return {"keys": n, "load_seconds": load_s, "results": results, "memory_mb": memory}


def main():
    with tempfile.TemporaryDirectory() as tmp:
        runs = [run(n, tmp) for n in SIZES]
    print(f"wrk -t1 -c{CONNECTIONS} -d{SECONDS}s on loopback; keyward release build, default workers\n")
    for r in runs:
        base = r["results"]["GET /livez (baseline)"]["rps"]
        print(f"### {r['keys']:,} keys and {SERVICE_ACCOUNTS:,} service accounts stored (loaded in {r['load_seconds']:.1f} s)\n")
        print("| endpoint | req/s | p50 ms | p99 ms | ratio to /livez |")
        print("|---|---:|---:|---:|---:|")
        for name, x in r["results"].items():
            # Rows from the second server compare with its own baseline.
            b = r["results"]["GET /livez (baseline), prefect-read-only server"]["rps"] if "prefect-read-only" in name else base
            print(f"| {name} | {x['rps']:,.0f} | {x['p50']:.3f} | {x['p99']:.3f} | {x['rps'] / b:.2f} |")
        print(f"\nResident memory after the run: {r['memory_mb']['VmRSS']:.1f} MB (peak {r['memory_mb']['VmHWM']:.1f} MB)\n")
    if len(runs) >= 2:
        small, large = runs[0], runs[-1]
        key = "GET /auth/verify (random valid keys)"
        p_small, p_large = small["results"][key]["p99"], large["results"][key]["p99"]
        print(f"verify p99: {p_small:.3f} ms with {small['keys']:,} keys, {p_large:.3f} ms with {large['keys']:,} "
              f"({(p_large / p_small - 1) * 100:+.0f}%)")
        for who in ("admin", "user", "service account"):
            key = f"POST /graphql auth_api_key(limit: 10), {who}"
            p_small, p_large = small["results"][key]["p99"], large["results"][key]["p99"]
            print(f"auth_api_key(limit: 10) p99, {who}: {p_small:.3f} ms with {small['keys']:,} keys, "
                  f"{p_large:.3f} ms with {large['keys']:,} ({(p_large / p_small - 1) * 100:+.0f}%)")


if __name__ == "__main__":
    main()
