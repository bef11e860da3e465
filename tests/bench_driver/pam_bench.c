/*
 * pam_bench: times logins through real Linux-PAM for two PAM services side
 * by side ("arms": ours and the reference module), so that both pay the same
 * PAM, kernel and machine costs.
 *
 * Usage:
 *   pam_bench latency  COMMON --iterations N [--warmup N] [--cold | --cycle] --name TEXT
 *   pam_bench parallel COMMON --procs P --rounds R --round-ms MS --name TEXT
 *                      [--report-counter]
 *   pam_bench rss      COMMON --module PATH
 *   pam_bench footprint COMMON --module PATH
 *   pam_bench load     --load LABEL:PATH --load LABEL:PATH --iterations N
 *                      [--warmup N] --name TEXT
 *   pam_bench sink     SOCKET
 *
 * COMMON:
 *   --confdir DIR              PAM configuration directory (pam_start_confdir)
 *   --arm LABEL:SERVICE:USERS  a PAM service and its users (comma-separated);
 *                              latency and parallel take two arms, ours first
 *   --template FILE            state file installed as each user's
 *                              ~/.google_authenticator (mode 0400) before the
 *                              run, and in latency mode before every login
 *                              with --regen each (untimed)
 *   --regen once|each
 *   --answer totp:FILE|hotp:FILE|fixed:CODE
 *                              totp: lines "STEP CODE" for 30-second steps,
 *                              the code of the current step is answered;
 *                              hotp: lines "COUNTER CODE", each login of an
 *                              arm answers the next one; fixed: always CODE
 *   --expect success|autherr   the pam_authenticate result every login must
 *                              give; anything else is counted and fails the
 *                              run (exit status 1)
 *   --hold PATH                dlopen PATH and keep it loaded, so the modules
 *                              are not unloaded and reloaded by every
 *                              pam_end/pam_start (a long-running service)
 *
 * latency: interleaves the arms (AB, BA, AB, ...) and prints one Markdown
 *   table row: median and p99 of pam_authenticate in microseconds for each
 *   arm and the ratios ours/reference. With --cold every login runs in a
 *   freshly forked child that loads the module itself, the way sshd and sudo
 *   run PAM, and the time is from fork to the child's exit. With --cycle the
 *   time is the whole transaction, pam_start to pam_end; without --hold
 *   Linux-PAM then loads the module in pam_start and unloads it in pam_end,
 *   as in sshd.
 * parallel: for each round and each arm (alternating which goes first),
 *   starts P processes at one instant; process k logs in as user k modulo
 *   the arm's user count until MS milliseconds have passed. Prints logins per
 *   second for each arm and the ratio of per-login times ours/reference.
 *   --report-counter also prints how far the users' HOTP_COUNTER values
 *   advanced (how many state-file writes landed).
 * rss: ru_maxrss of this process before and after dlopen(PATH) and after
 *   one login through the first arm, in KiB. Refuses to run when ru_maxrss
 *   was inherited across execve from a larger process.
 * footprint: in a fresh process, loads PATH and logs in once through the
 *   first arm; prints the module's relocations (relative ones, counting
 *   those a packed DT_RELR table encodes, and those naming a symbol), the
 *   KiB it maps, has touched and has written after dlopen and after the
 *   login (/proc/self/smaps), and the page faults of each step.
 * load: dlopen (RTLD_NOW, as Linux-PAM does) and dlclose of the two
 *   modules, interleaved; prints median and p99 in microseconds and the
 *   median page faults. Fails if a module stays loaded after dlclose.
 * sink: a stand-in syslog daemon: binds a datagram socket at SOCKET (mode
 *   0666) and reads and discards messages until killed. Both modules log
 *   every login; without a reader they would fail to log (and the
 *   reference, which opens the log with LOG_CONS, would then make glibc
 *   write the host program's later messages to /dev/console).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARMS 2
#define MAX_USERS 16
#define MAX_HOLD 4
#define STEP_SECONDS 30
#define REMOTE_HOST "192.0.2.10"

struct user {
  const char *name;
  char *home;
  uid_t uid;
  gid_t gid;
};

struct arm {
  const char *label;
  const char *service;
  struct user users[MAX_USERS];
  int user_count;
  size_t hotp_next;
  double *samples;
  size_t sample_count;
  long ok;
  long unexpected;
  int last_unexpected;
};

struct code {
  long long key;
  char digits[16];
};

/* A module timed by the load mode. */
struct loadee {
  const char *label;
  const char *path;
  double *samples;
  long *faults;
  size_t sample_count;
};

