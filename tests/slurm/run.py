"""Sweeps on a real Slurm: a single-node cluster (munge, slurmctld, slurmd from Debian's
packages, its slurm.conf in a temporary folder) started by this script and stopped by pid.

Checks, each against an unsharded sweep of the same spec (check 2 on a longer one):
  1. `dclab sweep slurm` + `sbatch` into an output folder that does not exist yet: the array of
     3 shards runs, `dclab sweep merge` gives rows identical to the unsharded sweep;
  2. `scancel` of one array task mid-run, `dclab sweep merge` while the others still run (it
     takes only finished rows and says which shards are incomplete), `sbatch --array=i` of the
     cancelled task: it resumes from its checkpoint, and the merge loses and duplicates nothing;
  3. a task whose node lacks the corpus, and one whose binary is missing, fail with a clear
     message in their logs.
Where Slurm cannot be installed or started (not root, no apt), it says why and exits 0, or 1
under CI=true. Usage: run.py DCLAB_BIN [--report FILE]
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.path.realpath(sys.argv[1])
REPORT = sys.argv[sys.argv.index("--report") + 1] if "--report" in sys.argv else None
PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
SPEC = """
name = "slurm-micro"
corpus = "{corpus}"
tokenizer = "char"
seq_len = 16
objectives = ["ar", "diffusion"]
models = {models}
unique_tokens = [2040, 6120]
epochs = {epochs}

[train]
batch_size = 8
lr = 3e-3
eval_every = 5
eval_sequences = 4
eval_draws = 2
precise_eval_sequences = 8
precise_eval_draws = 2
"""
# The spec of checks 1 and 3, and the longer one of check 2, whose costliest run (5400 steps,
# ~6 s) leaves time to be caught and cancelled mid-run: with check 1's spec a whole shard ran in
# about 1 s, and a CI machine once finished it before the poll saw it.
SHORT = dict(models='["16,2,1", "32,2,1"]', epochs="[1, 6]")
LONG = dict(models='["16,2,1"]', epochs="[1, 120]")
report = {}


def say(msg):
    print(f"slurm: {msg}", flush=True)


def skip(why):
    say(f"SKIPPED: {why}")
    if os.environ.get("CI", "") not in ("", "0", "false"):
        say("CI treats a skipped Slurm test as a failure")
        sys.exit(1)
    sys.exit(0)


def run(cmd, check=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise SystemExit(f"slurm: `{' '.join(map(str, cmd))}` failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def install():
    if all(shutil.which(c) for c in ["slurmctld", "slurmd", "munged", "sbatch", "squeue", "scancel"]):
        return 0.0
    if os.geteuid() != 0:
        skip("Slurm is not installed and this is not root (apt-get install needs root)")
    if not shutil.which("apt-get"):
        skip("Slurm is not installed and there is no apt-get")
    t0 = time.time()
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES]):
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if p.returncode != 0:
            skip(f"`{' '.join(cmd)}` failed: {p.stderr.strip()[-500:]}")
    return time.time() - t0


def free_ports(n):
    """n distinct free ports (all bound at once while they are picked)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Cluster:
    """munged, slurmctld and slurmd in the foreground, so their pids are ours to stop."""

    def __init__(self, root):
        self.root = root
        self.procs = []
        self.host = socket.gethostname().split(".")[0]
        self.conf = os.path.join(root, "slurm.conf")
        self.socket = os.path.join(root, "munge", "munge.socket")
        self.env = dict(os.environ, SLURM_CONF=self.conf)

    def write_conf(self):
        for d in ("munge", "state", "spool"):
            os.makedirs(os.path.join(self.root, d), mode=0o700, exist_ok=True)
        key = os.path.join(self.root, "munge", "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o600)
        r = self.root
        ctld_port, d_port = free_ports(2)
        cpus = min(2, os.cpu_count() or 1)
        conf = f"""ClusterName=dclabtest
SlurmctldHost={self.host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.socket}
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/slurmctld.log
SlurmdLogFile={r}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=2
MinJobAge=5
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
"""
        with open(self.conf, "w") as f:
            f.write(conf)
        return key

    def start(self):
        key = self.write_conf()
        r = self.root
        daemons = [
            ["munged", "-F", "--force", f"--key-file={key}", f"--socket={self.socket}", f"--pid-file={r}/munge/munged.pid",
             f"--log-file={r}/munge/munged.log", f"--seed-file={r}/munge/munged.seed"],
            ["slurmctld", "-D", "-i", "-f", self.conf],
            ["slurmd", "-D", "-f", self.conf, "-N", self.host],
        ]
        for cmd in daemons:
            log = open(os.path.join(r, os.path.basename(cmd[0]) + ".out"), "w")
            try:
                self.procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True))
            except OSError as e:
                self.stop()
                skip(f"cannot start {cmd[0]}: {e}")
            if cmd[0] == "munged":
                wait_for(lambda: os.path.exists(self.socket), 20, "munged's socket")
        wait_for(lambda: self.node_state() in ("idle", "mixed", "allocated"), 60, "the node to come up", self.tails)

    def node_state(self):
        p = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], capture_output=True, text=True, env=self.env)
        return p.stdout.strip().rstrip("*~#") if p.returncode == 0 else ""

    def tails(self):
        out = []
        for name in ("slurmctld.log", "slurmd.log", "slurmctld.out", "slurmd.out", "munged.out"):
            p = os.path.join(self.root, name)
            if os.path.exists(p):
                out.append(f"--- {name}\n" + open(p).read()[-1500:])
        return "\n".join(out)

    def stop(self):
        """Cancels this cluster's jobs, then stops exactly the daemons this object started, by
        pid, newest first."""
        if self.procs:
            subprocess.run(["scancel", "--user", str(os.getuid())], capture_output=True, env=self.env)
            t0 = time.time()
            while time.time() - t0 < 20 and subprocess.run(["squeue", "-h"], capture_output=True, text=True, env=self.env).stdout.strip():
                time.sleep(0.2)
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []


