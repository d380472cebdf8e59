#!/bin/sh
# blk.sh — tier 3, block devices: a real Linux guest on virtio-blk drives
# (virtio-mmio) under brisk, with each I/O engine (--io-engine uring, sync).
# The default read-only root (build/rootfs.ext4), a writable root copy whose
# data survives a power-off, fstrim punching holes in the image, a second
# drive (size, serial from id=, discard, offsets), a read-only drive, and
# the errors (missing image, image in use).  Needs a /dev/kvm that can run
# Linux: run it through scripts/testhost where the local KVM cannot (README).
# Busybox userland is enough (the testhost has nothing else).
# Usage: tests/integration/blk.sh [BUILD_DIR]   (BLK_ENGINES="sync": one engine)
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
B=${1:-build}
BRISK="$B/brisk"
ROOTFS="$B/rootfs.ext4"
MiB=1048576
ENGINE=uring

# brisk_run ARGS... — with --io-engine $ENGINE; stdout in $OUT, stderr in
# $ERR, status in $RC; stdin from $IN (default /dev/null).
brisk_run() {
	timeout 180 "$BRISK" run --io-engine "$ENGINE" "$@" \
		<"${IN:-/dev/null}" >"$T_TMP/out" 2>"$T_TMP/err"
	RC=$?
	OUT=$(cat "$T_TMP/out")
	ERR=$(cat "$T_TMP/err")
	[ "$RC" -ne 124 ] || fail "brisk timed out: $ERR"
}

# expect_ok — status 0, else show what the guest said.
expect_ok() {
	[ "$RC" -eq 0 ] && return 0
	fail "status $RC; stdout: '$OUT'; stderr: '$(echo "$ERR" | tail -n 5)'"
}

# alloc FILE — bytes allocated to FILE (not its apparent size).
alloc() {
	echo $(($(stat -c %b "$1") * $(stat -c %B "$1")))
}

# line N — line N of $OUT.
line() {
	echo "$OUT" | sed -n "${1}p"
}

# md5 of N MiB of zeroes, what a discarded range must read back as.
zero_md5() {
	dd if=/dev/zero bs=$MiB count="$1" 2>/dev/null | md5sum | cut -d' ' -f1
}

# sparse_copy SRC DST — GNU cp keeps the holes; busybox cp (testhost) has
# no --sparse and copies every byte (the first boot's fstrim punches the
# holes again).
sparse_copy() {
	cp --sparse=always "$1" "$2" 2>/dev/null || cp "$1" "$2"
}

# --- per engine ---------------------------------------------------------------

t_default_root_ro() {
	before=$(stat -c '%s %Y' "$ROOTFS")
	brisk_run -- sh -c 'awk "\$2 == \"/\" { print \$3, \$4 }" /proc/mounts
		if echo x >/probe; then echo root-writable; else echo root-read-only; fi
		echo tmp-ok >/tmp/t && cat /tmp/t
		echo run-ok >/run/t && cat /run/t
		cat /proc/cmdline'
	expect_ok || return 1
	case $(line 1) in
	"ext4 ro,"*) ;;
	*) fail "/ is not a read-only ext4: '$(line 1)'"; return 1 ;;
	esac
	expect_eq "write to /" root-read-only "$(line 2)" &&
		expect_contains stderr "Read-only file system" "$ERR" &&
		expect_eq "write to /tmp" tmp-ok "$(line 3)" &&
		expect_eq "write to /run" run-ok "$(line 4)" &&
		expect_contains cmdline "root=/dev/vda ro" "$(line 5)" &&
		expect_eq "$ROOTFS size and mtime" "$before" "$(stat -c '%s %Y' "$ROOTFS")"
}

