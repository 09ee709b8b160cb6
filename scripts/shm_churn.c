/* Shared-memory churn for scripts/bench-trace.sh: WORKERS processes, each repeating for SECS
 * seconds: shmget(IPC_PRIVATE), shmat, shmdt, shmctl(IPC_RMID), shm_open(O_CREAT), ftruncate,
 * mmap(MAP_SHARED), munmap, close, shm_unlink -- 8 events for `shmtool trace` per round.
 * With RATE > 0 the workers together make at most RATE rounds a second.
 * Prints the total number of rounds, rounds per second, and the CPU time (user + system, which
 * includes what tracing costs inside the system calls) the workers spent per round.
 *
 *   cc -O2 -o shm_churn scripts/shm_churn.c && ./shm_churn WORKERS SECS [RATE] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
    perror(what);
    _exit(1);
}

static long worker(int idx, double secs, double rate) {
    char name[64];
    snprintf(name, sizeof name, "/shmtool-churn-%d-%d", (int)getpid(), idx);
    long rounds = 0;
    double start = now(), end = start + secs;
    for (;;) {
        double t = now();
        if (t >= end)
            break;
        if (rate > 0 && rounds > (t - start) * rate) {
            usleep(200);
            continue;
        }
        int id = shmget(IPC_PRIVATE, 4096, 0600);
        if (id < 0)
            die("shmget");
        void *p = shmat(id, NULL, 0);
        if (p == (void *)-1)
            die("shmat");
        shmdt(p);
        shmctl(id, IPC_RMID, NULL);
        int fd = shm_open(name, O_CREAT | O_RDWR, 0600);
        if (fd < 0)
            die("shm_open");
        if (ftruncate(fd, 4096) < 0)
            die("ftruncate");
        void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED)
            die("mmap");
        munmap(m, 4096);
        close(fd);
        shm_unlink(name);
        rounds++;
    }
    return rounds;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s WORKERS SECS [RATE]\n", argv[0]);
        return 2;
    }
    int workers = atoi(argv[1]);
    double secs = atof(argv[2]);
    double rate = argc > 3 ? atof(argv[3]) / workers : 0;
    int pipes[2];
    if (pipe(pipes) < 0)
        die("pipe");
    double start = now();
    for (int i = 0; i < workers; i++) {
        if (fork() == 0) {
            long r = worker(i, secs, rate);
            if (write(pipes[1], &r, sizeof r) != sizeof r)
                _exit(1);
            _exit(0);
        }
    }
    close(pipes[1]);
    long total = 0, r;
    while (read(pipes[0], &r, sizeof r) == sizeof r)
        total += r;
    while (wait(NULL) > 0)
        ;
    double took = now() - start;
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                 ru.ru_stime.tv_usec / 1e6;
    printf("%ld rounds in %.2f s: %.0f rounds/s, %.0f events/s, %.2f us cpu/round\n", total, took,
           total / took, 8 * total / took, total ? 1e6 * cpu / total : 0.0);
    return 0;
}
