#!/bin/sh
# jailer.sh — brisk-jailer with the tiny test guest on this host's /dev/kvm
# (root only): the jail's view, cgroups (v1 here; v2 where the host is pure
# v2, e.g. `scripts/testhost --cgroup v2`), every refused input, clean-up
# after every way a run ends.
# Usage: tests/integration/jailer.sh [BUILD_DIR]   (default build)
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
B=${1:-build}
JAILER="$B/brisk-jailer"
BASE="$T_TMP/jails"
CG=/sys/fs/cgroup
UID_=65534
GID_=65534
GUEST="run --kernel $B/test-guest --no-initrd"
# Pure v2 hosts have no v1 hierarchies: --cgroup settings need --cgroup-version 2 there.
if [ -f $CG/cgroup.controllers ]; then V2=$CG; PURE_V2=1; VFLAG="--cgroup-version 2"
else V2=$CG/unified; PURE_V2=0; VFLAG=""; fi

# jail ID [jailer flags...] -- [brisk run flags] — output in $OUT/$ERR, status $RC.
jail() {
	id=$1
	shift
	# shellcheck disable=SC2086
	timeout 60 "$JAILER" --id "$id" --exec-file "$B/brisk" --uid $UID_ --gid $GID_ \
		--chroot-base-dir "$BASE" $VFLAG "$@" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
	RC=$?
	OUT=$(cat "$T_TMP/out")
	ERR=$(cat "$T_TMP/err")
}

# Nothing of any run left: no jail under the base dir, no brisk cgroup anywhere.
expect_clean() {
	left=$(ls -A "$BASE" 2>/dev/null)
	expect_eq "left under $BASE" "" "$left" || return 1
	for d in $CG/*/brisk $CG/brisk $V2/brisk; do
		[ -e "$d" ] && { fail "cgroup $d left behind"; return 1; }
	done
	return 0
}

# child_brisk PID — the brisk process whose parent is PID (no pgrep in the testhost).
child_brisk() {
	for st in /proc/[0-9]*/status; do
		awk -v p="$1" '/^Name:/ { n = $2 } /^PPid:/ { pp = $2 }
			END { if (n == "brisk" && pp == p) { sub("/proc/", "", FILENAME); sub("/status", "", FILENAME); print FILENAME } }' \
			"$st" 2>/dev/null
	done | head -n 1
}

# procs_of DIR — "PID:COMM ..." of a cgroup's processes (while they run).
procs_of() {
	for p in $(cat "$1/cgroup.procs"); do printf '%s:%s ' "$p" "$(cat "/proc/$p/comm" 2>/dev/null)"; done
}

# expect_in_cgroup PROCS — brisk ($VPID) is listed; besides it only KVM's
# per-VM kernel worker (kvm-nx-lpage-recovery), which joins the VM's cgroups.
expect_in_cgroup() {
	for pc in $1; do
		case "$pc" in "$VPID":*|*:kvm*) continue ;; esac
		fail "unexpected process $pc in the cgroup"
		return 1
	done
	case " $1" in *" $VPID:"*) return 0 ;; esac
	fail "brisk ($VPID) is not in the cgroup: '$1'"
}

# Start a jailed counter guest in the background (stdin from a fifo, so it
# runs until a byte arrives); sets $JPID (jailer) and $VPID (brisk).
start_counter() {
	id=$1
	shift
	rm -f "$T_TMP/fifo"
	mkfifo "$T_TMP/fifo"
	# shellcheck disable=SC2086
	"$JAILER" --id "$id" --exec-file "$B/brisk" --uid $UID_ --gid $GID_ --chroot-base-dir "$BASE" \
		$VFLAG "$@" -- $GUEST --cmdline "counter interval_ms=50" <"$T_TMP/fifo" >"$T_TMP/out" 2>"$T_TMP/err" &
	JPID=$!
	exec 7>"$T_TMP/fifo"
	VPID=""
	for _ in $(seq 1 200); do
		VPID=$(child_brisk "$JPID")
		[ -n "$VPID" ] && grep -q tick "$T_TMP/out" 2>/dev/null && return 0
		kill -0 "$JPID" 2>/dev/null || break
		sleep 0.1
	done
	kill "$JPID" 2>/dev/null
	exec 7>&-
	wait "$JPID"
	fail "the jailed guest did not start: $(cat "$T_TMP/err")"
}

