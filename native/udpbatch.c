/*
 * Batched UDP I/O for bering's relays: many datagrams per system call both ways (sendmmsg,
 * recvmmsg), and runs of equal-sized datagrams to one address as a single GSO send (UDP_SEGMENT)
 * where the kernel takes it. Node's dgram makes one sendmsg per datagram; on this project's 2-core hosts that call was
 * 46% of a sending relay's CPU (loopback, profiled), and the per-call cost, not the bytes, is
 * what dominates it: 4.4 us of sender CPU per 1320-byte datagram alone, 1.1 in batches of 32,
 * 0.34 with GSO (a C loop on loopback, this project's 2-core host).
 *
 * It works on the file descriptor of a socket Node's dgram owns, so binding, buffer sizes and
 * closing stay Node's. Sends are synchronous and keep nothing: the caller's buffers are free again
 * when a call returns. Receiving replaces dgram's reader (one recvmsg, a 64 KiB allocation and a
 * JS event with a fresh address string per datagram) by a libuv poll on the descriptor that reads
 * up to RECEIVE_BATCH datagrams per call into the caller's arena and hands the count to one JS
 * callback; the caller stops dgram's reader first, so one watcher polls the descriptor.
 *
 * Build: native/build.sh. Loaded by src/io/udpBatch.ts, which falls back to dgram's sends when
 * this module is missing or does not load (another OS or CPU).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <node_api.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <uv.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* Messages handed to one sendmmsg call; a batch bigger than this takes several calls. */
#define MAX_MESSAGES 256
/*
 * Datagrams per GSO send. The kernel takes 64, but until a GSO send leaves the machine it is one
 * packet to anything in between (a veth pair, nftables rules that emulate loss): one drop there
 * would take all its datagrams at once. Eight keep such bursts short and measured as fast as 64
 * on the loopback ceiling (445 against 452 Mbit/s over three runs each).
 */
#define MAX_SEGMENTS 8
/* A GSO send is one UDP datagram before segmentation: its payload must fit in 16 bits. */
#define MAX_GSO_BYTES 65000
/* Bytes per address slot in the caller's table: family, port, 16 address bytes, scope id. */
#define ADDRESS_SLOT_BYTES 32
/* Ints per datagram in the caller's span table: offset, length, address slot (-1: connected). */
#define SPAN_INTS 3

/* result[] layout, shared with src/io/udpBatch.ts. */
enum { RESULT_DONE = 0, RESULT_FAILED = 1, RESULT_ERRNO = 2, RESULT_GSO_REFUSED = 3, RESULT_INTS = 4 };

typedef struct {
  struct sockaddr_storage to[MAX_MESSAGES];
  struct mmsghdr messages[MAX_MESSAGES];
  struct iovec iov[MAX_MESSAGES];
  union {
    char bytes[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } control[MAX_MESSAGES];
  int datagrams[MAX_MESSAGES];
  int gso[MAX_MESSAGES];
} Batch;

/* One per process: calls are synchronous on the JS thread, so it is never shared at once. */
static Batch batch;

static int throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return 0;
}

static int typed_array(napi_env env, napi_value value, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, data, &buffer, &offset) != napi_ok || type != want) return 0;
  return 1;
}

/* Builds the sockaddr of address slot `slot`; returns its length, or 0 if the slot is malformed. */
static socklen_t slot_address(const uint8_t *slots, int slot, struct sockaddr_storage *out) {
  const uint8_t *s = slots + (size_t)slot * ADDRESS_SLOT_BYTES;
  uint16_t port = (uint16_t)((s[2] << 8) | s[3]);
  memset(out, 0, sizeof(*out));
  if (s[0] == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)out;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    memcpy(&a->sin_addr, s + 4, 4);
    return sizeof(*a);
  }
  if (s[0] == 6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    memcpy(&a->sin6_addr, s + 4, 16);
    memcpy(&a->sin6_scope_id, s + 20, 4);
    return sizeof(*a);
  }
  return 0;
}

/*
 * sendBatch(fd, arena: Uint8Array, spans: Int32Array, count, slots: Uint8Array, gso: boolean,
 *           result: Int32Array(4)) -> undefined
 *
 * Sends datagrams 0..count-1 (span i: arena bytes [offset, offset+length) to address slot `slot`,
 * or on the connected socket when slot is -1). result[DONE] is how many were dealt with: sent, or
 * refused by the kernel for a reason of their own (counted in result[FAILED], last errno in
 * result[ERRNO]). It stops early when the socket's buffer is full (EAGAIN, ENOBUFS): the caller
 * sends the rest another way. result[GSO_REFUSED] is 1 when the kernel refused a GSO send; the
 * caller then sends without GSO from result[DONE] on.
 */
