/* The version of the loaded library, for programs that compare it with the
 * TRT_VERSION_* macros they were compiled against. */
#include <tasktrace/rt.h>

const char *trt_version(void)
{
    return TRT_VERSION_STRING;
}

unsigned trt_version_number(void)
{
    return TRT_VERSION_NUMBER;
}