enum answer_kind { ANSWER_TOTP, ANSWER_HOTP, ANSWER_FIXED };

struct config {
  const char *mode;
  const char *confdir;
  const char *name;
  const char *module;
  char *template_text;
  size_t template_len;
  bool regen_each;
  enum answer_kind answer_kind;
  const char *fixed_code;
  struct code *codes;
  size_t code_count;
  int expect;
  long iterations;
  long warmup;
  bool cold;
  bool cycle;
  int procs;
  int rounds;
  long round_ms;
  bool report_counter;
  struct arm arms[MAX_ARMS];
  int arm_count;
  struct loadee loadees[MAX_ARMS];
  int loadee_count;
};

struct tally {
  long ok;
  long unexpected;
  int last_unexpected;
};

static _Noreturn void die(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("pam_bench: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(2);
}

static double now_us(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
    die("clock_gettime: %s", strerror(errno));
  }
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static char *read_whole_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    die("%s: %s", path, strerror(errno));
  }
  size_t cap = 4096, used = 0;
  char *buf = malloc(cap);
  size_t n;
  while (buf && (n = fread(buf + used, 1, cap - used, f)) > 0) {
    used += n;
    if (used == cap) {
      cap *= 2;
      buf = realloc(buf, cap);
    }
  }
  if (!buf || ferror(f)) {
    die("reading %s failed", path);
  }
  fclose(f);
  *len = used;
  return buf;
}

static void load_codes(struct config *cfg, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    die("%s: %s", path, strerror(errno));
  }
  size_t cap = 64;
  cfg->codes = malloc(cap * sizeof(*cfg->codes));
  struct code entry;
  while (cfg->codes && fscanf(f, "%lld %15s", &entry.key, entry.digits) == 2) {
    if (cfg->code_count == cap) {
      cap *= 2;
      cfg->codes = realloc(cfg->codes, cap * sizeof(*cfg->codes));
      if (!cfg->codes) {
        break;
      }
    }
    cfg->codes[cfg->code_count++] = entry;
  }
  if (!cfg->codes || cfg->code_count == 0) {
    die("%s: no \"KEY CODE\" lines", path);
  }
  fclose(f);
}

static void parse_answer(struct config *cfg, const char *spec) {
  if (strncmp(spec, "totp:", 5) == 0) {
    cfg->answer_kind = ANSWER_TOTP;
    load_codes(cfg, spec + 5);
  } else if (strncmp(spec, "hotp:", 5) == 0) {
    cfg->answer_kind = ANSWER_HOTP;
    load_codes(cfg, spec + 5);
  } else if (strncmp(spec, "fixed:", 6) == 0) {
    cfg->answer_kind = ANSWER_FIXED;
    cfg->fixed_code = spec + 6;
  } else {
    die("unknown --answer %s", spec);
  }
}

static void lookup_user(struct user *user, const char *name) {
  struct passwd *pw = getpwnam(name);
  if (!pw) {
    die("no such user: %s", name);
  }
  user->name = name;
  user->home = strdup(pw->pw_dir);
  user->uid = pw->pw_uid;
  user->gid = pw->pw_gid;
  if (!user->home) {
    die("out of memory");
  }
}

static void parse_arm(struct config *cfg, char *spec) {
  if (cfg->arm_count == MAX_ARMS) {
    die("at most %d arms", MAX_ARMS);
  }
  struct arm *arm = &cfg->arms[cfg->arm_count++];
  char *label = strtok(spec, ":");
  char *service = strtok(NULL, ":");
  char *users = strtok(NULL, ":");
  if (!label || !service || !users) {
    die("--arm wants LABEL:SERVICE:USERS");
  }
  arm->label = label;
  arm->service = service;
  for (char *name = strtok(users, ","); name; name = strtok(NULL, ",")) {
    if (arm->user_count == MAX_USERS) {
      die("at most %d users per arm", MAX_USERS);
    }
    lookup_user(&arm->users[arm->user_count++], name);
  }
}

static void parse_loadee(struct config *cfg, char *spec) {
  if (cfg->loadee_count == MAX_ARMS) {
    die("at most %d --load", MAX_ARMS);
  }
  struct loadee *loadee = &cfg->loadees[cfg->loadee_count++];
  char *colon = strchr(spec, ':');
  if (!colon) {
    die("--load wants LABEL:PATH");
  }
  *colon = '\0';
  loadee->label = spec;
  loadee->path = colon + 1;
}

