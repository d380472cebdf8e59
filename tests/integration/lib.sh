# lib.sh — tiny shell test harness shared by the integration tiers.
# Each test is a function; `run_test NAME FN` runs it and counts the result.
# The summary line "N passed, N failed" is what CI reads.
# POSIX sh (busybox ash inside the testhost, dash or bash outside).

T_PASS=0
T_FAIL=0
T_FAILED_NAMES=""
T_TMP=${TMPDIR:-/tmp}/brisk-test.$$
mkdir -p "$T_TMP"
trap 'rm -rf "$T_TMP"' EXIT

# fail MESSAGE — report a failed expectation from inside a test function.
fail() {
	echo "    FAIL: $*" >&2
	return 1
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	[ "$2" = "$3" ] && return 0
	fail "$1: expected '$2', got '$3'"
}

# expect_contains WHAT NEEDLE HAYSTACK
expect_contains() {
	case "$3" in
	*"$2"*) return 0 ;;
	esac
	fail "$1: expected to contain '$2', got '$3'"
}

# expect_not_contains WHAT NEEDLE HAYSTACK
expect_not_contains() {
	case "$3" in
	*"$2"*) fail "$1: must not contain '$2', got '$3'" ;;
	esac
	return 0
}

# run_test NAME FUNCTION
run_test() {
	if "$2"; then
		T_PASS=$((T_PASS + 1))
		echo "ok - $1"
	else
		T_FAIL=$((T_FAIL + 1))
		T_FAILED_NAMES="$T_FAILED_NAMES $1"
		echo "not ok - $1"
	fi
}

# brisk_pid PID — the brisk process started in the background as PID under
# timeout: busybox timeout execs it in place, GNU timeout runs it as a child.
brisk_pid() {
	if [ "$(cat "/proc/$1/comm" 2>/dev/null)" = brisk ]; then
		echo "$1"
	else
		pgrep -P "$1" brisk
	fi
}

# thread_ticks PID — CPU time (utime + stime, clock ticks) of the thread PID
# (a process's main thread). After the ")" of the comm: state is $1,
# utime $12, stime $13.
thread_ticks() {
	sed 's/.*) //' "/proc/$1/task/$1/stat" | awk '{ print $12 + $13 }'
}

# finish TIER — print the summary and return non-zero on any failure.
finish() {
	[ -n "$T_FAILED_NAMES" ] && echo "$1 failed:$T_FAILED_NAMES" >&2
	echo "$1: $T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}
