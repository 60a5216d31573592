#!/usr/bin/env bash
# A single-node Slurm cluster on 127.0.0.1, for the Slurm tests (tests/integration/test_slurm.py). Run as root:
#
#   sudo .ci/slurm-cluster.sh up     # install what is missing, start it, run a test job
#   export SLURM_CONF=/tmp/hydra-optax-slurm/slurm.conf    # how sinfo, sbatch, sacct find it
#   sudo .ci/slurm-cluster.sh down   # stop the daemons that `up` started
#
# `up` installs Debian's packages if they are missing (slurmctld slurmd slurm-client munge for
# the cluster, slurmdbd mariadb-server for accounting), writes a fresh configuration and state
# into $STATE, starts munged, MariaDB (on a unix socket only), slurmdbd, slurmctld and slurmd
# without systemd, waits until the node is idle and a test job ran, and prints the partition's
# name on stdout (everything else goes to stderr). It leaves /etc alone: the clients find the
# cluster through SLURM_CONF. If the cluster it started is still up, it only says so.
#
# Accounting (slurmdbd) is not optional: without it sacct fails, submitit cannot tell that
# Slurm cancelled a job, and a sweep with a cancelled job waits forever.
#
# The daemons write their own pid files into $STATE; `down` stops exactly those processes
# (after checking that each PID still runs the daemon's binary), never anything by name, and
# is safe to run twice. `up` after a crash (daemons killed, stale pid files and state) starts
# afresh. The only ports are 6817-6819, bound to 127.0.0.1.
set -euo pipefail

STATE=${HYDRA_OPTAX_SLURM_DIR:-/tmp/hydra-optax-slurm}
PARTITION=local
NODE=node1
PACKAGES=(slurmctld slurmd slurm-client munge slurmdbd mariadb-server)
# Started in this order, stopped in the reverse one; each with the binary its PID must run.
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)
declare -A BINARY=(
    [munged]=/usr/sbin/munged
    [mariadbd]=/usr/sbin/mariadbd
    [slurmdbd]=/usr/sbin/slurmdbd
    [slurmctld]=/usr/sbin/slurmctld
    [slurmd]=/usr/sbin/slurmd
)
START_TIMEOUT=30 # seconds for each daemon to start and answer
JOB_TIMEOUT=60   # seconds for the node to become idle and for the test job to run
STOP_TIMEOUT=15  # seconds for each daemon to exit after SIGTERM, before SIGKILL

export SLURM_CONF=$STATE/slurm.conf
export PATH=$PATH:/usr/sbin:/sbin # the daemons, mariadb-install-db, unshare, setpriv