static long parse_long(const char *text, const char *option) {
  char *end;
  errno = 0;
  const long value = strtol(text, &end, 10);
  if (errno || *end || value < 0) {
    die("%s wants a non-negative number, not %s", option, text);
  }
  return value;
}

static void hold_module(const char *path) {
  if (!dlopen(path, RTLD_NOW | RTLD_LOCAL)) {
    die("dlopen %s: %s", path, dlerror());
  }
}

static void parse_args(struct config *cfg, int argc, char **argv) {
  if (argc < 2) {
    die("usage: pam_bench latency|parallel|rss|footprint|load|sink OPTIONS (see the source)");
  }
  cfg->mode = argv[1];
  cfg->expect = -1;
  cfg->procs = 1;
  cfg->rounds = 1;
  for (int i = 2; i < argc; ++i) {
    const char *opt = argv[i];
    if (!strcmp(opt, "--cold")) {
      cfg->cold = true;
      continue;
    }
    if (!strcmp(opt, "--cycle")) {
      cfg->cycle = true;
      continue;
    }
    if (!strcmp(opt, "--report-counter")) {
      cfg->report_counter = true;
      continue;
    }
    if (i + 1 >= argc) {
      die("%s wants a value", opt);
    }
    char *value = argv[++i];
    if (!strcmp(opt, "--confdir")) {
      cfg->confdir = value;
    } else if (!strcmp(opt, "--name")) {
      cfg->name = value;
    } else if (!strcmp(opt, "--module")) {
      cfg->module = value;
    } else if (!strcmp(opt, "--load")) {
      parse_loadee(cfg, value);
    } else if (!strcmp(opt, "--arm")) {
      parse_arm(cfg, value);
    } else if (!strcmp(opt, "--template")) {
      cfg->template_text = read_whole_file(value, &cfg->template_len);
    } else if (!strcmp(opt, "--regen")) {
      if (strcmp(value, "once") && strcmp(value, "each")) {
        die("--regen once|each");
      }
      cfg->regen_each = !strcmp(value, "each");
    } else if (!strcmp(opt, "--answer")) {
      parse_answer(cfg, value);
    } else if (!strcmp(opt, "--expect")) {
      if (!strcmp(value, "success")) {
        cfg->expect = PAM_SUCCESS;
      } else if (!strcmp(value, "autherr")) {
        cfg->expect = PAM_AUTH_ERR;
      } else {
        die("--expect success|autherr");
      }
    } else if (!strcmp(opt, "--hold")) {
      hold_module(value);
    } else if (!strcmp(opt, "--iterations")) {
      cfg->iterations = parse_long(value, opt);
    } else if (!strcmp(opt, "--warmup")) {
      cfg->warmup = parse_long(value, opt);
    } else if (!strcmp(opt, "--procs")) {
      cfg->procs = (int)parse_long(value, opt);
    } else if (!strcmp(opt, "--rounds")) {
      cfg->rounds = (int)parse_long(value, opt);
    } else if (!strcmp(opt, "--round-ms")) {
      cfg->round_ms = parse_long(value, opt);
    } else {
      die("unknown option %s", opt);
    }
  }
  if (!strcmp(cfg->mode, "load")) {
    return;
  }
  if (!cfg->confdir || cfg->arm_count == 0 || !cfg->template_text || cfg->expect < 0) {
    die("--confdir, --arm, --template and --expect are required");
  }
  if (!cfg->codes && !cfg->fixed_code) {
    die("--answer is required");
  }
}

/* Writes the template as USER's ~/.google_authenticator, owned by the user,
 * mode 0400, replacing the old file by rename, and flushes the file system
 * so that no earlier write is left for a timed fsync to pay for. */
static void install_state(const struct config *cfg, const struct user *user) {
  char path[4096], temp[4096];
  snprintf(path, sizeof(path), "%s/.google_authenticator", user->home);
  snprintf(temp, sizeof(temp), "%s/.google_authenticator.bench-new", user->home);
  const int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    die("%s: %s", temp, strerror(errno));
  }
  if (write(fd, cfg->template_text, cfg->template_len) != (ssize_t)cfg->template_len ||
      fchown(fd, user->uid, user->gid) != 0 || fchmod(fd, 0400) != 0) {
    die("%s: %s", temp, strerror(errno));
  }
  if (syncfs(fd) != 0 || close(fd) != 0 || rename(temp, path) != 0) {
    die("%s: %s", path, strerror(errno));
  }
  const int dir = open(user->home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0 || syncfs(dir) != 0 || close(dir) != 0) {
    die("%s: %s", user->home, strerror(errno));
  }
}

