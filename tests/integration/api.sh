#!/bin/sh
# api.sh — the Firecracker-compatible control plane with the tiny test guest
# on the local /dev/kvm: a real HTTP client (curl --unix-socket) drives a VM
# through configure → start → pause → resume → Ctrl-Alt-Del; config files
# with --no-api and with brisk run; signals, the grace period, SIGKILL;
# metrics and JSON logs.
# Usage: tests/integration/api.sh [BUILD_DIR]   (default build)
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
B=${1:-build}
BRISK="$B/brisk"
GUEST=$(pwd)/$B/test-guest
S=$T_TMP/api.sock

. tests/integration/api-lib.sh

ticks() { grep -c '^tick' "$T_TMP/out"; }

# configure CMDLINE — boot-source and machine-config for the tiny guest.
configure() {
	expect_eq "PUT /boot-source" 204 \
		"$(api PUT /boot-source "{\"kernel_image_path\":\"$GUEST\",\"boot_args\":\"$1\"}")" &&
		expect_eq "PUT /machine-config" 204 \
			"$(api PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}')"
}

t_lifecycle() {
	start_brisk || return 1
	expect_eq "GET /" 200 "$(api GET /)" &&
		expect_contains "GET / body" '"state":"Not started"' "$(body)" &&
		expect_contains "GET / body" '"app_name":"brisk"' "$(body)" &&
		configure "counter interval_ms=20 cad_exit=0" &&
		expect_eq "GET /vm/config" 200 "$(api GET /vm/config)" &&
		expect_contains "vm/config" '"mem_size_mib":64' "$(body)" &&
		expect_eq "InstanceStart" 204 "$(api PUT /actions '{"action_type":"InstanceStart"}')" &&
		expect_eq "GET / running" 200 "$(api GET /)" &&
		expect_contains "state" '"state":"Running"' "$(body)" || { kill -9 $BP; return 1; }
	sleep 0.3
	expect_eq "pause" 204 "$(api PATCH /vm '{"state":"Paused"}')" &&
		expect_eq "GET / paused" 200 "$(api GET /)" &&
		expect_contains "state" '"state":"Paused"' "$(body)" || { kill -9 $BP; return 1; }
	a=$(ticks)
	sleep 1
	b=$(ticks)
	expect_eq "ticks while paused (serial output stops)" "$a" "$b" || { kill -9 $BP; return 1; }
	[ "$a" -gt 0 ] || { fail "no ticks before the pause"; kill -9 $BP; return 1; }
	expect_eq "pause again" 204 "$(api PATCH /vm '{"state":"Paused"}')" &&
		expect_eq "resume" 204 "$(api PATCH /vm '{"state":"Resumed"}')" || { kill -9 $BP; return 1; }
	sleep 0.5
	c=$(ticks)
	[ "$c" -gt "$b" ] || { fail "no ticks after resume ($b then $c)"; kill -9 $BP; return 1; }
	expect_eq "SendCtrlAltDel" 204 "$(api PUT /actions '{"action_type":"SendCtrlAltDel"}')"
	wait_exit $BP 5 || return 1
	expect_eq "exit status after Ctrl-Alt-Del" 0 "$RC" &&
		expect_contains "guest saw the keys" "ctrl-alt-del" "$(cat "$T_TMP/out")" &&
		expect_eq "socket file removed" "" "$(ls "$S" 2>/dev/null)"
}

