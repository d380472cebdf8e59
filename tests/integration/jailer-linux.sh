#!/bin/sh
# jailer-linux.sh — tier 3, isolation: a real Linux guest under brisk-jailer
# with seccomp on, a writable drive and a tap inside the jail, its cgroup
# limited; then the jail and the cgroup are gone. Needs a /dev/kvm that
# runs Linux and root: run it through scripts/testhost where the local KVM
# cannot (README). Works on hybrid (v1) and pure v2 cgroup hosts.
# Usage: tests/integration/jailer-linux.sh [BUILD_DIR]
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
B=${1:-build}
JAILER="$B/brisk-jailer"
BASE="$T_TMP/jails"
TAP=bjt0
UID_=65534
GID_=65534
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	CGV=2
	CGFLAGS="--cgroup-version 2 --cgroup pids.max=64 --cgroup memory.max=512M"
else
	CGV=1
	CGFLAGS="--cgroup pids.max=64 --cgroup memory.limit_in_bytes=512M"
fi
trap 'scripts/mktap --del "$TAP" >/dev/null 2>&1; rm -rf "$T_TMP"' EXIT

t_linux_guest_jailed() {
	# Owned by the jail's uid, so brisk can attach without CAP_NET_ADMIN.
	"$B/tapown" "$TAP" $UID_ && ip addr add 172.16.9.1/24 dev "$TAP" && ip link set "$TAP" up ||
		{ fail "cannot make tap $TAP"; return 1; }
	cp --sparse=always "$B/rootfs.ext4" "$T_TMP/data.ext4" 2>/dev/null || cp "$B/rootfs.ext4" "$T_TMP/data.ext4"
	# shellcheck disable=SC2086
	timeout 300 "$JAILER" --id jl-1 --exec-file "$B/brisk" --uid $UID_ --gid $GID_ \
		--chroot-base-dir "$BASE" $CGFLAGS -- \
		run --drive "$T_TMP/data.ext4,id=data" --net "$TAP" --ip 172.16.9.2/24 -- \
		sh -c 'uname -r; cat /sys/block/vdb/serial; echo; ping -c 1 -W 5 172.16.9.1 >/dev/null && echo ping-ok;
		       echo jailed >/dev/vdb; exit 7' \
		</dev/null >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	out=$(cat "$T_TMP/out")
	expect_eq "status (stderr: $(tail -n 5 "$T_TMP/err"))" 7 "$rc" &&
		expect_contains "guest kernel" "6." "$out" &&
		expect_contains "drive serial" data "$out" &&
		expect_contains "ping over the tap" ping-ok "$out" &&
		expect_eq "written to the drive" jailed "$(head -c 6 "$T_TMP/data.ext4")" &&
		expect_eq "left under the base dir" "" "$(ls -A "$BASE")" &&
		{ ! ls -d /sys/fs/cgroup/*/brisk /sys/fs/cgroup/brisk /sys/fs/cgroup/unified/brisk 2>/dev/null ||
		  fail "cgroup left behind (v$CGV)"; }
}

mkdir -p "$BASE"
run_test "real Linux guest under brisk-jailer (seccomp, drive, tap, cgroup v$CGV)" t_linux_guest_jailed
finish jailer-linux
