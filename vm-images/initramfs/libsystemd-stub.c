/* Stand-in for libsystemd.so.0 in the guest. crun links libsystemd for its systemd cgroup manager
 * and sd_notify; the guest has no systemd, and the real library drags in libgcrypt, liblzma,
 * libzstd and liblz4 (3.5 MB, most of the initramfs). Every bus call fails with -ENOSYS, which
 * crun only reaches with --systemd-cgroup; sd_notify reports "no notify socket" (0). */
#define ENOSYS 38
typedef struct { const char *name, *message; int need_free; } sd_bus_error;

int sd_notify(int unset_environment, const char *state) { return 0; }
int sd_notify_barrier(int unset_environment, unsigned long long timeout) { return 0; }
int sd_journal_send_with_location(const char *file, const char *line, const char *func, const char *fmt, ...) { return -ENOSYS; }
int sd_bus_default_system(void **ret) { return -ENOSYS; }
int sd_bus_default_user(void **ret) { return -ENOSYS; }
void *sd_bus_unref(void *bus) { return 0; }
void *sd_bus_message_unref(void *m) { return 0; }
void sd_bus_error_free(sd_bus_error *e) {}
int sd_bus_error_get_errno(const sd_bus_error *e) { return ENOSYS; }
int sd_bus_call(void *bus, void *m, unsigned long long usec, sd_bus_error *e, void **reply) { return -ENOSYS; }
int sd_bus_match_signal_async(void *bus, void **slot, const char *s, const char *p, const char *i, const char *m, void *cb, void *icb, void *ud) { return -ENOSYS; }
int sd_bus_message_append(void *m, const char *types, ...) { return -ENOSYS; }
int sd_bus_message_append_strv(void *m, char **l) { return -ENOSYS; }
int sd_bus_message_open_container(void *m, char type, const char *contents) { return -ENOSYS; }
int sd_bus_message_close_container(void *m) { return -ENOSYS; }
int sd_bus_message_new_method_call(void *bus, void **m, const char *d, const char *p, const char *i, const char *mb) { return -ENOSYS; }
int sd_bus_message_read(void *m, const char *types, ...) { return -ENOSYS; }
int sd_bus_process(void *bus, void **r) { return -ENOSYS; }
int sd_bus_wait(void *bus, unsigned long long timeout_usec) { return -ENOSYS; }