stop_counter() {
	printf x >&7
	exec 7>&-
	wait "$JPID"
	RC=$?
}

t_runs_and_passes_status() {
	jail t-status -- $GUEST --cmdline exit=3
	expect_eq status 3 "$RC" && expect_contains stdout "brisk test guest: hello" "$OUT" &&
		expect_clean
}

t_jail_view() {
	start_counter t-view --new-pid-ns || return 1
	st=/proc/$VPID/status
	view=$(ls -A "/proc/$VPID/root" | tr '\n' ' ')
	dev=$(cd "/proc/$VPID/root/dev" && find . | sort | tr '\n' ' ')
	uid=$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "$st")
	caps=$(awk '/^Cap(Prm|Eff|Bnd|Amb):/ { printf "%s ", $2 }' "$st")
	nnp=$(awk '/^NoNewPrivs:/ { print $2 }' "$st")
	sc=$(awk '/^Seccomp:/ { print $2 }' "$st")
	mnt_in=$(readlink "/proc/$VPID/ns/mnt")
	mnt_out=$(readlink /proc/self/ns/mnt)
	pid_in=$(readlink "/proc/$VPID/ns/pid")
	pid_out=$(readlink /proc/self/ns/pid)
	kvm_owner=$(stat -c %u:%g "/proc/$VPID/root/dev/kvm")
	pidfile=$(cat "$BASE/brisk/t-view/root/brisk.pid")
	stop_counter
	expect_eq status 0 "$RC" &&
		expect_eq "uid (real, effective, saved, fs)" "$UID_$UID_$UID_$UID_" "$uid" &&
		expect_eq capabilities "0000000000000000 0000000000000000 0000000000000000 0000000000000000 " "$caps" &&
		expect_eq no_new_privs 1 "$nnp" && expect_eq "seccomp mode" 2 "$sc" &&
		expect_eq "files in the jail root" "brisk brisk.pid dev test-guest " "$view" &&
		expect_eq "files in /dev" ". ./kvm ./net ./net/tun ./urandom " "$dev" &&
		expect_eq "/dev/kvm owner" "$UID_:$GID_" "$kvm_owner" &&
		expect_eq "pid file" "$VPID" "$pidfile" &&
		{ [ "$mnt_in" != "$mnt_out" ] || fail "same mount namespace as the host"; } &&
		{ [ "$pid_in" != "$pid_out" ] || fail "--new-pid-ns: same pid namespace"; } &&
		expect_clean
}

# v1 hierarchies (this host; the testhost's hybrid mode).
t_cgroup_v1_limits() {
	[ "$PURE_V2" = 1 ] && return 0
	start_counter t-cg1 --cgroup pids.max=40 --cgroup memory.limit_in_bytes=300M || return 1
	pids=$(cat $CG/pids/brisk/t-cg1/pids.max)
	mem=$(cat $CG/memory/brisk/t-cg1/memory.limit_in_bytes)
	procs=$(procs_of $CG/pids/brisk/t-cg1)
	stop_counter
	expect_eq pids.max 40 "$pids" && expect_eq memory.limit_in_bytes $((300 * 1024 * 1024)) "$mem" &&
		expect_in_cgroup "$procs" && expect_clean
}

