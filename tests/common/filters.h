/* The seccomp mode for tests that run threads under their real filters: on, so that a call
 * missing from a list kills the test (SIGSYS) rather than going unnoticed; under
 * AddressSanitizer or ThreadSanitizer, whose runtimes make calls of their own in every thread
 * (sigaltstack, TSan's background thread...), the filters only log. */
#pragma once
#include "kvm/seccomp.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FILTERS SECCOMP_LOG
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FILTERS SECCOMP_LOG
#endif
#endif
#ifndef FILTERS
#define FILTERS SECCOMP_ON
#endif
