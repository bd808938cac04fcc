#!/usr/bin/env python3
"""Faults against a running muster, loopback only, bounded in time.

Each fault runs a farm of simulated agents (threads posting heartbeats to the
real API) while an operator moves hosts between roles through the API, then
strikes:

  kill       SIGKILL muster at a random moment while moves drain and commit,
             restart it, again and again
  diskfull   the SQLite file's filesystem (a small tmpfs) filled to the last
             byte mid-run, then freed
  pgrestart  the PostgreSQL server under muster restarted mid-run
  clock      muster's wall clock stepped an hour forward and back (libfaketime)

and checks, every 100 ms from DNS and after every run from the API:

  no pool empty        smtp-out and www always have an address
  no host in two roles no address in both smtp-out and www
  serial never back    the SOA serial never goes backwards (RFC 1982)
  no event lost        every move the API accepted (202) is in the event log

Prints one line per fault: runs, checks made and violations of each rule.
Exit status 1 when any rule was broken. Run through bench/chaos.sh.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

AGENT_TOKEN = "chaos-agent"
ADMIN_TOKEN = "chaos=chaos-admin"
ADMIN_SECRET = "chaos-admin"
ZONE = "lists.example.test"
HOSTS = [f"smurf{i}" for i in range(1, 9)]
ROLES = ["smtp-out", "web"]

POLICY = f"""
zone: {ZONE}
ttl: 1
nameservers: [ns1.{ZONE}]
heartbeat: {{ interval: 500ms, dead_after: 3s, revive_after: 2, panic_threshold: 50% }}
limits: {{ moves_per_tick: 4, moves_per_role: 2, host_cooldown: 1s }}
roles:
  smtp-out: {{ min: 2, records: [ {{ name: smtp-out, type: A }} ] }}
  web: {{ min: 1, records: [ {{ name: www, type: A }} ] }}
enrolment: inventory
hosts:
  - {{ name: ns1, address: 127.0.0.1, static: true }}
""" + "".join(
    f"  - {{ name: smurf{i}, address: 127.0.61.{i}"
    + (", role: smtp-out" if i <= 4 else ", role: web" if i <= 6 else "")
    + " }\n"
    for i in range(1, 9)
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serial_newer(a, b):
    """True when serial a is newer than b (RFC 1982)."""
    return a != b and ((a - b) % 2**32) < 2**31


class Muster:
    """One `muster serve`, restartable, with its own ports."""

    def __init__(self, binary, work, db, env=None):
        self.binary, self.work, self.db = binary, work, db
        self.env = dict(os.environ, MUSTER_LOG="info", **(env or {}))
        self.dns_port, self.api_port = free_port(), free_port()
        self.policy = os.path.join(work, "policy.yaml")
        with open(self.policy, "w") as f:
            f.write(POLICY)
        self.log = open(os.path.join(work, "muster.log"), "ab")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--policy", self.policy, "--db", self.db,
             "--dns-listen", f"127.0.0.1:{self.dns_port}",
             "--api-listen", f"127.0.0.1:{self.api_port}",
             "--agent-token", AGENT_TOKEN, "--admin-token", ADMIN_TOKEN],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, env=self.env)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"muster exited with {self.proc.returncode}; see {self.log.name}")
            if soa_serial(self.dns_port) is not None:
                return
            time.sleep(0.1)
        raise RuntimeError("muster did not answer DNS within 30 s")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def api(self, method, path, body=None, token=ADMIN_SECRET, timeout=3):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.api_port}{path}", data=data, method=method,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, None
        except (OSError, ValueError):
            return None, None


def dns_query(port, name, qtype):
    """The answer section's data for (name, qtype), or None when no answer."""
    out = subprocess.run(
        ["dig", f"@127.0.0.1", "-p", str(port), name, qtype, "+short", "+time=1", "+tries=1"],
        capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return [l for l in out.stdout.splitlines() if l and not l.startswith(";")]


def describe(port, name):
    """The header and answer of a fresh query, for a violation's note."""
    out = subprocess.run(
        ["dig", "@127.0.0.1", "-p", str(port), f"{name}.{ZONE}", "A", "+time=1", "+tries=1",
         "+noquestion", "+nostats", "+nocomments", "+noadditional"],
        capture_output=True, text=True)
    status = next((l for l in out.stdout.splitlines() if "status:" in l), "no reply")
    answer = [l.split()[-1] for l in out.stdout.splitlines() if l and not l.startswith(";") and " A " in l]
    return f"{status.strip()} {answer}"


def soa_serial(port):
    answer = dns_query(port, ZONE, "SOA")
    if not answer:
        return None
    try:
        return int(answer[0].split()[2])
    except (IndexError, ValueError):
        return None


class Agents:
    """Simulated agents: each reports its host's role as the controller says."""

    def __init__(self, muster):
        self.muster, self.stop_flag = muster, threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(h,), daemon=True) for h in HOSTS]

    def run(self, host):
        index = HOSTS.index(host) + 1
        role = "smtp-out" if index <= 4 else "web" if index <= 6 else None
        while not self.stop_flag.is_set():
            status, reply = self.muster.api(
                "POST", "/api/v1/agents/heartbeat",
                {"name": host, "addresses": [f"127.0.61.{index}"], "role": role},
                token=AGENT_TOKEN, timeout=1)
            if status == 200 and reply:
                role = reply.get("role")
            self.stop_flag.wait(0.5)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        for t in self.threads:
            t.join()


