/*
 * pam_driver: runs one PAM authentication through Linux-PAM and prints what
 * happened as simple lines on stdout, for the integration tests.
 *
 * Usage:
 *   pam_driver --confdir DIR --service NAME --user USER [--rhost HOST]
 *              [--authtok TOKEN] [--answer TEXT]... [--no-answer]...
 *              [--setcred]
 *
 * The conversation answers each PROMPT_ECHO_OFF / PROMPT_ECHO_ON message with
 * the next queued answer; --no-answer queues a NULL response. When the queue
 * is empty the conversation fails with PAM_CONV_ERR.
 *
 * Applications may not touch PAM_AUTHTOK, so --authtok is handed over in the
 * PAM environment variable PAM_DRIVER_SET_AUTHTOK; the helper module
 * pam_driver_authtok.so ("set" argument) moves it into PAM_AUTHTOK and, with
 * the "report" argument, publishes PAM_AUTHTOK as PAM_DRIVER_AUTHTOK (or
 * PAM_DRIVER_AUTHTOK_NULL=1).
 *
 * Output (text is escaped: backslash as \\, newline as \n):
 *   CONVERSATION <n>          one line per call of the conversation, with
 *                             its number of messages, before the messages
 *   <STYLE> <text>            one line per conversation message, in order,
 *                             STYLE in PROMPT_ECHO_OFF, PROMPT_ECHO_ON,
 *                             ERROR_MSG, TEXT_INFO, STYLE_<n>
 *   RESULT <n> <PAM_NAME>     the pam_authenticate result
 *   AUTHTOK <value>|(null)    only if the stack reported PAM_AUTHTOK
 *   SETCRED <n> <PAM_NAME>    only with --setcred
 * Exit status: 0 when the run completed, 2 on usage or setup errors.
 */
#define _POSIX_C_SOURCE 200809L
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ANSWERS 64

struct answers {
  const char *text[MAX_ANSWERS]; /* NULL entry: answer with a NULL response */
  int count;
  int next;
};

static void print_escaped(const char *text) {
  for (const char *p = text; *p; ++p) {
    if (*p == '\\') {
      fputs("\\\\", stdout);
    } else if (*p == '\n') {
      fputs("\\n", stdout);
    } else {
      putchar(*p);
    }
  }
}

static const char *style_name(int style) {
  switch (style) {
  case PAM_PROMPT_ECHO_OFF: return "PROMPT_ECHO_OFF";
  case PAM_PROMPT_ECHO_ON:  return "PROMPT_ECHO_ON";
  case PAM_ERROR_MSG:       return "ERROR_MSG";
  case PAM_TEXT_INFO:       return "TEXT_INFO";
  default:                  return NULL;
  }
}

static void print_message(const struct pam_message *msg) {
  const char *name = style_name(msg->msg_style);
  if (name) {
    fputs(name, stdout);
  } else {
    printf("STYLE_%d", msg->msg_style);
  }
  putchar(' ');
  print_escaped(msg->msg ? msg->msg : "(null)");
  putchar('\n');
}

static void free_responses(struct pam_response *resp, int count) {
  for (int i = 0; i < count; ++i) {
    free(resp[i].resp);
  }
  free(resp);
}

static int conversation(int num_msg, const struct pam_message **msg,
                        struct pam_response **resp, void *appdata) {
  struct answers *answers = appdata;
  printf("CONVERSATION %d\n", num_msg);
  if (num_msg <= 0 || num_msg > PAM_MAX_NUM_MSG) {
    return PAM_CONV_ERR;
  }
  struct pam_response *out = calloc((size_t)num_msg, sizeof(*out));
  if (!out) {
    return PAM_BUF_ERR;
  }
  for (int i = 0; i < num_msg; ++i) {
    print_message(msg[i]);
    const int style = msg[i]->msg_style;
    if (style != PAM_PROMPT_ECHO_OFF && style != PAM_PROMPT_ECHO_ON) {
      continue;
    }
    if (answers->next >= answers->count) {
      free_responses(out, num_msg);
      return PAM_CONV_ERR;
    }
    const char *text = answers->text[answers->next++];
    if (text && !(out[i].resp = strdup(text))) {
      free_responses(out, num_msg);
      return PAM_BUF_ERR;
    }
  }
  *resp = out;
  return PAM_SUCCESS;
}

