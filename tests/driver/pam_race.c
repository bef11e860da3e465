/*
 * pam_race: starts N processes that each open a PAM session for the same
 * service and user, waits until all of them are ready, then releases them
 * at the same instant (a barrier on a pipe, not a sleep) to call
 * pam_authenticate with the same answer. Prints how many processes got each
 * PAM result:
 *
 *   RESULT <code> <count>
 *
 * Usage: pam_race --confdir DIR --service NAME --user USER --procs N
 *                 --answer TEXT [--rhost HOST] [--answer-delay-ms MS]
 *
 * With --answer-delay-ms the conversation prints "PROMPTED" and waits that
 * long before it answers, like a user slow to type the code.
 *
 * With --procs 0 the authentication runs in this process, without forking,
 * so that a tracer sees exactly one login's system calls.
 */
#define _GNU_SOURCE
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PROCS 256

static const char *answer;
static int answer_delay_ms;

static int converse(int n, const struct pam_message **msgs,
                    struct pam_response **resp, void *data) {
    (void)data;
    struct pam_response *r = calloc((size_t)n, sizeof *r);
    if (!r)
        return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        int style = msgs[i]->msg_style;
        if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
            if (answer_delay_ms > 0) {
                printf("PROMPTED\n");
                fflush(stdout);
                usleep((useconds_t)answer_delay_ms * 1000);
            }
            r[i].resp = strdup(answer);
            if (!r[i].resp) {
                free(r);
                return PAM_BUF_ERR;
            }
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

static void usage(void) {
    fprintf(stderr, "usage: pam_race --confdir DIR --service NAME --user USER"
                    " --procs N --answer TEXT [--rhost HOST]"
                    " [--answer-delay-ms MS]\n");
    exit(2);
}

/* Prepares a login, reports ready and waits for the start (unless the fds
 * are -1), then authenticates. */
static int login(const char *confdir, const char *service, const char *user,
                 const char *rhost, int ready_fd, int go_fd) {
    const struct pam_conv conv = {converse, NULL};
    pam_handle_t *pamh = NULL;
    if (pam_start_confdir(service, user, &conv, confdir, &pamh) != PAM_SUCCESS)
        return 100;
    if (rhost && pam_set_item(pamh, PAM_RHOST, rhost) != PAM_SUCCESS)
        return 101;
    char byte = 'r';
    if (ready_fd >= 0 && write(ready_fd, &byte, 1) != 1)
        return 102;
    /* Blocks until the parent closes the write end: read returns 0. */
    if (go_fd >= 0 && read(go_fd, &byte, 1) != 0)
        return 103;
    int rc = pam_authenticate(pamh, 0);
    pam_end(pamh, rc);
    return rc;
}

int main(int argc, char **argv) {
    const char *confdir = NULL, *service = NULL, *user = NULL, *rhost = NULL;
    int procs = 0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *opt = argv[i], *val = argv[++i];
        if (!strcmp(opt, "--confdir")) confdir = val;
        else if (!strcmp(opt, "--service")) service = val;
        else if (!strcmp(opt, "--user")) user = val;
        else if (!strcmp(opt, "--rhost")) rhost = val;
        else if (!strcmp(opt, "--answer")) answer = val;
        else if (!strcmp(opt, "--procs")) procs = atoi(val);
        else if (!strcmp(opt, "--answer-delay-ms")) answer_delay_ms = atoi(val);
        else usage();
    }
    if (!confdir || !service || !user || !answer || procs < 0 || procs > MAX_PROCS)
        usage();
    if (procs == 0) {
        printf("RESULT %d 1\n", login(confdir, service, user, rhost, -1, -1));
        return 0;
    }

    int ready[2], go[2];
    if (pipe(ready) || pipe(go)) {
        perror("pipe");
        return 1;
    }
    pid_t pids[MAX_PROCS];
    for (int i = 0; i < procs; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("fork");
            return 1;
        }
        if (pids[i] == 0) {
            close(ready[0]);
            close(go[1]);
            _exit(login(confdir, service, user, rhost, ready[1], go[0]));
        }
    }
    close(ready[1]);
    close(go[0]);
    for (int i = 0; i < procs; i++) {
        char byte;
        if (read(ready[0], &byte, 1) != 1) {
            fprintf(stderr, "a child failed before the start\n");
            break;
        }
    }
    close(go[1]); /* the barrier opens: every child returns from read */

    int counts[256] = {0};
    for (int i = 0; i < procs; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) < 0) {
            perror("waitpid");
            return 1;
        }
        counts[WIFEXITED(status) ? WEXITSTATUS(status) : 255]++;
    }
    for (int code = 0; code < 256; code++)
        if (counts[code])
            printf("RESULT %d %d\n", code, counts[code]);
    return 0;
}
