#!/bin/sh
# net.sh — tier 3, networking: a real Linux guest with virtio-net NICs on
# host taps under brisk.  Ping both ways, 100 MiB over TCP each way with
# matching checksums (busybox nc), two NICs on two taps, the MAC and
# address configuration, and a host flooding the tap of a guest that posts
# no RX buffers (brisk must stay idle, bounded and responsive).  Needs a
# /dev/kvm that can run Linux and root (taps): run it through
# scripts/testhost where the local KVM cannot (README).  Busybox userland
# is enough.
# Usage: tests/integration/net.sh [BUILD_DIR]
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
B=${1:-build}
BRISK="$B/brisk"
FLOOD="$B/netflood"
TAP0=bnt0
TAP1=bnt1
HOST0=172.16.0.1
GUEST0=172.16.0.2
HOST1=172.16.1.1
GUEST1=172.16.1.2
MiB=1048576

cleanup_taps() {
	scripts/mktap --del "$TAP0" >/dev/null 2>&1
	scripts/mktap --del "$TAP1" >/dev/null 2>&1
}
trap 'cleanup_taps; rm -rf "$T_TMP"' EXIT

# brisk_run ARGS... — stdout in $OUT, stderr in $ERR, status in $RC.
brisk_run() {
	timeout 300 "$BRISK" run "$@" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
	RC=$?
	OUT=$(cat "$T_TMP/out")
	ERR=$(cat "$T_TMP/err")
	[ "$RC" -ne 124 ] || fail "brisk timed out: $(tail -n 5 "$T_TMP/err")"
}

# brisk_bg ARGS... — start brisk in the background; $BG is its pid.
brisk_bg() {
	timeout 300 "$BRISK" run "$@" </dev/null >"$T_TMP/out" 2>"$T_TMP/err" &
	BG=$!
}

# brisk_wait — wait for the background brisk; $RC, $OUT, $ERR.
brisk_wait() {
	wait "$BG"
	RC=$?
	OUT=$(cat "$T_TMP/out")
	ERR=$(cat "$T_TMP/err")
	[ "$RC" -ne 124 ] || fail "brisk timed out: $(tail -n 5 "$T_TMP/err")"
}

expect_ok() {
	[ "$RC" -eq 0 ] && return 0
	fail "status $RC; stdout: '$(echo "$OUT" | tail -n 5)'; stderr: '$(echo "$ERR" | tail -n 8)'"
}

line() {
	echo "$OUT" | sed -n "${1}p"
}

# until_ok TRIES CMD... — retry CMD every 0.5 s (the guest is still booting).
until_ok() {
	n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		n=$((n - 1))
		sleep 0.5
	done
	return 1
}

# send_to_guest FILE PORT — connect to the guest's nc -l (retrying while it boots).
send_to_guest() {
	n=240
	while [ "$n" -gt 0 ]; do
		nc "$GUEST0" "$2" <"$1" 2>/dev/null && return 0
		n=$((n - 1))
		sleep 0.5
	done
	return 1
}

md5() {
	md5sum "$1" | cut -d' ' -f1
}

rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# --- tests --------------------------------------------------------------------

t_mktap() {
	scripts/mktap "$TAP0" "$HOST0/24" 2>"$T_TMP/mktap" || { fail "mktap: $(cat "$T_TMP/mktap")"; return 1; }
	scripts/mktap "$TAP1" "$HOST1/24" 2>"$T_TMP/mktap" || { fail "mktap: $(cat "$T_TMP/mktap")"; return 1; }
	# Idempotent: a second run keeps the tap.
	scripts/mktap "$TAP0" "$HOST0/24" 2>"$T_TMP/mktap" || { fail "mktap again: $(cat "$T_TMP/mktap")"; return 1; }
	[ -d "/sys/class/net/$TAP0" ] && [ -d "/sys/class/net/$TAP1" ] || fail "taps missing"
}

t_config() {
	brisk_run --net "$TAP0,mac=02:aa:bb:cc:dd:01" --ip "$GUEST0/24" --gw "$HOST0" -- sh -c '
		cat /sys/class/net/eth0/address
		cat /sys/class/net/eth0/operstate
		ip -4 addr show dev eth0 | awk "/inet / { print \$2 }"
		ip route | awk "/^default/ { print \$3 }"
		cat /sys/class/net/eth0/mtu'
	expect_ok || return 1
	expect_eq "MAC" "02:aa:bb:cc:dd:01" "$(line 1)" &&
		expect_eq "operstate" up "$(line 2)" &&
		expect_eq "address" "$GUEST0/24" "$(line 3)" &&
		expect_eq "default gateway" "$HOST0" "$(line 4)" &&
		expect_eq "MTU" 1500 "$(line 5)"
}

