#!/bin/sh
# make checksrc: fails on banned functions and on formatting that differs from
# .clang-format. Usage: checksrc.sh FILE...
set -u
rc=0
banned='\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets)[[:space:]]*\('
for f in "$@"; do
    # Strip /* */ comments line by line well enough for this check: skip lines that are comments.
    if grep -nE "$banned" "$f" | grep -vE '^[0-9]+:[[:space:]]*(/\*|\*)' >/tmp/checksrc.$$ 2>/dev/null; then
        sed "s|^|$f:|; s|\$|  <- banned function|" /tmp/checksrc.$$
        rc=1
    fi
done
rm -f /tmp/checksrc.$$
if command -v clang-format >/dev/null 2>&1; then
    for f in "$@"; do
        if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
            echo "$f: formatting differs from .clang-format (run: make format)"
            rc=1
        fi
    done
else
    echo "checksrc: clang-format not found, formatting not checked" >&2
fi
[ $rc -eq 0 ] && echo "checksrc: OK ($# files)"
exit $rc
