// The floor for webhook_bench: an HTTP/1.1 server that does nothing but read
// each request whole (headers, then Content-Length bytes of body) and answer
// 202, on one thread with epoll. No signature check, no parsing of the body,
// no storage. Whatever it reaches on one core with the same wrk load is the
// most any webhook server could answer on this machine; webhook_bench prints
// it next to labelrun and @octokit/webhooks.
//
// With a second argument, FILE, it is the durable floor: each request's bytes
// are written to FILE, and the 202s of everything read in one pass over the
// ready connections go out only after one fdatasync of FILE that follows those
// writes — a group commit with no threads, no parsing and no index. Whatever it
// reaches is the most any server that stores each delivery durably before
// answering could answer here with this disk. FILE is allocated up front and
// written as a ring, so a sync flushes data, not the file's size or extents.
//
// BYTES, when given, is how much is written per request instead of the request
// itself: its first BYTES bytes, or the request and zeros up to BYTES. With the
// bytes a server wrote to its disk per delivery in the same run, the durable
// floor writes as much as that server did, so the two compare like with like.
//
// MODE is "sync" (the fdatasync in the reading thread) or "overlap" (each
// fdatasync, and the 202s it covers, on a second thread while the first reads
// and writes the next requests).
//
//   cc -O2 -pthread -o floor_server floor_server.c
//   ./floor_server PORT [FILE [sync|overlap] [BYTES]]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kBufSize = 64 * 1024, kMaxEvents = 64 };

struct conn {
  int fd;
  size_t len;
  char buf[kBufSize];
};

static const char kReply[] = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";

// MSG_NOSIGNAL: a peer gone meanwhile is no SIGPIPE.
static void reply(int fd) { (void)!send(fd, kReply, sizeof kReply - 1, MSG_NOSIGNAL); }

// Bytes of the first complete request in c->buf, or 0 when it is not all here.
static size_t complete_request(const struct conn* c) {
  const char* end = memmem(c->buf, c->len, "\r\n\r\n", 4);
  if (end == NULL) return 0;
  size_t head = (size_t)(end - c->buf) + 4;
  size_t body = 0;
  for (const char* p = c->buf; p < end;) {
    const char* eol = memmem(p, (size_t)(end - p) + 2, "\r\n", 2);
    if (eol == NULL) break;
    if ((size_t)(eol - p) > 15 && strncasecmp(p, "content-length:", 15) == 0) {
      body = strtoul(p + 15, NULL, 10);
    }
    p = eol + 2;
  }
  return c->len >= head + body ? head + body : 0;
}

static void forget_owed(int fd);
static void commit_owed(void);
static int overlap;

static void close_conn(int ep, struct conn* c) {
  forget_owed(c->fd);
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  if (!overlap) close(c->fd);  // see above
  free(c);
}

// Durable mode: the connections owed a 202 once the pending writes are synced.
// A connection owes at most one per pass in wrk's load (one request in flight),
// but pipelined requests are counted too.
enum { kStoreBytes = 256 << 20 };
static int store_fd = -1;
static off_t store_at;

static long store_bytes = -1;  // per request; -1: the request itself

static void write_at_end(const char* data, size_t len) {
  if (store_at + (off_t)len > kStoreBytes) store_at = 0;
  if (pwrite(store_fd, data, len, store_at) != (ssize_t)len) {
    perror("floor_server: pwrite");
    exit(1);
  }
  store_at += (off_t)len;
}

static void store(const char* data, size_t len) {
  if (store_bytes < 0) {
    write_at_end(data, len);
    return;
  }
  static char padding[kBufSize];  // zeros
  size_t want = (size_t)store_bytes;
  size_t head = len < want ? len : want;
  if (head > 0) write_at_end(data, head);
  for (size_t left = want - head; left > 0;) {
    size_t n = left < sizeof padding ? left : sizeof padding;
    write_at_end(padding, n);
    left -= n;
  }
}

static struct owed {
  int fd;
  unsigned count;
} owed[4096];
static size_t owed_len;

static void answer(int fd) {
  if (store_fd < 0) {
    reply(fd);
    return;
  }
  if (owed_len > 0 && owed[owed_len - 1].fd == fd) {
    owed[owed_len - 1].count++;
    return;
  }
  if (owed_len == sizeof owed / sizeof owed[0]) commit_owed();  // full: commit what is owed first
  owed[owed_len++] = (struct owed){fd, 1};
}

