// The floor for webhook_bench: an HTTP/1.1 server that does nothing but read
// each request whole (headers, then Content-Length bytes of body) and answer
// 202, on one thread with epoll. No signature check, no parsing of the body,
// no storage. Whatever it reaches on one core with the same wrk load is the
// most any webhook server could answer on this machine; webhook_bench prints
// it next to labelrun and @octokit/webhooks.
//
//   cc -O2 -o floor_server floor_server.c && ./floor_server PORT
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

static void close_conn(int ep, struct conn* c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
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
          if (write(c->fd, kReply, sizeof kReply - 1) < 0) break;
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
  }
}