t_errors() {
	start_brisk || return 1
	expect_eq "malformed JSON" 400 "$(api PUT /boot-source '{"kernel_image_path": ')" &&
		expect_contains "fault_message" '"fault_message":' "$(body)" &&
		expect_eq "unknown path" 400 "$(api GET /no/such/path)" &&
		expect_contains "fault" "Invalid request method and/or path" "$(body)" &&
		expect_eq "wrong method" 400 "$(api DELETE /machine-config)" &&
		expect_eq "unknown key" 400 "$(api PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64,"vcpus":2}')" &&
		expect_contains "fault names the key" "vcpus" "$(body)" &&
		expect_eq "no kernel yet" 400 "$(api PUT /actions '{"action_type":"InstanceStart"}')" &&
		expect_contains "fault" "Start microvm error" "$(body)" &&
		expect_eq "missing kernel file" 204 \
			"$(api PUT /boot-source '{"kernel_image_path":"/nonexistent/vmlinux"}')" &&
		expect_eq "start with a missing kernel" 400 "$(api PUT /actions '{"action_type":"InstanceStart"}')" &&
		expect_contains "fault names the file" "/nonexistent/vmlinux" "$(body)" || { kill -9 $BP; return 1; }
	# 100 KB body: over the 51200-byte default limit.
	head -c 100000 /dev/zero | tr '\0' 'a' >"$T_TMP/big"
	code=$(curl -s --max-time 10 --unix-socket "$S" -o "$T_TMP/body" -w '%{http_code}' -X PUT \
		--data-binary @"$T_TMP/big" http://localhost/boot-source)
	expect_eq "oversized body" 400 "$code" &&
		expect_contains "fault" "larger than the limit of 51200" "$(body)" || { kill -9 $BP; return 1; }
	# After boot: pre-boot resources refused.
	configure "counter interval_ms=50" &&
		expect_eq "start" 204 "$(api PUT /actions '{"action_type":"InstanceStart"}')" &&
		expect_eq "boot-source after boot" 400 "$(api PUT /boot-source "{\"kernel_image_path\":\"$GUEST\"}")" &&
		expect_contains "fault" "not supported after starting the microVM" "$(body)" &&
		expect_eq "second start" 400 "$(api PUT /actions '{"action_type":"InstanceStart"}')" &&
		expect_eq "bad state" 400 "$(api PATCH /vm '{"state":"Frozen"}')" || { kill -9 $BP; return 1; }
	# A second brisk cannot take a live socket.
	"$BRISK" --api-sock "$S" </dev/null >/dev/null 2>"$T_TMP/err2"
	expect_eq "second brisk on a live socket" 125 "$?" &&
		expect_contains "message" "another process is serving" "$(cat "$T_TMP/err2")" || { kill -9 $BP; return 1; }
	kill -TERM $BP
	wait_exit $BP 10
}

t_first_request_oversized() {
	# The first request of a fresh brisk is refused on the API thread (no JSON before it).
	start_brisk || return 1
	head -c 5000000 /dev/zero >"$T_TMP/huge"
	code=$(curl -s --max-time 10 --unix-socket "$S" -o "$T_TMP/body" -w '%{http_code}' -X PUT \
		--data-binary @"$T_TMP/huge" http://localhost/boot-source)
	expect_eq "5 MB body, refused from its Content-Length" 400 "$code" &&
		expect_contains "fault" "size 5000000 is larger than the limit" "$(body)" &&
		expect_eq "brisk still serving" 200 "$(api GET /)" || { kill -9 $BP; return 1; }
	kill -TERM $BP
	wait_exit $BP 5
}

write_config() {
	cat >"$T_TMP/vm.json" <<EOF
{
  "boot-source": { "kernel_image_path": "$GUEST", "boot_args": "$1" },
  "drives": [],
  "network-interfaces": [],
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64, "smt": false },
  "vsock": null,
  "balloon": null,
  "mmds-config": null
}
EOF
}

t_config_file() {
	write_config "ticks=2 exit=5"
	timeout 20 "$BRISK" --config-file "$T_TMP/vm.json" --no-api </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
	expect_eq "--no-api exit status = guest's" 5 "$?" &&
		expect_contains "guest ran" "tick 1" "$(cat "$T_TMP/out")" || return 1
	timeout 20 "$BRISK" run --config-file "$T_TMP/vm.json" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
	expect_eq "run --config-file" 5 "$?" || return 1
	"$BRISK" run --config-file "$T_TMP/vm.json" --mem 64 </dev/null >/dev/null 2>"$T_TMP/err"
	expect_eq "run --config-file --mem" 125 "$?" &&
		expect_contains "message" "--mem and --config-file both describe the machine" "$(cat "$T_TMP/err")" || return 1
	printf '{\n  "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},\n  "vsock": {"guest_cid": 3}\n}\n' >"$T_TMP/bad.json"
	"$BRISK" --config-file "$T_TMP/bad.json" --no-api </dev/null >/dev/null 2>"$T_TMP/err"
	expect_eq "unsupported feature" 125 "$?" &&
		expect_contains "message" "bad.json:3:" "$(cat "$T_TMP/err")" &&
		expect_contains "message" "vsock" "$(cat "$T_TMP/err")" &&
		expect_contains "message" "not supported by brisk" "$(cat "$T_TMP/err")" || return 1
	"$BRISK" --no-api </dev/null >/dev/null 2>"$T_TMP/err"
	expect_eq "--no-api without config" 125 "$?"
}

t_sigterm_clean() {
	write_config "counter interval_ms=20 cad_exit=7"
	start_brisk --config-file "$T_TMP/vm.json" -v || return 1
	sleep 0.3
	kill -TERM $BP
	wait_exit $BP 5 || return 1
	expect_eq "exit status: the guest's, it shut down on request" 7 "$RC" &&
		expect_contains "guest got Ctrl-Alt-Del" "ctrl-alt-del" "$(cat "$T_TMP/out")" &&
		expect_contains "log" "asked the guest to shut down" "$(cat "$T_TMP/err")" &&
		expect_contains "log" "the guest shut down after Ctrl-Alt-Del" "$(cat "$T_TMP/err")" &&
		expect_eq "socket removed" "" "$(ls "$S" 2>/dev/null)"
}

t_sigterm_timeout() {
	# fault=hang: the guest never reads the keyboard; the grace period ends it.
	write_config "fault=hang"
	start_brisk --config-file "$T_TMP/vm.json" --shutdown-timeout 1 || return 1
	sleep 0.2
	t0=$(date +%s%N)
	kill -TERM $BP
	wait_exit $BP 6 || return 1
	ms=$((($(date +%s%N) - t0) / 1000000))
	expect_eq "exit status" 143 "$RC" &&
		expect_contains "log" "did not shut down within 1000 ms" "$(cat "$T_TMP/err")" || return 1
	[ "$ms" -ge 900 ] && [ "$ms" -lt 4000 ] || fail "teardown after $ms ms, expected about 1000"
}

t_cad_buffer_full() {
	# A guest that never reads the keyboard: the second Ctrl-Alt-Del does not fit.
	write_config "fault=hang"
	start_brisk --config-file "$T_TMP/vm.json" || return 1
	sleep 0.2
	expect_eq "first SendCtrlAltDel" 204 "$(api PUT /actions '{"action_type":"SendCtrlAltDel"}')" &&
		expect_eq "second SendCtrlAltDel" 400 "$(api PUT /actions '{"action_type":"SendCtrlAltDel"}')" &&
		expect_contains fault "keyboard buffer is full" "$(body)" || { kill -9 $BP; return 1; }
	# SIGTERM cannot reach such a guest: brisk stops it at once.
	kill -TERM $BP
	wait_exit $BP 3 && expect_eq "exit status" 143 "$RC"
}

t_run_sigterm() {
	# brisk run: SIGTERM (a script's timeout, Ctrl-C on a pipe) is Ctrl-Alt-Del too.
	("exec" "$BRISK" run --kernel "$GUEST" --no-initrd --cmdline "counter interval_ms=5 cad_exit=42" \
		</dev/null >"$T_TMP/out" 2>"$T_TMP/err") &
	BP=$!
	i=0
	while ! grep -q "tick 1" "$T_TMP/out" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.02
		i=$((i + 1))
	done
	kill -TERM $BP
	wait_exit $BP 5 || return 1
	expect_eq "exit status: the guest's" 42 "$RC" &&
		expect_contains "guest" "ctrl-alt-del" "$(cat "$T_TMP/out")"
}

t_sigkill() {
	write_config "counter interval_ms=50"
	start_brisk --config-file "$T_TMP/vm.json" || return 1
	sleep 0.2
	kids=$(ps -o pid= --ppid $BP | tr -d ' ')
	kill -KILL $BP
	wait $BP 2>/dev/null
	expect_eq "children of brisk" "" "$kids" &&
		expect_eq "no brisk left" "" "$(ps -o pid= --ppid $$ -C brisk 2>/dev/null | tr -d ' ' | grep -x "$BP")" || return 1
	# The socket file a killed brisk left behind is stale: the next one replaces it.
	[ -S "$S" ] || { fail "expected the stale socket file"; return 1; }
	start_brisk || return 1
	expect_eq "new brisk on the stale socket" 200 "$(api GET /)"
	kill -TERM $BP
	wait_exit $BP 5
}

t_metrics_and_logs() {
	start_brisk --metrics-path "$T_TMP/metrics.json" --log-format json -v || return 1
	configure "counter interval_ms=20" &&
		expect_eq "start" 204 "$(api PUT /actions '{"action_type":"InstanceStart"}')" || { kill -9 $BP; return 1; }
	sleep 0.3
	expect_eq "FlushMetrics" 204 "$(api PUT /actions '{"action_type":"FlushMetrics"}')" || { kill -9 $BP; return 1; }
	m=$(tail -n 1 "$T_TMP/metrics.json")
	expect_contains "metrics: vCPU exits" '"exit_io":' "$m" &&
		expect_contains "metrics: boot timer" '"boot_timer_us":' "$m" &&
		expect_contains "metrics: state" '"state":"Running"' "$m" &&
		expect_contains "metrics: API counters" '"requests":' "$m" || { kill -9 $BP; return 1; }
	kill -TERM $BP
	wait_exit $BP 10 || return 1
	expect_eq "flush at exit" 2 "$(grep -c utc_timestamp_ms "$T_TMP/metrics.json")" &&
		expect_contains "JSON log lines" '{"ts":"' "$(head -n 1 "$T_TMP/err")" &&
		expect_contains "JSON log lines" '"level":"INFO"' "$(cat "$T_TMP/err")" || return 1
	# Every stderr line is one JSON object.
	bad=$(grep -vc '^{"ts":".*}$' "$T_TMP/err")
	expect_eq "non-JSON log lines" 0 "$bad" || return 1
	# brisk run without a config file: the first JSON is made after the seccomp filters.
	timeout 20 "$BRISK" run --kernel "$GUEST" --no-initrd --cmdline "ticks=3" --log-format json \
		--metrics-path "$T_TMP/run.json" </dev/null >/dev/null 2>&1
	expect_eq "brisk run --metrics-path --log-format json" 0 "$?" &&
		expect_contains "metrics at exit" '"exit_io":' "$(cat "$T_TMP/run.json")" || return 1
	# Prometheus textfile.
	write_config "ticks=3"
	timeout 20 "$BRISK" --config-file "$T_TMP/vm.json" --no-api --metrics-path "$T_TMP/m.prom" \
		--metrics-format prometheus </dev/null >/dev/null 2>&1
	expect_contains "prometheus" 'brisk_vcpu_exit_io{instance="anonymous-instance"}' "$(cat "$T_TMP/m.prom")" &&
		expect_contains "prometheus per vCPU" 'brisk_vcpu_exit_io{instance="anonymous-instance",vcpu="0"}' "$(cat "$T_TMP/m.prom")"
}

run_test "api: configure, start, pause, resume, Ctrl-Alt-Del" t_lifecycle
run_test "api: error answers (JSON, paths, sizes, after boot, live socket)" t_errors
run_test "api: an oversized first request, refused before it is read" t_first_request_oversized
run_test "config file: --no-api, brisk run --config-file, errors" t_config_file
run_test "SIGTERM: Ctrl-Alt-Del, clean guest shutdown" t_sigterm_clean
run_test "SIGTERM: grace period ends a guest that ignores it" t_sigterm_timeout
run_test "SendCtrlAltDel to a guest that does not read the keys" t_cad_buffer_full
run_test "brisk run: SIGTERM is Ctrl-Alt-Del, the guest's status stands" t_run_sigterm
run_test "SIGKILL: no children, stale socket replaced" t_sigkill
run_test "metrics (FlushMetrics, exit, prometheus) and JSON logs" t_metrics_and_logs
finish api