static napi_value send_batch(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd, count;
  bool use_gso;
  uint8_t *arena, *slots;
  int32_t *spans, *result;
  size_t arena_len, spans_len, slots_len, result_len;
  if (argc < 7 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      !typed_array(env, argv[1], napi_uint8_array, (void **)&arena, &arena_len) ||
      !typed_array(env, argv[2], napi_int32_array, (void **)&spans, &spans_len) ||
      napi_get_value_int32(env, argv[3], &count) != napi_ok ||
      !typed_array(env, argv[4], napi_uint8_array, (void **)&slots, &slots_len) ||
      napi_get_value_bool(env, argv[5], &use_gso) != napi_ok ||
      !typed_array(env, argv[6], napi_int32_array, (void **)&result, &result_len) || result_len < RESULT_INTS) {
    throw_type(env, "sendBatch(fd, arena, spans, count, slots, gso, result)");
    return NULL;
  }
  if (count < 0 || (size_t)count * SPAN_INTS > spans_len) {
    throw_type(env, "sendBatch: count exceeds the span table");
    return NULL;
  }
  for (int i = 0; i < count; i++) {
    int32_t off = spans[i * SPAN_INTS], len = spans[i * SPAN_INTS + 1], slot = spans[i * SPAN_INTS + 2];
    if (off < 0 || len <= 0 || (size_t)off + (size_t)len > arena_len || slot < -1 ||
        (slot >= 0 && ((size_t)slot + 1) * ADDRESS_SLOT_BYTES > slots_len)) {
      throw_type(env, "sendBatch: a span lies outside its arena or address table");
      return NULL;
    }
  }
  result[RESULT_DONE] = 0;
  result[RESULT_FAILED] = 0;
  result[RESULT_ERRNO] = 0;
  result[RESULT_GSO_REFUSED] = 0;

  int next = 0;
  while (next < count) {
    /* Pack datagrams next.. into messages: a GSO message takes a run of equal lengths (the last may
       be shorter) that lie back to back in the arena and go to one address. */
    int messages = 0, i = next;
    while (i < count && messages < MAX_MESSAGES) {
      int32_t off = spans[i * SPAN_INTS], len = spans[i * SPAN_INTS + 1], slot = spans[i * SPAN_INTS + 2];
      int run = 1;
      size_t bytes = (size_t)len;
      if (use_gso) {
        while (i + run < count && run < MAX_SEGMENTS) {
          const int32_t *s = spans + (i + run) * SPAN_INTS;
          const int32_t *prev = spans + (i + run - 1) * SPAN_INTS;
          if (s[2] != slot || s[0] != prev[0] + prev[1] || s[1] > len || bytes + (size_t)s[1] > MAX_GSO_BYTES) break;
          if (prev[1] != len) break; /* only the last segment may be shorter */
          bytes += (size_t)s[1];
          run++;
        }
      }
      struct msghdr *h = &batch.messages[messages].msg_hdr;
      memset(h, 0, sizeof(*h));
      batch.iov[messages].iov_base = arena + off;
      batch.iov[messages].iov_len = bytes;
      h->msg_iov = &batch.iov[messages];
      h->msg_iovlen = 1;
      if (slot >= 0) {
        socklen_t n = slot_address(slots, slot, &batch.to[messages]);
        if (n == 0) {
          throw_type(env, "sendBatch: malformed address slot");
          return NULL;
        }
        h->msg_name = &batch.to[messages];
        h->msg_namelen = n;
      }
      batch.gso[messages] = run > 1;
      if (run > 1) {
        h->msg_control = batch.control[messages].bytes;
        h->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
        struct cmsghdr *c = CMSG_FIRSTHDR(h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t segment = (uint16_t)len;
        memcpy(CMSG_DATA(c), &segment, sizeof(segment));
      }
      batch.datagrams[messages] = run;
      messages++;
      i += run;
    }

    int sent = 0;
    while (sent < messages) {
      int r = sendmmsg(fd, batch.messages + sent, (unsigned)(messages - sent), 0);
      if (r > 0) {
        for (int m = sent; m < sent + r; m++) result[RESULT_DONE] += batch.datagrams[m];
        sent += r;
        continue;
      }
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) return NULL;
      if (batch.gso[sent] && (err == EIO || err == EINVAL || err == ENOPROTOOPT || err == EOPNOTSUPP)) {
        result[RESULT_GSO_REFUSED] = 1;
        result[RESULT_ERRNO] = err;
        return NULL;
      }
      /* A refusal of this datagram's own (ICMP unreachable reported late, no route, too big):
         it is lost like any other, counted, and the rest still go. */
      result[RESULT_FAILED] += batch.datagrams[sent];
      result[RESULT_DONE] += batch.datagrams[sent];
      result[RESULT_ERRNO] = err;
      sent++;
    }
    next = i;
  }
  return NULL;
}

