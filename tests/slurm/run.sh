#!/usr/bin/env bash
# Smoke workflow through a real, single-node SLURM on this machine.
#
# Starts a private munged, slurmctld and slurmd (one node: this machine's CPUs and memory, one
# partition), derives a site profile from profiles/slurm/config.yaml the way a user would (fills
# the placeholders, caps memory and threads at what this node has), runs config/smoke.yaml through
# snakemake-executor-plugin-slurm, and checks that every job that runs a script went through
# SLURM: one SLURM job id per job in Snakemake's log, one SLURM log file per job naming its job id,
# every job known to slurmctld as COMPLETED. Stops the daemons it started and removes its temp dir
# on exit (KEEP=1 keeps it: daemon logs, derived profile, Snakemake log, work dir).
#
# Run:   bash tests/slurm/run.sh           (in the project's Python environment; PYTHON=... to pick one)
# Needs: root (daemons, /etc/munge) and apt (installs Debian's slurm-wlm and munge if absent);
#        network for the workflow's phonopy download, as for any smoke run.
# Takes: 11-14 minutes on two cores, up to 20 on a busy machine (3-4 minutes locally): 62 SLURM
#        jobs, each paying ~8 s of Snakemake start-up inside the job, one or two at a time.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-python}
PARTITION=debug
# Not SLURM's default ports, so a system SLURM on this machine is left alone.
CTLD_PORT=${CTLD_PORT:-16817}
SLURMD_PORT=${SLURMD_PORT:-16818}
SCRIPT_START=$SECONDS

die() { echo "FAIL: $*" >&2; exit 1; }
say() { echo "== $*"; }

[[ $EUID -eq 0 ]] || die "must run as root (starts munged/slurmctld/slurmd)"
"$PYTHON" -c "import snakemake, snakemake_executor_plugin_slurm" 2>/dev/null \
    || die "$PYTHON lacks snakemake or snakemake-executor-plugin-slurm; activate the project's environment"

# --- 1. SLURM and munge from Debian -------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null \
        || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive \
             apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null; }
fi

# --- 2. Private cluster in a temp dir ---------------------------------------------------------
TMP=$(mktemp -d /tmp/ffdiff-slurm.XXXXXX)
chmod 755 "$TMP"  # munged wants every directory above its socket searchable by all
mkdir -p "$TMP"/{munge,state,spool,log,run,work}
export SLURM_CONF=$TMP/slurm.conf  # how sinfo, sbatch, squeue here (and the jobs) find this cluster

