/* How much one residency reading of a tmpfs object costs, by each way shmtool could split its
 * blocks into resident and swapped pages: cachestat(2) on an fd (what shmtool does), or
 * mmap(PROT_READ) + mincore(2) + munmap (faults nothing, but sets up a mapping and copies a byte
 * per page). Both run alternately on the same file, many times; medians are printed.
 *
 *   cc -O2 -o /tmp/residency_cost scripts/residency_cost.c && /tmp/residency_cost [MiB] [runs]
 *
 * Makes one file under /dev/shm (unique name) and removes it before exiting.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct range { uint64_t off, len; };
struct cstat { uint64_t cache, dirty, writeback, evicted, recently_evicted; };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], 0, 10) : 64;
    int runs = argc > 2 ? atoi(argv[2]) : 201;
    size_t len = mib << 20, page = sysconf(_SC_PAGESIZE), pages = len / page;
    char path[64];
    snprintf(path, sizeof path, "/dev/shm/residency-cost-%d", getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || ftruncate(fd, len) != 0) { perror(path); return 1; }
    char *w = mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memset(w, 1, len);
    munmap(w, len);
    unsigned char *vec = malloc(pages);
    double *a = malloc(runs * sizeof *a), *b = malloc(runs * sizeof *b);
    uint64_t got_a = 0, got_b = 0;
    for (int i = 0; i < runs; i++) {
        struct range r = {0, 0};
        struct cstat cs;
        double t0 = now();
        syscall(451, fd, &r, &cs, 0);
        double t1 = now();
        char *m = mmap(0, len, PROT_READ, MAP_SHARED, fd, 0);
        mincore(m, len, vec);
        munmap(m, len);
        double t2 = now();
        a[i] = t1 - t0;
        b[i] = t2 - t1;
        got_a = cs.cache;
        got_b = 0;
        for (size_t p = 0; p < pages; p++) got_b += vec[p] & 1;
    }
    qsort(a, runs, sizeof *a, cmp);
    qsort(b, runs, sizeof *b, cmp);
    printf("%zu MiB tmpfs file, %d runs alternating\n", mib, runs);
    printf("cachestat:            median %9.1f us  (%lu pages resident)\n", a[runs / 2] / 1e3, (unsigned long)got_a);
    printf("mmap+mincore+munmap:  median %9.1f us  (%lu pages resident)\n", b[runs / 2] / 1e3, (unsigned long)got_b);
    printf("ratio mincore/cachestat: %.2fx\n", b[runs / 2] / a[runs / 2]);
    close(fd);
    unlink(path);
    return 0;
}