/*
 * encodeAddress(address: string, port, socketFamily: 4 | 6, out: Uint8Array(32)) -> boolean
 *
 * Fills an address slot for sendBatch. An IPv4 address on an IPv6 socket becomes its mapped form
 * (::ffff:a.b.c.d), as the kernel expects on a dual-stack socket; a zone ("fe80::1%eth0") becomes
 * its interface index. False when the address does not parse or cannot go on such a socket.
 */
static napi_value encode_address(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t text_len;
  int32_t port, family;
  uint8_t *out;
  size_t out_len;
  if (argc < 4 || napi_get_value_string_utf8(env, argv[0], text, sizeof(text), &text_len) != napi_ok ||
      napi_get_value_int32(env, argv[1], &port) != napi_ok || napi_get_value_int32(env, argv[2], &family) != napi_ok ||
      !typed_array(env, argv[3], napi_uint8_array, (void **)&out, &out_len) || out_len < ADDRESS_SLOT_BYTES) {
    throw_type(env, "encodeAddress(address, port, family, out)");
    return NULL;
  }
  bool ok = false;
  memset(out, 0, ADDRESS_SLOT_BYTES);
  if (port >= 0 && port <= 65535 && text_len < sizeof(text) - 1) {
    out[2] = (uint8_t)(port >> 8);
    out[3] = (uint8_t)port;
    struct in_addr v4;
    if (inet_pton(AF_INET, text, &v4) == 1) {
      if (family == 4) {
        out[0] = 4;
        memcpy(out + 4, &v4, 4);
      } else {
        out[0] = 6;
        out[14] = 0xff;
        out[15] = 0xff;
        memcpy(out + 16, &v4, 4);
      }
      ok = true;
    } else if (family == 6) {
      char *zone = strchr(text, '%');
      uint32_t scope = 0;
      if (zone != NULL) {
        *zone = '\0';
        scope = if_nametoindex(zone + 1);
      }
      struct in6_addr v6;
      if (inet_pton(AF_INET6, text, &v6) == 1 && (zone == NULL || scope != 0)) {
        out[0] = 6;
        memcpy(out + 4, &v6, 16);
        memcpy(out + 20, &scope, 4);
        ok = true;
      }
    }
  }
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}

/* Bytes per datagram in the receive arena: bigger than any datagram bering sends (MTU 1404 plus
   repair headroom); a longer one is reported truncated and dropped by the caller. */
#define RECEIVE_SLOT_BYTES 2048
/* Ints per datagram in the receive table: length (-1: truncated), port, family. */
#define RECEIVE_META_INTS 3
/* Batches read per wake-up before other sockets and timers get their turn. */
#define RECEIVE_ROUNDS 4
/*
 * With UDP_GRO, the kernel hands over runs of datagrams from one source as one message (a GSO
 * send on loopback arrives whole instead of being cut into datagrams on the receiving side; a
 * NIC's GRO merges a flow's datagrams likewise), with the datagrams' size in a control message.
 * Messages read per recvmmsg then, and bytes per message: the largest UDP payload.
 */
#define GRO_MESSAGES 8
#define GRO_MESSAGE_BYTES 65536

