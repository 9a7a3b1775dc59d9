// A C++ test target whose leaf frames have no linkage name in the debug
// info: the waker is cloned inside a constructor inlined into a lambda
// inlined into a member function of a class template, so those frames are
// only qualified when the tool walks their scopes.  One task, "names":
// app::Outer<app::Leaf<int>>::poll awaiting app::Leaf<int>::poll, which
// calls a lambda that builds an app::detail::Registration<int>.  Built by
// tests/integration/test-names-scopes.sh.  Prints "pid N" and runs until
// killed.
#include <atomic>
#include <cstdio>

#include <unistd.h>

#include <tasktrace/rt.h>

namespace app {

static std::atomic<int> woken{1};
static volatile int sink;

static trt_waker waker_clone(const void *d);
static void waker_wake_by_ref(const void *d)
{
    static_cast<std::atomic<int> *>(const_cast<void *>(d))->store(1);
}
static void waker_wake(const void *d)
{
    waker_wake_by_ref(d);
}
static void waker_drop(const void *) {}
static const trt_waker_vtable vtable = {waker_clone, waker_wake, waker_wake_by_ref, waker_drop};
static trt_waker waker_clone(const void *d)
{
    return trt_waker{d, &vtable};
}

namespace detail {
// Holds a clone of the waker while it lives.
template <typename T> struct Registration {
    trt_waker w;
    T tag;
    __attribute__((always_inline)) explicit Registration(trt_context *cx, T t)
        : w(trt_waker_clone(cx->waker)), tag(t)
    {
        sink = sink + static_cast<int>(tag);
    }
    __attribute__((always_inline)) ~Registration() { trt_waker_drop(w); }
};
} // namespace detail

template <typename T> struct Leaf {
    trt_future base{&Leaf::poll};
    T polls{};

    __attribute__((noinline)) static trt_poll poll(trt_future *f, trt_context *cx)
    {
        Leaf *self = reinterpret_cast<Leaf *>(f);
        auto reg = [cx](T n) __attribute__((always_inline)) {
            detail::Registration<T> r(cx, n);
            sink = sink + 1;
        };
        reg(++self->polls);
        sink = sink + 1;
        return TRT_PENDING;
    }
};

template <typename Inner> struct Outer {
    trt_future base{&Outer::poll};
    Inner inner;

    __attribute__((noinline)) static trt_poll poll(trt_future *f, trt_context *cx)
    {
        Outer *self = reinterpret_cast<Outer *>(f);
        trt_poll r = trt_future_poll(&self->inner.base, cx);
        sink = sink + 1;
        return r;
    }
};

} // namespace app

int main()
{
    static app::Outer<app::Leaf<int>> top;
    trt_future *task = trt_traced_new(&top.base, "names");
    if (task == nullptr) {
        std::perror("trt_traced_new");
        return 1;
    }
    std::printf("pid %d\n", static_cast<int>(getpid()));
    std::fflush(stdout);
    for (;;) {
        if (app::woken.exchange(0)) {
            trt_waker w{&app::woken, &app::vtable};
            trt_context cx{&w};
            trt_future_poll(task, &cx);
        }
        usleep(1000);
    }
}
