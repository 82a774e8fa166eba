#include "kvm/control.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

int ctl_init(struct ctl_channel *ch)
{
	pthread_condattr_t ca;

	memset(ch, 0, sizeof(*ch));
	ch->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ch->event_fd < 0)
		return -errno;
	pthread_mutex_init(&ch->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ch->answered, &ca);
	pthread_condattr_destroy(&ca);
	ch->tail = &ch->head;
	return 0;
}

void ctl_destroy(struct ctl_channel *ch)
{
	if (ch->event_fd >= 0)
		close(ch->event_fd);
	ch->event_fd = -1;
	pthread_cond_destroy(&ch->answered);
	pthread_mutex_destroy(&ch->lock);
}

/* Takes r out of the queue (the caller holds the lock and r is queued). */
static void unlink_request(struct ctl_channel *ch, struct ctl_request *r)
{
	struct ctl_request **p = &ch->head;

	while (*p && *p != r)
		p = &(*p)->next;
	if (!*p)
		return;
	*p = r->next;
	if (ch->tail == &r->next)
		ch->tail = p;
}

/* Read under the lock, after a wait that may have changed it. */
static enum ctl_stage stage_of(const struct ctl_request *q)
{
	return __atomic_load_n(&q->stage, __ATOMIC_RELAXED);
}

/* The request the VMM thread sees is a copy on the heap: a caller that gives up after the
 * VMM thread took it leaves it behind, and ctl_reply frees it (abandoned). */
int ctl_call(struct ctl_channel *ch, struct ctl_request *r, int timeout_ms)
{
	struct ctl_request *q = calloc(1, sizeof(*q));
	uint64_t one = 1;
	struct timespec dl;
	bool left;
	int rc = 0;

	if (!q)
		return -ENOMEM;
	q->action = r->action;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	memset(&r->answer, 0, sizeof(r->answer));
	pthread_mutex_lock(&ch->lock);
	if (ch->closed) {
		pthread_mutex_unlock(&ch->lock);
		free(q);
		return -ESHUTDOWN;
	}
	q->stage = CTL_QUEUED;
	*ch->tail = q;
	ch->tail = &q->next;
	/* Under the lock, so that the write can't land after the VM loop has taken q and
	 * returned: a left-over wake-up is harmless anyway (the queue is then empty). */
	if (write(ch->event_fd, &one, sizeof(one)) < 0)
		rc = -errno;
	/* A bounded wait, taken or not: an API request never hangs (a VMM thread stuck in a
	 * long device operation makes it fail with -ETIMEDOUT, and the client gets 504). */
	while (rc == 0 && q->stage != CTL_DONE)
		if (pthread_cond_timedwait(&ch->answered, &ch->lock, &dl) == ETIMEDOUT)
			rc = -ETIMEDOUT;
	if (stage_of(q) == CTL_DONE) { /* answered, maybe just as the time ran out */
		rc = 0;
		r->answer = q->answer;
	}
	left = rc < 0 && stage_of(q) == CTL_TAKEN;
	if (left)
		q->abandoned = true; /* ctl_reply frees it: q is not ours from here */
	else if (rc < 0)
		unlink_request(ch, q);
	pthread_mutex_unlock(&ch->lock);
	if (!left)
		free(q);
	return rc;
}

struct ctl_request *ctl_take(struct ctl_channel *ch)
{
	struct ctl_request *r;
	uint64_t n;
	ssize_t got;

	pthread_mutex_lock(&ch->lock);
	got = read(ch->event_fd, &n, sizeof(n));
	(void)got; /* EAGAIN when no wake-up is pending: the queue is what counts */
	r = ch->head;
	if (r) {
		ch->head = r->next;
		if (!ch->head)
			ch->tail = &ch->head;
		r->next = NULL;
		r->stage = CTL_TAKEN;
	}
	pthread_mutex_unlock(&ch->lock);
	return r;
}

void ctl_reply(struct ctl_channel *ch, struct ctl_request *r)
{
	pthread_mutex_lock(&ch->lock);
	if (r->abandoned) { /* its caller gave up waiting */
		pthread_mutex_unlock(&ch->lock);
		free(r);
		return;
	}
	r->stage = CTL_DONE;
	pthread_cond_broadcast(&ch->answered);
	pthread_mutex_unlock(&ch->lock);
}

void ctl_close(struct ctl_channel *ch)
{
	pthread_mutex_lock(&ch->lock);
	ch->closed = true;
	pthread_mutex_unlock(&ch->lock);
}
