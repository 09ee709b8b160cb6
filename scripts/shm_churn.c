/* Shared-memory churn for scripts/bench-trace.sh: WORKERS processes, each repeating for SECS
 * seconds: shmget(IPC_PRIVATE), shmat, shmdt, shmctl(IPC_RMID), shm_open(O_CREAT), ftruncate,
 * mmap(MAP_SHARED), munmap, close, shm_unlink -- 9 events for `shmtool trace` per round.
 * With RATE > 0 the workers together make at most RATE rounds a second (0: as fast as they can).
 * USE_KIB 0 (the default) is the worst case for a tracer: 4 KiB objects never touched, a loop of
 * nothing but these system calls. USE_KIB > 0 makes both objects that size and writes one byte
 * in each of their pages before detaching, as a program that uses its shared memory does.
 * USE_KIB "other" makes rounds of calls a tracer does not record (getppid, open and close of
 * /dev/null): what a tracer costs the rest of the machine's system calls.
 * Prints the total number of rounds, rounds per second, and the CPU time (user + system, which
 * includes what tracing costs inside the system calls) the workers spent per round.
 *
 *   cc -O2 -o shm_churn scripts/shm_churn.c && ./shm_churn WORKERS SECS [RATE [USE_KIB|other]] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/syscall.h>
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

/* Write one byte in every page, so that each page is faulted in and zeroed by the kernel. */
static void use(volatile char *p, size_t size) {
    for (size_t off = 0; off < size; off += 4096)
        p[off] = (char)off;
}

/* Calls no tracer records: getppid, open and close. */
static void other_calls(void) {
    syscall(SYS_getppid);
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0)
        die("open");
    close(fd);
}

static long worker(int idx, double secs, double rate, size_t size, int touch, int other) {
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
        if (other) {
            other_calls();
            rounds++;
            continue;
        }
        int id = shmget(IPC_PRIVATE, size, 0600);
        if (id < 0)
            die("shmget");
        void *p = shmat(id, NULL, 0);
        if (p == (void *)-1)
            die("shmat");
        if (touch)
            use(p, size);
        shmdt(p);
        shmctl(id, IPC_RMID, NULL);
        int fd = shm_open(name, O_CREAT | O_RDWR, 0600);
        if (fd < 0)
            die("shm_open");
        if (ftruncate(fd, size) < 0)
            die("ftruncate");
        void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED)
            die("mmap");
        if (touch)
            use(m, size);
        munmap(m, size);
        close(fd);
        shm_unlink(name);
        rounds++;
    }
    return rounds;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s WORKERS SECS [RATE [USE_KIB]]\n", argv[0]);
        return 2;
    }
    int workers = atoi(argv[1]);
    double secs = atof(argv[2]);
    double rate = argc > 3 ? atof(argv[3]) / workers : 0;
    int other = argc > 4 && strcmp(argv[4], "other") == 0;
    long use_kib = argc > 4 && !other ? atol(argv[4]) : 0;
    size_t size = use_kib > 0 ? (size_t)use_kib * 1024 : 4096;
    int pipes[2];
    if (pipe(pipes) < 0)
        die("pipe");
    double start = now();
    for (int i = 0; i < workers; i++) {
        if (fork() == 0) {
            long r = worker(i, secs, rate, size, use_kib > 0, other);
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
    int events = other ? 0 : 9;
    /* Preempted: the workers were taken off a CPU they still wanted (a tracer sharing it). */
    printf("%ld rounds in %.2f s: %.0f rounds/s, %.0f events/s, %.2f us cpu/round, %ld preempted\n",
           total, took, total / took, events * total / took, total ? 1e6 * cpu / total : 0.0,
           ru.ru_nivcsw);
    return 0;
}