static void forget_owed(int fd) {  // a closed connection gets no 202 (its fd may be reused)
  for (size_t i = 0; i < owed_len; ++i)
    if (owed[i].fd == fd) owed[i].fd = -1;
}

static void sync_and_answer(const struct owed* list, size_t len) {
  if (fdatasync(store_fd) != 0) {
    perror("floor_server: fdatasync");
    exit(1);
  }
  for (size_t i = 0; i < len; ++i)
    for (unsigned k = 0; k < list[i].count; ++k) reply(list[i].fd);
}

// Overlap mode: what the reading thread has written and not yet handed over,
// taken by the syncing thread whenever it is free.
static pthread_mutex_t handed_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t handed_cv = PTHREAD_COND_INITIALIZER;
static struct owed handed[sizeof owed / sizeof owed[0]];
static size_t handed_len;

static void* syncer(void* arg) {
  (void)arg;
  static struct owed mine[sizeof owed / sizeof owed[0]];
  for (;;) {
    pthread_mutex_lock(&handed_mu);
    while (handed_len == 0) pthread_cond_wait(&handed_cv, &handed_mu);
    size_t len = handed_len;
    memcpy(mine, handed, len * sizeof mine[0]);
    handed_len = 0;
    pthread_cond_signal(&handed_cv);
    pthread_mutex_unlock(&handed_mu);
    sync_and_answer(mine, len);  // covers every pwrite made before the hand-over
  }
  return NULL;
}

static void commit_owed(void) {
  if (owed_len == 0) return;
  if (!overlap) {
    sync_and_answer(owed, owed_len);
    owed_len = 0;
    return;
  }
  pthread_mutex_lock(&handed_mu);
  while (handed_len + owed_len > sizeof handed / sizeof handed[0])
    pthread_cond_wait(&handed_cv, &handed_mu);
  memcpy(handed + handed_len, owed, owed_len * sizeof owed[0]);
  handed_len += owed_len;
  pthread_cond_signal(&handed_cv);
  pthread_mutex_unlock(&handed_mu);
  owed_len = 0;
}

int main(int argc, char** argv) {
  char* end = NULL;
  if (argc < 2 || argc > 5 ||
      (argc >= 4 && strcmp(argv[3], "sync") != 0 && strcmp(argv[3], "overlap") != 0) ||
      (argc == 5 && ((store_bytes = strtol(argv[4], &end, 10)) < 0 || *end != '\0' ||
                     store_bytes > kStoreBytes / 2))) {
    fprintf(stderr, "usage: %s PORT [FILE [sync|overlap] [BYTES]]\n", argv[0]);
    return 2;
  }
  if (argc >= 3) {
    store_fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (store_fd < 0 || posix_fallocate(store_fd, 0, kStoreBytes) != 0 || fsync(store_fd) != 0) {
      perror("floor_server: cannot allocate the store file");
      return 1;
    }
  }
  if (argc >= 4 && strcmp(argv[3], "overlap") == 0) {
    overlap = 1;
    pthread_t t;
    if (pthread_create(&t, NULL, syncer, NULL) != 0) {
      perror("floor_server: pthread_create");
      return 1;
    }
  }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(lfd, 1024) != 0) {
    perror("floor_server: listen");
    return 1;
  }
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  struct epoll_event events[kMaxEvents];
  for (;;) {
    int n = epoll_wait(ep, events, kMaxEvents, -1);
    for (int i = 0; i < n; ++i) {
      struct conn* c = events[i].data.ptr;
      if (c == NULL) {  // the listener
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct conn* nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      for (;;) {
        ssize_t got = read(c->fd, c->buf + c->len, kBufSize - c->len);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
          close_conn(ep, c);
          c = NULL;
          break;
        }
        if (got < 0) break;
        c->len += (size_t)got;
        size_t used;
        while ((used = complete_request(c)) > 0) {
          if (store_fd >= 0) store(c->buf, used);
          answer(c->fd);
          memmove(c->buf, c->buf + used, c->len - used);
          c->len -= used;
        }
        if (c->len == kBufSize) {  // a request larger than the buffer: not ours
          close_conn(ep, c);
          c = NULL;
          break;
        }
      }
    }
    if (store_fd >= 0) commit_owed();
  }
}
