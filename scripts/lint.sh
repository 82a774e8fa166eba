#!/bin/bash
# Style and static analysis: clang-format (the committed .clang-format) and cppcheck.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find src tests -name '*.[ch]')
clang-format --dry-run -Werror "${files[@]}"
cppcheck -q --error-exitcode=1 --enable=warning,style,performance,portability --std=c11 \
	--inline-suppr -D__x86_64__ -Isrc src
echo "lint: ${#files[@]} files clean"
