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
	timeout 20 "$BRISK" run $GUEST --cmdline "counter interval_ms=10" </dev/null \
		>"$T_TMP/out" 2>"$T_TMP/err" &
	pid=$!
	sleep 0.5
	kill -TERM $pid
	wait $pid
	RC=$?
	expect_eq "killed by SIGTERM" 143 "$RC"
}

t_stdout_closed() {
	# A reader that goes away must not kill or hang brisk.
	timeout 20 "$BRISK" run $GUEST --cmdline "ticks=50 interval_ms=1" </dev/null 2>/dev/null | head -c 1 >/dev/null
	expect_eq "status with closed stdout" 0 "$?"
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
run_test "closed stdout" t_stdout_closed
finish smoke
