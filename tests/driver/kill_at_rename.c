/*
 * A preload library for the robustness tests: a writer killed at the worst
 * moment. The first call that would rename a file (rename, renameat,
 * renameat2) kills the process with SIGKILL instead, so the temporary copy
 * of the secret it has just written stays behind, as after a power cut or
 * an out-of-memory kill.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static void die(void) {
    kill(getpid(), SIGKILL);
}

int rename(const char *old_path, const char *new_path) {
    (void)old_path;
    (void)new_path;
    die();
    return -1;
}

int renameat(int old_dir, const char *old_path, int new_dir, const char *new_path) {
    (void)old_dir;
    (void)old_path;
    (void)new_dir;
    (void)new_path;
    die();
    return -1;
}

int renameat2(int old_dir, const char *old_path, int new_dir, const char *new_path,
              unsigned int flags) {
    (void)old_dir;
    (void)old_path;
    (void)new_dir;
    (void)new_path;
    (void)flags;
    die();
    return -1;
}