# v2: limits where the controllers are there (pure v2); elsewhere the
# cgroup is still made and joined, and a limit is refused clearly.
t_cgroup_v2() {
	if [ "$PURE_V2" = 1 ]; then
		start_counter t-cg2 --cgroup pids.max=40 --cgroup memory.max=300M || return 1
		pids=$(cat $V2/brisk/t-cg2/pids.max)
		mem=$(cat $V2/brisk/t-cg2/memory.max)
	else
		start_counter t-cg2 --cgroup-version 2 || return 1
		pids=40
		mem=$((300 * 1024 * 1024))
	fi
	procs=$(procs_of $V2/brisk/t-cg2)
	stop_counter
	expect_eq pids.max 40 "$pids" && expect_eq memory.max $((300 * 1024 * 1024)) "$mem" &&
		expect_in_cgroup "$procs" && expect_clean || return 1
	if [ "$PURE_V2" = 0 ]; then
		jail t-cg2b --cgroup-version 2 --cgroup memory.max=1G -- $GUEST --cmdline exit=0
		expect_eq status 78 "$RC" && expect_contains stderr "not available in the cgroup v2" "$ERR" &&
			expect_clean
	fi
}

# A limit that bites: brisk cannot start its vCPU thread under pids.max=1.
t_pids_limit_enforced() {
	jail t-pids --cgroup pids.max=1 -- $GUEST --cmdline exit=0
	expect_eq status 125 "$RC" && expect_clean
}

t_refused_inputs() {
	jail 'bad/id' -- $GUEST --cmdline exit=0
	expect_eq "bad id" 65 "$RC" && expect_contains stderr "--id 'bad/id'" "$ERR" || return 1
	jail "$(printf 'a%.0s' $(seq 1 65))" -- $GUEST
	expect_eq "65-byte id" 65 "$RC" || return 1
	timeout 10 "$JAILER" --id t-x --exec-file "$B/nosuch" --uid $UID_ --gid $GID_ \
		--chroot-base-dir "$BASE" </dev/null 2>"$T_TMP/err"
	expect_eq "missing exec file" 66 "$?" && expect_contains stderr "--exec-file" "$(cat "$T_TMP/err")" || return 1
	jail t-x --cgroup pids.nosuch=1 -- $GUEST --cmdline exit=0
	expect_eq "unknown cgroup file" 78 "$RC" && expect_contains stderr "pids.nosuch" "$ERR" || return 1
	jail t-x --cgroup nosuchctl.max=1 -- $GUEST --cmdline exit=0
	expect_eq "unknown controller" 78 "$RC" || return 1
	jail t-x --cgroup pids.max -- $GUEST
	expect_eq "cgroup without value" 64 "$RC" || return 1
	timeout 10 "$JAILER" --id t-x --exec-file "$B/brisk" --uid 0 --gid $GID_ --chroot-base-dir "$BASE" \
		-- $GUEST --cmdline exit=0 </dev/null 2>"$T_TMP/err"
	expect_eq "uid 0" 67 "$?" && expect_contains stderr "--allow-root" "$(cat "$T_TMP/err")" || return 1
	jail t-x --parent-cgroup ../../etc -- $GUEST
	expect_eq "parent cgroup traversal" 68 "$RC" || return 1
	jail t-x --resource-limit cpu=1 -- $GUEST
	expect_eq "unknown resource" 64 "$RC" || return 1
	jail t-x --no-such-flag -- $GUEST
	expect_eq "unknown flag" 64 "$RC" || return 1
	jail t-x -- run --kernel "$T_TMP/nokernel" --no-initrd --cmdline exit=0
	expect_eq "missing kernel" 66 "$RC" && expect_contains stderr "nokernel" "$ERR" || return 1
	jail t-x -- run --bogus
	expect_eq "bad brisk flag" 64 "$RC" || return 1
	jail t-x --netns /nonexistent -- $GUEST
	expect_eq "missing netns" 66 "$RC" || return 1
	if setpriv --version 2>/dev/null | grep -q util-linux; then
		setpriv --reuid $UID_ --regid $GID_ --clear-groups "$JAILER" --id t-x --exec-file "$B/brisk" \
			--uid $UID_ --gid $GID_ --chroot-base-dir "$BASE" -- $GUEST </dev/null 2>"$T_TMP/err"
		expect_eq "non-root caller" 77 "$?" || return 1
	fi
	expect_clean
}

