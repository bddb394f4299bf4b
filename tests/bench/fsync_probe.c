/* Latency of a durable 4 KiB append in a directory, as the inbox's commits pay
 * it: write 4 KiB at the end of a file, then fdatasync, N times. Prints
 * "p50_ms p99_ms max_ms" on one line. Used by webhook_bench.sh, which measures
 * the disk under labelrun's state_dir in the same run as the servers.
 *
 *   fsync_probe DIR [N]   (N defaults to 200)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: fsync_probe DIR [N]\n");
    return 2;
  }
  int n = argc > 2 ? atoi(argv[2]) : 200;
  if (n < 1 || n > 100000) {
    fprintf(stderr, "fsync_probe: N must be 1..100000\n");
    return 2;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/fsync-probe.%d", argv[1], (int)getpid());
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    perror("fsync_probe: open");
    return 1;
  }
  char block[4096];
  memset(block, 'x', sizeof block);
  double* ms = malloc(sizeof(double) * (size_t)n);
  if (!ms) return 1;
  for (int i = 0; i < n; ++i) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (write(fd, block, sizeof block) != (ssize_t)sizeof block || fdatasync(fd) != 0) {
      perror("fsync_probe: write/fdatasync");
      unlink(path);
      return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    ms[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
  }
  close(fd);
  unlink(path);
  qsort(ms, (size_t)n, sizeof(double), cmp);
  int p99 = (int)((double)n * 0.99);
  if (p99 >= n) p99 = n - 1;
  printf("%.3f %.3f %.3f\n", ms[n / 2], ms[p99], ms[n - 1]);
  free(ms);
  return 0;
}
