/* Stage 1, run by the kernel as /init (a link to the agent) in the initramfs. crun's pivot_root
 * fails on the initramfs (the initial rootfs can never be pivoted away), so the tree is copied into
 * a tmpfs, the initramfs emptied (its memory freed) and the tmpfs moved over / - what busybox's
 * switch_root does, without a shell, cp and three execs, each costly in the emulator. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sendfile.h>
#include <unistd.h>

static void die(const char *what) {
  dprintf(2, "skiff-agent stage 1: %s: %s\n", what, strerror(errno));
  _exit(1); /* PID 1 exiting panics the kernel: loud, which is what a broken initramfs deserves */
}

static void copy_tree(int sdir, int ddir) {
  DIR *d = fdopendir(sdir);
  if (!d) die("opendir");
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    struct stat st;
    if (fstatat(sdir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) die(e->d_name);
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(ddir, e->d_name, st.st_mode & 07777) < 0 && errno != EEXIST) die(e->d_name);
      int s = openat(sdir, e->d_name, O_RDONLY | O_DIRECTORY), t = openat(ddir, e->d_name, O_RDONLY | O_DIRECTORY);
      if (s < 0 || t < 0) die(e->d_name);
      copy_tree(s, t); /* closes s */
      close(t);
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = readlinkat(sdir, e->d_name, target, sizeof target - 1);
      if (n < 0) die(e->d_name);
      target[n] = 0;
      if (symlinkat(target, ddir, e->d_name) < 0) die(e->d_name);
    } else if (S_ISREG(st.st_mode)) {
      int s = openat(sdir, e->d_name, O_RDONLY), t = openat(ddir, e->d_name, O_WRONLY | O_CREAT | O_EXCL, st.st_mode & 07777);
      if (s < 0 || t < 0) die(e->d_name);
      for (off_t off = 0; off < st.st_size;) {
        ssize_t w = sendfile(t, s, &off, (size_t)(st.st_size - off));
        if (w <= 0) die(e->d_name);
      }
      close(s);
      close(t);
    } else if (mknodat(ddir, e->d_name, st.st_mode, st.st_rdev) < 0) {
      die(e->d_name);
    }
  }
  closedir(d);
}

/* Empties the initramfs (same device as "/"), sparing the mount point of the new root. */
static void remove_tree(int dir, dev_t dev) {
  DIR *d = fdopendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    struct stat st;
    if (fstatat(dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev) continue;
    if (S_ISDIR(st.st_mode)) {
      int s = openat(dir, e->d_name, O_RDONLY | O_DIRECTORY);
      if (s >= 0) remove_tree(s, dev);
      unlinkat(dir, e->d_name, AT_REMOVEDIR);
    } else {
      unlinkat(dir, e->d_name, 0);
    }
  }
  closedir(d);
}

void stage1(void) {
  if (mount("root", "/newroot", "tmpfs", 0, "mode=0755") < 0) die("mount tmpfs on /newroot");
  int nr = open("/newroot", O_RDONLY | O_DIRECTORY);
  static const char *keep[] = {"bin", "sbin", "lib", "usr", "etc"};
  for (unsigned i = 0; i < sizeof keep / sizeof *keep; i++) {
    struct stat st;
    if (stat(keep[i], &st) < 0) continue;
    mkdirat(nr, keep[i], st.st_mode & 07777);
    int s = open(keep[i], O_RDONLY | O_DIRECTORY), t = openat(nr, keep[i], O_RDONLY | O_DIRECTORY);
    if (s < 0 || t < 0) die(keep[i]);
    copy_tree(s, t);
    close(t);
  }
  static const char *dirs[] = {"proc", "sys", "dev", "run", "tmp", "root", "mnt"};
  for (unsigned i = 0; i < sizeof dirs / sizeof *dirs; i++) mkdirat(nr, dirs[i], 0755);
  close(nr);
  struct stat root;
  if (stat("/", &root) < 0) die("stat /");
  remove_tree(open("/", O_RDONLY | O_DIRECTORY), root.st_dev);
  if (chdir("/newroot") < 0) die("chdir /newroot");
  if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) die("move /newroot to /");
  if (chroot(".") < 0 || chdir("/") < 0) die("chroot");
  execl("/sbin/skiff-agent", "skiff-agent", "--init", (char *)NULL);
  die("exec /sbin/skiff-agent --init");
}
