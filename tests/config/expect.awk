# Compare vmctl check-config's errors with a bad config's first line.
#   awk -v conf=FILE -v base=DIR/ -f expect.awk FILE STDERR
# First line of FILE: "# expect: LINE CLASS [VM]; ..." (FILE:LINE for a
# file under base). Prints the differences; exits 1 if there are any.
function trim(s) { sub(/^ +/, "", s); sub(/ +$/, "", s); return s }
FNR == NR {
	if (FNR == 1 && sub(/^# expect: /, "")) {
		n = split($0, w, ";")
		for (i = 1; i <= n; i++)
			want[trim(w[i])] = 1
	}
	next
}
{
	at = index($0, ": error: ")
	if (!at) {
		summary = $0
		next
	}
	where = substr($0, 1, at - 1)
	rest = substr($0, at + 9)
	vm = ""
	if (substr(rest, 1, 3) == "vm ")
		vm = substr(rest, 4, index(rest, ": ") - 4)
	cls = ""
	if (match($0, /\[[a-z-]+\]$/))
		cls = substr($0, RSTART + 1, RLENGTH - 2)
	if (index(where, conf ":") == 1)
		where = substr(where, length(conf) + 2)
	else if (index(where, base) == 1)
		where = substr(where, length(base) + 1)
	key = where " " cls (vm != "" ? " " vm : "")
	got[key] = 1
}
END {
	bad = 0
	for (k in want)
		if (!(k in got)) { print "missing: " k; bad = 1 }
	for (k in got)
		if (!(k in want)) { print "unexpected: " k; bad = 1 }
	if (summary !~ /: [0-9]+ errors?$/ || index(summary, conf ": ") != 1) {
		print "no summary line: " summary
		bad = 1
	}
	exit bad
}