# The writable copy, shared by the next three tests of one engine.
t_rw_write() {
	IMG=$T_TMP/root-$ENGINE.ext4
	rm -f "$IMG"
	sparse_copy "$ROOTFS" "$IMG" || { fail "cannot copy $ROOTFS"; return 1; }
	# No sync in the guest: the agent syncs when the command ends, here
	# by poweroff -f.  fstrim first, so that the image is sparse again.
	brisk_run --rootfs "$IMG" -- sh -c 'fstrim / &&
		dd if=/dev/urandom of=/data.bin bs=1M count=64 2>/dev/null &&
		md5sum /data.bin && poweroff -f'
	expect_ok || return 1
	SUM=$(echo "$OUT" | awk '$2 == "/data.bin" { print $1 }')
	[ ${#SUM} -eq 32 ] || { fail "no md5sum of /data.bin in '$OUT' ($ERR)"; return 1; }
	ALLOC1=$(alloc "$IMG")
	[ "$ALLOC1" -ge $((64 * MiB)) ] ||
		fail "image allocates $ALLOC1 bytes after writing 64 MiB"
}

t_rw_persist_and_trim() {
	[ -n "${SUM:-}" ] || { fail "no data from the previous test"; return 1; }
	# rm, then sync: ext4 frees the blocks when the journal commits.
	brisk_run --rootfs "$IMG" -- sh -c 'awk "\$2 == \"/\" { print \$3, \$4 }" /proc/mounts
		md5sum /data.bin && rm /data.bin && sync && fstrim -v /'
	expect_ok || return 1
	case $(line 1) in
	"ext4 rw,"*) ;;
	*) fail "/ is not a writable ext4: '$(line 1)'"; return 1 ;;
	esac
	expect_eq "md5sum /data.bin after power-off" "$SUM  /data.bin" "$(line 2)" &&
		expect_contains "fstrim -v" "trimmed" "$(line 3)" || return 1
	alloc2=$(alloc "$IMG")
	[ $((ALLOC1 - alloc2)) -ge $((64 * MiB * 9 / 10)) ] ||
		fail "fstrim freed $((ALLOC1 - alloc2)) bytes of the image ($ALLOC1 -> $alloc2), not ~64 MiB"
}

t_rw_locked() {
	# A writable image is locked: a second VM cannot open it, even read-only.
	mkfifo "$T_TMP/hold"
	timeout 180 "$BRISK" run --io-engine "$ENGINE" --rootfs "$IMG" -- \
		sh -c 'echo up; read x; echo "got $x"' \
		<"$T_TMP/hold" >"$T_TMP/out1" 2>"$T_TMP/err1" &
	pid=$!
	exec 3>"$T_TMP/hold"
	i=0
	while [ "$(cat "$T_TMP/out1")" != up ] && [ $i -lt 600 ] && kill -0 $pid 2>/dev/null; do
		sleep 0.2
		i=$((i + 1))
	done
	ok=0
	if [ "$(cat "$T_TMP/out1")" = up ]; then
		brisk_run --rootfs "$IMG" -- true
		expect_eq "second rw VM: status" 125 "$RC" &&
			expect_contains "second rw VM: stderr" "in use" "$ERR" &&
			expect_contains "second rw VM: stderr" "$IMG" "$ERR" &&
			brisk_run --drive "$IMG,ro" -- true &&
			expect_eq "second VM, ro: status" 125 "$RC" &&
			expect_contains "second VM, ro: stderr" "in use" "$ERR" && ok=1
	else
		fail "the first VM did not start: $(cat "$T_TMP/err1")"
	fi
	echo go >&3
	exec 3>&-
	wait $pid
	rc=$?
	rm -f "$T_TMP/hold"
	[ $ok = 1 ] && expect_eq "first VM: status" 0 $rc &&
		expect_eq "first VM: stdout" "up
got go" "$(cat "$T_TMP/out1")"
}

