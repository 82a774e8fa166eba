# Bad command lines: each must make phyllome-vmm exit non-zero, with exactly one line on stderr,
# without a signal or a core dump (L1's core_pattern writes cores to /tmp/cores).
# shellcheck shell=sh

if [ "$RIG_L2_VMM" != phyllome ]; then
	rig_skip bad-cmdline "checks phyllome-vmm's own command line (L2 VMM is $RIG_L2_VMM)"
else
	head -c 65536 /dev/urandom >"$RIG_WORK/not-a-kernel"
	# bad_case NAME ARGS...: runs phyllome-vmm ARGS (bounded to 10 s) and checks the above.
	bad_case() {
		name=bad-cmdline/$1; shift
		rm -rf /tmp/cores/*
		timeout 10 "$RIG_VMM" "$@" </dev/null >"$RIG_WORK/out" 2>"$RIG_WORK/err"
		st=$?
		lines=$(wc -l <"$RIG_WORK/err")
		first=$(head -n 1 "$RIG_WORK/err")
		cores=$(ls /tmp/cores 2>/dev/null)
		why=
		if [ "$st" -eq 0 ]; then why="exit status 0"
		elif [ "$st" -ge 124 ]; then why="exit status $st (timeout or signal)"
		elif [ -n "$cores" ]; then why="core dump: $cores"
		elif [ "$lines" -ne 1 ]; then why="$lines lines on stderr, expected 1"
		fi
		if [ -z "$why" ]; then
			rig_ok "$name" "status $st: $first"
		else
			echo "---- $name: phyllome-vmm $*"
			sed 's/^/! /' "$RIG_WORK/err" | head -n 20
			rig_fail "$name" "$why"
		fi
	}

	K=$L2_KERNEL
	bad_case missing-kernel --kernel /nonexistent/bzImage --memory size=256M --serial off
	bad_case not-bzimage --kernel "$RIG_WORK/not-a-kernel" --memory size=256M --serial off
	bad_case memory-zero --kernel "$K" --memory size=0 --serial off
	bad_case cpus-65 --kernel "$K" --cpus boot=65 --memory size=256M --serial off
	bad_case unknown-option --kernel "$K" --memory size=256M --no-such-option --serial off
fi
