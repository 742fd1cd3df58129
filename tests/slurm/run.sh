#!/usr/bin/env bash
# Smoke workflow through a real, single-node SLURM on this machine.
#
# Starts a private munged, slurmctld and slurmd (one node: this machine's CPUs and memory, one
# partition), derives a site profile from profiles/slurm/config.yaml the way a user would (fills
# the placeholders, caps memory and threads at what this node has), runs config/smoke.yaml through
# snakemake-executor-plugin-slurm, and checks that every job outside the workflow's local rules
# (its `localrules` and action-less rules such as 'all', listed by local_rules.py from the
# Snakefile) went through SLURM: one SLURM job id per job in Snakemake's log, one SLURM log file per
# job naming its job id, every job known to slurmctld as COMPLETED, the GNN stage's jobs among them.
# Then it cancels a running gnn_pretrain SLURM job (scancel), reruns it with --rerun-incomplete and
# checks its outputs equal an uninterrupted run's. Stops the daemons it started and removes its temp
# dir on exit (KEEP=1 keeps it: daemon logs, derived profile, Snakemake logs, work dirs).
#
# Run:   bash tests/slurm/run.sh           (in the project's Python environment; PYTHON=... to pick one)
#        .ci/run runs it after pytest.
# Needs: root (daemons, /etc/munge) and apt (installs Debian's slurm-wlm and munge if absent);
#        network for the workflow's phonopy download, as for any smoke run.
# Takes: about 12 minutes on two cores (measured 2026-12-07, alone on the machine): ~9 for the smoke
#        config's 83 SLURM jobs, each paying ~8 s of Snakemake start-up inside the job, one or two at a
#        time; ~2.5 for the 200-epoch gnn_pretrain jobs of section 8, mostly waiting for the plugin's
#        status checks, whose interval grows while a job runs.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-python}
if [[ $PYTHON == */* && $PYTHON != /* ]]; then PYTHON=$PWD/$PYTHON; fi  # the script changes directory
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
mkdir -p "$TMP"/{munge,state,spool,log,run,work,parse}
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
    # A Snakemake still running in the background (section 8): its process is the subshell's child.
    if [[ -n ${smk_pid:-} ]] && kill -0 "$smk_pid" 2>/dev/null; then
        pkill -TERM -P "$smk_pid"
        kill -TERM "$smk_pid" 2>/dev/null
        wait "$smk_pid" 2>/dev/null
    fi
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

CONFIG=$REPO/config/smoke.yaml
# The rules Snakemake keeps in its own process under a cluster executor, decided by the workflow
# itself, not by the wording of Snakemake's log: local_rules.py parses the Snakefile with this config
# through Snakemake's API and lists the rules declared in `localrules` (the downloads: compute nodes
# may have no network) and the action-less ones such as 'all'.
"$PYTHON" "$REPO/tests/slurm/local_rules.py" "$REPO/Snakefile" "$CONFIG" "$TMP/parse" \
    >"$TMP/local_rules.txt" 2>"$TMP/local_rules.err" \
    || { cat "$TMP/local_rules.err" >&2; die "could not list the workflow's local rules"; }
mapfile -t LOCAL_RULES <"$TMP/local_rules.txt"
((${#LOCAL_RULES[@]} > 0)) || die "the workflow lists no local rules"
is_local() { [[ " ${LOCAL_RULES[*]} " == *" $1 "* ]]; }
say "local rules (run by Snakemake itself, not submitted): ${LOCAL_RULES[*]}"

WORK=$TMP/work
LOG=$TMP/snakemake.log
say "running the smoke workflow in $WORK (log: $LOG)"
SMK_START=$SECONDS
rc=0
# From inside the work dir, so the plugin's relative .snakemake/slurm_logs lands there.
(cd "$WORK" && "$PYTHON" -m snakemake -s "$REPO/Snakefile" -d "$WORK" \
    --configfile "$CONFIG" --profile "$PROFILE" \
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

# Which jobs Snakemake handed to SLURM and which it ran itself: LOCAL_RULES (from the workflow, see
# above) ran in Snakemake itself, every other finished job must have exactly one SLURM submission.
# Snakemake logs
#   Job <n> has been submitted with SLURM jobid <id> (log: <path>).
# for a submitted job and "Finished jobid: <n> (Rule: <rule>)" for every finished one.
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
((${#JOBIDS[@]} > 0)) || die "no 'submitted with SLURM jobid' line in $LOG"
grep -qE '^([0-9]+) of \1 steps \(100%\) done' "$LOG" || die "Snakemake did not report 100% done"
n_local=0
declare -A RAN_LOCALLY JOB_OF_SLURM
for job in "${!SMK_RULE[@]}"; do
    if is_local "${SMK_RULE[$job]}"; then
        n_local=$((n_local + 1))
        RAN_LOCALLY[${SMK_RULE[$job]}]=1
        [[ -z ${SUBMITTED_AS[$job]:-} ]] \
            || die "job $job (${SMK_RULE[$job]}) is a local rule but was submitted to SLURM as ${SUBMITTED_AS[$job]}"
    else
        [[ -n ${SUBMITTED_AS[$job]:-} ]] || die "job $job (${SMK_RULE[$job]}) finished without a SLURM submission"
        JOB_OF_SLURM[${SUBMITTED_AS[$job]}]=$job
    fi
done
n_remote=$((${#SMK_RULE[@]} - n_local))
((${#JOBIDS[@]} == n_remote)) \
    || die "${#JOBIDS[@]} SLURM job ids but $n_remote finished jobs outside the local rules (${LOCAL_RULES[*]})"
# The local rules that actually ran in this smoke run (the others are not in its DAG).
mapfile -t LOCAL_RAN < <(printf '%s\n' "${!RAN_LOCALLY[@]}" | sort)

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

# --- 7. The GNN stage's jobs ran as SLURM jobs too ----------------------------------------------
# (the loop above checked every SLURM job: COMPLETED, with its log); name them explicitly.
declare -A GNN_IDS
for id in "${JOBIDS[@]}"; do
    rule=${SMK_RULE[${JOB_OF_SLURM[$id]}]}
    if [[ $rule == gnn_* ]]; then GNN_IDS[$rule]+="${GNN_IDS[$rule]:+ }$id"; fi
done
for rule in gnn_snapshots gnn_trajectory gnn_pretrain gnn_finetune gnn_rdf gnn_md_test; do
    [[ -n ${GNN_IDS[$rule]:-} ]] || die "no SLURM job for rule $rule"
done
echo
say "GNN stage through SLURM, every job COMPLETED:"
for rule in $(printf '%s\n' "${!GNN_IDS[@]}" | sort); do
    printf '   %-15s SLURM job(s) %s\n' "$rule" "$(tr ' ' '\n' <<<"${GNN_IDS[$rule]}" | sort -n | xargs)"
done

# --- 8. A cancelled SLURM job, rerun with --rerun-incomplete ------------------------------------
# gnn_pretrain again through SLURM, with more epochs than the smoke config so that it is still
# running when cancelled: scancel it mid-run, let that Snakemake fail, run Snakemake again with
# --rerun-incomplete, and require outputs bit for bit equal to an uninterrupted run's (in a second
# work dir holding a copy of this one's resources/). Only the job's outputs are compared; where it
# keeps checkpoints is not looked at. --retries 0: the profile's retry would resubmit the cancelled job.
echo
RESUME_START=$SECONDS
PRETRAIN_EPOCHS=${PRETRAIN_EPOCHS:-200}
CANCEL_AT_EPOCH=${CANCEL_AT_EPOCH:-3}  # epochs (each one checkpointed) the job logs before it is cancelled
LONG=$TMP/smoke-long-pretrain.yaml
"$PYTHON" - "$CONFIG" "$LONG" "$PRETRAIN_EPOCHS" <<'PY'
import sys

import yaml

source, target, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(source) as f:
    config = yaml.safe_load(f)
config["gnn"]["pretrain"]["epochs"] = epochs
with open(target, "w") as f:
    yaml.safe_dump(config, f, sort_keys=False)
PY
TARGETS=(results/gnn/pretrained/model.npz results/gnn/pretrained/history.json)
smk() {  # <work dir> <log> <snakemake args...>: the long-pretraining config through SLURM
    local dir=$1 log=$2
    shift 2
    (cd "$dir" && exec "$PYTHON" -m snakemake -s "$REPO/Snakefile" -d "$dir" --configfile "$LONG" \
        --profile "$PROFILE" --slurm-status-command squeue --slurm-no-account \
        --slurm-init-seconds-before-status-checks 5 --slurm-keep-successful-logs --retries 0 "$@") \
        >"$log" 2>&1
}
submissions() {  # <snakemake log>: the SLURM job ids it submitted, one per line
    sed -nE 's/^Job [0-9]+ has been submitted with SLURM jobid ([0-9]+) .*/\1/p' "$1"
}
slurm_field() {  # <SLURM job id> <squeue format>: that field of that job
    squeue -h -t all -j "$1" -o "$2" 2>/dev/null || true
}
only_pretrain_job() {  # <snakemake log> <what>: its one SLURM job, a COMPLETED gnn_pretrain
    local ids
    mapfile -t ids < <(submissions "$1")
    ((${#ids[@]} == 1)) || die "$2: expected one SLURM job (gnn_pretrain), got ${#ids[@]}: ${ids[*]} (log: $1)"
    [[ $(slurm_field "${ids[0]}" %k) == rule_gnn_pretrain ]] \
        || die "$2: SLURM job ${ids[0]} is '$(slurm_field "${ids[0]}" %k)', not gnn_pretrain (log: $1)"
    [[ $(slurm_field "${ids[0]}" %T) == COMPLETED ]] \
        || die "$2: SLURM job ${ids[0]} ended $(slurm_field "${ids[0]}" %T) (log: $1)"
    echo "${ids[0]}"
}
say "cancel and rerun: gnn_pretrain with $PRETRAIN_EPOCHS epochs ($LONG)," \
    "cancelled once its log shows ${CANCEL_AT_EPOCH} epochs"
CANCEL_LOG=$TMP/cancelled.log
rm -f "$WORK/logs/gnn_pretrain.log"  # the smoke run's: its epochs are not this job's
smk "$WORK" "$CANCEL_LOG" "${TARGETS[@]}" --forcerun gnn_pretrain &
smk_pid=$!  # stopped by cleanup if the checks below fail
job='' running_for=0 waited=0
while :; do
    if [[ -z $job ]]; then
        job=$(submissions "$CANCEL_LOG" | head -n 1)
        if [[ -z $job ]] && ! kill -0 "$smk_pid" 2>/dev/null; then
            tail -n 30 "$CANCEL_LOG" >&2
            die "Snakemake ended without submitting gnn_pretrain (log: $CANCEL_LOG)"
        fi
    fi
    if [[ -n $job ]]; then
        state=$(slurm_field "$job" %T)
        case $state in
            PENDING | CONFIGURING | '') ;;
            RUNNING) running_for=$((running_for + 1)) ;;
            *) die "SLURM job $job (gnn_pretrain) was $state after ${running_for} s RUNNING, before it could be" \
                "cancelled: too short to interrupt; raise PRETRAIN_EPOCHS (now $PRETRAIN_EPOCHS)" ;;
        esac
        epochs_logged=$(grep -cE 'epoch [0-9]+:' "$WORK/logs/gnn_pretrain.log" 2>/dev/null || true)
        ((running_for == 0 || ${epochs_logged:-0} < CANCEL_AT_EPOCH)) || break
    fi
    waited=$((waited + 1))
    ((waited < 900)) || die "gnn_pretrain did not log ${CANCEL_AT_EPOCH} epochs within 900 s (log: $CANCEL_LOG)"
    sleep 1
done
[[ $(slurm_field "$job" %k) == rule_gnn_pretrain ]] \
    || die "SLURM job $job is '$(slurm_field "$job" %k)', not gnn_pretrain"
scancel "$job"
say "scancel $job after ${running_for} s RUNNING (its log showed ${epochs_logged:-0} of $PRETRAIN_EPOCHS epochs)"
rc=0
wait "$smk_pid" || rc=$?
smk_pid=''
((rc != 0)) || die "Snakemake exited 0 although its SLURM job $job was cancelled (log: $CANCEL_LOG)"
state=$(slurm_field "$job" %T)
[[ $state == CANCELLED ]] || die "SLURM job $job ended $state, not CANCELLED (log: $CANCEL_LOG)"
n=$(submissions "$CANCEL_LOG" | wc -l)
((n == 1)) || die "the cancelled run submitted $n SLURM jobs, expected 1 (log: $CANCEL_LOG)"
say "that Snakemake exited $rc; SLURM job $job: $state"

RERUN_LOG=$TMP/rerun-incomplete.log
smk "$WORK" "$RERUN_LOG" "${TARGETS[@]}" --rerun-incomplete \
    || { tail -n 30 "$RERUN_LOG" >&2; die "snakemake --rerun-incomplete failed (log: $RERUN_LOG)"; }
rerun_job=$(only_pretrain_job "$RERUN_LOG" "--rerun-incomplete")
resumed=$(grep -m1 -o 'resuming from .*' "$WORK/logs/gnn_pretrain.log" 2>/dev/null) \
    || die "the rerun of the cancelled gnn_pretrain did not resume from its checkpoint ($WORK/logs/gnn_pretrain.log)"
say "--rerun-incomplete: SLURM job $rerun_job COMPLETED ($resumed)"

# The uninterrupted run: the same job in a fresh work dir, from this run's resources/ and Snakemake
# metadata (their jobs are up to date there, so only gnn_pretrain runs).
REF=$TMP/work-uninterrupted
mkdir -p "$REF/.snakemake"
cp -a "$WORK/resources" "$REF/"
cp -a "$WORK/.snakemake/metadata" "$REF/.snakemake/"
REF_LOG=$TMP/uninterrupted.log
smk "$REF" "$REF_LOG" "${TARGETS[@]}" \
    || { tail -n 30 "$REF_LOG" >&2; die "the uninterrupted gnn_pretrain run failed (log: $REF_LOG)"; }
ref_job=$(only_pretrain_job "$REF_LOG" "uninterrupted run")
say "uninterrupted run in $REF: SLURM job $ref_job COMPLETED"

"$PYTHON" - "$WORK/results/gnn/pretrained" "$REF/results/gnn/pretrained" "$PRETRAIN_EPOCHS" <<'PY' \
    || die "the rerun job's outputs differ from the uninterrupted run's"
import json
import sys

import numpy as np

rerun, uninterrupted, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
with np.load(f"{rerun}/model.npz", allow_pickle=False) as a, \
        np.load(f"{uninterrupted}/model.npz", allow_pickle=False) as b:
    if sorted(a.files) != sorted(b.files):
        sys.exit(f"model.npz keys differ: {sorted(a.files)} vs {sorted(b.files)}")
    differ = [key for key in a.files
              if (a[key].dtype, a[key].shape, a[key].tobytes()) != (b[key].dtype, b[key].shape, b[key].tobytes())]
    if differ:
        sys.exit(f"model.npz arrays differ: {differ}")
    n_arrays = len(a.files)
with open(f"{rerun}/history.json") as f:
    history = json.load(f)
with open(f"{uninterrupted}/history.json") as f:
    if json.load(f) != history:
        sys.exit("history.json differs")
n_epochs = len(history["history"])
if n_epochs != epochs:
    sys.exit(f"history.json has {n_epochs} epochs, expected {epochs}")
print(f"== model.npz: all {n_arrays} arrays bitwise equal; history.json: {n_epochs} epochs equal")
PY
RESUME_WALL=$((SECONDS - RESUME_START))

SCRIPT_WALL=$((SECONDS - SCRIPT_START))
echo
read -r first last < <(printf '%s\n' "${JOBIDS[@]}" | sort -n | sed -n '1p;$p' | xargs)
say "PASS: ${#JOBIDS[@]} jobs ran through SLURM (ids $first..$last), each with its SLURM log;" \
    "$n_local ran in Snakemake itself (${LOCAL_RAN[*]})"
say "PASS: gnn_pretrain cancelled mid-run (SLURM job $job), rerun with --rerun-incomplete (job $rerun_job):" \
    "outputs equal to an uninterrupted run's (job $ref_job)"
say "wall time: smoke workflow ${SMK_WALL} s, cancel and rerun ${RESUME_WALL} s," \
    "whole script ${SCRIPT_WALL} s (before cleanup)"
