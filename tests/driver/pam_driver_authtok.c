/*
 * pam_driver_authtok: test-only PAM module that bridges PAM_AUTHTOK, which
 * applications may neither set nor read, to the PAM environment used by
 * pam_driver.
 *
 *   auth optional pam_driver_authtok.so set
 *       copies the PAM environment variable PAM_DRIVER_SET_AUTHTOK (if
 *       present) into PAM_AUTHTOK;
 *   auth optional pam_driver_authtok.so report
 *       publishes PAM_AUTHTOK as PAM_DRIVER_AUTHTOK, or sets
 *       PAM_DRIVER_AUTHTOK_NULL=1 when it is unset.
 *
 * Both return PAM_IGNORE so they never decide the outcome of a stack.
 */
#define _POSIX_C_SOURCE 200809L
#include <security/pam_modules.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_authtok(pam_handle_t *pamh) {
  const char *value = pam_getenv(pamh, "PAM_DRIVER_SET_AUTHTOK");
  if (value) {
    pam_set_item(pamh, PAM_AUTHTOK, value);
  }
}

static void report_authtok(pam_handle_t *pamh) {
  const void *item = NULL;
  if (pam_get_item(pamh, PAM_AUTHTOK, &item) != PAM_SUCCESS || !item) {
    pam_putenv(pamh, "PAM_DRIVER_AUTHTOK_NULL=1");
    return;
  }
  const char *prefix = "PAM_DRIVER_AUTHTOK=";
  size_t len = strlen(prefix) + strlen(item) + 1;
  char *entry = malloc(len);
  if (entry) {
    snprintf(entry, len, "%s%s", prefix, (const char *)item);
    pam_putenv(pamh, entry);
    free(entry);
  }
}

int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
                        const char **argv) {
  (void)flags;
  for (int i = 0; i < argc; ++i) {
    if (!strcmp(argv[i], "set")) {
      set_authtok(pamh);
    } else if (!strcmp(argv[i], "report")) {
      report_authtok(pamh);
    }
  }
  return PAM_IGNORE;
}

int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc,
                   const char **argv) {
  (void)pamh;
  (void)flags;
  (void)argc;
  (void)argv;
  return PAM_IGNORE;
}
