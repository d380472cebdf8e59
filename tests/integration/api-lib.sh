# api-lib.sh — helpers for the API tests (api.sh, api-linux.sh), sourced
# after lib.sh. The caller sets BRISK (the binary) and S (the socket path).
# API_WAIT: seconds to wait for the socket and per request (default 10).

# api METHOD PATH [BODY] — HTTP status on stdout, body in $T_TMP/body.
api() {
	if [ $# -ge 3 ]; then
		curl -s --max-time "${API_WAIT:-10}" --unix-socket "$S" -o "$T_TMP/body" \
			-w '%{http_code}' -X "$1" -H 'Content-Type: application/json' -d "$3" \
			"http://localhost$2"
	else
		curl -s --max-time "${API_WAIT:-10}" --unix-socket "$S" -o "$T_TMP/body" \
			-w '%{http_code}' -X "$1" "http://localhost$2"
	fi
}

body() { cat "$T_TMP/body"; }

# start_brisk [flags...] — brisk in the background serving $S, PID in $BP;
# its stdout in $T_TMP/out, stderr in $T_TMP/err.
start_brisk() {
	rm -f "$T_TMP/out" "$T_TMP/err"
	"$BRISK" --api-sock "$S" "$@" </dev/null >"$T_TMP/out" 2>"$T_TMP/err" &
	BP=$!
	i=0
	while [ ! -S "$S" ] && [ $i -lt $((${API_WAIT:-10} * 20)) ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -S "$S" ] || fail "no API socket after ${API_WAIT:-10} s: $(cat "$T_TMP/err")"
}

# wait_exit PID SECONDS — exit status of PID in $RC; fails (and kills it)
# when it is still running after SECONDS.
wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt $(($2 * 20)) ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -9 "$1"
		wait "$1" 2>/dev/null
		fail "brisk still running after $2 s: $(tail -n 5 "$T_TMP/err")"
		return 1
	fi
	wait "$1"
	RC=$?
}
