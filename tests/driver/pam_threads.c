/*
 * pam_threads: logins through Linux-PAM in a multi-threaded host, as a
 * threaded server (a PAM daemon, a desktop greeter) runs them.
 *
 * The driver first gives itself the supplementary groups OWN_GROUPS (a set
 * no test user has), so that a user's groups leaking into other threads
 * shows.
 *
 * --mode prompt
 *     Thread A logs in as --waiting-user, answering --waiting-answer; its
 *     conversation reports A's groups and fsuid, then blocks at the prompt
 *     until the driver releases it. While A waits, the driver reports the
 *     groups and fsuid of the main thread and of a new thread, runs each --login USER:ANSWER in a thread of its
 *     own (waiting at most --timeout-ms for each), and forks --forks
 *     children that each run --child-login USER:ANSWER. Then it releases A.
 *
 * --mode busy
 *     A thread runs logins of --busy-login USER:ANSWER back to back while
 *     the main thread samples its own groups and forks --forks children,
 *     one after the other, that each run --child-login USER:ANSWER.
 *
 * Each --hold PATH keeps a module loaded, as a long-running host with a
 * login open does: otherwise libpam loads and unloads the modules of the
 * service and of "other" in every login, and a fork in the middle of that
 * leaves the child's dynamic loader inconsistent (a glibc limit, whatever
 * the module). For the same reason the confdir should hold an "other"
 * service, without which libpam complains through syslog(3) at every
 * pam_start: a fork while another thread is inside syslog(3) leaves the
 * child's syslog lock taken.
 *
 * A forked child reports its groups and fsuid, then logs in under
 * alarm(): a hang ends it with SIGALRM. The driver stops forking after a
 * child that hung.
 *
 * Output, one line each (written with write(2), so lines from threads and
 * children never mix):
 *
 *   GROUPS <where> <gid,gid,...>   own, or the groups of a thread: prompt
 *                                  (A, in its conversation), main, thread
 *   FSUID <where> <uid>            prompt | main | thread
 *   PROMPT <text>                  the prompt A waits at
 *   LOGIN <user> <code> <ms>       a login run while A waits
 *   LOGIN <user> TIMEOUT <ms>      ... that did not finish in time
 *   LATE <user> <code>             ... and its result once A was released
 *   WAITING <code>                 A's result
 *   CHILD_START <gid,...> <fsuid>  a forked child's identity at its start
 *   CHILD exit <status>            a forked child's exit status (PAM result)
 *   CHILD signal <number>          a forked child killed by a signal
 *   BUSY <logins> <successes>      the logins of --mode busy
 *   SAMPLES <count> <foreign>      main-thread group samples, and how many
 *                                  differed from its own groups
 *
 * Usage: pam_threads --confdir DIR --service NAME --mode prompt|busy
 *            [--waiting-user U --waiting-answer A] [--login U:A ...]
 *            [--child-login U:A] [--busy-login U:A] [--forks N]
 *            [--timeout-ms MS] [--hold PATH ...]
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LOGINS 8
#define MAX_GROUPS 64
/* Whole run, as a backstop: the driver itself never hangs (and ends
 * before the test's own limit of 30 s). */
#define DRIVER_TIMEOUT_S 25
/* One forked child's login. */
#define CHILD_TIMEOUT_S 5
/* How long A waits to be released, and the driver for A to reach the prompt. */
#define PROMPT_TIMEOUT_S 20
/* Group samples between two forks in --mode busy. */
#define SAMPLES_PER_FORK 200

static const gid_t OWN_GROUPS[] = {0, 65534};
#define OWN_GROUP_COUNT (sizeof OWN_GROUPS / sizeof OWN_GROUPS[0])

static const char *confdir, *service;

/* One login: who, with what answer, and whether its prompt blocks. */
struct login {
    char user[128];
    const char *answer;
    int blocks;
    int result;
    pthread_t thread;
};

static void say(const char *format, ...) {
    char line[512];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof line - 1, format, args);
    va_end(args);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (write(STDOUT_FILENO, line, (size_t)n) != n)
        _exit(3);
}

__attribute__((noreturn)) static void die(const char *what) {
    say("ERROR %s: %s", what, strerror(errno));
    _exit(1);
}

__attribute__((noreturn)) static void usage(void) {
    fprintf(stderr, "usage: pam_threads --confdir DIR --service NAME --mode prompt|busy"
                    " [--waiting-user U --waiting-answer A] [--login U:A ...]"
                    " [--child-login U:A] [--busy-login U:A] [--forks N]"
                    " [--timeout-ms MS] [--hold PATH ...]\n");
    exit(2);
}

/* --- the thread waiting at the prompt ------------------------------------ */

static pthread_mutex_t prompt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t prompt_changed = PTHREAD_COND_INITIALIZER;
static int at_prompt, released;
static char prompt_text[256];

static struct timespec deadline_after_ms(long ms) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* Called by the blocking login's conversation: records the prompt and
 * waits (bounded) until released. */