def wait_for(cond, timeout, what, detail=lambda: "", poll=0.2):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if cond():
            return time.time() - t0
        time.sleep(poll)
    raise SystemExit(f"slurm: timed out after {timeout} s waiting for {what}\n{detail()}")


def squeue(cluster, job):
    """Array tasks of `job` still known to Slurm, as {task: state}, from squeue alone."""
    p = run(["squeue", "-h", "-r", "-j", str(job), "-o", "%K %T"], check=False, env=cluster.env)
    tasks = {}
    for line in p.stdout.split("\n"):
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit():
            tasks[int(parts[0])] = parts[1]
    return tasks


def wait_job(cluster, job, timeout=600):
    # Finished tasks leave squeue's list (MinJobAge later), which is all the polling needs.
    return wait_for(lambda: not any(s in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING") for s in squeue(cluster, job).values()), timeout, f"job {job}", cluster.tails)


def sbatch(cluster, script, *args, env=None):
    e = dict(cluster.env, **(env or {}))
    return int(run(["sbatch", "--parsable", *args, script], env=e).stdout.strip().split(";")[0])


def table(folder):
    """The sweep table's rows keyed by run id, timing and curve path left out."""
    import csv
    with open(os.path.join(folder, "runs.csv")) as f:
        out = {}
        for r in csv.DictReader(f):
            for k in list(r):
                if k in ("curve", "wall_seconds", "tokens_per_second") or "seconds" in k:
                    r.pop(k)
            out[r["run_id"]] = r
        return out


def main():
    t_install = install()
    with tempfile.TemporaryDirectory(prefix="dclab-slurm-", ignore_cleanup_errors=True) as tmp:
        cluster = Cluster(os.path.join(tmp, "cluster"))
        t0 = time.time()
        try:
            cluster.start()
            report["cluster_install_s"] = round(t_install, 1)
            report["cluster_start_s"] = round(time.time() - t0, 1)
            say(f"single-node cluster up on {cluster.host} in {report['cluster_start_s']} s (install {report['cluster_install_s']} s)")
            scenarios(cluster, tmp)
        finally:
            cluster.stop()
    print(json.dumps(report, indent=1))
    if REPORT:
        with open(REPORT, "w") as f:
            json.dump(report, f, indent=1)
    say("all checks passed")


def scenarios(cluster, tmp):
    cache = os.environ.get("DCLAB_CACHE") or os.path.join(tmp, "cache")
    os.makedirs(cache, exist_ok=True)
    spec = os.path.join(tmp, "spec.toml")
    with open(spec, "w") as f:
        f.write(SPEC.format(corpus="sample", **SHORT))
    env = dict(os.environ, DCLAB_CACHE=cache, BURN_DEVICE="cpu")

    t0 = time.time()
    run([BIN, "sweep", spec, "--out", os.path.join(tmp, "base"), "--device", "cpu"], env=env)
    report["unsharded_s"] = round(time.time() - t0, 1)
    base = table(os.path.join(tmp, "base"))
    say(f"unsharded sweep: {len(base)} runs in {report['unsharded_s']} s")

    def script(spec, out, name):
        path = os.path.join(tmp, name)
        run([BIN, "sweep", "slurm", spec, "--shards", "3", "--out", out, "--script", path, "--cpus", "1", "--gpus", "0",
             "--device", "cpu", "--binary", BIN, "--time", "00:30:00"], env=env)
        return path

    # 1. The first submission, into a folder nothing has created by hand.
    out1 = os.path.join(tmp, "first", "out")
    job_sh = script(spec, out1, "job.sh")
    t0 = time.time()
    job = sbatch(cluster, job_sh, env={"DCLAB_CACHE": cache})
    wait_job(cluster, job)
    report["array_s"] = round(time.time() - t0, 1)
    logs = sorted(f for f in os.listdir(out1) if f.startswith("slurm-"))
    assert len(logs) == 3, f"expected 3 shard logs in {out1}, got {logs}"
    run([BIN, "sweep", "merge", *[os.path.join(out1, f"shard-{i}") for i in range(3)], "--out", out1])
    merged = table(out1)
    assert merged == base, f"the array's merged rows differ from the unsharded sweep:\n{sorted(merged)}\n{sorted(base)}"
    say(f"array of 3 shards: {len(merged)} rows identical to the unsharded sweep, {report['array_s']} s (unsharded {report['unsharded_s']} s)")

    # 2. Merge while the tasks run, cancel one mid-run, resubmit it (the longer spec).
    long_spec = os.path.join(tmp, "long.toml")
    with open(long_spec, "w") as f:
        f.write(SPEC.format(corpus="sample", **LONG))
    t0 = time.time()
    run([BIN, "sweep", long_spec, "--out", os.path.join(tmp, "long-base"), "--device", "cpu"], env=env)
    report["long_unsharded_s"] = round(time.time() - t0, 1)
    base = table(os.path.join(tmp, "long-base"))
    out2 = os.path.join(tmp, "killed")
    job_sh = script(long_spec, out2, "job2.sh")
    job = sbatch(cluster, job_sh, env={"DCLAB_CACHE": cache})
    victim = 1
    shard = os.path.join(out2, f"shard-{victim}")

    # The shard's costliest run (its plan is cheapest first) is the one to interrupt: caught in
    # the first quarter of its steps (its length from the unsharded sweep), it has seconds left,
    # far more than scancel needs.
    wait_for(lambda: os.path.exists(os.path.join(shard, "plan.json")), 120, f"shard {victim} to start", cluster.tails)
    target = json.load(open(os.path.join(shard, "plan.json")))["runs"][-1]
    run_dir = os.path.join(shard, "runs", target)
    quarter = json.load(open(os.path.join(tmp, "long-base", "runs", target, "summary.json")))["steps"] // 4

    def mid_run():
        try:
            step = json.load(open(os.path.join(run_dir, "checkpoints", "last", "state.json")))["step"]
        except (OSError, ValueError, KeyError):
            return False
        return step <= quarter and not os.path.exists(os.path.join(run_dir, "summary.json"))

    wait_for(mid_run, 300, f"run {target} of shard {victim} to be in its first {quarter} steps", cluster.tails, poll=0.05)
    run(["scancel", f"{job}_{victim}"], env=cluster.env)
    # Merge while the other tasks run (and this one is stopped), as OUT/shard-* expands.
    started = [os.path.join(out2, d) for d in sorted(os.listdir(out2)) if d.startswith("shard-")]
    p = run([BIN, "sweep", "merge", *started, "--out", os.path.join(out2, "partial")], env=env)
    said = p.stdout + p.stderr
    assert "still running or stopped" in said and f"shard-{victim}" in said, f"merge while running did not say which shards are incomplete:\n{said}"
    partial = table(os.path.join(out2, "partial"))
    assert all(base[k] == v for k, v in partial.items()), "a partial merge holds a row that differs from the unsharded sweep"
    report["merge_while_running"] = said.strip().split("\n")
    report["tasks_running_during_merge"] = squeue(cluster, job)
    wait_for(lambda: victim not in squeue(cluster, job), 60, "the cancelled task to leave the queue")
    killed_rows = len(table(shard)) if os.path.exists(os.path.join(shard, "runs.csv")) else 0
    wait_job(cluster, job)
    again = sbatch(cluster, job_sh, f"--array={victim}", env={"DCLAB_CACHE": cache})
    wait_job(cluster, again)
    log = open(os.path.join(out2, f"slurm-{again}_{victim}.log")).read()
    assert "resuming from" in log, f"the resubmitted task did not resume from its checkpoint:\n{log[-2000:]}"
    run([BIN, "sweep", "merge", *[os.path.join(out2, f"shard-{i}") for i in range(3)], "--out", out2])
    merged = table(out2)
    assert merged == base, "after scancel and resubmission the merged rows differ from the unsharded sweep"
    resumed = [line for line in log.split("\n") if "resuming from" in line]
    report["kill_and_resubmit"] = {"rows_in_cancelled_shard_at_cancel": killed_rows, "resumed": resumed, "merged_rows": len(merged)}
    say(f"scancel of task {victim} with {killed_rows} runs finished, resubmitted: {resumed[0].strip()}; merged {len(merged)} rows, none lost or duplicated")

    # 3. A node without the corpus, and one without the binary.
    pd_spec = os.path.join(tmp, "pdlit.toml")
    with open(pd_spec, "w") as f:
        f.write(SPEC.format(corpus="pdlit", **SHORT))
    out3 = os.path.join(tmp, "nocorpus")
    bare = os.path.join(tmp, "bare-cache")
    os.makedirs(bare)
    path = os.path.join(tmp, "job3.sh")
    run([BIN, "sweep", "slurm", pd_spec, "--shards", "1", "--out", out3, "--script", path, "--cpus", "1", "--gpus", "0",
         "--device", "cpu", "--binary", BIN, "--cache", bare], env=dict(env, DCLAB_CACHE=bare))
    job = sbatch(cluster, path, env={"DCLAB_CACHE": bare})
    wait_job(cluster, job)
    log = open(os.path.join(out3, f"slurm-{job}_0.log")).read()
    assert "corpus 'pdlit' is not fetched" in log and "dclab data fetch pdlit" in log, f"no clear message for a missing corpus:\n{log}"
    job = sbatch(cluster, path, env={"DCLAB_CACHE": bare, "DCLAB_BIN": "/nonexistent/dclab"})
    wait_job(cluster, job)
    log2 = open(os.path.join(out3, f"slurm-{job}_0.log")).read()
    assert "/nonexistent/dclab" in log2 and "missing" in log2, f"no clear message for a missing binary:\n{log2}"
    report["missing_corpus_log"] = [l for l in log.split("\n") if "pdlit" in l][-1:]
    report["missing_binary_log"] = log2.strip().split("\n")[-1:]
    say("missing corpus and missing binary: clear messages in the task logs")


if __name__ == "__main__":
    main()