static const char *result_name(int rc) {
  switch (rc) {
  case PAM_SUCCESS:          return "PAM_SUCCESS";
  case PAM_OPEN_ERR:         return "PAM_OPEN_ERR";
  case PAM_SYMBOL_ERR:       return "PAM_SYMBOL_ERR";
  case PAM_SERVICE_ERR:      return "PAM_SERVICE_ERR";
  case PAM_SYSTEM_ERR:       return "PAM_SYSTEM_ERR";
  case PAM_BUF_ERR:          return "PAM_BUF_ERR";
  case PAM_PERM_DENIED:      return "PAM_PERM_DENIED";
  case PAM_AUTH_ERR:         return "PAM_AUTH_ERR";
  case PAM_CRED_INSUFFICIENT: return "PAM_CRED_INSUFFICIENT";
  case PAM_AUTHINFO_UNAVAIL: return "PAM_AUTHINFO_UNAVAIL";
  case PAM_USER_UNKNOWN:     return "PAM_USER_UNKNOWN";
  case PAM_MAXTRIES:         return "PAM_MAXTRIES";
  case PAM_CRED_ERR:         return "PAM_CRED_ERR";
  case PAM_CONV_ERR:         return "PAM_CONV_ERR";
  case PAM_ABORT:            return "PAM_ABORT";
  case PAM_IGNORE:           return "PAM_IGNORE";
  case PAM_MODULE_UNKNOWN:   return "PAM_MODULE_UNKNOWN";
  case PAM_BAD_ITEM:         return "PAM_BAD_ITEM";
  default:                   return "PAM_UNKNOWN_CODE";
  }
}

static void print_result(const char *label, int rc) {
  printf("%s %d %s\n", label, rc, result_name(rc));
}

static void print_reported_authtok(pam_handle_t *pamh) {
  const char *value = pam_getenv(pamh, "PAM_DRIVER_AUTHTOK");
  if (value) {
    fputs("AUTHTOK ", stdout);
    print_escaped(value);
    putchar('\n');
  } else if (pam_getenv(pamh, "PAM_DRIVER_AUTHTOK_NULL")) {
    puts("AUTHTOK (null)");
  }
}

static int usage(const char *problem) {
  fprintf(stderr,
          "pam_driver: %s\n"
          "usage: pam_driver --confdir DIR --service NAME --user USER"
          " [--rhost HOST] [--authtok TOKEN] [--answer TEXT]..."
          " [--no-answer]... [--setcred]\n",
          problem);
  return 2;
}

int main(int argc, char **argv) {
  const char *confdir = NULL, *service = NULL, *user = NULL;
  const char *rhost = NULL, *authtok = NULL;
  int setcred = 0;
  struct answers answers = { .count = 0, .next = 0 };

  for (int i = 1; i < argc; ++i) {
    const char *opt = argv[i];
    if (!strcmp(opt, "--setcred")) {
      setcred = 1;
      continue;
    }
    if (!strcmp(opt, "--no-answer")) {
      if (answers.count == MAX_ANSWERS) {
        return usage("too many answers");
      }
      answers.text[answers.count++] = NULL;
      continue;
    }
    if (i + 1 >= argc) {
      return usage("option without a value");
    }
    const char *value = argv[++i];
    if (!strcmp(opt, "--confdir")) {
      confdir = value;
    } else if (!strcmp(opt, "--service")) {
      service = value;
    } else if (!strcmp(opt, "--user")) {
      user = value;
    } else if (!strcmp(opt, "--rhost")) {
      rhost = value;
    } else if (!strcmp(opt, "--authtok")) {
      authtok = value;
    } else if (!strcmp(opt, "--answer")) {
      if (answers.count == MAX_ANSWERS) {
        return usage("too many answers");
      }
      answers.text[answers.count++] = value;
    } else {
      return usage("unknown option");
    }
  }
  if (!confdir || !service || !user) {
    return usage("--confdir, --service and --user are required");
  }

  const struct pam_conv conv = { conversation, &answers };
  pam_handle_t *pamh = NULL;
  int rc = pam_start_confdir(service, user, &conv, confdir, &pamh);
  if (rc != PAM_SUCCESS) {
    fprintf(stderr, "pam_driver: pam_start_confdir: %d\n", rc);
    return 2;
  }
  if (rhost && (rc = pam_set_item(pamh, PAM_RHOST, rhost)) != PAM_SUCCESS) {
    fprintf(stderr, "pam_driver: setting PAM_RHOST: %d\n", rc);
    pam_end(pamh, rc);
    return 2;
  }
  if (authtok) {
    size_t len = strlen("PAM_DRIVER_SET_AUTHTOK=") + strlen(authtok) + 1;
    char *entry = malloc(len);
    if (!entry) {
      pam_end(pamh, PAM_BUF_ERR);
      return 2;
    }
    snprintf(entry, len, "PAM_DRIVER_SET_AUTHTOK=%s", authtok);
    rc = pam_putenv(pamh, entry);
    free(entry);
    if (rc != PAM_SUCCESS) {
      fprintf(stderr, "pam_driver: pam_putenv: %d\n", rc);
      pam_end(pamh, rc);
      return 2;
    }
  }

  rc = pam_authenticate(pamh, 0);
  print_result("RESULT", rc);
  print_reported_authtok(pamh);
  if (setcred) {
    print_result("SETCRED", pam_setcred(pamh, PAM_ESTABLISH_CRED));
  }
  fflush(stdout);
  pam_end(pamh, rc);
  return 0;
}