typedef struct {
  napi_env env;
  uv_poll_t poll;
  int fd;
  int capacity;
  uint8_t *arena;
  int32_t *meta;
  uint8_t *addresses;
  napi_ref arena_ref, meta_ref, addresses_ref, callback_ref;
  napi_async_context context;
  struct mmsghdr *messages;
  struct iovec *iov;
  struct sockaddr_storage *from;
  /* With UDP_GRO on: the messages' buffers and their control space (NULL without GRO). */
  uint8_t *gro_buffers;
  union {
    char bytes[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } *gro_control;
  int stopped;
  /* Freed once both are set: libuv is done with the poll handle, and JS with the handle to it. */
  int closed, released;
} Receiver;

static void receiver_free(Receiver *r) {
  free(r->messages);
  free(r->iov);
  free(r->from);
  free(r->gro_buffers);
  free(r->gro_control);
  free(r);
}

static void receiver_closed(uv_handle_t *handle) {
  Receiver *r = (Receiver *)handle->data;
  r->closed = 1;
  if (r->released) receiver_free(r);
}

static void receiver_released(napi_env env, void *data, void *hint) {
  Receiver *r = (Receiver *)data;
  (void)env;
  (void)hint;
  r->released = 1;
  if (r->closed) receiver_free(r);
}

/* Lets go of the arena and callback, and closes the poll handle (if it was started). */
static void receiver_stop(napi_env env, Receiver *r, int polling) {
  r->stopped = 1;
  napi_delete_reference(env, r->arena_ref);
  napi_delete_reference(env, r->meta_ref);
  napi_delete_reference(env, r->addresses_ref);
  napi_delete_reference(env, r->callback_ref);
  napi_async_destroy(env, r->context);
  if (polling) {
    uv_poll_stop(&r->poll);
    uv_close((uv_handle_t *)&r->poll, receiver_closed);
  } else {
    r->closed = 1;
  }
}

/* Calls the JS callback with `count` datagrams (or -errno), running microtasks after it as any
   I/O callback of Node's would. */
static void deliver(Receiver *r, int count) {
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value callback, global, arg, ignored;
  napi_get_reference_value(env, r->callback_ref, &callback);
  napi_get_global(env, &global);
  napi_create_int32(env, count, &arg);
  if (napi_make_callback(env, r->context, global, callback, 1, &arg, &ignored) == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
  napi_close_handle_scope(env, scope);
}

/* Writes where datagram `slot` came from into its meta entry (port, family) and address slot. */
static void record_source(Receiver *r, int slot, const struct sockaddr_storage *from) {
  int32_t *m = r->meta + slot * RECEIVE_META_INTS;
  uint8_t *a = r->addresses + (size_t)slot * ADDRESS_SLOT_BYTES;
  memset(a, 0, ADDRESS_SLOT_BYTES);
  if (from->ss_family == AF_INET) {
    const struct sockaddr_in *s = (const struct sockaddr_in *)from;
    m[1] = ntohs(s->sin_port);
    m[2] = 4;
    a[0] = 4;
    memcpy(a + 4, &s->sin_addr, 4);
  } else {
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)from;
    m[1] = ntohs(s->sin6_port);
    m[2] = 6;
    a[0] = 6;
    memcpy(a + 4, &s->sin6_addr, 16);
    memcpy(a + 20, &s->sin6_scope_id, 4);
  }
  a[2] = (uint8_t)(m[1] >> 8);
  a[3] = (uint8_t)m[1];
}

/* The datagram size of a GRO message, from its control message; the whole message without one. */
static int gro_segment_size(struct msghdr *h, int length) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int size;
      memcpy(&size, CMSG_DATA(c), sizeof(size));
      if (size > 0) return size;
    }
  }
  return length;
}

/* Points message `i` of the next recvmmsg at `buffer` and the slot for its source address; `control` may be NULL. */
static void prepare_message(Receiver *r, int i, uint8_t *buffer, size_t length, void *control, size_t control_length) {
  r->iov[i].iov_base = buffer;
  r->iov[i].iov_len = length;
  struct msghdr *h = &r->messages[i].msg_hdr;
  memset(h, 0, sizeof(struct msghdr));
  h->msg_iov = &r->iov[i];
  h->msg_iovlen = 1;
  h->msg_name = &r->from[i];
  h->msg_namelen = sizeof(struct sockaddr_storage);
  h->msg_control = control;
  h->msg_controllen = control_length;
}

/*
 * Reads with UDP_GRO: each message is cut back into its datagrams, each copied into a slot of the
 * arena as the plain reader would have read it; a full arena goes to JS before the rest is cut.
 */