t_stable_mac() {
	brisk_run --id vm-a --net "$TAP0" -- cat /sys/class/net/eth0/address
	expect_ok || return 1
	a1=$OUT
	brisk_run --id vm-a --net "$TAP0" -- cat /sys/class/net/eth0/address
	expect_ok || return 1
	a2=$OUT
	brisk_run --id vm-b --net "$TAP0" -- cat /sys/class/net/eth0/address
	expect_ok || return 1
	b=$OUT
	expect_eq "same id, same MAC" "$a1" "$a2" || return 1
	case $a1 in
	02:*) ;;
	*) fail "MAC '$a1' is not locally administered (02:...)"; return 1 ;;
	esac
	[ "$a1" != "$b" ] || fail "ids vm-a and vm-b got the same MAC $a1"
}

t_ping() {
	# Guest pings the host, then waits until the host has pinged it back.
	brisk_bg --net "$TAP0" --ip "$GUEST0/24" --gw "$HOST0" -- sh -c "
		ping -c 3 -W 5 $HOST0 | grep -o '[0-9]* packets received'
		mkfifo /tmp/f && nc -l -p 5000 0<>/tmp/f >/dev/null"
	until_ok 240 ping -c 1 -W 1 "$GUEST0" || fail "host cannot ping the guest"
	ping -c 3 -W 2 "$GUEST0" >"$T_TMP/ping" 2>&1
	pr=$?
	until_ok 40 sh -c "echo done | nc $GUEST0 5000"
	brisk_wait
	expect_ok || return 1
	expect_eq "guest → host" "3 packets received" "$(line 1)" || return 1
	[ "$pr" -eq 0 ] || fail "host → guest ping: $(cat "$T_TMP/ping")"
}

t_tcp_host_to_guest() {
	dd if=/dev/urandom of="$T_TMP/h2g" bs=$MiB count=100 2>/dev/null
	want=$(md5 "$T_TMP/h2g")
	# busybox nc quits when its own stdin ends: give the listener a fifo
	# opened read-write, which never does.
	brisk_bg --mem 256 --net "$TAP0" --ip "$GUEST0/24" -- sh -c \
		'mkfifo /tmp/f && nc -l -p 5001 0<>/tmp/f | md5sum | cut -d" " -f1'
	start=$(date +%s)
	send_to_guest "$T_TMP/h2g" 5001 || fail "cannot connect to the guest"
	brisk_wait
	echo "    host → guest 100 MiB in $(($(date +%s) - start)) s (incl. boot)" >&2
	rm -f "$T_TMP/h2g"
	expect_ok || return 1
	expect_eq "md5 of 100 MiB host → guest" "$want" "$OUT"
}

t_tcp_guest_to_host() {
	mkfifo "$T_TMP/fifo"
	nc -l -p 5002 0<>"$T_TMP/fifo" >"$T_TMP/g2h" &
	ncpid=$!
	start=$(date +%s)
	brisk_run --mem 512 --net "$TAP0" --ip "$GUEST0/24" -- sh -c "
		dd if=/dev/urandom of=/tmp/d bs=$MiB count=100 2>/dev/null
		md5sum /tmp/d | cut -d' ' -f1
		nc $HOST0 5002 </tmp/d"
	# The listener ends when the guest closes; do not wait forever if it did not.
	n=20
	while kill -0 "$ncpid" 2>/dev/null && [ "$n" -gt 0 ]; do
		sleep 0.5
		n=$((n - 1))
	done
	kill "$ncpid" 2>/dev/null
	wait "$ncpid"
	rm -f "$T_TMP/fifo"
	echo "    guest → host 100 MiB in $(($(date +%s) - start)) s (incl. boot)" >&2
	got=$(md5 "$T_TMP/g2h")
	size=$(stat -c %s "$T_TMP/g2h")
	rm -f "$T_TMP/g2h"
	expect_ok || return 1
	expect_eq "bytes received" $((100 * MiB)) "$size" &&
		expect_eq "md5 of 100 MiB guest → host" "$(line 1)" "$got"
}

