# Shell helpers for test scripts: source "$VMS_TOP/tests/lib/tap.sh".
# ok/not ok lines are what tests/run counts.
set -u
: "${VMS_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${VMS_BIN:=$VMS_TOP/bin}"
: "${VMS_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/vmservice}"
export VMS_TOP VMS_BIN VMS_CACHE
TAP_FAILED=0

ok()   { echo "ok - $*"; }
notok() { echo "not ok - $*"; TAP_FAILED=$((TAP_FAILED + 1)); }
skip() { echo "ok - $1 # SKIP ${2:-}"; }
diag() { echo "# $*"; }

# check DESC CMD...: ok if CMD succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
# check_eq DESC GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else notok "$1"; diag "got:  $2"; diag "want: $3"; fi
}
# check_match DESC STRING REGEX (grep -E)
check_match() {
	if printf '%s\n' "$2" | grep -qE -- "$3"; then ok "$1"
	else notok "$1"; diag "no match for /$3/ in:"; printf '%s\n' "$2" | sed 's/^/#   /'; fi
}
# A fresh scratch directory removed at exit.
scratch() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmstest.XXXXXX")
	trap 'rm -rf "$TMP"' EXIT
}
done_testing() { [ "$TAP_FAILED" -eq 0 ]; }