# --- 3. Clean-up on exit ------------------------------------------------------------------------
# Stop only what this script started, found through its own pid files; the comm check guards
# against a pid that was reused after the daemon died.
stop_pidfile() {  # <pidfile> <process name>
    local pid
    [[ -s $1 ]] || return 0
    pid=$(<"$1")
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
    echo "$2 ($pid) ignored SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    set +e
    # Jobs left by an interrupted run would otherwise outlive slurmd (slurmstepd keeps them).
    if [[ -s $TMP/run/slurmctld.pid ]]; then
        scancel --full $(squeue -h -o %i 2>/dev/null) 2>/dev/null
        for _ in $(seq 20); do [[ -z $(squeue -h -t running,completing -o %i 2>/dev/null) ]] && break; sleep 0.5; done
    fi
    stop_pidfile "$TMP/run/slurmd.pid" slurmd
    stop_pidfile "$TMP/run/slurmctld.pid" slurmctld
    stop_pidfile "$TMP/munge/munged.pid" munged
    if [[ ${KEEP:-0} == 1 ]]; then
        echo "kept $TMP (daemon logs in log/, run in work/)"
    else
        rm -rf "$TMP"
        ((rc == 0)) || echo "(rerun with KEEP=1 to keep the daemon logs and the work dir)" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # run the EXIT trap on Ctrl-C too

# munge: the key Debian's package creates, else a new one. munged runs as root on its own socket,
# so a system munged and this test never meet; as root it calls the munge-owned key "insecure"
# and stops, which --force turns into a warning.
if [[ ! -s /etc/munge/munge.key ]]; then
    mkdir -p /etc/munge
    mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null \
        || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    chown munge:munge /etc/munge/munge.key 2>/dev/null || true
    chmod 400 /etc/munge/munge.key
fi
MUNGE_SOCKET=$TMP/munge/munge.socket
munged --force --socket="$MUNGE_SOCKET" --pid-file="$TMP/munge/munged.pid" \
    --log-file="$TMP/munge/munged.log" --seed-file="$TMP/munge/munged.seed" \
    || { cat "$TMP/munge/munged.log" >&2; die "munged did not start"; }
munge -S "$MUNGE_SOCKET" -n </dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null \
    || { cat "$TMP/munge/munged.log" >&2; die "munge credential round trip failed"; }

NODE=$(hostname -s)
NCPUS=$(nproc)
MEM_TOTAL=$(free -m | awk '/^Mem:/ {print $2}')
# Under the total: slurmd drains a node whose configured memory exceeds what it measures.
REAL_MEMORY=$((MEM_TOTAL * 97 / 100))
cat >"$SLURM_CONF" <<EOF
ClusterName=ffdifftest
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldLogFile=$TMP/log/slurmctld.log
SlurmdLogFile=$TMP/log/slurmd.log
SlurmctldPidFile=$TMP/run/slurmctld.pid
SlurmdPidFile=$TMP/run/slurmd.pid
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
# No accounting here, so squeue is the only status source: finished jobs must stay visible to it
# for the whole run (the plugin also falls back to sacct when MinJobAge is short).
MinJobAge=3600
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$NCPUS RealMemory=$REAL_MEMORY State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

show_daemon_logs() {
    for f in "$TMP"/log/*.log "$TMP/munge/munged.log"; do
        [[ -f $f ]] && { echo "--- $f" >&2; tail -n 40 "$f" >&2; }
    done
}
say "starting slurmctld and slurmd (node $NODE: $NCPUS CPUs, RealMemory=$REAL_MEMORY MB of $MEM_TOTAL)"
slurmctld -f "$SLURM_CONF" || { show_daemon_logs; die "slurmctld did not start"; }
slurmd -f "$SLURM_CONF" || { show_daemon_logs; die "slurmd did not start"; }
state=
for _ in $(seq 60); do
    if scontrol ping 2>/dev/null | grep -q 'is UP'; then
        state=$(sinfo -h -N -n "$NODE" -o %T 2>/dev/null || true)
        [[ $state == idle ]] && break
    fi
    sleep 1
done
[[ $state == idle ]] || { show_daemon_logs; sinfo -N -l >&2 || true; die "node $NODE not idle after 60 s (state: '${state:-no answer}')"; }
sinfo

# --- 4. Site profile derived from profiles/slurm ------------------------------------------------
PROFILE=$TMP/profile
cp -r "$REPO/profiles/slurm" "$PROFILE"
say "deriving $PROFILE from profiles/slurm/config.yaml"
"$PYTHON" - "$PROFILE/config.yaml" "$PARTITION" "$REAL_MEMORY" "$NCPUS" <<'EOF'
import sys
import yaml

path, partition, real_memory, ncpus = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(path) as f:
    profile = yaml.safe_load(f)

def change(what):
    print(f"  {what}")

# The site's only partition stands in for both the CPU and the GPU partition.
PLACEHOLDERS = {"<cpu-partition>": partition, "<gpu-partition>": partition}

def fix_resources(where, res):
    if "slurm_account" in res:
        # This SLURM has no accounts; the run passes --slurm-no-account instead.
        change(f"{where}: dropped slurm_account={res.pop('slurm_account')!r} (--slurm-no-account)")
    for key, value in list(res.items()):
        if isinstance(value, str) and value in PLACEHOLDERS:
            res[key] = PLACEHOLDERS[value]
            change(f"{where}: {key} {value} -> {res[key]}")
    if "gres" in res:
        change(f"{where}: dropped gres={res.pop('gres')!r} (this node has no GPUs)")
    if isinstance(res.get("mem_mb"), int) and res["mem_mb"] > real_memory:
        change(f"{where}: mem_mb {res['mem_mb']} -> {real_memory} (node RealMemory)")
        res["mem_mb"] = real_memory

fix_resources("default-resources", profile.get("default-resources", {}))
for rule, res in profile.get("set-resources", {}).items():
    fix_resources(f"set-resources.{rule}", res)
for rule, threads in profile.get("set-threads", {}).items():
    if threads > ncpus:
        change(f"set-threads.{rule}: {threads} -> {ncpus} (node CPUs)")
        profile["set-threads"][rule] = ncpus

left = [line for line in yaml.safe_dump(profile).splitlines() if "<" in line and ">" in line]
if left:
    sys.exit(f"placeholders left in the derived profile: {left}")
with open(path, "w") as f:
    yaml.safe_dump(profile, f, sort_keys=False)
EOF

# --- 5. The smoke workflow through SLURM --------------------------------------------------------
# The jobstep executor inside each SLURM job strips every SLURM_* variable, SLURM_CONF included,
# before its nested srun (snakemake-executor-plugin-slurm-jobstep 0.6.1); that srun then looks
# for /etc/slurm/slurm.conf, which this private cluster does not use. An srun early on PATH
# (sbatch exports PATH to the job) puts SLURM_CONF back.
mkdir -p "$TMP/bin"
# It also names the job it runs in, in that job's SLURM log (stderr goes there).
printf '#!/bin/sh\necho "srun in SLURM job $SLURM_JOB_ID" >&2\nSLURM_CONF=%q exec %q "$@"\n' \
    "$SLURM_CONF" "$(command -v srun)" >"$TMP/bin/srun"
chmod +x "$TMP/bin/srun"
export PATH=$TMP/bin:$PATH

WORK=$TMP/work
LOG=$TMP/snakemake.log
say "running the smoke workflow in $WORK (log: $LOG)"
SMK_START=$SECONDS
rc=0
# From inside the work dir, so the plugin's relative .snakemake/slurm_logs lands there.
(cd "$WORK" && "$PYTHON" -m snakemake -s "$REPO/Snakefile" -d "$WORK" \
    --configfile "$REPO/config/smoke.yaml" --profile "$PROFILE" \
    --slurm-status-command squeue --slurm-no-account \
    --slurm-init-seconds-before-status-checks 5 --slurm-keep-successful-logs) 2>&1 | tee "$LOG" || rc=$?
SMK_WALL=$((SECONDS - SMK_START))

# --- 6. Checks ------------------------------------------------------------------------------------
((rc == 0)) || die "snakemake exited $rc (log: $LOG)"

for out in results/tables/potentials_check.md results/tables/fit_summary.md \
           results/tables/elastic_fit.csv results/tables/phonon_fit.csv results/tables/multi_fit.csv \
           results/tables/lammps_check.csv results/tables/gnn_metrics.md results/figures/gnn_rdf.png; do
    [[ -s $WORK/$out ]] || die "expected output $out missing or empty"
done

# Which jobs Snakemake handed to SLURM and which it ran itself. The project declares no localrules,
# but Snakemake runs action-less rules such as 'all' in the main process ("localrule all:"); every
# other finished job must have exactly one SLURM submission. Submitted jobs print
#   Job <n> has been submitted with SLURM jobid <id> (log: <path>).
# and every finished one "Finished jobid: <n> (Rule: <rule>)".
declare -A SUBMITTED_AS SLURM_LOG SMK_RULE
JOBIDS=()
re_sub='^Job ([0-9]+) has been submitted with SLURM jobid ([0-9]+) \(log: (.*)\)\.$'
re_fin='^Finished jobid: ([0-9]+) \(Rule: ([A-Za-z0-9_]+)\)'
while IFS= read -r line; do
    if [[ $line =~ $re_sub ]]; then
        [[ -z ${SUBMITTED_AS[${BASH_REMATCH[1]}]:-} ]] \
            || die "Snakemake job ${BASH_REMATCH[1]} submitted twice (a failed attempt was retried)"
        SUBMITTED_AS[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
        SLURM_LOG[${BASH_REMATCH[2]}]=${BASH_REMATCH[3]}
        JOBIDS+=("${BASH_REMATCH[2]}")
    elif [[ $line =~ $re_fin ]]; then
        SMK_RULE[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    fi
done <"$LOG"
mapfile -t LOCAL_RULES < <(sed -nE 's/^localrule ([A-Za-z0-9_]+):.*/\1/p' "$LOG" | sort -u)
((${#JOBIDS[@]} > 0)) || die "no 'submitted with SLURM jobid' line in $LOG"
grep -qE '^([0-9]+) of \1 steps \(100%\) done' "$LOG" || die "Snakemake did not report 100% done"
n_local=0
for job in "${!SMK_RULE[@]}"; do
    if [[ " ${LOCAL_RULES[*]} " == *" ${SMK_RULE[$job]} "* ]]; then
        n_local=$((n_local + 1))
    else
        [[ -n ${SUBMITTED_AS[$job]:-} ]] || die "job $job (${SMK_RULE[$job]}) finished without a SLURM submission"
    fi
done
n_remote=$((${#SMK_RULE[@]} - n_local))
((${#JOBIDS[@]} == n_remote)) \
    || die "${#JOBIDS[@]} SLURM job ids but $n_remote finished jobs outside localrules (${LOCAL_RULES[*]})"

# slurmctld's own record of every job: id|state|elapsed|comment (the plugin's comment is
# rule_<rule>[_wildcards_<wildcards>]).
declare -A STATE ELAPSED COMMENT
while IFS='|' read -r id st el comment; do
    STATE[$id]=$st; ELAPSED[$id]=$el; COMMENT[$id]=$comment
done < <(squeue -h -t all -o '%i|%T|%M|%k')
((${#STATE[@]} == ${#JOBIDS[@]})) \
    || die "slurmctld knows ${#STATE[@]} jobs, Snakemake reported ${#JOBIDS[@]}"

# SLURM itself writes each job's output to the plugin's
# .snakemake/slurm_logs/rule_<rule>/[<wildcards>/]<jobid>.log (%j filled in by SLURM); the srun
# wrapper above adds a line naming the job id it ran under (SLURM_JOB_ID, set by slurmd).
printf '\n%-6s %-10s %-9s %s\n' jobid state elapsed "rule (wildcards)"
for id in "${JOBIDS[@]}"; do
    [[ -n ${STATE[$id]:-} ]] || die "SLURM job $id from Snakemake's log unknown to slurmctld"
    [[ ${STATE[$id]} == COMPLETED ]] || die "SLURM job $id (${COMMENT[$id]}) ended ${STATE[$id]}"
    f=${SLURM_LOG[$id]}
    [[ $f == "$WORK/.snakemake/slurm_logs/rule_"*"/$id.log" ]] || die "unexpected SLURM log path for job $id: $f"
    [[ -s $f ]] || die "SLURM log of job $id missing or empty: $f"
    grep -qx "srun in SLURM job $id" "$f" || die "SLURM log of job $id does not name job $id: $f"
    printf '%-6s %-10s %-9s %s\n' "$id" "${STATE[$id]}" "${ELAPSED[$id]}" "${COMMENT[$id]#rule_}"
done
SCRIPT_WALL=$((SECONDS - SCRIPT_START))
echo
read -r first last < <(printf '%s\n' "${JOBIDS[@]}" | sort -n | sed -n '1p;$p' | xargs)
say "PASS: ${#JOBIDS[@]} jobs ran through SLURM (ids $first..$last), each with its SLURM log;" \
    "$n_local ran in Snakemake itself (${LOCAL_RULES[*]})"
say "wall time: snakemake ${SMK_WALL} s, whole script ${SCRIPT_WALL} s (before cleanup)"
