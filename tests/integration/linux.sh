#!/bin/sh
# linux.sh — tier 3: a real Linux guest (guest-kernel-config/ kernel + agent
# initramfs) under brisk. Needs a /dev/kvm that can run Linux: run it through
# scripts/testhost on machines whose KVM cannot (see README).
# Usage: tests/integration/linux.sh [BUILD_DIR]
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
B=${1:-build}
BRISK="$B/brisk"

# brisk_run ARGS... — stdout in $OUT, stderr in $ERR, status in $RC; stdin from $IN (default /dev/null).
brisk_run() {
	timeout 120 "$BRISK" run "$@" <"${IN:-/dev/null}" >"$T_TMP/out" 2>"$T_TMP/err"
	RC=$?
	OUT=$(cat "$T_TMP/out")
	ERR=$(cat "$T_TMP/err")
	[ "$RC" -ne 124 ] || fail "brisk timed out: $ERR"
}

t_uname() {
	brisk_run -- uname -a
	expect_eq status 0 "$RC" && expect_contains stdout "Linux" "$OUT" &&
		expect_contains stdout "x86_64" "$OUT" &&
		# Only the command's output on stdout: no kernel messages.
		expect_eq "stdout lines" 1 "$(wc -l <"$T_TMP/out" | tr -d ' ')"
}

t_exit_0() {
	brisk_run -- true
	expect_eq status 0 "$RC"
}

t_exit_3() {
	brisk_run -- sh -c 'echo hi; exit 3'
	expect_eq status 3 "$RC" && expect_eq stdout "hi" "$OUT"
}

t_not_found() {
	brisk_run -- no-such-command-xyz
	expect_eq status 127 "$RC" && expect_contains stderr "no-such-command-xyz" "$ERR"
}

t_not_executable() {
	brisk_run -- /etc/passwd
	expect_eq status 126 "$RC"
}

t_signal_status() {
	brisk_run -- sh -c 'kill -TERM $$'
	expect_eq status 143 "$RC"
}

t_stderr() {
	brisk_run -- sh -c 'echo out; echo err >&2'
	expect_eq stdout "out" "$OUT" && expect_contains stderr "err" "$ERR"
}

t_args_with_spaces() {
	brisk_run -- sh -c 'printf "[%s]" "$@"' sh "a b" "" "x'y\"z" '%41'
	expect_eq status 0 "$RC" && expect_eq stdout "[a b][][x'y\"z][%41]" "$OUT"
}

t_cpus_2() {
	brisk_run --cpus 2 -- grep -c ^processor /proc/cpuinfo
	expect_eq status 0 "$RC" && expect_eq "processors" 2 "$OUT"
}

t_mem() {
	brisk_run --mem 512 -- sh -c "awk '/MemTotal/ {print \$2}' /proc/meminfo"
	expect_eq status 0 "$RC" || return 1
	[ "$OUT" -gt 400000 ] && [ "$OUT" -le 524288 ] || fail "MemTotal $OUT kB for --mem 512"
}

t_mem_above_4g() {
	# RAM is split around the 3-4 GiB MMIO gap: the guest must see both parts.
	brisk_run --mem 4096 -- sh -c "awk '/MemTotal/ {print \$2}' /proc/meminfo"
	expect_eq status 0 "$RC" || return 1
	[ "$OUT" -gt 3800000 ] && [ "$OUT" -le 4194304 ] || fail "MemTotal $OUT kB for --mem 4096"
}

t_stdin_pipe() {
	echo abc >"$T_TMP/in"
	IN="$T_TMP/in" brisk_run -- cat
	expect_eq status 0 "$RC" && expect_eq stdout "abc" "$OUT"
}

t_stdin_binary() {
	# Every byte value, including 0xff (the framing escape), survives.
	awk 'BEGIN { for (i = 0; i < 256; i++) printf "%c", i }' >"$T_TMP/bytes"
	IN="$T_TMP/bytes" brisk_run -- md5sum
	expect_eq status 0 "$RC" &&
		expect_eq md5 "$(md5sum <"$T_TMP/bytes" | cut -d' ' -f1)" "$(echo "$OUT" | cut -d' ' -f1)"
}

t_stdin_empty() {
	IN=/dev/null brisk_run -- wc -c
	expect_eq status 0 "$RC" && expect_eq stdout 0 "$(echo "$OUT" | tr -d ' ')"
}

t_env_workdir() {
	brisk_run -e FOO=bar -w /tmp -- sh -c 'echo $FOO; pwd'
	expect_eq status 0 "$RC" && expect_eq stdout "bar
/tmp" "$OUT"
}

t_reboot_f() {
	brisk_run -- reboot -f
	expect_eq status 0 "$RC"
}

t_poweroff_f() {
	brisk_run -- poweroff -f
	expect_eq status 0 "$RC"
}

t_verbose_shows_kernel() {
	brisk_run -v -- true
	expect_eq status 0 "$RC" && expect_contains stderr "Linux version" "$ERR"
}

t_boot_timer() {
	brisk_run --boot-timer -- true
	expect_eq status 0 "$RC" && expect_contains stderr "Guest-boot-time =" "$ERR"
}

t_bzimage() {
	[ -f "$B/bzImage" ] || { fail "no $B/bzImage"; return 1; }
	brisk_run --kernel "$B/bzImage" -- echo bz
	expect_eq status 0 "$RC" && expect_eq stdout bz "$OUT"
}

t_pvh() {
	brisk_run --boot pvh -- echo pvh
	expect_eq status 0 "$RC" && expect_eq stdout pvh "$OUT"
}

t_corrupt_kernel() {
	head -c 1000000 "$B/vmlinux" >"$T_TMP/truncated"
	brisk_run --kernel "$T_TMP/truncated" -- true
	expect_eq status 125 "$RC" && expect_contains stderr "truncated" "$ERR"
}

t_kernel_panic() {
	brisk_run --cmdline "console=ttyS1 panic=-1 reboot=k init=/nonexistent rdinit=/nonexistent" -- true
	expect_eq status 125 "$RC"
}

run_test "uname -a" t_uname
run_test "exit 0" t_exit_0
run_test "exit 3" t_exit_3
run_test "command not found: 127" t_not_found
run_test "not executable: 126" t_not_executable
run_test "killed by signal: 128+N" t_signal_status
run_test "stderr separate from stdout" t_stderr
run_test "arguments with spaces and quotes" t_args_with_spaces
run_test "--cpus 2" t_cpus_2
run_test "--mem 512" t_mem
run_test "--mem 4096 (RAM above 4 GiB)" t_mem_above_4g
run_test "stdin piped into the command" t_stdin_pipe
run_test "binary stdin" t_stdin_binary
run_test "empty stdin" t_stdin_empty
run_test "--env and --workdir" t_env_workdir
run_test "reboot -f ends brisk" t_reboot_f
run_test "poweroff -f ends brisk" t_poweroff_f
run_test "-v shows kernel messages" t_verbose_shows_kernel
run_test "--boot-timer" t_boot_timer
run_test "bzImage" t_bzimage
run_test "PVH entry" t_pvh
run_test "corrupt kernel: 125" t_corrupt_kernel
run_test "kernel panic: 125" t_kernel_panic
finish linux