t_two_nics() {
	brisk_run -v --net "$TAP0" --ip "$GUEST0/24" --net "$TAP1,ip=$GUEST1/24" -- sh -c "
		ping -c 2 -W 5 $HOST0 | grep -o '[0-9]* packets received'
		ping -c 2 -W 5 $HOST1 | grep -o '[0-9]* packets received'
		ip -4 addr show dev eth1 | awk '/inet / { print \$2 }'
		cat /sys/class/net/eth0/address /sys/class/net/eth1/address"
	expect_ok || return 1
	expect_eq "eth0 ping" "2 packets received" "$(line 1)" &&
		expect_eq "eth1 ping" "2 packets received" "$(line 2)" &&
		expect_eq "eth1 address" "$GUEST1/24" "$(line 3)" || return 1
	[ "$(line 4)" != "$(line 5)" ] || fail "both NICs have MAC $(line 4)"
	expect_contains "brisk -v names both taps" "tap $TAP1" "$ERR"
}

# The guest never brings eth0 up, so it never refills RX buffers; the host
# floods the tap.  brisk's main thread must not spin (RX paused, EPOLLIN
# off), its memory must not grow, and the guest must still end the VM.
t_flood_no_rx_buffers() {
	[ -x "$FLOOD" ] || { fail "$FLOOD missing (make $FLOOD)"; return 1; }
	brisk_bg -v --net "$TAP0" -- sh -c 'sleep 25; echo alive; poweroff -f'
	# Let the guest boot and the driver come up (DRIVER_OK) before flooding.
	until_ok 120 grep -q "NIC eth0" "$T_TMP/err"
	sleep 6
	pid=$(brisk_pid "$BG")
	t0=$(thread_ticks "$pid") r0=$(rss_kib "$pid")
	"$FLOOD" "$TAP0" 8 1000 >"$T_TMP/flood" 2>&1 || { fail "netflood: $(cat "$T_TMP/flood")"; return 1; }
	t1=$(thread_ticks "$pid") r1=$(rss_kib "$pid")
	brisk_wait
	echo "    $(cat "$T_TMP/flood"); brisk main thread $((t1 - t0)) ticks in 8 s; RSS $r0 → $r1 KiB" >&2
	expect_ok || return 1
	expect_eq "guest output" alive "$OUT" || return 1
	# 8 s at 100 ticks/s: a spinning main thread would use ~800.
	[ $((t1 - t0)) -lt 100 ] || { fail "main thread used $((t1 - t0)) ticks during the flood"; return 1; }
	[ $((r1 - r0)) -lt 4096 ] || fail "RSS grew by $((r1 - r0)) KiB during the flood"
}

t_errors() {
	brisk_run --net nosuchtap -- true
	expect_eq "status, missing tap" 125 "$RC" &&
		expect_contains "message" "tap 'nosuchtap' does not exist" "$ERR" || return 1
	brisk_run --net "$TAP0" --net "$TAP0" -- true
	expect_eq "status, tap twice" 125 "$RC" &&
		expect_contains "message" "is already used by interface" "$ERR" || return 1
	brisk_run --ip "$GUEST0/24" -- true
	expect_eq "status, --ip without --net" 125 "$RC" &&
		expect_contains "message" "--ip needs a NIC" "$ERR"
}

if [ "$(id -u)" != 0 ]; then
	run_test "net.sh runs as root (taps)" false
	finish net
	exit 1
fi
run_test "scripts/mktap creates two taps (idempotent)" t_mktap
run_test "eth0: MAC from mac=, link up, --ip address, --gw route, MTU" t_config
run_test "MAC derived from --id and tap: stable, locally administered" t_stable_mac
run_test "ping guest → host and host → guest" t_ping
run_test "100 MiB TCP host → guest, md5 matches" t_tcp_host_to_guest
run_test "100 MiB TCP guest → host, md5 matches" t_tcp_guest_to_host
run_test "two NICs on two taps both work" t_two_nics
run_test "flooded tap, guest without RX buffers: brisk idle, bounded, exits" t_flood_no_rx_buffers
run_test "errors: missing tap, tap in use, --ip without --net: 125" t_errors
cleanup_taps
run_test "taps removed by mktap --del" sh -c "[ ! -e /sys/class/net/$TAP0 ] && [ ! -e /sys/class/net/$TAP1 ]"
finish net