say() { echo "slurm-cluster [${SECONDS}s]: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

# munged and mariadbd run as their own users and keep their files in their own directories.
declare -A DIRECTORY=(
    [munged]=$STATE/munge
    [mariadbd]=$STATE/mysql
    [slurmdbd]=$STATE/run
    [slurmctld]=$STATE/run
    [slurmd]=$STATE/run
)
pid_file() { echo "${DIRECTORY[$1]}/$1.pid"; }
log_file() { echo "${DIRECTORY[$1]}/$1.log"; }

# The PID in the daemon's pid file if that process is alive (not a zombie: PID 1 may reap
# late) and runs the daemon's binary; nothing otherwise (no file, stale file, reused PID).
running_pid() {
    local name=$1 pid exe binary state
    pid=$(cat "$(pid_file "$name")" 2>/dev/null) || return 0
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 0
    binary=$(readlink -f "${BINARY[$name]}") # e.g. slurmctld is a link to slurmctld-wlm
    [[ $exe == "$binary" || $exe == "$binary (deleted)" ]] || return 0
    state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 0
    [[ -n $state && $state != Z && $state != X ]] || return 0
    echo "$pid"
}

is_running() { [[ -n $(running_pid "$1") ]]; }
is_stopped() { [[ -z $(running_pid "$1") ]]; }

# wait_until SECONDS WHAT COMMAND...: poll COMMAND until it succeeds, or fail naming WHAT.
wait_until() {
    local seconds=$1 what=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
    say "$what"
}

# start NAME COMMAND...: run a daemon that writes its pid file, wait until that PID runs.
start() {
    local name=$1
    shift
    rm -f "$(pid_file "$name")"
    "$@" || die "$name failed to start: see $(log_file "$name")"
    wait_until "$START_TIMEOUT" "$name started" is_running "$name" ||
        die "$name did not start within ${START_TIMEOUT}s: see $(log_file "$name")"
}

stop() {
    local name=$1 pid
    pid=$(running_pid "$name")
    if [[ -n $pid ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_until "$STOP_TIMEOUT" "$name stopped (pid $pid)" is_stopped "$name"; then
            say "$name (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s: sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$(pid_file "$name")"
}

all_running() {
    local name
    for name in "${DAEMONS[@]}"; do
        is_running "$name" || return 1
    done
}

no_jobs() { [[ -z $(timeout 5 squeue --noheader --format=%A 2>/dev/null) ]]; }
node_state() { sinfo --noheader --nodes="$NODE" --format=%T 2>/dev/null; }
node_is() { [[ $(node_state) =~ ^($1)$ ]]; }

port_in_use() { ss -Htln "sport = :$1" | grep -q .; }

install_missing() {
    local missing=() package
    for package in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$package")
    done
    ((${#missing[@]} == 0)) && return
    say "installing ${missing[*]}"
    apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 ||
        die "apt-get install ${missing[*]} failed"
}

# A state dir under /tmp must be ours: a directory (not a link) owned by root.
make_state_dir() {
    if [[ -e $STATE || -L $STATE ]]; then
        [[ -d $STATE && ! -L $STATE && $(stat -c %u "$STATE") == 0 ]] ||
            die "$STATE is not a directory owned by root: remove it, or set HYDRA_OPTAX_SLURM_DIR"
    fi
    # A fresh cluster every time: no job, node or accounting state survives from an earlier run.
    rm -rf "$STATE"
    mkdir -p -m 755 "$STATE"
    mkdir -p "$STATE"/{run,ctld,spool}
    install -d -o munge -g munge -m 755 "$STATE/munge" # the socket must be reachable
    install -d -o mysql -g mysql -m 700 "$STATE/mysql"
}

write_configs() {
    local cpu memory
    # The node's layout as slurmd sees it, e.g. "CPUs=2 Boards=1 SocketsPerBoard=1 ...".
    cpu=$(slurmd -C | head -1 |
        grep -oE '(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=[0-9]+' | tr '\n' ' ')
    memory=$(slurmd -C | head -1 | grep -oE 'RealMemory=[0-9]+' | cut -d= -f2)
    memory=$((memory * 9 / 10)) # a bit below the machine's, or slurmd drains the node
    cat >"$STATE/slurm.conf" <<EOF
# Written by .ci/slurm-cluster.sh: one node, controller and node on 127.0.0.1, no cgroups.
ClusterName=hydra-optax
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=6817
SlurmdPort=6818
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$STATE/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$(pid_file slurmctld)
SlurmdPidFile=$(pid_file slurmd)
SlurmctldLogFile=$(log_file slurmctld)
SlurmdLogFile=$(log_file slurmd)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStoragePass=$STATE/munge/munge.socket
MailProg=/bin/true
ReturnToService=2
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=localhost $cpu RealMemory=$memory State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    # slurmdbd refuses a config that others can read: it could hold a database password.
    install -m 600 /dev/null "$STATE/slurmdbd.conf"
    cat >"$STATE/slurmdbd.conf" <<EOF
# Written by .ci/slurm-cluster.sh: MariaDB on its unix socket, root by socket authentication.
AuthType=auth/munge
AuthInfo=socket=$STATE/munge/munge.socket
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
CommunicationParameters=NoInAddrAny
SlurmUser=root
PidFile=$(pid_file slurmdbd)
LogFile=$(log_file slurmdbd)
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
EOF
}

# mariadbd does not fork: run it in the background, detached; it writes its own pid file.
mariadbd_in_background() {
    setsid mariadbd "$@" </dev/null >>"$(log_file mariadbd)" 2>&1 &
}

# With CommunicationParameters=NoInAddrAny (NoCtldInAddrAny for slurmctld) a Slurm daemon
# listens on the address its host name resolves to, not on every address. Run in their own UTS
# namespace whose host name is localhost, slurmdbd, slurmctld, slurmd and the job steps they
# start bind to 127.0.0.1 only, whatever this machine's name resolves to.
as_localhost() {
    unshare --uts sh -c 'hostname localhost && exec "$@"' - "$@"
}

start_daemons() {
    setpriv --reuid=munge --regid=munge --init-groups mungekey --create \
        --keyfile="$STATE/munge/munge.key"
    start munged setpriv --reuid=munge --regid=munge --init-groups \
        munged --key-file="$STATE/munge/munge.key" --socket="$STATE/munge/munge.socket" \
        --pid-file="$(pid_file munged)" --log-file="$(log_file munged)" \
        --seed-file="$STATE/munge/munged.seed"

    say "initializing the accounting database"
    mariadb-install-db --no-defaults --user=mysql --datadir="$STATE/mysql" \
        --auth-root-authentication-method=socket --skip-test-db \
        >"$STATE/run/mariadb-install.log" 2>&1 ||
        die "mariadb-install-db failed: see $STATE/run/mariadb-install.log"
    start mariadbd mariadbd_in_background --no-defaults --user=mysql --datadir="$STATE/mysql" \
        --skip-networking --socket="$STATE/mysql/mysqld.sock" --pid-file="$(pid_file mariadbd)" \
        --log-error="$(log_file mariadbd)"
    wait_until "$START_TIMEOUT" "mariadbd answers on $STATE/mysql/mysqld.sock" \
        mariadb-admin --no-defaults --socket="$STATE/mysql/mysqld.sock" ping ||
        die "mariadbd did not answer within ${START_TIMEOUT}s: see $(log_file mariadbd)"

    # slurmdbd reads slurmdbd.conf beside $SLURM_CONF, and reaches MariaDB as "localhost",
    # that is its unix socket: this one.
    MYSQL_UNIX_PORT="$STATE/mysql/mysqld.sock" start slurmdbd as_localhost slurmdbd
    wait_until "$START_TIMEOUT" "slurmdbd answers" sacctmgr --immediate list cluster ||
        die "slurmdbd did not answer within ${START_TIMEOUT}s: see $(log_file slurmdbd)"

    start slurmctld as_localhost slurmctld -c
    start slurmd as_localhost slurmd -c -N "$NODE"
}

job_state() {
    sacct --noheader --parsable2 --allocations --jobs="$1" --format=State 2>/dev/null | head -1
}
job_ended() {
    [[ $(job_state "$1") =~ ^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL) ]]
}

run_test_job() {
    wait_until "$JOB_TIMEOUT" "node $NODE is idle" node_is idle ||
        die "node $NODE is not idle after ${JOB_TIMEOUT}s (state: $(node_state)):" \
            "see $(log_file slurmd) and $(log_file slurmctld)"
    # A batch job with a job step, as submitit submits them (sbatch --wait would poll slower).
    local job
    job=$(sbatch --parsable --partition="$PARTITION" --time=1 --mem=64 --output=/dev/null \
        --job-name=slurm-cluster-check --wrap='srun --mem=64 true') ||
        die "sbatch failed: see $(log_file slurmctld)"
    wait_until "$JOB_TIMEOUT" "test job $job ended" job_ended "$job" ||
        die "test job $job did not end within ${JOB_TIMEOUT}s (state: $(job_state "$job"))"
    [[ $(job_state "$job") == COMPLETED ]] ||
        die "test job $job ended $(job_state "$job"): see $(log_file slurmd)"
}

up() {
    [[ $EUID == 0 ]] || die "run as root (sudo $0 up)"
    if [[ -d $STATE ]] && all_running && node_is 'idle|mixed|allocated'; then
        say "already up (state in $STATE)"
        echo "$PARTITION"
        return
    fi
    install_missing
    down
    local port
    for port in 6817 6818 6819; do
        port_in_use "$port" &&
            die "port $port is in use by a process this script did not start:" \
                "$(ss -Htlnp "sport = :$port")"
    done
    make_state_dir
    # A failed start leaves no daemon behind.
    trap 'say "up failed: stopping what it started"; down' EXIT
    write_configs
    start_daemons
    run_test_job
    trap - EXIT
    say "up: partition $PARTITION on 127.0.0.1; export SLURM_CONF=$SLURM_CONF"
    echo "$PARTITION"
}

down() {
    [[ $EUID == 0 ]] || die "run as root (sudo $0 down)"
    [[ -d $STATE/run ]] || return 0
    # Jobs still running would keep their processes (slurmstepd) after slurmd stops.
    if is_running slurmctld; then
        local jobs
        jobs=$(timeout 10 squeue --noheader --format=%A 2>/dev/null || true)
        if [[ -n $jobs ]]; then
            say "cancelling jobs: $(echo $jobs)"
            timeout 10 scancel $jobs 2>/dev/null || true
            wait_until "$STOP_TIMEOUT" "jobs ended" no_jobs ||
                say "jobs still listed after ${STOP_TIMEOUT}s: stopping the daemons anyway"
        fi
    fi
    local i
    for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
        stop "${DAEMONS[i]}"
    done
}

case ${1:-} in
up) up ;;
down)
    down
    say "down"
    ;;
*)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