/* The value of HOTP_COUNTER in USER's state file, or -1. */
static long read_hotp_counter(const struct user *user) {
  char path[4096], line[512];
  snprintf(path, sizeof(path), "%s/.google_authenticator", user->home);
  FILE *f = fopen(path, "r");
  if (!f) {
    return -1;
  }
  long counter = -1;
  while (fgets(line, sizeof(line), f)) {
    if (!strncmp(line, "\" HOTP_COUNTER ", 15)) {
      counter = strtol(line + 15, NULL, 10);
      break;
    }
  }
  fclose(f);
  return counter;
}

static const char *find_code(const struct config *cfg, long long key) {
  for (size_t i = 0; i < cfg->code_count; ++i) {
    if (cfg->codes[i].key == key) {
      return cfg->codes[i].digits;
    }
  }
  die("the code table has no entry for %lld (regenerate it)", key);
  return NULL;
}

static const char *next_answer(const struct config *cfg, struct arm *arm) {
  switch (cfg->answer_kind) {
  case ANSWER_TOTP:
    return find_code(cfg, (long long)(time(NULL) / STEP_SECONDS));
  case ANSWER_HOTP:
    if (arm->hotp_next >= cfg->code_count) {
      die("the HOTP code table is too short");
    }
    return cfg->codes[arm->hotp_next++].digits;
  case ANSWER_FIXED:
    return cfg->fixed_code;
  }
  return NULL;
}

static int conversation(int num_msg, const struct pam_message **msg,
                        struct pam_response **resp, void *appdata) {
  const char *answer = appdata;
  if (num_msg <= 0 || num_msg > PAM_MAX_NUM_MSG) {
    return PAM_CONV_ERR;
  }
  struct pam_response *out = calloc((size_t)num_msg, sizeof(*out));
  if (!out) {
    return PAM_BUF_ERR;
  }
  for (int i = 0; i < num_msg; ++i) {
    const int style = msg[i]->msg_style;
    if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
      out[i].resp = strdup(answer);
    }
  }
  *resp = out;
  return PAM_SUCCESS;
}

/* One PAM transaction; returns the pam_authenticate result and its time. */
static int login(const struct config *cfg, const struct arm *arm, const struct user *user,
                 const char *answer, double *auth_us) {
  struct pam_conv conv = {conversation, (void *)answer};
  pam_handle_t *pamh = NULL;
  const double cycle_start = now_us();
  int rc = pam_start_confdir(arm->service, user->name, &conv, cfg->confdir, &pamh);
  if (rc != PAM_SUCCESS) {
    die("pam_start_confdir(%s): %s", arm->service, pam_strerror(pamh, rc));
  }
  rc = pam_set_item(pamh, PAM_RHOST, REMOTE_HOST);
  if (rc != PAM_SUCCESS) {
    die("pam_set_item: %s", pam_strerror(pamh, rc));
  }
  const double start = now_us();
  rc = pam_authenticate(pamh, 0);
  *auth_us = now_us() - start;
  pam_end(pamh, rc);
  if (cfg->cycle) {
    *auth_us = now_us() - cycle_start;
  }
  return rc;
}

