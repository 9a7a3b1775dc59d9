// A C++ test target: its futures are member functions of class templates in
// a namespace, so their frames only read right when the tool demangles
// them.  One task, "cxx": app::Outer<app::Leaf<int>>::poll awaiting
// app::Leaf<int>::poll, which registers the waker and stays pending.  Its
// own minimal executor polls the task when woken.  Built by
// tests/integration/test-cxx-names.sh, with and without -g.  Prints
// "pid N" and runs until killed.
#include <atomic>
#include <cstdio>
#include <cstdlib>

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

// Each future starts with its trt_future, so the runtime's pointer to it is
// a pointer to the whole object (standard layout).
template <typename T> struct Leaf {
    trt_future base{&Leaf::poll};
    T polls{};

    __attribute__((noinline)) static trt_poll poll(trt_future *f, trt_context *cx)
    {
        Leaf *self = reinterpret_cast<Leaf *>(f);
        self->polls++;
        trt_waker w = trt_waker_clone(cx->waker);
        trt_waker_drop(w);
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
    trt_future *task = trt_traced_new(&top.base, "cxx");
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
