#!/bin/sh
# api-linux.sh — tier 3: a real Linux guest configured entirely through the
# Firecracker-compatible API (curl on the Unix socket): it boots from
# brisk's rootfs and runs a command; a pause of 2 s then a resume keeps it
# alive; SIGTERM becomes Ctrl-Alt-Del and the guest shuts down cleanly
# within the grace period. Run it through scripts/testhost where the local
# KVM cannot run Linux (see README).
# Usage: tests/integration/api-linux.sh [BUILD_DIR]
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
B=${1:-build}
BRISK="$B/brisk"
ROOT=$(pwd)/$B
S=$T_TMP/api.sock
# The agent's kernel parameters (docs/guest-interface.md): init=/init on the rootfs.
ARGS="console=ttyS1 reboot=k panic=-1 pci=off nomodule 8250.nr_uarts=2 i8042.noaux i8042.nomux i8042.dumbkbd no_timer_check loglevel=1 init=/init"

. tests/integration/api-lib.sh
API_WAIT=30

# configure AGENT_ARGS — kernel, rootfs drive and machine through the API only.
configure() {
	expect_eq "PUT /boot-source" 204 "$(api PUT /boot-source \
		"{\"kernel_image_path\":\"$ROOT/vmlinux\",\"boot_args\":\"$ARGS -- $1\"}")" &&
		expect_eq "PUT /drives/rootfs" 204 "$(api PUT /drives/rootfs \
			"{\"drive_id\":\"rootfs\",\"path_on_host\":\"$ROOT/rootfs.ext4\",\"is_root_device\":true,\"is_read_only\":true,\"io_engine\":\"Async\"}")" &&
		expect_eq "PUT /machine-config" 204 "$(api PUT /machine-config \
			'{"vcpu_count":2,"mem_size_mib":256}')" &&
		expect_eq "InstanceStart" 204 "$(api PUT /actions '{"action_type":"InstanceStart"}')"
}

ticks() { grep -c '^tick' "$T_TMP/out"; }

# wait_ticks N SECONDS — until N tick lines are out.
wait_ticks() {
	i=0
	while [ "$(ticks)" -lt "$1" ] && [ $i -lt $(($2 * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(ticks)" -ge "$1" ] || fail "only $(ticks) ticks after $2 s: $(tail -5 "$T_TMP/err")"
}

t_api_command() {
	start_brisk || return 1
	configure "stdin=null cmd=uname,-a" || { kill -9 $BP; return 1; }
	wait_exit $BP 60 || return 1
	expect_eq "exit status (the command's)" 0 "$RC" &&
		expect_contains stdout "Linux" "$(cat "$T_TMP/out")" &&
		expect_eq "socket removed" "" "$(ls "$S" 2>/dev/null)"
}

t_api_pause_resume_sigterm() {
	start_brisk --shutdown-timeout 20 -v || return 1
	# sh -c 'while :; do echo tick; sleep 0.2; done'
	configure "stdin=null v=1 cmd=sh,-c,while%20:%3B%20do%20echo%20tick%3B%20sleep%200.2%3B%20done" ||
		{ kill -9 $BP; return 1; }
	wait_ticks 3 60 || { kill -9 $BP; return 1; }
	expect_eq "pause" 204 "$(api PATCH /vm '{"state":"Paused"}')" &&
		expect_eq "GET /" 200 "$(api GET /)" &&
		expect_contains state '"state":"Paused"' "$(body)" || { kill -9 $BP; return 1; }
	a=$(ticks)
	sleep 2
	b=$(ticks)
	expect_eq "no output while paused for 2 s" "$a" "$b" || { kill -9 $BP; return 1; }
	expect_eq "resume" 204 "$(api PATCH /vm '{"state":"Resumed"}')" || { kill -9 $BP; return 1; }
	wait_ticks $((b + 3)) 20 || { kill -9 $BP; return 1; }
	expect_eq "GET / after resume" 200 "$(api GET /)" &&
		expect_contains state '"state":"Running"' "$(body)" || { kill -9 $BP; return 1; }
	t0=$(date +%s)
	kill -TERM $BP
	wait_exit $BP 30 || return 1
	took=$(($(date +%s) - t0))
	expect_eq "exit status 128+SIGTERM" 143 "$RC" &&
		expect_contains "brisk asked the guest" "asked the guest to shut down (Ctrl-Alt-Del)" "$(cat "$T_TMP/err")" &&
		expect_contains "the agent got it" "ctrl-alt-del" "$(cat "$T_TMP/err")" &&
		expect_contains "clean end" "the guest shut down after Ctrl-Alt-Del" "$(cat "$T_TMP/err")" &&
		expect_not_contains "no forced stop" "did not shut down within" "$(cat "$T_TMP/err")" || return 1
	[ "$took" -lt 20 ] || fail "shutdown took $took s, timeout 20"
}

t_run_sigterm() {
	# brisk run: the same path from the CLI (a script's `timeout` or Ctrl-C).
	"$BRISK" run --shutdown-timeout 20 -- sh -c 'echo started; sleep 600' </dev/null \
		>"$T_TMP/out" 2>"$T_TMP/err" &
	BP=$!
	i=0
	while ! grep -q started "$T_TMP/out" && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -TERM $BP
	wait_exit $BP 30 || return 1
	expect_eq "exit status" 143 "$RC" &&
		expect_not_contains "no forced stop" "did not shut down within" "$(cat "$T_TMP/err")"
}

run_test "api: a Linux guest configured through the API runs a command" t_api_command
run_test "api: pause 2 s, resume, SIGTERM shuts the guest down cleanly" t_api_pause_resume_sigterm
run_test "brisk run: SIGTERM ends the command through Ctrl-Alt-Del" t_run_sigterm
finish api-linux
