/*
 * ChaCha20-Poly1305 (RFC 8439) for bering's Data packets through the OpenSSL that Node itself
 * carries, with one cipher context per key kept for the key's life.
 *
 * Why: sealing and opening were the largest single cost of a relay at the loopback ceiling (18%
 * of each relay's busy time). libsodium (sodium-native) takes 2.4 us per 1320-byte packet on this
 * project's 2-core host; OpenSSL's assembly for the same cipher runs the bytes in ~0.7 us
 * (`openssl speed -evp chacha20-poly1305 -bytes 1320`), and node:crypto cannot reach it from JS
 * without a cipher object per packet (13.2 us). The same algorithm, so nothing changes on the wire.
 *
 * No OpenSSL is linked here: the symbols resolve against the running node, which exports its
 * OpenSSL for addons (a node built against a shared libcrypto has it loaded just the same).
 *
 * Build: native/build.sh. Loaded by src/wire/aead.ts, which falls back to libsodium, then
 * node:crypto, when this module is missing or does not load.
 */
#include <node_api.h>
#include <openssl/evp.h>
#include <stdint.h>

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16

static void throw_type(napi_env env, const char *msg) { napi_throw_type_error(env, NULL, msg); }

static int bytes_of(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  return napi_get_typedarray_info(env, value, &type, length, (void **)data, &buffer, &offset) == napi_ok && type == napi_uint8_array;
}

static void free_context(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  EVP_CIPHER_CTX_free((EVP_CIPHER_CTX *)data);
}

/*
 * createContext(key: Uint8Array(32), forSealing: boolean) -> external
 *
 * A context bound to the key, one direction; freed when the external is collected.
 */
static napi_value create_context(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *key;
  size_t key_len;
  bool sealing;
  if (argc < 2 || !bytes_of(env, argv[0], &key, &key_len) || key_len != KEY_LEN || napi_get_value_bool(env, argv[1], &sealing) != napi_ok) {
    throw_type(env, "createContext(key: Uint8Array(32), forSealing: boolean)");
    return NULL;
  }
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int ok = ctx != NULL && (sealing ? EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, NULL)
                                   : EVP_DecryptInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, NULL)) == 1;
  napi_value result;
  if (!ok || napi_create_external(env, ctx, free_context, NULL, &result) != napi_ok) {
    EVP_CIPHER_CTX_free(ctx);
    napi_throw_error(env, NULL, "could not set up a ChaCha20-Poly1305 context");
    return NULL;
  }
  return result;
}

/* The context and four byte arrays of a seal or open call; 0 (with a JS exception) if malformed. */
static int call_args(napi_env env, napi_callback_info info, EVP_CIPHER_CTX **ctx, uint8_t **out, size_t *out_len, uint8_t **in, size_t *in_len,
                     uint8_t **ad, size_t *ad_len, uint8_t **nonce) {
  size_t argc = 5;
  napi_value argv[5];
  size_t nonce_len;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5 || napi_get_value_external(env, argv[0], (void **)ctx) != napi_ok || !bytes_of(env, argv[1], out, out_len) ||
      !bytes_of(env, argv[2], in, in_len) || !bytes_of(env, argv[3], ad, ad_len) || !bytes_of(env, argv[4], nonce, &nonce_len) ||
      nonce_len != NONCE_LEN || *ad_len > INT32_MAX || *in_len > INT32_MAX) {
    throw_type(env, "(context, out: Uint8Array, in: Uint8Array, ad: Uint8Array, nonce: Uint8Array(12))");
    return 0;
  }
  return 1;
}

/*
 * seal(context, out, plain, ad, nonce) -> undefined
 *
 * Writes the ciphertext of `plain` and then its tag into `out`, which must be exactly
 * plain.length + 16 bytes and must not overlap `plain` other than exactly.
 */
static napi_value seal(napi_env env, napi_callback_info info) {
  EVP_CIPHER_CTX *ctx;
  uint8_t *out, *plain, *ad, *nonce;
  size_t out_len, plain_len, ad_len;
  if (!call_args(env, info, &ctx, &out, &out_len, &plain, &plain_len, &ad, &ad_len, &nonce)) return NULL;
  if (out_len != plain_len + TAG_LEN) {
    throw_type(env, "seal: out must be plain.length + 16 bytes");
    return NULL;
  }
  int n, fin;
  if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 || EVP_EncryptUpdate(ctx, NULL, &n, ad, (int)ad_len) != 1 ||
      EVP_EncryptUpdate(ctx, out, &n, plain, (int)plain_len) != 1 || EVP_EncryptFinal_ex(ctx, out + n, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, out + plain_len) != 1) {
    napi_throw_error(env, NULL, "ChaCha20-Poly1305 sealing failed");
  }
  return NULL;
}

/*
 * open(context, out, sealed, ad, nonce) -> boolean
 *
 * Authenticates `sealed` (ciphertext then tag) and writes the plaintext into `out`, exactly
 * sealed.length - 16 bytes; `out` may be `sealed`'s own first bytes (decrypting in place). False
 * when authentication fails; `out` then holds garbage.
 */
static napi_value open_sealed(napi_env env, napi_callback_info info) {
  EVP_CIPHER_CTX *ctx;
  uint8_t *out, *sealed, *ad, *nonce;
  size_t out_len, sealed_len, ad_len;
  if (!call_args(env, info, &ctx, &out, &out_len, &sealed, &sealed_len, &ad, &ad_len, &nonce)) return NULL;
  bool ok = false;
  if (sealed_len >= TAG_LEN && out_len == sealed_len - TAG_LEN) {
    size_t cipher_len = sealed_len - TAG_LEN;
    int n, fin;
    ok = EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, sealed + cipher_len) == 1 &&
         EVP_DecryptUpdate(ctx, NULL, &n, ad, (int)ad_len) == 1 && EVP_DecryptUpdate(ctx, out, &n, sealed, (int)cipher_len) == 1 &&
         EVP_DecryptFinal_ex(ctx, out + n, &fin) == 1;
  }
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"createContext", NULL, create_context, NULL, NULL, NULL, napi_default, NULL},
      {"seal", NULL, seal, NULL, NULL, NULL, napi_default, NULL},
      {"open", NULL, open_sealed, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