static void wait_at_prompt(const char *text) {
    struct timespec deadline = deadline_after_ms(PROMPT_TIMEOUT_S * 1000L);
    pthread_mutex_lock(&prompt_lock);
    snprintf(prompt_text, sizeof prompt_text, "%s", text);
    at_prompt = 1;
    pthread_cond_broadcast(&prompt_changed);
    while (!released &&
           pthread_cond_timedwait(&prompt_changed, &prompt_lock, &deadline) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&prompt_lock);
}

/* Waits until the blocking login sits at its prompt; 0 if it never did. */
static int await_prompt(void) {
    struct timespec deadline = deadline_after_ms(PROMPT_TIMEOUT_S * 1000L);
    pthread_mutex_lock(&prompt_lock);
    while (!at_prompt &&
           pthread_cond_timedwait(&prompt_changed, &prompt_lock, &deadline) != ETIMEDOUT) {
    }
    int reached = at_prompt;
    pthread_mutex_unlock(&prompt_lock);
    return reached;
}

static void release_prompt(void) {
    pthread_mutex_lock(&prompt_lock);
    released = 1;
    pthread_cond_broadcast(&prompt_changed);
    pthread_mutex_unlock(&prompt_lock);
}

/* --- logins ---------------------------------------------------------------- */

static void report_identity(const char *where);

static int converse(int n, const struct pam_message **msgs,
                    struct pam_response **resp, void *data) {
    const struct login *login = data;
    struct pam_response *r = calloc((size_t)n, sizeof *r);
    if (!r)
        return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        int style = msgs[i]->msg_style;
        if (style != PAM_PROMPT_ECHO_OFF && style != PAM_PROMPT_ECHO_ON)
            continue;
        if (login->blocks) {
            report_identity("prompt");
            wait_at_prompt(msgs[i]->msg);
        }
        r[i].resp = strdup(login->answer);
        if (!r[i].resp) {
            free(r);
            return PAM_BUF_ERR;
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

static int run_login(struct login *login) {
    const struct pam_conv conv = {converse, login};
    pam_handle_t *pamh = NULL;
    if (pam_start_confdir(service, login->user, &conv, confdir, &pamh) != PAM_SUCCESS)
        return 100;
    int rc = pam_authenticate(pamh, 0);
    pam_end(pamh, rc);
    return rc;
}

static void *login_thread(void *arg) {
    struct login *login = arg;
    login->result = run_login(login);
    return NULL;
}

static void start_login(struct login *login) {
    errno = pthread_create(&login->thread, NULL, login_thread, login);
    if (errno)
        die("pthread_create");
}

/* "USER:ANSWER" */
static void parse_login(const char *spec, struct login *login) {
    const char *colon = strchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof login->user)
        usage();
    memcpy(login->user, spec, (size_t)(colon - spec));
    login->user[colon - spec] = '\0';
    login->answer = colon + 1;
}

static long elapsed_ms(const struct timespec *since) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000L + (now.tv_nsec - since->tv_nsec) / 1000000L;
}

/* --- identity -------------------------------------------------------------- */

static void format_groups(char *out, size_t size, const gid_t *groups, int count) {
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < count && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%u", i ? "," : "", groups[i]);
}

/* The calling thread's groups, as a list; "-" when there are none. */
static void thread_groups(char *out, size_t size) {
    gid_t groups[MAX_GROUPS];
    int count = getgroups(MAX_GROUPS, groups);
    if (count < 0)
        die("getgroups");
    format_groups(out, size, groups, count);
    if (count == 0)
        snprintf(out, size, "-");
}

/* Whether the calling thread has the groups the driver gave itself. */
static int has_own_groups(void) {
    char own[256], now[256];
    format_groups(own, sizeof own, OWN_GROUPS, (int)OWN_GROUP_COUNT);
    thread_groups(now, sizeof now);
    return strcmp(own, now) == 0;
}

/* setfsuid with an invalid id changes nothing and returns the current one. */
static unsigned current_fsuid(void) { return (unsigned)setfsuid((uid_t)-1); }

static void report_identity(const char *where) {
    char groups[256];
    thread_groups(groups, sizeof groups);
    say("GROUPS %s %s", where, groups);
    say("FSUID %s %u", where, current_fsuid());
}

static void *report_identity_thread(void *arg) {
    (void)arg;
    report_identity("thread");
    return NULL;
}

/* --- forked children ------------------------------------------------------- */

/* Forks a child that reports its groups and fsuid, then runs `login`;
 * returns whether the child ended by itself, after reporting how. */
static int fork_login(struct login *login) {
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        alarm(CHILD_TIMEOUT_S);
        char groups[256];
        thread_groups(groups, sizeof groups);
        say("CHILD_START %s %u", groups, current_fsuid());
        _exit(run_login(login));
    }
    int status;
    if (waitpid(pid, &status, 0) < 0)
        die("waitpid");
    if (WIFSIGNALED(status)) {
        say("CHILD signal %d", WTERMSIG(status));
        return 0;
    }
    say("CHILD exit %d", WEXITSTATUS(status));
    return 1;
}

static void fork_logins(struct login *login, int forks) {
    for (int i = 0; i < forks; i++)
        if (!fork_login(login))
            return;
}

