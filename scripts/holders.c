/* Benchmark load for `shmtool ls`: N processes holding System V, POSIX, memfd and shared
 * anonymous memory. Every object is made here and removed here: segments by id, /dev/shm
 * objects by name, processes by pid. Usage: holders N; prints "ready" when all are mapped,
 * then waits for standard input to close (or SIGTERM/SIGINT) and cleans up. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#define GROUPS 100

static int shmids[GROUPS];
static char names[GROUPS][64];
static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    pid_t *kids = calloc(n, sizeof *kids);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    for (int g = 0; g < GROUPS; g++) {
        shmids[g] = shmget(IPC_PRIVATE, 65536, IPC_CREAT | 0600);
        snprintf(names[g], sizeof names[g], "/shmtool-bench-%d-%d", getpid(), g);
        int fd = shm_open(names[g], O_CREAT | O_EXCL | O_RDWR, 0600);
        if (shmids[g] < 0 || fd < 0 || ftruncate(fd, 65536) != 0) { perror("setup"); goto cleanup; }
        close(fd);
    }
    int ready[2];
    if (pipe(ready) != 0) { perror("pipe"); goto cleanup; }
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); n = i; break; }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            int g = i % GROUPS;
            shmat(shmids[g], NULL, 0);
            int fd = shm_open(names[g], O_RDWR, 0);
            mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            close(fd);
            int mfd = memfd_create("bench", 0);
            ftruncate(mfd, 16384);
            mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
            close(mfd);
            mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
            char c = 1;
            if (write(ready[1], &c, 1) != 1) _exit(1);
            for (;;) pause();
        }
        kids[i] = pid;
    }
    close(ready[1]);
    for (int i = 0; i < n; i++) { char c; if (read(ready[0], &c, 1) != 1) break; }
    printf("ready\n");
    fflush(stdout);
    char buf[64];
    while (!stop && read(0, buf, sizeof buf) > 0) {}
cleanup:
    for (int i = 0; i < n; i++) if (kids[i] > 0) kill(kids[i], SIGKILL);
    for (int i = 0; i < n; i++) if (kids[i] > 0) waitpid(kids[i], NULL, 0);
    for (int g = 0; g < GROUPS; g++) {
        if (shmids[g] > 0) shmctl(shmids[g], IPC_RMID, NULL);
        if (names[g][0]) shm_unlink(names[g]);
    }
    return 0;
}