static void read_gro(Receiver *r) {
  for (int round = 0; round < RECEIVE_ROUNDS && !r->stopped; round++) {
    for (int i = 0; i < GRO_MESSAGES; i++) {
      prepare_message(r, i, r->gro_buffers + (size_t)i * GRO_MESSAGE_BYTES, GRO_MESSAGE_BYTES, r->gro_control[i].bytes, sizeof(r->gro_control[i].bytes));
    }
    int n = recvmmsg(r->fd, r->messages, GRO_MESSAGES, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      deliver(r, -errno);
      continue;
    }
    int filled = 0;
    for (int i = 0; i < n; i++) {
      struct msghdr *h = &r->messages[i].msg_hdr;
      int length = (int)r->messages[i].msg_len;
      int truncated = (h->msg_flags & MSG_TRUNC) != 0;
      int segment = truncated ? length : gro_segment_size(h, length);
      const uint8_t *bytes = r->gro_buffers + (size_t)i * GRO_MESSAGE_BYTES;
      for (int at = 0; at < length || (length == 0 && at == 0); at += segment > 0 ? segment : 1) {
        if (filled == r->capacity) {
          deliver(r, filled);
          filled = 0;
          if (r->stopped) return;
        }
        int size = length - at < segment ? length - at : segment;
        if (truncated || size > RECEIVE_SLOT_BYTES) {
          r->meta[filled * RECEIVE_META_INTS] = -1;
        } else {
          memcpy(r->arena + (size_t)filled * RECEIVE_SLOT_BYTES, bytes + at, (size_t)size);
          r->meta[filled * RECEIVE_META_INTS] = size;
        }
        record_source(r, filled, &r->from[i]);
        filled++;
        if (truncated || length == 0) break;
      }
    }
    if (filled > 0) deliver(r, filled);
    if (n < GRO_MESSAGES) return;
  }
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  Receiver *r = (Receiver *)poll->data;
  (void)events;
  if (status < 0) {
    /* libuv stops a poll on POLLERR, which a UDP socket raises for a queued ICMP error (a
       connected peer's closed port). Collect the error as dgram would, and keep polling. */
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) deliver(r, -err);
    if (!r->stopped) uv_poll_start(&r->poll, UV_READABLE, on_readable);
    return;
  }
  if (r->gro_buffers != NULL) {
    read_gro(r);
    return;
  }
  for (int round = 0; round < RECEIVE_ROUNDS && !r->stopped; round++) {
    for (int i = 0; i < r->capacity; i++) prepare_message(r, i, r->arena + (size_t)i * RECEIVE_SLOT_BYTES, RECEIVE_SLOT_BYTES, NULL, 0);
    int n = recvmmsg(r->fd, r->messages, (unsigned)r->capacity, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      /* An ICMP error queued on the socket (a connected peer's port closed): the caller hears
         of it as dgram's 'error' would tell it. */
      deliver(r, -errno);
      continue;
    }
    for (int i = 0; i < n; i++) {
      r->meta[i * RECEIVE_META_INTS] = (r->messages[i].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int32_t)r->messages[i].msg_len;
      record_source(r, i, &r->from[i]);
    }
    if (n > 0) deliver(r, n);
    if (n < r->capacity) return;
  }
}

/*
 * startReceiving(fd, arena: Uint8Array, meta: Int32Array, addresses: Uint8Array, callback) -> handle
 *
 * Polls `fd` and reads datagrams into `arena` (RECEIVE_SLOT_BYTES each, as many as it holds),
 * their length, source port and family into `meta` and their source into `addresses` (slots as
 * encodeAddress fills them), then calls callback(count); callback(-errno) for a socket error. The
 * arena is reused by the next read: the callback copies what it keeps.
 */