t_existing_jail_refused() {
	start_counter t-dup || return 1
	jail t-dup -- $GUEST --cmdline exit=0
	rc=$RC
	err=$ERR
	"$JAILER" --cleanup --id t-dup --chroot-base-dir "$BASE" 2>"$T_TMP/cerr"
	crc=$?
	stop_counter
	expect_eq "second jail with the id" 73 "$rc" && expect_contains stderr "already exists" "$err" &&
		expect_eq "--cleanup of a running jail" 73 "$crc" &&
		expect_eq "first run" 0 "$RC" && expect_clean
}

# The name comes from the kernel's audit record, which printk's rate limit
# (10 per 5 s without auditd) drops after a burst of kills, e.g. the unit
# tests': let the window pass first.
t_seccomp_kill_named() {
	sleep 6
	timeout 30 "$JAILER" --id t-sc --exec-file "$B/seccomp-victim" --uid $UID_ --gid $GID_ \
		--chroot-base-dir "$BASE" </dev/null 2>"$T_TMP/err"
	rc=$?
	expect_eq status 159 "$rc" &&
		expect_contains stderr "seccomp-victim (pid" "$(cat "$T_TMP/err")" &&
		expect_contains stderr "killed by seccomp: syscall socket" "$(cat "$T_TMP/err")" && expect_clean
}

t_sigterm_stops_and_cleans() {
	start_counter t-term --cgroup pids.max=40 || return 1
	kill -TERM "$JPID"
	wait "$JPID"
	RC=$?
	exec 7>&-
	# brisk turns SIGTERM into Ctrl-Alt-Del; the counter guest exits 0 on it.
	expect_eq "status (the guest shut down on the request)" 0 "$RC" && expect_clean
}

t_killed_jailer_then_cleanup() {
	start_counter t-crash --cgroup pids.max=40 || return 1
	kill -KILL "$JPID"
	wait "$JPID" 2>/dev/null
	exec 7>&-
	for _ in $(seq 1 50); do kill -0 "$VPID" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$VPID" 2>/dev/null && { fail "brisk outlived its jailer"; return 1; }
	[ -d "$BASE/brisk/t-crash" ] || { fail "expected leftovers to clean"; return 1; }
	"$JAILER" --cleanup --id t-crash --chroot-base-dir "$BASE" 2>"$T_TMP/err"
	expect_eq "--cleanup" 0 "$?" && expect_contains stderr removed "$(cat "$T_TMP/err")" &&
		expect_clean || return 1
	"$JAILER" --cleanup --id t-crash --chroot-base-dir "$BASE" 2>"$T_TMP/err"
	expect_contains "second --cleanup" "nothing to clean up" "$(cat "$T_TMP/err")"
}

t_daemonize() {
	t0=$(date +%s)
	"$JAILER" --id t-daemon --exec-file "$B/brisk" --uid $UID_ --gid $GID_ --chroot-base-dir "$BASE" \
		--daemonize $VFLAG -- $GUEST --cmdline "ticks=20 interval_ms=100" </dev/null >"$T_TMP/out" 2>&1
	rc=$?
	pid=$(cat "$BASE/brisk/t-daemon/root/brisk.pid" 2>/dev/null)
	expect_eq "daemonized jailer" 0 "$rc" && expect_eq "output" "" "$(cat "$T_TMP/out")" || return 1
	[ -n "$pid" ] && kill -0 "$pid" || { fail "brisk not running after --daemonize"; return 1; }
	for _ in $(seq 1 300); do [ -d "$BASE/brisk/t-daemon" ] || break; sleep 0.1; done
	[ $(($(date +%s) - t0)) -lt 40 ] && expect_clean
}

# A base dir on another file system (tmpfs): files are bind-mounted, not linked.
t_bind_mounts_across_fs() {
	mkdir -p "$T_TMP/tmpfs"
	mount -t tmpfs tmpfs "$T_TMP/tmpfs" || { fail "mount tmpfs"; return 1; }
	timeout 30 "$JAILER" --id t-bind --exec-file "$B/brisk" --uid $UID_ --gid $GID_ \
		--chroot-base-dir "$T_TMP/tmpfs" -- $GUEST --cmdline exit=4 </dev/null >/dev/null 2>"$T_TMP/err"
	rc=$?
	left=$(ls -A "$T_TMP/tmpfs")
	umount "$T_TMP/tmpfs"
	expect_eq status 4 "$rc" && expect_eq "left on the tmpfs" "" "$left"
}

