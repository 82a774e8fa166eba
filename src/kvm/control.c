#include "kvm/control.h"

#include <errno.h>
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

int ctl_call(struct ctl_channel *ch, struct ctl_request *r, int timeout_ms)
{
	uint64_t one = 1;
	struct timespec dl;
	int rc = 0;

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
		return -ESHUTDOWN;
	}
	r->stage = CTL_QUEUED;
	r->next = NULL;
	*ch->tail = r;
	ch->tail = &r->next;
	/* Under the lock, so that the write can't land after the VM loop has taken r and
	 * returned: a left-over wake-up is harmless anyway (the queue is then empty). */
	if (write(ch->event_fd, &one, sizeof(one)) < 0)
		rc = -errno;
	while (rc == 0 && r->stage != CTL_DONE) {
		int w = pthread_cond_timedwait(&ch->answered, &ch->lock, &dl);

		/* Once taken, the answer comes: the VMM thread only does short work per request. */
		if (w == ETIMEDOUT && r->stage == CTL_QUEUED)
			rc = -ETIMEDOUT;
		else if (w == ETIMEDOUT)
			dl.tv_sec += 1;
	}
	if (rc < 0 && r->stage == CTL_QUEUED)
		unlink_request(ch, r);
	pthread_mutex_unlock(&ch->lock);
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
