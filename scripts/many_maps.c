/* Benchmark load for `shmtool maps`: one process with N small private mappings (alternating
 * protections, so the kernel cannot merge neighbours). Usage: many_maps N; prints "ready" when
 * all are mapped, then waits for standard input to close and exits (the kernel unmaps all). */
#include <sys/mman.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 50000;
    for (int i = 0; i < n; i++) {
        /* alternate protections so neighbouring mappings never merge */
        char *p = mmap(NULL, 4096, (i & 1) ? PROT_READ : PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) { perror("mmap"); return 1; }
        if (!(i & 1)) p[0] = 1;
    }
    printf("ready\n"); fflush(stdout);
    char c; read(0, &c, 1);
    return 0;
}
