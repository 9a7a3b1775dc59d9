/* Channels: a oneshot and a multi-producer queue.  Senders run on any
 * thread, so the receiver's waker lives under the channel's mutex; a sender
 * takes it out and wakes it after unlocking, which consumes the clone. */
#include <errno.h>
#include <stdlib.h>

#include "exec_internal.h"

/* ------------------------------------------------------------ oneshot */

void trt_oneshot_init(trt_oneshot *o)
{
    o->base.poll = trt_oneshot_recv_poll;
    o->value = NULL;
    pthread_mutex_init(&o->lock, NULL);
    o->sent = false;
    o->waker.data = NULL;
    o->waker.vtable = NULL;
}

int trt_oneshot_send(trt_oneshot *o, void *value)
{
    pthread_mutex_lock(&o->lock);
    if (o->sent) {
        pthread_mutex_unlock(&o->lock);
        return -EALREADY;
    }
    o->value = value;
    o->sent = true;
    trt_waker w = o->waker;
    o->waker.data = NULL;
    o->waker.vtable = NULL;
    pthread_mutex_unlock(&o->lock);
    if (w.vtable)
        trt_waker_wake(w);
    return 0;
}

__attribute__((noinline)) trt_poll trt_oneshot_recv_poll(trt_future *f, trt_context *cx)
{
    trt_oneshot *o = (trt_oneshot *)f;
    trt_waker old = {NULL, NULL};
    pthread_mutex_lock(&o->lock);
    bool sent = o->sent;
    if (sent) {
        old = o->waker;
        o->waker.data = NULL;
        o->waker.vtable = NULL;
    } else {
        trt__exec_waker_keep(&o->waker, cx->waker);
    }
    pthread_mutex_unlock(&o->lock);
    if (old.vtable)
        trt_waker_drop(old);
    return sent ? TRT_READY : TRT_PENDING;
}

void trt_oneshot_drop(trt_oneshot *o)
{
    trt__exec_waker_forget(&o->waker);
    pthread_mutex_destroy(&o->lock);
}

/* ------------------------------------------------------------ chan */

int trt_chan_init(trt_chan *c, size_t capacity)
{
    c->buf = NULL;
    c->size = c->head = c->len = 0;
    c->capacity = capacity;
    c->closed = false;
    c->rx_waker.data = NULL;
    c->rx_waker.vtable = NULL;
    /* A bounded queue gets all its room now, so a send never allocates. */
    if (capacity) {
        c->buf = calloc(capacity, sizeof(*c->buf));
        if (!c->buf)
            return -ENOMEM;
        c->size = capacity;
    }
    pthread_mutex_init(&c->lock, NULL);
    return 0;
}

/* Doubles an unbounded queue's ring, unwrapping it.  0 or -ENOMEM. */
static int chan_grow(trt_chan *c)
{
    size_t size = c->size ? c->size * 2 : 16;
    void **buf = malloc(size * sizeof(*buf));
    if (!buf)
        return -ENOMEM;
    for (size_t i = 0; i < c->len; i++)
        buf[i] = c->buf[(c->head + i) % c->size];
    free(c->buf);
    c->buf = buf;
    c->size = size;
    c->head = 0;
    return 0;
}

/* Takes the receiver's waker out of the channel, with the lock held. */
static trt_waker chan_take_waker(trt_chan *c)
{
    trt_waker w = c->rx_waker;
    c->rx_waker.data = NULL;
    c->rx_waker.vtable = NULL;
    return w;
}

int trt_chan_send(trt_chan *c, void *value)
{
    int err = 0;
    trt_waker w = {NULL, NULL};
    pthread_mutex_lock(&c->lock);
    if (c->closed) {
        err = -EPIPE;
        goto out;
    }
    if (c->len == c->size) {
        if (c->capacity) {
            err = -EAGAIN;
            goto out;
        }
        err = chan_grow(c);
        if (err < 0)
            goto out;
    }
    c->buf[(c->head + c->len) % c->size] = value;
    c->len++;
    w = chan_take_waker(c);
out:
    pthread_mutex_unlock(&c->lock);
    if (w.vtable)
        trt_waker_wake(w);
    return err;
}

void trt_chan_close(trt_chan *c)
{
    pthread_mutex_lock(&c->lock);
    c->closed = true;
    trt_waker w = chan_take_waker(c);
    pthread_mutex_unlock(&c->lock);
    if (w.vtable)
        trt_waker_wake(w);
}

void trt_chan_drop(trt_chan *c)
{
    trt__exec_waker_forget(&c->rx_waker);
    free(c->buf);
    c->buf = NULL;
    pthread_mutex_destroy(&c->lock);
}

void trt_chan_recv_init(trt_chan_recv *r, trt_chan *c)
{
    r->base.poll = trt_chan_recv_poll;
    r->value = NULL;
    r->err = 0;
    r->chan = c;
}

__attribute__((noinline)) trt_poll trt_chan_recv_poll(trt_future *f, trt_context *cx)
{
    trt_chan_recv *r = (trt_chan_recv *)f;
    trt_chan *c = r->chan;
    trt_poll res = TRT_READY;
    trt_waker old = {NULL, NULL};
    pthread_mutex_lock(&c->lock);
    if (c->len) {
        r->value = c->buf[c->head];
        c->head = (c->head + 1) % c->size;
        c->len--;
        r->err = 0;
        old = chan_take_waker(c);
    } else if (c->closed) {
        r->err = -EPIPE;
        old = chan_take_waker(c);
    } else {
        /* Cloned under the lock: a sender must find either this waker or
         * the value it queued. */
        trt__exec_waker_keep(&c->rx_waker, cx->waker);
        res = TRT_PENDING;
    }
    pthread_mutex_unlock(&c->lock);
    if (old.vtable)
        trt_waker_drop(old);
    return res;
}

void trt_chan_recv_drop(trt_chan_recv *r)
{
    pthread_mutex_lock(&r->chan->lock);
    trt_waker w = chan_take_waker(r->chan);
    pthread_mutex_unlock(&r->chan->lock);
    if (w.vtable)
        trt_waker_drop(w);
}