t_drive() {
	img=$T_TMP/data-$ENGINE.img
	rm -f "$img"
	truncate -s 64M "$img"
	# (/sys/block/vdb/serial has no newline.)  Sector 4096 (2 MiB) gets a marker; the first MiB random data, read
	# back, then discarded: it must read as zeroes (busybox blkdiscard has
	# no -z, so this is DISCARD, which brisk implements by punching a hole).
	brisk_run -v --drive "$img,id=data-$ENGINE" -- sh -c '
		cat /sys/block/vdb/size; echo "$(cat /sys/block/vdb/serial)"
		cat /sys/block/vdb/ro
		printf brisk-marker | dd of=/dev/vdb bs=512 seek=4096 conv=notrunc 2>/dev/null
		sync
		dd if=/dev/urandom of=/dev/vdb bs=64k count=16 oflag=direct 2>/dev/null
		dd if=/dev/vdb bs=1M count=1 iflag=direct 2>/dev/null | md5sum
		blkdiscard -o 0 -l 1048576 /dev/vdb || echo blkdiscard failed
		dd if=/dev/vdb bs=1M count=1 iflag=direct 2>/dev/null | md5sum'
	expect_ok || return 1
	zero=$(zero_md5 1)
	expect_eq "/sys/block/vdb/size" $((64 * MiB / 512)) "$(line 1)" &&
		expect_eq "/sys/block/vdb/serial (GET_ID)" "data-$ENGINE" "$(line 2)" &&
		expect_eq "/sys/block/vdb/ro" 0 "$(line 3)" &&
		expect_not_contains "random data" "$zero" "$(line 4)" &&
		expect_eq "after blkdiscard" "$zero  -" "$(line 5)" || return 1
	case $ENGINE in uring) e=io_uring ;; *) e=$ENGINE ;; esac
	expect_contains "-v: engine" "$e I/O" "$ERR" &&
		expect_eq "image size" $((64 * MiB)) "$(stat -c %s "$img")" &&
		expect_eq "marker at 2 MiB" brisk-marker \
			"$(dd if="$img" bs=512 skip=4096 count=1 2>/dev/null | head -c 12)" &&
		expect_eq "first MiB on the host" "$zero" \
			"$(dd if="$img" bs=$MiB count=1 2>/dev/null | md5sum | cut -d' ' -f1)" || return 1
	[ "$(alloc "$img")" -lt $MiB ] ||
		fail "the discarded MiB is still allocated: $(alloc "$img") bytes"
}

t_write_zeroes() {
	# blkdiscard -z (BLKZEROOUT) from util-linux in build/testtools.ext4:
	# the guest issues VIRTIO_BLK_T_WRITE_ZEROES for the range.
	img=$T_TMP/wz-$ENGINE.img
	dd if=/dev/urandom of="$img" bs=$MiB count=4 2>/dev/null
	before=$(dd if="$img" bs=$MiB skip=1 count=3 2>/dev/null | md5sum | cut -d' ' -f1)
	brisk_run --drive "$img,id=wz-$ENGINE" --drive "$B/testtools.ext4,ro,id=tools" -- sh -c '
		mount -t ext4 -o ro /dev/vdc /mnt || exit 9
		cat /sys/block/vdb/queue/write_zeroes_max_bytes
		/mnt/lib64/ld-linux-x86-64.so.2 --library-path /mnt/lib /mnt/bin/blkdiscard -z \
			-o 0 -l 1048576 /dev/vdb && echo zeroed
		dd if=/dev/vdb bs=1M count=1 iflag=direct 2>/dev/null | md5sum'
	expect_ok || return 1
	zero=$(zero_md5 1)
	[ "$(line 1)" -gt 0 ] 2>/dev/null || fail "write_zeroes_max_bytes is '$(line 1)'" || return 1
	expect_eq "blkdiscard -z" zeroed "$(line 2)" &&
		expect_eq "guest reads zeroes" "$zero  -" "$(line 3)" &&
		expect_eq "host: first MiB" "$zero" \
			"$(dd if="$img" bs=$MiB count=1 2>/dev/null | md5sum | cut -d' ' -f1)" &&
		expect_eq "host: the rest untouched" "$before" \
			"$(dd if="$img" bs=$MiB skip=1 count=3 2>/dev/null | md5sum | cut -d' ' -f1)"
}

t_cache_mode() {
	# cache=writeback (default) offers FLUSH: the guest sees a write-back
	# cache and flushes it; cache=unsafe offers none.
	img=$T_TMP/cache-$ENGINE.img
	truncate -s 1M "$img" "$img.2"
	brisk_run --drive "$img" --drive "$img.2,cache=unsafe" -- sh -c '
		cat /sys/block/vdb/queue/write_cache /sys/block/vdc/queue/write_cache'
	expect_ok && expect_eq "default" "write back" "$(line 1)" &&
		expect_eq "cache=unsafe" "write through" "$(line 2)"
}

