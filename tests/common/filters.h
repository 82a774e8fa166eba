/* The seccomp mode for tests that run threads under their real filters: on, so that a call
 * missing from a list kills the test (SIGSYS) rather than going unnoticed; under
 * AddressSanitizer, whose runtime makes calls of its own in every thread (sigaltstack...), the
 * filters only log; under ThreadSanitizer they are off: its runtime starts llvm-symbolizer from
 * the thread that saw a race, and under a thread's filter (no executable mappings) the
 * symbolizer cannot load, so the report names no function and tests/tsan.supp cannot match it
 * (the normal and ASan builds run the same tests with the filters). */
#pragma once
#include "kvm/seccomp.h"

#if defined(__SANITIZE_THREAD__)
#define FILTERS SECCOMP_OFF
#elif defined(__SANITIZE_ADDRESS__)
#define FILTERS SECCOMP_LOG
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FILTERS SECCOMP_OFF
#elif __has_feature(address_sanitizer)
#define FILTERS SECCOMP_LOG
#endif
#endif
#ifndef FILTERS
#define FILTERS SECCOMP_ON
#endif