/* One login in a fresh child process, timed from fork to exit. */
static int cold_login(const struct config *cfg, const struct arm *arm, const struct user *user,
                      const char *answer, double *total_us) {
  fflush(NULL);
  const double start = now_us();
  const pid_t pid = fork();
  if (pid < 0) {
    die("fork: %s", strerror(errno));
  }
  if (pid == 0) {
    double ignored;
    exit(login(cfg, arm, user, answer, &ignored));
  }
  int status;
  if (waitpid(pid, &status, 0) != pid) {
    die("waitpid: %s", strerror(errno));
  }
  *total_us = now_us() - start;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void count(const struct config *cfg, long *ok, long *unexpected, int *last, int rc) {
  if (rc == cfg->expect) {
    ++*ok;
  } else {
    ++*unexpected;
    *last = rc;
  }
}

static int compare_doubles(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The q-quantile (nearest rank) of the sorted samples. */
static double quantile(const double *sorted, size_t n, double q) {
  size_t rank = (size_t)(q * (double)n + 0.999999);
  if (rank < 1) {
    rank = 1;
  }
  return sorted[(rank > n ? n : rank) - 1];
}

static const char *result_name(int rc) {
  return rc < 0 ? "(killed)" : pam_strerror(NULL, rc);
}

static int check_arms(const struct config *cfg) {
  int failed = 0;
  for (int a = 0; a < cfg->arm_count; ++a) {
    const struct arm *arm = &cfg->arms[a];
    if (arm->unexpected) {
      fprintf(stderr, "pam_bench: %s: %s: %ld of %ld logins gave an unexpected result (last: %s)\n",
              cfg->name, arm->label, arm->unexpected, arm->ok + arm->unexpected,
              result_name(arm->last_unexpected));
      failed = 1;
    }
  }
  return failed;
}

static int run_latency(struct config *cfg) {
  if (cfg->arm_count != 2 || cfg->iterations < 1) {
    die("latency wants two arms and --iterations");
  }
  for (int a = 0; a < 2; ++a) {
    struct arm *arm = &cfg->arms[a];
    arm->samples = calloc((size_t)cfg->iterations, sizeof(double));
    if (!arm->samples) {
      die("out of memory");
    }
    install_state(cfg, &arm->users[0]);
  }
  for (long i = 0; i < cfg->warmup + cfg->iterations; ++i) {
    for (int k = 0; k < 2; ++k) {
      struct arm *arm = &cfg->arms[(i + k) % 2];
      const struct user *user = &arm->users[0];
      if (cfg->regen_each && i > 0) {
        install_state(cfg, user);
      }
      const char *answer = next_answer(cfg, arm);
      double us;
      const int rc = cfg->cold ? cold_login(cfg, arm, user, answer, &us)
                               : login(cfg, arm, user, answer, &us);
      count(cfg, &arm->ok, &arm->unexpected, &arm->last_unexpected, rc);
      if (i >= cfg->warmup) {
        arm->samples[arm->sample_count++] = us;
      }
    }
  }
  double median[2], p99[2];
  for (int a = 0; a < 2; ++a) {
    struct arm *arm = &cfg->arms[a];
    qsort(arm->samples, arm->sample_count, sizeof(double), compare_doubles);
    median[a] = quantile(arm->samples, arm->sample_count, 0.5);
    p99[a] = quantile(arm->samples, arm->sample_count, 0.99);
  }
  const int failed = check_arms(cfg);
  printf("| %s | %ld | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f |%s\n", cfg->name,
         cfg->iterations, median[0], p99[0], median[1], p99[1], median[0] / median[1],
         p99[0] / p99[1], failed ? " FAILED" : "");
  return failed;
}

/* Child of a parallel round: waits for the start signal, logs in until the
 * deadline, reports its tally on the result pipe. */
static void parallel_child(struct config *cfg, struct arm *arm, int index, int start_fd,
                           int result_fd) {
  char go;
  if (read(start_fd, &go, 1) != 0) {
    die("start pipe: unexpected data");
  }
  const struct user *user = &arm->users[index % arm->user_count];
  struct tally tally = {0, 0, 0};
  const double deadline = now_us() + (double)cfg->round_ms * 1e3;
  do {
    double us;
    const int rc = login(cfg, arm, user, next_answer(cfg, arm), &us);
    count(cfg, &tally.ok, &tally.unexpected, &tally.last_unexpected, rc);
  } while (now_us() < deadline);
  if (write(result_fd, &tally, sizeof(tally)) != (ssize_t)sizeof(tally)) {
    die("result pipe: %s", strerror(errno));
  }
  exit(0);
}

static long counter_sum(const struct arm *arm) {
  long sum = 0;
  for (int u = 0; u < arm->user_count; ++u) {
    sum += read_hotp_counter(&arm->users[u]);
  }
  return sum;
}

/* One round of one arm; returns the seconds it took. */
static double parallel_round(struct config *cfg, struct arm *arm, long *advanced) {
  for (int u = 0; u < arm->user_count; ++u) {
    install_state(cfg, &arm->users[u]);
  }
  const long counters_before = counter_sum(arm);
  int start[2], result[2];
  if (pipe(start) != 0 || pipe(result) != 0) {
    die("pipe: %s", strerror(errno));
  }
  fflush(NULL);
  pid_t pids[64];
  for (int p = 0; p < cfg->procs; ++p) {
    pids[p] = fork();
    if (pids[p] < 0) {
      die("fork: %s", strerror(errno));
    }
    if (pids[p] == 0) {
      close(start[1]);
      close(result[0]);
      parallel_child(cfg, arm, p, start[0], result[1]);
    }
  }
  close(start[0]);
  close(result[1]);
  const double begin = now_us();
  close(start[1]);
  for (int p = 0; p < cfg->procs; ++p) {
    struct tally tally;
    if (read(result[0], &tally, sizeof(tally)) != (ssize_t)sizeof(tally)) {
      die("a %s process died", arm->label);
    }
    arm->ok += tally.ok;
    arm->unexpected += tally.unexpected;
    if (tally.unexpected) {
      arm->last_unexpected = tally.last_unexpected;
    }
  }
  for (int p = 0; p < cfg->procs; ++p) {
    int status;
    if (waitpid(pids[p], &status, 0) != pids[p] || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      die("a %s process failed", arm->label);
    }
  }
  const double seconds = (now_us() - begin) / 1e6;
  close(result[0]);
  *advanced += counter_sum(arm) - counters_before;
  return seconds;
}

static int run_parallel(struct config *cfg) {
  if (cfg->arm_count != 2 || cfg->procs < 1 || cfg->procs > 64 || cfg->rounds < 1 ||
      cfg->round_ms < 1) {
    die("parallel wants two arms, --procs 1..64, --rounds and --round-ms");
  }
  double seconds[2] = {0, 0};
  long advanced[2] = {0, 0};
  for (int r = 0; r < cfg->rounds; ++r) {
    for (int k = 0; k < 2; ++k) {
      const int a = (r + k) % 2;
      seconds[a] += parallel_round(cfg, &cfg->arms[a], &advanced[a]);
    }
  }
  const int failed = check_arms(cfg);
  double rate[2];
  for (int a = 0; a < 2; ++a) {
    const struct arm *arm = &cfg->arms[a];
    rate[a] = (double)arm->ok / seconds[a];
  }
  const char *files = cfg->arms[0].user_count > 1 ? "one file per process" : "one shared file";
  printf("| %s | %s | %d | %.0f | %.0f | %.2f |", cfg->name, files, cfg->procs, rate[0], rate[1],
         rate[1] / rate[0]);
  for (int a = 0; a < 2 && cfg->report_counter; ++a) {
    const struct arm *arm = &cfg->arms[a];
    printf("%s %s %ld of %ld", a ? "," : "", arm->label, advanced[a], arm->ok + arm->unexpected);
  }
  printf(" |");
  printf("%s\n", failed ? " FAILED" : "");
  return failed;
}

static long max_rss_kib(void) {
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) != 0) {
    die("getrusage: %s", strerror(errno));
  }
  return usage.ru_maxrss;
}

