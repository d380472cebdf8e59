#!/bin/sh
# smoke.sh — tier 2: the tiny test guest on the local /dev/kvm.
# Usage: tests/integration/smoke.sh [BUILD_DIR]   (default build)
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
B=${1:-build}
BRISK="$B/brisk"
GUEST="--kernel $B/test-guest --no-initrd"

# run_guest CMDLINE [brisk flags...] — stdout in $OUT, stderr in $ERR, status in $RC.
run_guest() {
	c=$1
	shift
	# shellcheck disable=SC2086
	timeout 20 "$BRISK" run $GUEST "$@" --cmdline "$c" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
	RC=$?
	OUT=$(cat "$T_TMP/out")
	ERR=$(cat "$T_TMP/err")
}

t_hello() {
	run_guest "exit=0"
	expect_eq "exit status" 0 "$RC" &&
		expect_contains stdout "brisk test guest: hello (entry=linux64)" "$OUT" &&
		expect_contains stdout "cmdline: exit=0" "$OUT"
}

t_exit_status() {
	run_guest "exit=3"
	expect_eq "exit=3" 3 "$RC" || return 1
	run_guest "exit=255"
	expect_eq "exit=255" 255 "$RC"
}

t_boot_timer() {
	run_guest "exit=0" --boot-timer
	expect_eq status 0 "$RC" &&
		expect_contains stderr "Guest-boot-time =" "$ERR" &&
		expect_eq "boot-timer lines" 1 "$(grep -c Guest-boot-time "$T_TMP/err")"
}

t_boot_timer_port_only() {
	run_guest "exit=0 timer=port" --boot-timer
	expect_contains stderr "Guest-boot-time =" "$ERR"
}

t_boot_timer_mmio_only() {
	run_guest "exit=0 timer=mmio" --boot-timer
	expect_contains stderr "Guest-boot-time =" "$ERR"
}

t_no_boot_timer_without_flag() {
	run_guest "exit=0"
	expect_not_contains stderr "Guest-boot-time" "$ERR"
}

t_com2_to_stderr() {
	run_guest "exit=0 write2=1"
	expect_contains stderr "COM2" "$ERR" && expect_not_contains stdout "COM2" "$OUT"
}

t_ticks() {
	run_guest "ticks=3 interval_ms=1"
	expect_eq status 0 "$RC" && expect_contains stdout "tick 2" "$OUT" &&
		expect_contains stdout "done" "$OUT"
}

t_counter_stopped_by_stdin() {
	(sleep 0.5; echo x) | timeout 20 "$BRISK" run $GUEST --cmdline "counter interval_ms=10" \
		>"$T_TMP/out" 2>"$T_TMP/err"
	RC=$?
	OUT=$(cat "$T_TMP/out")
	expect_eq status 0 "$RC" && expect_contains stdout "tick 1" "$OUT" &&
		expect_contains stdout "stop" "$OUT"
}

t_i8042_reset() {
	run_guest "reboot"
	expect_eq "reset without agent" 0 "$RC"
}

t_triple_fault() {
	run_guest "fault=triple"
	expect_eq "triple fault ends the VM" 0 "$RC"
}

t_smp() {
	run_guest "exit=7" --cpus 4
	expect_eq "4 vCPUs" 7 "$RC"
}

t_pvh_entry() {
	run_guest "exit=5" --boot pvh
	# kvm_pvm may refuse 32-bit entry; a clear KVM error (125) is acceptable there.
	if [ "$RC" = 125 ]; then
		expect_contains stderr "host KVM could not run this guest" "$ERR"
	else
		expect_eq "pvh exit" 5 "$RC" && expect_contains stdout "entry=pvh" "$OUT"
	fi
}

t_missing_kernel() {
	timeout 20 "$BRISK" run --kernel /nonexistent/vmlinux --no-initrd </dev/null \
		>"$T_TMP/out" 2>"$T_TMP/err"
	RC=$?
	expect_eq status 125 "$RC" &&
		expect_contains stderr "kernel /nonexistent/vmlinux: No such file or directory" \
			"$(cat "$T_TMP/err")"
}

t_corrupt_kernel() {
	head -c 4096 /dev/urandom >"$T_TMP/bad-kernel"
	timeout 20 "$BRISK" run --kernel "$T_TMP/bad-kernel" --no-initrd </dev/null \
		>"$T_TMP/out" 2>"$T_TMP/err"
	RC=$?
	expect_eq status 125 "$RC" && expect_contains stderr "bad-kernel" "$(cat "$T_TMP/err")"
}

t_bad_flag() {
	timeout 20 "$BRISK" run --cpus 0 -- true >"$T_TMP/out" 2>"$T_TMP/err"
	RC=$?
	expect_eq status 125 "$RC" && expect_contains stderr "--cpus '0'" "$(cat "$T_TMP/err")"
}

t_sigterm() {
	# --shutdown-timeout 0: no Ctrl-Alt-Del, the VM stops at once (api.sh tests the grace).
	# shellcheck disable=SC2086
	(exec "$BRISK" run $GUEST --shutdown-timeout 0 --cmdline "counter interval_ms=10" </dev/null \
		>"$T_TMP/out" 2>"$T_TMP/err") &
	pid=$!
	sleep 0.5
	kill -TERM $pid
	wait $pid
	RC=$?
	expect_eq "killed by SIGTERM" 143 "$RC"
}

