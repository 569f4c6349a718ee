/*
 * Batched UDP sends for bering's relays: many datagrams per system call (sendmmsg), and runs of
 * equal-sized datagrams to one address as a single GSO send (UDP_SEGMENT) where the kernel takes
 * it. Node's dgram makes one sendmsg per datagram; on this project's 2-core hosts that call was
 * 46% of a sending relay's CPU (loopback, profiled), and the per-call cost, not the bytes, is
 * what dominates it: 4.4 us of sender CPU per 1320-byte datagram alone, 1.1 in batches of 32,
 * 0.34 with GSO (a C loop on loopback, this project's 2-core host).
 *
 * It writes on the file descriptor of a socket Node's dgram already owns and reads from, so
 * receiving, binding and closing stay Node's. Everything is synchronous and nothing is kept
 * between calls: the caller's buffers are free again when a call returns.
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
#include <sys/socket.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
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

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sendBatch", NULL, send_batch, NULL, NULL, NULL, napi_default, NULL},
      {"encodeAddress", NULL, encode_address, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