t_drive_ro() {
	img=$T_TMP/ro-$ENGINE.img
	dd if=/dev/urandom of="$img" bs=$MiB count=1 2>/dev/null
	sum=$(md5sum <"$img" | cut -d' ' -f1)
	brisk_run --drive "$img,ro,id=ro-$ENGINE" -- sh -c '
		cat /sys/block/vdb/ro; echo "$(cat /sys/block/vdb/serial)"
		md5sum </dev/vdb
		if dd if=/dev/zero of=/dev/vdb bs=4k count=1 oflag=direct 2>/dev/null; then
			echo write-ok; else echo write-refused; fi
		blkdiscard /dev/vdb 2>/dev/null && echo discard-ok || echo discard-refused'
	expect_ok &&
		expect_eq "/sys/block/vdb/ro" 1 "$(line 1)" &&
		expect_eq "/sys/block/vdb/serial" "ro-$ENGINE" "$(line 2)" &&
		expect_eq "read in the guest" "$sum  -" "$(line 3)" &&
		expect_eq "write" write-refused "$(line 4)" &&
		expect_eq "discard" discard-refused "$(line 5)" &&
		expect_eq "image on the host" "$sum" "$(md5sum <"$img" | cut -d' ' -f1)"
	r=$?
	rm -f "$img"
	return $r
}

cleanup_engine() {
	rm -f "$T_TMP/root-$ENGINE.ext4" "$T_TMP/data-$ENGINE.img"
	SUM="" ALLOC1=""
	return 0
}

# --- once -----------------------------------------------------------------

t_missing_image() {
	brisk_run --drive "$T_TMP/no-such.img,id=gone" -- true
	expect_eq status 125 "$RC" && expect_contains stderr "$T_TMP/no-such.img" "$ERR" ||
		return 1
	brisk_run --rootfs "$T_TMP/no-such-root.ext4" -- true
	expect_eq status 125 "$RC" && expect_contains stderr "$T_TMP/no-such-root.ext4" "$ERR"
}

t_shared_ro_root() {
	# Two VMs on the default (read-only) root at once: ro opens share it.
	timeout 180 "$BRISK" run -- sh -c 'echo one' >"$T_TMP/out1" 2>"$T_TMP/err1" &
	pid=$!
	brisk_run -- sh -c 'echo two'
	wait $pid
	rc=$?
	expect_eq "first VM: status" 0 $rc &&
		expect_eq "first VM: stdout" one "$(cat "$T_TMP/out1")" &&
		expect_eq "second VM: status" 0 "$RC" && expect_eq "second VM: stdout" two "$OUT"
}

if [ ! -f "$ROOTFS" ]; then
	echo "blk: no $ROOTFS (make builds it)" >&2
	run_test "$ROOTFS exists" false
	finish blk
	exit
fi
for ENGINE in ${BLK_ENGINES:-uring sync}; do
	run_test "[$ENGINE] default root: read-only rootfs.ext4, /tmp and /run writable" t_default_root_ro
	run_test "[$ENGINE] --rootfs copy: write 64 MiB, poweroff -f" t_rw_write
	run_test "[$ENGINE] --rootfs copy: data survives, rm + fstrim punch holes" t_rw_persist_and_trim
	run_test "[$ENGINE] --rootfs copy: in use by a running VM: 125" t_rw_locked
	run_test "[$ENGINE] --drive: /dev/vdb size, serial (id=), writes, blkdiscard" t_drive
	run_test "[$ENGINE] --drive ,ro: writes and discards refused" t_drive_ro
	run_test "[$ENGINE] blkdiscard -z: WRITE_ZEROES reads back zeroes" t_write_zeroes
	run_test "[$ENGINE] cache=writeback offers flush, cache=unsafe does not" t_cache_mode
	cleanup_engine
done
ENGINE=uring
run_test "missing image: 125 naming it" t_missing_image
run_test "two VMs share the read-only default root" t_shared_ro_root
finish blk