/* This process's own peak RSS (VmHWM) in KiB. */
static long own_peak_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long peak = -1;
  while (f && fgets(line, sizeof(line), f)) {
    if (!strncmp(line, "VmHWM:", 6)) {
      peak = strtol(line + 6, NULL, 10);
    }
  }
  if (f) {
    fclose(f);
  }
  if (peak < 0) {
    die("no VmHWM in /proc/self/status");
  }
  return peak;
}

static int run_rss(struct config *cfg) {
  if (!cfg->module) {
    die("rss wants --module");
  }
  struct arm *arm = &cfg->arms[0];
  install_state(cfg, &arm->users[0]);
  const char *answer = next_answer(cfg, arm);
  const long before = max_rss_kib();
  /* ru_maxrss survives execve: a process exec'd by a larger one starts with
   * that one's peak, which would hide what dlopen adds. */
  if (before > own_peak_kib() + 64) {
    die("ru_maxrss (%ld KiB) is inherited from the process that exec'd this one; "
        "start pam_bench rss from a smaller process", before);
  }
  hold_module(cfg->module);
  const long loaded = max_rss_kib();
  double us;
  count(cfg, &arm->ok, &arm->unexpected, &arm->last_unexpected,
        login(cfg, arm, &arm->users[0], answer, &us));
  const long after_login = max_rss_kib();
  const int failed = check_arms(cfg);
  printf("| %s | %ld | %ld | %ld |%s\n", arm->label, before, loaded - before,
         after_login - before, failed ? " FAILED" : "");
  return failed;
}

static long minor_faults(void) {
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) != 0) {
    die("getrusage: %s", strerror(errno));
  }
  return usage.ru_minflt;
}

static int compare_longs(const void *a, const void *b) {
  const long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

/* dlopen (RTLD_NOW, as Linux-PAM loads modules) and dlclose PATH; dies if
 * the module stays mapped after dlclose, since then a later dlopen would
 * only count a reference and the figures would not measure loading. */
static void load_and_unload(const char *path) {
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    die("dlopen %s: %s", path, dlerror());
  }
  if (dlclose(handle) != 0) {
    die("dlclose %s: %s", path, dlerror());
  }
}

static void check_unloaded(const char *path) {
  void *handle = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
  if (handle) {
    die("%s stays loaded after dlclose", path);
  }
}

