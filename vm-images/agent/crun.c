/* crun executed from a sealed memfd made once.
 *
 * crun 1.8.1 guards against CVE-2019-5736 (a container overwriting the runtime's binary through
 * /proc/<pid>/exe) with a constructor that, on every start, copies /usr/bin/crun into a memfd,
 * seals it and re-executes itself from it, unless it already runs from a memfd with exactly those
 * seals. In the emulator that doubles every crun invocation's start (two execs, two dynamic links
 * and a copy of the binary: ~3.5 M of the ~8 M guest instructions `crun --version` costs).
 *
 * The agent makes that sealed copy once, before the boot snapshot, and starts crun from it: crun
 * finds itself already cloned and goes on. The protection is the one crun would have made: the
 * memfd cannot be written, grown, shrunk or unsealed, and it is close-on-exec, so no container
 * process inherits it. If the copy cannot be made, crun is started by path and clones itself. */
#define _GNU_SOURCE
#include "agent.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define CRUN_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static int image = -1;

void crun_image_init(void) {
  int src = open(CRUN_PATH, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (src < 0 || fstat(src, &st) < 0) goto fail;
  int fd = memfd_create("crun_cloned:/proc/self/exe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) goto fail;
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = sendfile(fd, src, &off, (size_t)(st.st_size - off));
    if (n <= 0) { close(fd); goto fail; }
  }
  if (fcntl(fd, F_ADD_SEALS, CRUN_SEALS) < 0) { close(fd); goto fail; }
  close(src);
  image = fd;
  return;
fail:
  if (src >= 0) close(src);
}

int crun_image_fd(const char *path) {
  return path && !strcmp(path, CRUN_PATH) ? image : -1;
}