class Checker:
    """Samples DNS every 100 ms and counts every rule's checks and violations."""

    def __init__(self, muster):
        self.muster, self.stop_flag = muster, threading.Event()
        self.last_serial = None
        self.checks = {"pool": 0, "two-roles": 0, "serial": 0, "events": 0}
        self.violations = {k: 0 for k in self.checks}
        self.notes = []
        # A new farm has empty pools until its agents first report; the
        # rule holds from the moment each pool was first filled.
        self.filled = set()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def violate(self, rule, what):
        self.violations[rule] += 1
        if len(self.notes) < 20:
            self.notes.append(f"{rule}: {what}")

    def sample(self):
        port = self.muster.dns_port
        serial = soa_serial(port)
        if serial is None:
            return  # not answering (killed, restarting): nothing to judge
        self.checks["serial"] += 1
        if self.last_serial is not None and serial_newer(self.last_serial, serial):
            self.violate("serial", f"{self.last_serial} then {serial}")
        if self.last_serial is None or serial_newer(serial, self.last_serial):
            self.last_serial = serial
        pools = {name: dns_query(port, f"{name}.{ZONE}", "A") for name in ("smtp-out", "www")}
        if any(v is None for v in pools.values()):
            return
        for name, addresses in pools.items():
            if addresses:
                self.filled.add(name)
            if name in self.filled:
                self.checks["pool"] += 1
                if not addresses:
                    self.violate("pool", f"{name} empty at serial {serial}; asked again: {describe(port, name)}")
        self.checks["two-roles"] += 1
        both = set(pools["smtp-out"]) & set(pools["www"])
        if both:
            self.violate("two-roles", f"{sorted(both)} in smtp-out and www at serial {serial}")

    def run(self):
        while not self.stop_flag.is_set():
            self.sample()
            self.stop_flag.wait(0.1)

    def check_events(self, accepted):
        """Every accepted move has its event, whatever happened since."""
        for host, role, at in accepted:
            self.checks["events"] += 1
            status, events = self.muster.api("GET", f"/api/v1/events?host={host}&limit=1000", timeout=10)
            if status != 200:
                self.violate("events", f"event log unreadable ({status})")
                continue
            if not any(e.get("actor") == "chaos" and e.get("to") == role for e in events):
                self.violate("events", f"accepted move of {host} to {role} at {at:.1f} not in the log")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join()


def operate(muster, accepted, seconds, rng, strike=None, strike_at=None):
    """Moves hosts for `seconds`; calls `strike` once, `strike_at` seconds in."""
    started = time.time()
    struck = False
    while time.time() - started < seconds:
        if strike and not struck and time.time() - started >= strike_at:
            strike()
            struck = True
        if muster.running():
            host, role = rng.choice(HOSTS), rng.choice(ROLES)
            status, _ = muster.api("POST", f"/api/v1/hosts/{host}/move", {"role": role})
            if status == 202:
                accepted.append((host, role, time.time()))
        time.sleep(rng.uniform(0.05, 0.3))


def wait_running(muster, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline and soa_serial(muster.dns_port) is None:
        time.sleep(0.1)


def fault_kill(args, binary, work, rng):
    muster = Muster(binary, work, f"sqlite://{work}/muster.db")
    muster.start()
    accepted = []
    with Agents(muster), Checker(muster) as checker:
        time.sleep(2)
        for _ in range(args.runs):
            def strike():
                muster.kill()
                muster.start()
            operate(muster, accepted, 4, rng, strike, rng.uniform(0.5, 3.5))
        time.sleep(2)
        checker.check_events(accepted)
    muster.stop()
    return args.runs, checker, len(accepted)


def fault_diskfull(args, binary, work, rng):
    mnt = os.path.join(work, "tmpfs")
    os.makedirs(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt], check=True)
    try:
        muster = Muster(binary, work, f"sqlite://{mnt}/muster.db")
        muster.start()
        accepted = []
        with Agents(muster), Checker(muster) as checker:
            time.sleep(2)
            for _ in range(args.runs):
                filler = os.path.join(mnt, "filler")
                def fill():
                    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"],
                                   stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
                operate(muster, accepted, 6, rng, fill, 1.0)
                os.remove(filler)
                operate(muster, accepted, 3, rng)
                if not muster.running():
                    checker.violate("pool", "muster exited on a full disk")
                    muster.start()
            time.sleep(2)
            checker.check_events(accepted)
        muster.stop()
    finally:
        subprocess.run(["umount", "-l", mnt])
    return args.runs, checker, len(accepted)