/* load: dlopen + dlclose of each --load module, interleaved, timed. */
static int run_load(struct config *cfg) {
  if (cfg->loadee_count != 2 || cfg->iterations < 1) {
    die("load wants two --load and --iterations");
  }
  for (int a = 0; a < 2; ++a) {
    struct loadee *loadee = &cfg->loadees[a];
    loadee->samples = calloc((size_t)cfg->iterations, sizeof(double));
    loadee->faults = calloc((size_t)cfg->iterations, sizeof(long));
    if (!loadee->samples || !loadee->faults) {
      die("out of memory");
    }
  }
  for (long i = 0; i < cfg->warmup + cfg->iterations; ++i) {
    for (int k = 0; k < 2; ++k) {
      struct loadee *loadee = &cfg->loadees[(i + k) % 2];
      const long faults = minor_faults();
      const double start = now_us();
      load_and_unload(loadee->path);
      const double us = now_us() - start;
      const long faulted = minor_faults() - faults;
      check_unloaded(loadee->path);
      if (i >= cfg->warmup) {
        loadee->faults[loadee->sample_count] = faulted;
        loadee->samples[loadee->sample_count++] = us;
      }
    }
  }
  double median[2], p99[2];
  long faults[2];
  for (int a = 0; a < 2; ++a) {
    struct loadee *loadee = &cfg->loadees[a];
    qsort(loadee->samples, loadee->sample_count, sizeof(double), compare_doubles);
    qsort(loadee->faults, loadee->sample_count, sizeof(long), compare_longs);
    median[a] = quantile(loadee->samples, loadee->sample_count, 0.5);
    p99[a] = quantile(loadee->samples, loadee->sample_count, 0.99);
    faults[a] = loadee->faults[loadee->sample_count / 2];
  }
  printf("| %s (page faults: ours %ld, reference %ld) | %ld | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f |\n",
         cfg->name, faults[0], faults[1], cfg->iterations, median[0], p99[0], median[1], p99[1],
         median[0] / median[1], p99[0] / p99[1]);
  return 0;
}

struct relocations {
  long relative;
  long symbolic;
};

/* The dynamic section's address entries are file offsets or, where the
 * loader relocated them in place, addresses. */
static const void *dynamic_pointer(ElfW(Addr) base, ElfW(Addr) value) {
  return (const void *)(value < base ? base + value : value);
}

/* Counts the relocations the loader applies to the object at BASE with
 * dynamic section DYN: relative ones (RELA entries of type RELATIVE and the
 * addresses a packed RELR table encodes) and the rest, which name a symbol. */
static struct relocations count_relocations(ElfW(Addr) base, const ElfW(Dyn) *dyn) {
  const ElfW(Rela) *rela = NULL;
  const ElfW(Addr) *relr = NULL;
  size_t rela_size = 0, relr_size = 0, plt_size = 0;
  for (; dyn->d_tag != DT_NULL; ++dyn) {
    switch (dyn->d_tag) {
    case DT_RELA:
      rela = dynamic_pointer(base, dyn->d_un.d_ptr);
      break;
    case DT_RELASZ:
      rela_size = dyn->d_un.d_val;
      break;
    case DT_PLTRELSZ:
      plt_size = dyn->d_un.d_val;
      break;
#ifdef DT_RELR
    case DT_RELR:
      relr = dynamic_pointer(base, dyn->d_un.d_ptr);
      break;
    case DT_RELRSZ:
      relr_size = dyn->d_un.d_val;
      break;
#endif
    }
  }
  struct relocations counts = {0, (long)(plt_size / sizeof(ElfW(Rela)))};
  for (size_t i = 0; rela && i < rela_size / sizeof(ElfW(Rela)); ++i) {
    if (ELF64_R_TYPE(rela[i].r_info) == R_X86_64_RELATIVE) {
      ++counts.relative;
    } else {
      ++counts.symbolic;
    }
  }
  /* RELR: an even entry is an address to relocate; an odd one is a bitmap
   * of the next 63 words. */
  for (size_t i = 0; relr && i < relr_size / sizeof(ElfW(Addr)); ++i) {
    counts.relative += (relr[i] & 1) ? __builtin_popcountl(relr[i] >> 1) : 1;
  }
  return counts;
}

struct found_object {
  const char *path;
  struct relocations relocations;
  bool found;
};

static int find_object(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  struct found_object *wanted = data;
  if (!info->dlpi_name || strcmp(info->dlpi_name, wanted->path) != 0) {
    return 0;
  }
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) {
      wanted->relocations = count_relocations(
          info->dlpi_addr, (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr));
      wanted->found = true;
      return 1;
    }
  }
  return 0;
}