# A writable drive is given to uid:gid; a read-only one must be readable.
t_drives() {
	truncate -s 1M "$T_TMP/data.img"
	chmod 600 "$T_TMP/data.img"
	cp "$T_TMP/data.img" "$T_TMP/secret.img"
	jail t-drv -- $GUEST --drive "$T_TMP/data.img,id=data" --cmdline exit=0
	expect_eq status 0 "$RC" && expect_eq owner "$UID_:$GID_" "$(stat -c %u:%g "$T_TMP/data.img")" || return 1
	jail t-drv -- $GUEST --drive "$T_TMP/secret.img,ro" --cmdline exit=0
	expect_eq "unreadable ro drive" 66 "$RC" && expect_contains stderr "not readable by uid" "$ERR" &&
		expect_clean
}

# Firecracker-style flags through the jailer: the API socket inside the jail,
# the jailer's --id in GET /.
t_api_in_jail() {
	sock="$BASE/brisk/t-api/root/api.sock"
	"$JAILER" --id t-api --exec-file "$B/brisk" --uid $UID_ --gid $GID_ --chroot-base-dir "$BASE" \
		-- --api-sock /api.sock </dev/null >"$T_TMP/out" 2>"$T_TMP/err" &
	jp=$!
	for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.05; done
	[ -S "$sock" ] || { fail "no API socket in the jail: $(cat "$T_TMP/err")"; kill $jp; wait $jp; return 1; }
	code=$(curl -s --max-time 10 --unix-socket "$sock" -o "$T_TMP/body" -w '%{http_code}' http://localhost/)
	kill -TERM $jp
	wait $jp
	expect_eq "GET /" 200 "$code" && expect_contains "instance id" '"id":"t-api"' "$(cat "$T_TMP/body")" &&
		expect_eq "socket owner" "" "$(cat "$T_TMP/err")" && expect_clean
}

t_twenty_runs_leave_nothing() {
	for i in $(seq 1 20); do
		jail "t-many-$i" --cgroup pids.max=40 -- $GUEST --cmdline exit=0
		[ "$RC" = 0 ] || { fail "run $i: status $RC: $ERR"; return 1; }
	done
	expect_clean
}

if [ "$(id -u)" != 0 ] || [ ! -w /dev/kvm ]; then
	echo "jailer.sh: needs root and /dev/kvm" >&2
	exit 1
fi
mkdir -p "$BASE"
run_test "jailed run passes the exit status" t_runs_and_passes_status
run_test "the jail: uid, no caps, nnp, seccomp, mount/pid ns, only its files" t_jail_view
run_test "cgroup v1: limits applied, brisk inside, removed after" t_cgroup_v1_limits
run_test "cgroup v2: created, joined, limits (pure v2), removed after" t_cgroup_v2
run_test "pids.max=1 stops brisk cleanly" t_pids_limit_enforced
run_test "refused inputs: distinct codes, nothing half-made" t_refused_inputs
run_test "an existing jail is refused; --cleanup refuses a live one" t_existing_jail_refused
run_test "a seccomp kill is named" t_seccomp_kill_named
run_test "SIGTERM to the jailer stops brisk and cleans up" t_sigterm_stops_and_cleans
run_test "killed jailer: brisk dies too, --cleanup removes the rest" t_killed_jailer_then_cleanup
run_test "--daemonize returns once brisk runs, cleans up at its end" t_daemonize
run_test "base dir on another fs: bind mounts" t_bind_mounts_across_fs
run_test "drives: writable given to uid:gid, unreadable refused" t_drives
run_test "Firecracker flags in the jail: API socket, the jailer's id" t_api_in_jail
run_test "20 jailed runs leave nothing behind" t_twenty_runs_leave_nothing
finish jailer
