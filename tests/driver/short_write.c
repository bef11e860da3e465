/*
 * A preload library for the robustness tests: a file system that loses
 * data. write(2) to a regular file whose name contains '~' (the module's
 * temporary files are "<name>~XXXXXX") writes only the first half of the
 * buffer but reports the whole buffer as written. Every other write is
 * passed through unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef ssize_t (*write_fn)(int, const void *, size_t);

static int is_temporary_file(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        return 0;
    }
    char link[64];
    char target[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, target, sizeof target - 1);
    if (len <= 0) {
        return 0;
    }
    target[len] = '\0';
    const char *name = strrchr(target, '/');
    return name != NULL && strchr(name, '~') != NULL;
}

ssize_t write(int fd, const void *buf, size_t count) {
    write_fn real_write = (write_fn)dlsym(RTLD_NEXT, "write");
    if (count > 1 && is_temporary_file(fd)) {
        ssize_t written = real_write(fd, buf, count / 2);
        return written < 0 ? written : (ssize_t)count;
    }
    return real_write(fd, buf, count);
}