static napi_value start_receiving(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  uint8_t *arena, *addresses;
  int32_t *meta;
  size_t arena_len, meta_len, addresses_len;
  napi_valuetype callback_type = napi_undefined;
  if (argc < 5 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      !typed_array(env, argv[1], napi_uint8_array, (void **)&arena, &arena_len) ||
      !typed_array(env, argv[2], napi_int32_array, (void **)&meta, &meta_len) ||
      !typed_array(env, argv[3], napi_uint8_array, (void **)&addresses, &addresses_len) ||
      napi_typeof(env, argv[4], &callback_type) != napi_ok || callback_type != napi_function) {
    throw_type(env, "startReceiving(fd, arena, meta, addresses, callback)");
    return NULL;
  }
  size_t capacity = arena_len / RECEIVE_SLOT_BYTES;
  if (meta_len / RECEIVE_META_INTS < capacity) capacity = meta_len / RECEIVE_META_INTS;
  if (addresses_len / ADDRESS_SLOT_BYTES < capacity) capacity = addresses_len / ADDRESS_SLOT_BYTES;
  if (capacity == 0 || capacity > 1024) {
    throw_type(env, "startReceiving: the arena must hold 1 to 1024 datagrams");
    return NULL;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
  Receiver *r = calloc(1, sizeof(Receiver));
  if (r != NULL) {
    r->messages = calloc(capacity, sizeof(struct mmsghdr));
    r->iov = calloc(capacity, sizeof(struct iovec));
    r->from = calloc(capacity, sizeof(struct sockaddr_storage));
  }
  if (r == NULL || r->messages == NULL || r->iov == NULL || r->from == NULL) {
    if (r != NULL) {
      free(r->messages);
      free(r->iov);
      free(r->from);
      free(r);
    }
    napi_throw_error(env, NULL, "startReceiving: out of memory");
    return NULL;
  }
  /* GRO needs room for its messages; without it (an old kernel, no memory) the plain reader runs. */
  int one = 1;
  if (capacity >= GRO_MESSAGES && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0) {
    r->gro_buffers = malloc((size_t)GRO_MESSAGES * GRO_MESSAGE_BYTES);
    r->gro_control = calloc(GRO_MESSAGES, sizeof(*r->gro_control));
    if (r->gro_buffers == NULL || r->gro_control == NULL) {
      free(r->gro_buffers);
      free(r->gro_control);
      r->gro_buffers = NULL;
      r->gro_control = NULL;
      int zero = 0;
      setsockopt(fd, SOL_UDP, UDP_GRO, &zero, sizeof(zero));
    }
  }
  r->env = env;
  r->fd = fd;
  r->capacity = (int)capacity;
  r->arena = arena;
  r->meta = meta;
  r->addresses = addresses;
  napi_create_reference(env, argv[1], 1, &r->arena_ref);
  napi_create_reference(env, argv[2], 1, &r->meta_ref);
  napi_create_reference(env, argv[3], 1, &r->addresses_ref);
  napi_create_reference(env, argv[4], 1, &r->callback_ref);
  napi_value name;
  napi_create_string_utf8(env, "bering:udp-receive", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &r->context);
  r->poll.data = r;
  napi_value handle;
  napi_create_external(env, r, receiver_released, NULL, &handle);
  int err = uv_poll_init(loop, &r->poll, fd);
  int polling = err == 0;
  if (err == 0) err = uv_poll_start(&r->poll, UV_READABLE, on_readable);
  if (err != 0) {
    receiver_stop(env, r, polling);
    napi_throw_error(env, NULL, uv_strerror(err));
    return NULL;
  }
  return handle;
}

/* stopReceiving(handle): stops polling and lets go of the arena and callback. Call it before the
   socket closes; calling it twice does nothing. */
static napi_value stop_receiving(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Receiver *r;
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&r) != napi_ok || r == NULL) {
    throw_type(env, "stopReceiving(handle)");
    return NULL;
  }
  if (!r->stopped) receiver_stop(env, r, 1);
  return NULL;
}

/* formatAddress(addresses: Uint8Array, slot) -> string: the address of a slot as Node writes it. */
static napi_value format_address(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *slots;
  size_t slots_len;
  int32_t slot;
  if (argc < 2 || !typed_array(env, argv[0], napi_uint8_array, (void **)&slots, &slots_len) ||
      napi_get_value_int32(env, argv[1], &slot) != napi_ok || slot < 0 ||
      ((size_t)slot + 1) * ADDRESS_SLOT_BYTES > slots_len) {
    throw_type(env, "formatAddress(addresses, slot)");
    return NULL;
  }
  const uint8_t *s = slots + (size_t)slot * ADDRESS_SLOT_BYTES;
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = "";
  if (s[0] == 4) inet_ntop(AF_INET, s + 4, text, sizeof(text));
  else if (s[0] == 6) {
    inet_ntop(AF_INET6, s + 4, text, INET6_ADDRSTRLEN);
    uint32_t scope;
    memcpy(&scope, s + 20, 4);
    char zone[IF_NAMESIZE];
    if (scope != 0 && if_indextoname(scope, zone) != NULL) {
      strcat(text, "%");
      strcat(text, zone);
    }
  }
  napi_value r;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &r);
  return r;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sendBatch", NULL, send_batch, NULL, NULL, NULL, napi_default, NULL},
      {"encodeAddress", NULL, encode_address, NULL, NULL, NULL, napi_default, NULL},
      {"startReceiving", NULL, start_receiving, NULL, NULL, NULL, napi_default, NULL},
      {"stopReceiving", NULL, stop_receiving, NULL, NULL, NULL, napi_default, NULL},
      {"formatAddress", NULL, format_address, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
