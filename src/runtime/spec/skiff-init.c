/*
 * skiff-init: the init for `skiff run --init`, mounted at /sbin/docker-init (see init.ts).
 * Usage: docker-init -- command [args...]
 *
 * PID 1 in a PID namespace gets no default signal actions, and nothing reaps orphans. This init
 * runs the command as its only child, forwards every catchable signal to it, reaps every child
 * that exits, and exits with the command's status (128 + signal when it was killed), like tini.
 *
 * Build (static i386, for the guest): gcc -m32 -static -Os -s -o skiff-init skiff-init.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

int main(int argc, char **argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0) first++;
  if (first >= argc) {
    fprintf(stderr, "usage: %s -- command [args...]\n", argv[0]);
    return 2;
  }

  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);

  pid_t child = fork();
  if (child < 0) {
    perror("skiff-init: fork");
    return 1;
  }
  if (child == 0) {
    /* Own process group, in the foreground of the terminal if there is one, so a Ctrl-C from
     * the TTY reaches the command once (not also the init, which would forward it again). */
    setpgid(0, 0);
    if (isatty(STDIN_FILENO)) tcsetpgrp(STDIN_FILENO, getpgrp());
    sigprocmask(SIG_SETMASK, &old, NULL);
    execvp(argv[first], &argv[first]);
    fprintf(stderr, "skiff-init: exec %s: %s\n", argv[first], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) {
      if (errno == EINTR) continue;
      perror("skiff-init: sigwaitinfo");
      return 1;
    }
    if (sig != SIGCHLD) {
      /* SIGSTOP/SIGKILL never arrive here; forward the rest as is. */
      if (kill(child, sig) < 0 && errno != ESRCH) perror("skiff-init: kill");
      continue;
    }
    for (;;) {
      int status;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      if (pid == child) return exit_code_of(status);
    }
  }
}
