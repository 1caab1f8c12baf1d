#!/bin/sh
# Line-by-line differences between two runs of tests/conformance/pcsc_conformance:
#   pcsc-diff.sh OURS.txt PCSCLITE.txt  ->  "check<TAB>ours<TAB>pcsc-lite" per differing check
# A check missing from one run shows as "(absent)". Repeated check names are numbered (#2...).
# Runs on the host or in the VM (POSIX sh + awk).
set -u
awk -F' ' '
    function key(name) { seen[FILENAME, name]++; return seen[FILENAME, name] > 1 ? name "#" seen[FILENAME, name] : name }
    function rest(line) { sub(/^[^ ]+ /, "", line); return line }
    FNR == 1 { file++ }
    /^$/ { next }
    file == 1 { k = key($1); ours[k] = rest($0); order[++n] = k; next }
    file == 2 { k = key($1); theirs[k] = rest($0); if (!(k in ours)) order[++n] = k }
    END {
        for (i = 1; i <= n; i++) {
            k = order[i]
            a = (k in ours) ? ours[k] : "(absent)"
            b = (k in theirs) ? theirs[k] : "(absent)"
            if (a != b) printf "%s\t%s\t%s\n", k, a, b
        }
    }' "$1" "$2"
