/* Benchmark load for `shmtool watch`: maps FILE shared and, every PERIOD_US microseconds,
 * increments every STRIDE-th byte of it (1 byte in STRIDE changes at each pass). Usage:
 * flipper FILE STRIDE PERIOD_US; runs until killed. It writes only the file it is given. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: flipper FILE STRIDE PERIOD_US\n");
        return 2;
    }
    long stride = atol(argv[2]), period = atol(argv[3]);
    int fd = open(argv[1], O_RDWR);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || stride < 1) {
        perror(argv[1]);
        return 1;
    }
    volatile unsigned char *p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (;;) {
        for (off_t i = 0; i < st.st_size; i += stride)
            p[i]++;
        usleep(period);
    }
}