t_drive_without_id() {
	# A --drive without id= is "drive1" (its serial in the guest).
	truncate -s 1M "$T_TMP/d.img"
	run_guest "exit=0" --drive "$T_TMP/d.img"
	expect_eq status 0 "$RC" && expect_contains "device on the command line" "virtio_mmio.device=4K@0xc0001000:5" "$OUT"
}

t_stdout_closed() {
	# A reader that goes away must not kill or hang brisk.
	timeout 20 "$BRISK" run $GUEST --cmdline "ticks=50 interval_ms=1" </dev/null 2>/dev/null | head -c 1 >/dev/null
	expect_eq "status with closed stdout" 0 "$?"
}

# --- virtio-net on a local tap (root only): the test guest has no virtio
# driver, so the NIC never reaches DRIVER_OK and brisk must not read the tap.
NET_TAP=bsmk$$
FLOOD=${NETFLOOD:-build/netflood}

t_net_flood_inactive_nic() {
	scripts/mktap "$NET_TAP" 172.31.250.1/24 2>"$T_TMP/mktap" || { fail "mktap: $(cat "$T_TMP/mktap")"; return 1; }
	# shellcheck disable=SC2086
	timeout 20 "$BRISK" run $GUEST -v --net "$NET_TAP" --cmdline "ticks=30 interval_ms=100" \
		</dev/null >"$T_TMP/out" 2>"$T_TMP/err" &
	bg=$!
	sleep 0.5
	pid=$(brisk_pid $bg)
	t0=$(thread_ticks "$pid")
	"$FLOOD" "$NET_TAP" 2 1000 >"$T_TMP/flood" 2>&1
	t1=$(thread_ticks "$pid")
	wait $bg
	RC=$?
	ERR=$(cat "$T_TMP/err")
	expect_eq status 0 "$RC" &&
		expect_contains "flood ran" "netflood: sent" "$(cat "$T_TMP/flood")" &&
		expect_contains "counters" "NIC eth0 ($NET_TAP): rx 0 packets" "$ERR" || return 1
	[ $((t1 - t0)) -lt 50 ] || fail "main thread used $((t1 - t0)) ticks in 2 s of flood"
}

t_net_tap_deleted() {
	# shellcheck disable=SC2086
	timeout 20 "$BRISK" run $GUEST -v --net "$NET_TAP" --cmdline "ticks=20 interval_ms=100" \
		</dev/null >"$T_TMP/out" 2>"$T_TMP/err" &
	bg=$!
	sleep 0.5
	pid=$(brisk_pid $bg)
	t0=$(thread_ticks "$pid")
	# mktap --del refuses a tap in use; the kernel does not.
	ip link delete "$NET_TAP" || { fail "ip link delete $NET_TAP"; return 1; }
	sleep 1
	t1=$(thread_ticks "$pid")
	wait $bg
	RC=$?
	expect_eq status 0 "$RC" || return 1
	[ $((t1 - t0)) -lt 50 ] || fail "main thread used $((t1 - t0)) ticks after the tap went away"
}

t_net_errors() {
	timeout 20 "$BRISK" run $GUEST --net nosuchtap0 --cmdline exit=0 </dev/null >/dev/null 2>"$T_TMP/err"
	RC=$?
	expect_eq status 125 "$RC" &&
		expect_contains stderr "tap 'nosuchtap0' does not exist; create it first: scripts/mktap nosuchtap0" \
			"$(cat "$T_TMP/err")" || return 1
	timeout 20 "$BRISK" run $GUEST --net bad,mac=01:00:00:00:00:01 --cmdline exit=0 </dev/null >/dev/null 2>"$T_TMP/err"
	RC=$?
	expect_eq status 125 "$RC" && expect_contains stderr "unicast" "$(cat "$T_TMP/err")"
}

run_test "hello on COM1" t_hello
run_test "exit status through the exit device" t_exit_status
run_test "boot timer line with --boot-timer" t_boot_timer
run_test "boot timer via port 0x3f0" t_boot_timer_port_only
run_test "boot timer via MMIO 0xc0000000" t_boot_timer_mmio_only
run_test "no boot timer line without the flag" t_no_boot_timer_without_flag
run_test "COM2 goes to stderr" t_com2_to_stderr
run_test "counter with ticks" t_ticks
run_test "counter stopped by a byte on stdin" t_counter_stopped_by_stdin
run_test "i8042 reset ends the VM" t_i8042_reset
run_test "triple fault ends the VM" t_triple_fault
run_test "4 vCPUs" t_smp
run_test "PVH entry" t_pvh_entry
run_test "missing kernel file" t_missing_kernel
run_test "corrupt kernel file" t_corrupt_kernel
run_test "bad flag" t_bad_flag
run_test "SIGTERM gives 128+15" t_sigterm
run_test "--drive without id=" t_drive_without_id
run_test "closed stdout" t_stdout_closed
run_test "--net: bad tap or MAC: 125 naming the fix" t_net_errors
# Taps need root (CI runs as root).
run_test "--net: flooded tap, NIC without a driver: not read, brisk idle" t_net_flood_inactive_nic
run_test "--net: tap deleted under a running VM: no spin, clean exit" t_net_tap_deleted
scripts/mktap --del "$NET_TAP" 2>/dev/null
finish smoke