def pg_bin():
    for base in sorted(os.listdir("/usr/lib/postgresql"), reverse=True):
        path = f"/usr/lib/postgresql/{base}/bin"
        if os.path.exists(f"{path}/pg_ctl"):
            return path
    raise RuntimeError("no PostgreSQL server (apt-get install postgresql)")


def fault_pgrestart(args, binary, work, rng):
    pgdata, port, bin_dir = os.path.join(work, "pg"), free_port(), pg_bin()
    os.makedirs(pgdata)
    shutil.chown(pgdata, "postgres")
    os.chmod(work, 0o755)
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run(as_pg + [f"{bin_dir}/initdb", "-D", pgdata, "-A", "trust"], check=True,
                   stdout=subprocess.DEVNULL)
    opts = f"-p {port} -k {pgdata} -c listen_addresses=127.0.0.1"
    ctl = as_pg + [f"{bin_dir}/pg_ctl", "-D", pgdata, "-o", opts, "-l", f"{pgdata}/log", "-w"]
    subprocess.run(ctl + ["start"], check=True, stdout=subprocess.DEVNULL)
    try:
        muster = Muster(binary, work, f"postgres://postgres@127.0.0.1:{port}/postgres")
        muster.start()
        accepted = []
        with Agents(muster), Checker(muster) as checker:
            time.sleep(2)
            for _ in range(args.runs):
                def restart():
                    subprocess.run(ctl + ["-m", "immediate", "restart"], stdout=subprocess.DEVNULL)
                operate(muster, accepted, 8, rng, restart, rng.uniform(1, 3))
                if not muster.running():
                    checker.violate("pool", "muster exited when PostgreSQL restarted")
                    muster.start()
            time.sleep(2)
            checker.check_events(accepted)
        muster.stop()
    finally:
        subprocess.run(ctl + ["-m", "immediate", "stop"], stdout=subprocess.DEVNULL)
    return args.runs, checker, len(accepted)


def fault_clock(args, binary, work, rng):
    lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
    if not os.path.exists(lib):
        raise RuntimeError("no libfaketime (apt-get install libfaketime)")
    offset = os.path.join(work, "faketime")
    with open(offset, "w") as f:
        f.write("+0\n")
    env = {"LD_PRELOAD": lib, "FAKETIME_TIMESTAMP_FILE": offset, "FAKETIME_NO_CACHE": "1",
           "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    muster = Muster(binary, work, f"sqlite://{work}/muster.db", env)
    muster.start()
    accepted = []
    with Agents(muster), Checker(muster) as checker:
        time.sleep(2)
        for step in ["+3600", "+0", "-3600", "+0"][: max(args.runs, 1)] * max(1, args.runs // 4):
            def jump(step=step):
                with open(offset, "w") as f:
                    f.write(f"{step}\n")
            operate(muster, accepted, 5, rng, jump, rng.uniform(0.5, 2))
            if not muster.running():
                checker.violate("pool", f"muster exited when the clock stepped {step} s")
                muster.start()
        time.sleep(2)
        checker.check_events(accepted)
    muster.stop()
    return args.runs, checker, len(accepted)


FAULTS = {"kill": fault_kill, "diskfull": fault_diskfull, "pgrestart": fault_pgrestart,
          "clock": fault_clock}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--muster", required=True, help="the muster binary")
    parser.add_argument("--runs", type=int, default=4, help="strikes per fault")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("faults", nargs="*", default=list(FAULTS))
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    print(f"seed {seed} (--seed {seed} repeats the operator's choices)")
    broken = False
    for name in args.faults:
        rng = random.Random(seed)
        work = tempfile.mkdtemp(prefix=f"muster-chaos-{name}-")
        started = time.time()
        try:
            runs, checker, moves = FAULTS[name](args, args.muster, work, rng)
        except Exception as e:  # a fault that could not be set up is a failure, said plainly
            print(f"{name:10} could not run: {e}")
            broken = True
            continue
        total = sum(checker.violations.values())
        broken |= total > 0
        rules = ", ".join(f"{k} {checker.checks[k]}/{checker.violations[k]}" for k in checker.checks)
        print(f"{name:10} runs {runs}, moves accepted {moves}, checks/violations: {rules} "
              f"({time.time() - started:.0f} s)")
        for note in checker.notes:
            print(f"           {note}")
        if total:
            print(f"           log kept in {work}/muster.log")
        else:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