/* --- modes ----------------------------------------------------------------- */

static int prompt_mode(struct login *waiting, struct login *logins, int login_count,
                       struct login *child, int forks, long timeout_ms) {
    waiting->blocks = 1;
    start_login(waiting);
    if (!await_prompt()) {
        say("ERROR the waiting login never reached the prompt");
        return 1;
    }
    say("PROMPT %s", prompt_text);
    report_identity("main");
    pthread_t reporter;
    errno = pthread_create(&reporter, NULL, report_identity_thread, NULL);
    if (errno)
        die("pthread_create");
    pthread_join(reporter, NULL);

    int late[MAX_LOGINS] = {0};
    for (int i = 0; i < login_count; i++) {
        struct timespec started;
        clock_gettime(CLOCK_MONOTONIC, &started);
        start_login(&logins[i]);
        struct timespec deadline = deadline_after_ms(timeout_ms);
        if (pthread_timedjoin_np(logins[i].thread, NULL, &deadline) == 0) {
            say("LOGIN %s %d %ld", logins[i].user, logins[i].result, elapsed_ms(&started));
        } else {
            say("LOGIN %s TIMEOUT %ld", logins[i].user, elapsed_ms(&started));
            late[i] = 1;
            break;
        }
    }
    if (forks > 0)
        fork_logins(child, forks);

    release_prompt();
    pthread_join(waiting->thread, NULL);
    say("WAITING %d", waiting->result);
    for (int i = 0; i < login_count; i++) {
        if (late[i]) {
            pthread_join(logins[i].thread, NULL);
            say("LATE %s %d", logins[i].user, logins[i].result);
        }
    }
    return 0;
}

static int stop_busy;
/* Written by the busy thread, read once it has been joined. */
static int busy_logins, busy_successes;

static void *busy_thread(void *arg) {
    struct login *login = arg;
    while (!__atomic_load_n(&stop_busy, __ATOMIC_ACQUIRE)) {
        busy_successes += run_login(login) == PAM_SUCCESS;
        busy_logins++;
    }
    return NULL;
}

static int busy_mode(struct login *busy, struct login *child, int forks) {
    start_login(busy); /* a first login, so that the loop starts warm */
    pthread_join(busy->thread, NULL);
    errno = pthread_create(&busy->thread, NULL, busy_thread, busy);
    if (errno)
        die("pthread_create");
    long samples = 0, foreign = 0;
    int child_failed = 0;
    for (int i = 0; i < forks && !child_failed; i++) {
        for (int s = 0; s < SAMPLES_PER_FORK; s++, samples++) {
            foreign += !has_own_groups();
            usleep(50);
        }
        child_failed = !fork_login(child);
    }
    __atomic_store_n(&stop_busy, 1, __ATOMIC_RELEASE);
    pthread_join(busy->thread, NULL);
    say("BUSY %d %d", busy_logins, busy_successes);
    say("SAMPLES %ld %ld", samples, foreign);
    return 0;
}

/* Loads a module for good, before any thread starts. */
static void hold(const char *path) {
    if (!dlopen(path, RTLD_NOW)) {
        say("ERROR dlopen %s: %s", path, dlerror());
        exit(1);
    }
}

int main(int argc, char **argv) {
    const char *mode = NULL;
    struct login waiting = {0}, child = {0}, busy = {0};
    struct login logins[MAX_LOGINS] = {0};
    int login_count = 0, forks = 0;
    long timeout_ms = 5000;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *opt = argv[i], *val = argv[++i];
        if (!strcmp(opt, "--confdir")) confdir = val;
        else if (!strcmp(opt, "--service")) service = val;
        else if (!strcmp(opt, "--mode")) mode = val;
        else if (!strcmp(opt, "--waiting-user")) snprintf(waiting.user, sizeof waiting.user, "%s", val);
        else if (!strcmp(opt, "--waiting-answer")) waiting.answer = val;
        else if (!strcmp(opt, "--login") && login_count < MAX_LOGINS) parse_login(val, &logins[login_count++]);
        else if (!strcmp(opt, "--child-login")) parse_login(val, &child);
        else if (!strcmp(opt, "--busy-login")) parse_login(val, &busy);
        else if (!strcmp(opt, "--forks")) forks = atoi(val);
        else if (!strcmp(opt, "--timeout-ms")) timeout_ms = atol(val);
        else if (!strcmp(opt, "--hold")) hold(val);
        else usage();
    }
    if (!confdir || !service || !mode || (forks > 0 && !child.answer))
        usage();
    alarm(DRIVER_TIMEOUT_S);
    if (setgroups(OWN_GROUP_COUNT, OWN_GROUPS))
        die("setgroups");
    char own[256];
    format_groups(own, sizeof own, OWN_GROUPS, (int)OWN_GROUP_COUNT);
    say("GROUPS own %s", own);
    if (!strcmp(mode, "prompt") && waiting.user[0] && waiting.answer)
        return prompt_mode(&waiting, logins, login_count, &child, forks, timeout_ms);
    if (!strcmp(mode, "busy") && busy.answer)
        return busy_mode(&busy, &child, forks);
    usage();
}