struct mapped {
  long size_kib;
  long rss_kib;
  long dirty_kib;
};

/* The module's mappings in /proc/self/smaps: their size, how much of them
 * this process has touched, and how much it has written (copies of its
 * own). */
static struct mapped mapped_object(const char *real_path) {
  FILE *f = fopen("/proc/self/smaps", "r");
  if (!f) {
    die("/proc/self/smaps: %s", strerror(errno));
  }
  struct mapped m = {0, 0, 0};
  char line[4096];
  bool ours = false;
  while (fgets(line, sizeof(line), f)) {
    unsigned long start, end;
    char path[4096];
    long kib;
    if (line[0] < 'A' || line[0] > 'Z') {
      /* A mapping's first line: "START-END PERMS OFFSET DEV INODE [PATH]". */
      ours = sscanf(line, "%lx-%lx %*s %*s %*s %*s %4095s", &start, &end, path) == 3 &&
             !strcmp(path, real_path);
    } else if (ours && sscanf(line, "Size: %ld kB", &kib) == 1) {
      m.size_kib += kib;
    } else if (ours && sscanf(line, "Rss: %ld kB", &kib) == 1) {
      m.rss_kib += kib;
    } else if (ours && sscanf(line, "Private_Dirty: %ld kB", &kib) == 1) {
      m.dirty_kib += kib;
    }
  }
  fclose(f);
  return m;
}

/* footprint: in this fresh process, loads --module, logs in once through
 * the first arm, and prints the module's relocations, its mapped, touched
 * and written memory and the page faults of loading it and of the first
 * login. */
static int run_footprint(struct config *cfg) {
  if (!cfg->module) {
    die("footprint wants --module");
  }
  char real_path[PATH_MAX];
  if (!realpath(cfg->module, real_path)) {
    die("%s: %s", cfg->module, strerror(errno));
  }
  struct arm *arm = &cfg->arms[0];
  install_state(cfg, &arm->users[0]);
  const char *answer = next_answer(cfg, arm);
  const long faults_before = minor_faults();
  hold_module(real_path);
  const long faults_loaded = minor_faults();
  struct found_object object = {.path = real_path};
  dl_iterate_phdr(find_object, &object);
  if (!object.found) {
    die("%s: no dynamic section found", real_path);
  }
  const struct mapped loaded = mapped_object(real_path);
  double us;
  count(cfg, &arm->ok, &arm->unexpected, &arm->last_unexpected,
        login(cfg, arm, &arm->users[0], answer, &us));
  const long faults_login = minor_faults() - faults_loaded;
  const struct mapped after_login = mapped_object(real_path);
  const int failed = check_arms(cfg);
  printf("| %s | %ld | %ld | %ld | %ld | %ld | %ld | %ld | %ld |%s\n", arm->label,
         object.relocations.relative, object.relocations.symbolic,
         loaded.size_kib, loaded.rss_kib, loaded.dirty_kib, after_login.rss_kib,
         faults_loaded - faults_before, faults_login, failed ? " FAILED" : "");
  return failed;
}

static _Noreturn void run_sink(const char *path) {
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(address.sun_path)) {
    die("socket path too long: %s", path);
  }
  strcpy(address.sun_path, path);
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (const struct sockaddr *)&address, sizeof(address)) != 0 ||
      chmod(path, 0666) != 0) {
    die("%s: %s", path, strerror(errno));
  }
  char message[8192];
  for (;;) {
    if (recv(fd, message, sizeof(message), 0) < 0 && errno != EINTR) {
      die("recv: %s", strerror(errno));
    }
  }
}

int main(int argc, char **argv) {
  static struct config cfg;
  if (argc == 3 && !strcmp(argv[1], "sink")) {
    run_sink(argv[2]);
  }
  parse_args(&cfg, argc, argv);
  if (!cfg.name) {
    cfg.name = cfg.mode;
  }
  if (!strcmp(cfg.mode, "latency")) {
    return run_latency(&cfg);
  }
  if (!strcmp(cfg.mode, "parallel")) {
    return run_parallel(&cfg);
  }
  if (!strcmp(cfg.mode, "rss")) {
    return run_rss(&cfg);
  }
  if (!strcmp(cfg.mode, "load")) {
    return run_load(&cfg);
  }
  if (!strcmp(cfg.mode, "footprint")) {
    return run_footprint(&cfg);
  }
  die("unknown mode %s", cfg.mode);
  return 2;
}
