//! bering FEC engine: systematic Reed-Solomon erasure code over GF(2^8), built for
//! wasm32-unknown-unknown with no dependencies (not even std).
//!
//! The code. Field GF(2^8) with reduction polynomial x^8+x^4+x^3+x^2+1 (0x11d). A group has k
//! data shards d_0..d_{k-1} and m repair shards p_0..p_{m-1}, all L bytes long; repair shard i is
//! p_i = sum_j C[i][j] * d_j, byte by byte, with the normalised Cauchy matrix
//!
//!   C[i][j] = ((k ^ j) * (k + i)) / (((k + i) ^ j) * k)      (i < m, j < k, k + m <= 255)
//!
//! where `^`, `*` and `/` are field operations and `k + i` is integer addition. It is the Cauchy
//! matrix 1 / (x_i + y_j) with x_i = k + i and y_j = j, its columns scaled so that row 0 is all
//! ones and its rows scaled so that column 0 is all ones. Scaling rows and columns keeps every
//! square submatrix of a Cauchy matrix invertible, so [I; C] is MDS: any k of the k + m shards
//! give back the data. Row 0 being all ones makes p_0 the plain XOR of the data.
//!
//! The ABI. Every pointer is an offset in this module's exported memory. The caller (the
//! TypeScript loader in src/fec) obtains an arena with `fec_alloc` and passes only offsets
//! inside it; every entry point checks its ranges against the arena and returns a negative
//! status instead of touching anything else, so a wrong argument can never overwrite the
//! tables, the stack or memory outside the arena.
//!
//! Two builds come from this one file: with `-C target-feature=+simd128` the multiply kernel is
//! the SIMD128 split-nibble one (two `i8x16.swizzle` lookups per 16 bytes and coefficient);
//! without it, a scalar kernel using a full 64 KiB multiplication table. A module containing any
//! SIMD instruction fails validation on an engine without SIMD, so the scalar build is a
//! separate file rather than a branch inside one module.

#![no_std]

#[cfg(target_feature = "simd128")]
use core::arch::wasm32::{
    u8x16_shr, u8x16_splat, u8x16_swizzle, v128, v128_and, v128_load, v128_store, v128_xor,
};

/// Negative statuses returned by the entry points. src/fec validates every argument first, so
/// it reports any of them as a bug (FecError `ENGINE`); test/fec/abi.test.ts pins the values.
const ERR_ARGS: i32 = -1;
const ERR_RANGE: i32 = -2;
const ERR_SINGULAR: i32 = -3;

/// Largest k + m: GF(2^8) has 256 elements and the Cauchy points x_i, y_j must be distinct.
const MAX_SHARDS: u32 = 255;
/// Largest shard length accepted by the kernel.
const MAX_LEN: u32 = 65536;
/// Largest erasure count: e <= min(k, m) and k + m <= 255.
const MAX_ERASED: usize = 127;
const PAGE: u32 = 65536;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Field tables, filled once by `init` (kept in .bss so the .wasm file stays small).
/// EXP is doubled so that EXP[LOG a + LOG b] needs no reduction modulo 255.
static mut EXP: [u8; 512] = [0; 512];
static mut LOG: [u8; 256] = [0; 256];
/// MUL[c * 256 + x] = c * x: the scalar kernel's table.
static mut MUL: [u8; 65536] = [0; 65536];
/// NIB[c * 32 + n] = c * n and NIB[c * 32 + 16 + n] = c * (n << 4), n < 16: split-nibble tables,
/// since c * x = c * (x & 15) ^ c * (x & 0xf0).
static mut NIB: [u8; 8192] = [0; 8192];
static mut READY: bool = false;
/// Scratch for decode-matrix construction: an e x 2e augmented matrix.
static mut WORK: [u8; MAX_ERASED * 2 * MAX_ERASED] = [0; MAX_ERASED * 2 * MAX_ERASED];
/// Arena bounds: [ARENA_LO, memory end). Zero until the first `fec_alloc`.
static mut ARENA_LO: u32 = 0;

fn init() {
    // SAFETY: wasm32-unknown-unknown is single-threaded; nothing else holds references.
    unsafe {
        if READY {
            return;
        }
        let mut x: u32 = 1;
        for i in 0..255 {
            EXP[i] = x as u8;
            EXP[i + 255] = x as u8;
            LOG[x as usize] = i as u8;
            x <<= 1;
            if x & 0x100 != 0 {
                x ^= 0x11d;
            }
        }
        for c in 0..256 {
            for v in 0..256 {
                MUL[c * 256 + v] = mul_log(c as u8, v as u8);
            }
            for n in 0..16 {
                NIB[c * 32 + n] = MUL[c * 256 + n];
                NIB[c * 32 + 16 + n] = MUL[c * 256 + (n << 4)];
            }
        }
        READY = true;
    }
}

fn mul_log(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        return 0;
    }
    // SAFETY: single-threaded reads of tables written once by `init`.
    unsafe { EXP[LOG[a as usize] as usize + LOG[b as usize] as usize] }
}

fn mul(a: u8, b: u8) -> u8 {
    // SAFETY: single-threaded read; indices are < 65536 by construction.
    unsafe { MUL[(a as usize) << 8 | b as usize] }
}

/// Multiplicative inverse; `a` must be non-zero.
fn inv(a: u8) -> u8 {
    // SAFETY: single-threaded reads; LOG[a] < 255 so the index is in range.
    unsafe { EXP[255 - LOG[a as usize] as usize] }
}

fn div(a: u8, b: u8) -> u8 {
    mul(a, inv(b))
}

/// Coefficient C[i][j] of the repair matrix (see the module comment).
fn cauchy(k: u32, i: u32, j: u32) -> u8 {
    let x = (k + i) as u8;
    let y = j as u8;
    let k8 = k as u8;
    div(mul(k8 ^ y, x), mul(x ^ y, k8))
}

/// True when [ptr, ptr + len) lies inside the arena. Lengths are u64 so that a block extent
/// like (n - 1) * stride + len cannot wrap around to a small number.
fn in_arena(ptr: u32, len: u64) -> bool {
    // SAFETY: single-threaded read.
    let lo = unsafe { ARENA_LO };
    let hi = (core::arch::wasm32::memory_size(0) as u64) * PAGE as u64;
    lo != 0 && ptr >= lo && ptr as u64 + len <= hi
}

/// Bytes spanned by `n` shards of `len` bytes spaced `stride` apart (n >= 1).
fn extent(n: u32, stride: u32, len: u32) -> u64 {
    (n as u64 - 1) * stride as u64 + len as u64
}

/// Grows memory by enough pages for `size` bytes and returns the offset of the new block
/// (page aligned), or 0 when memory cannot grow. Call rarely: blocks are never freed, so the
/// caller allocates its scratch once and reallocates only to grow it.
#[no_mangle]
pub extern "C" fn fec_alloc(size: u32) -> u32 {
    init();
    let pages = (size as u64 + PAGE as u64 - 1) / PAGE as u64;
    if pages == 0 || pages > u32::MAX as u64 / PAGE as u64 {
        return 0;
    }
    let old = core::arch::wasm32::memory_grow(0, pages as usize);
    if old == usize::MAX {
        return 0;
    }
    let base = (old as u32) * PAGE;
    // SAFETY: single-threaded write.
    unsafe {
        if ARENA_LO == 0 {
            ARENA_LO = base;
        }
    }
    base
}

/// Writes the m x k repair matrix C, row-major, at `out`. Returns 0 or a negative status.
#[no_mangle]
pub extern "C" fn fec_encode_matrix(k: u32, m: u32, out: u32) -> i32 {
    init();
    if k < 1 || m < 1 || k + m > MAX_SHARDS {
        return ERR_ARGS;
    }
    if !in_arena(out, (k * m) as u64) {
        return ERR_RANGE;
    }
    let out = out as *mut u8;
    for i in 0..m {
        for j in 0..k {
            // SAFETY: in_arena checked [out, out + k * m).
            unsafe { *out.add((i * k + j) as usize) = cauchy(k, i, j) };
        }
    }
    0
}

/// Builds the recovery matrix for one erasure pattern.
///
/// `rows` points at k shard indices, strictly ascending, each < k + m: the shards the caller
/// will feed in, in that order. The data indices absent from `rows` (ascending) are the erased
/// ones; their count e equals the number of repair indices in `rows`. Writes e rows of k
/// coefficients at `out` such that erased shard a = sum_p out[a][p] * input_p, and returns e,
/// or a negative status.
///
/// Solving only for the erased shards costs O(e^3 + e^2 k) instead of inverting a k x k matrix:
/// with K the received data indices, E the erased ones and R the repair rows used,
/// d_E = S^-1 p_R + S^-1 C[R][K] d_K where S = C[R][E] (addition is subtraction in GF(2^8)).
#[no_mangle]
pub extern "C" fn fec_decode_matrix(k: u32, m: u32, rows: u32, out: u32) -> i32 {
    init();
    if k < 1 || k + m > MAX_SHARDS {
        return ERR_ARGS;
    }
    if !in_arena(rows, k as u64) {
        return ERR_RANGE;
    }
    let rows = rows as *const u8;
    // SAFETY (for every read of `rows` below): in_arena checked [rows, rows + k).
    let row = |p: u32| unsafe { *rows.add(p as usize) } as u32;
    let mut erased = [0u8; MAX_ERASED];
    let mut repair = [0u8; MAX_ERASED];
    let mut e: usize = 0;
    let mut next_data = 0u32;
    for p in 0..k {
        let r = row(p);
        if r >= k + m || (p > 0 && r <= row(p - 1)) {
            return ERR_ARGS;
        }
        if r < k {
            while next_data < r {
                if e >= MAX_ERASED {
                    return ERR_ARGS;
                }
                erased[e] = next_data as u8;
                e += 1;
                next_data += 1;
            }
            next_data = r + 1;
        }
    }
    while next_data < k {
        if e >= MAX_ERASED {
            return ERR_ARGS;
        }
        erased[e] = next_data as u8;
        e += 1;
        next_data += 1;
    }
    let data_in = k as usize - e;
    for b in 0..e {
        let r = row((data_in + b) as u32);
        if r < k {
            return ERR_ARGS;
        }
        repair[b] = (r - k) as u8;
    }
    if !in_arena(out, e as u64 * k as u64) {
        return ERR_RANGE;
    }
    let w = e * 2;
    // SAFETY: single-threaded; WORK holds e x 2e <= MAX_ERASED x 2 MAX_ERASED bytes.
    let work = unsafe { &mut WORK[..e * w] };
    for a in 0..e {
        for b in 0..e {
            work[a * w + b] = cauchy(k, repair[a] as u32, erased[b] as u32);
            work[a * w + e + b] = (a == b) as u8;
        }
    }
    // Gauss-Jordan elimination on [S | I], leaving [I | S^-1].
    for col in 0..e {
        let pivot = match (col..e).find(|&r| work[r * w + col] != 0) {
            Some(r) => r,
            None => return ERR_SINGULAR,
        };
        if pivot != col {
            for c in 0..w {
                work.swap(pivot * w + c, col * w + c);
            }
        }
        let scale = inv(work[col * w + col]);
        for c in 0..w {
            work[col * w + c] = mul(work[col * w + c], scale);
        }
        for r in 0..e {
            let f = work[r * w + col];
            if r != col && f != 0 {
                for c in 0..w {
                    work[r * w + c] ^= mul(f, work[col * w + c]);
                }
            }
        }
    }
    let out = out as *mut u8;
    for a in 0..e {
        for p in 0..k as usize {
            let coef = if p >= data_in {
                work[a * w + e + (p - data_in)]
            } else {
                let j = row(p as u32);
                let mut s = 0u8;
                for b in 0..e {
                    s ^= mul(work[a * w + e + b], cauchy(k, repair[b] as u32, j));
                }
                s
            };
            // SAFETY: in_arena checked [out, out + e * k).
            unsafe { *out.add(a * k as usize + p) = coef };
        }
    }
    e as i32
}

/// The multiply-accumulate kernel behind both encoding and recovery:
/// dst_r = sum_j coef[r * n_in + j] * src_j for r < n_out, over `len` bytes, where shard j of
/// the source block starts at src + j * stride and output r at dst + r * stride.
/// Returns 0 or a negative status. Costs n_out * n_in * len multiply-adds.
#[no_mangle]
pub extern "C" fn fec_mul(
    coef: u32,
    n_out: u32,
    n_in: u32,
    src: u32,
    dst: u32,
    stride: u32,
    len: u32,
) -> i32 {
    init();
    if n_in < 1 || n_in > MAX_SHARDS || n_out > MAX_SHARDS || len > MAX_LEN || len > stride {
        return ERR_ARGS;
    }
    if n_out == 0 || len == 0 {
        return 0;
    }
    if !in_arena(coef, (n_out * n_in) as u64)
        || !in_arena(src, extent(n_in, stride, len))
        || !in_arena(dst, extent(n_out, stride, len))
    {
        return ERR_RANGE;
    }
    let s = Shards {
        n_in: n_in as usize,
        src: src as *const u8,
        stride: stride as usize,
        len: len as usize,
    };
    // SAFETY: all ranges were checked against the arena above.
    unsafe { kernel(coef as *const u8, n_out as usize, s, dst as *mut u8) };
    0
}

/// The source block of one `fec_mul` call.
#[derive(Clone, Copy)]
struct Shards {
    n_in: usize,
    src: *const u8,
    stride: usize,
    len: usize,
}

/// Scalar tail: bytes [from, len) of `rows` outputs starting at output row `r0`.
unsafe fn mul_scalar(coef: *const u8, r0: usize, rows: usize, s: Shards, dst: *mut u8, from: usize) {
    for r in r0..r0 + rows {
        let out = dst.add(r * s.stride);
        for x in from..s.len {
            *out.add(x) = 0;
        }
        for j in 0..s.n_in {
            let c = *coef.add(r * s.n_in + j) as usize;
            let table = MUL.as_ptr().add(c << 8);
            let input = s.src.add(j * s.stride);
            for x in from..s.len {
                *out.add(x) ^= *table.add(*input.add(x) as usize);
            }
        }
    }
}

#[cfg(not(target_feature = "simd128"))]
unsafe fn kernel(coef: *const u8, n_out: usize, s: Shards, dst: *mut u8) {
    mul_scalar(coef, 0, n_out, s, dst, 0);
}

/// SIMD kernel: output rows in groups of up to four, so each 16-byte input block is loaded and
/// split into nibbles once per group while the accumulators stay in registers.
#[cfg(target_feature = "simd128")]
unsafe fn kernel(coef: *const u8, n_out: usize, s: Shards, dst: *mut u8) {
    let mut r = 0;
    while r < n_out {
        match n_out - r {
            1 => mul_group::<1>(coef, r, s, dst),
            2 => mul_group::<2>(coef, r, s, dst),
            3 => mul_group::<3>(coef, r, s, dst),
            _ => mul_group::<4>(coef, r, s, dst),
        }
        r += 4;
    }
    let whole = s.len & !15;
    if whole < s.len {
        mul_scalar(coef, 0, n_out, s, dst, whole);
    }
}

#[cfg(target_feature = "simd128")]
#[inline(always)]
unsafe fn mul_group<const G: usize>(coef: *const u8, r0: usize, s: Shards, dst: *mut u8) {
    let mask = u8x16_splat(0x0f);
    let nib = NIB.as_ptr();
    let whole = s.len & !15;
    let mut off = 0;
    while off < whole {
        let mut acc = [u8x16_splat(0); G];
        for j in 0..s.n_in {
            let v = v128_load(s.src.add(j * s.stride + off) as *const v128);
            let lo = v128_and(v, mask);
            let hi = u8x16_shr(v, 4);
            for g in 0..G {
                let c = *coef.add((r0 + g) * s.n_in + j) as usize;
                // Row 0 and column 0 of the repair matrix are all ones: a plain XOR there
                // saves the lookups (about a fifth of the work for 10 + 3, half for 4 + 2).
                if c == 1 {
                    acc[g] = v128_xor(acc[g], v);
                } else {
                    let t = nib.add(c << 5);
                    let plo = u8x16_swizzle(v128_load(t as *const v128), lo);
                    let phi = u8x16_swizzle(v128_load(t.add(16) as *const v128), hi);
                    acc[g] = v128_xor(acc[g], v128_xor(plo, phi));
                }
            }
        }
        for g in 0..G {
            v128_store(dst.add((r0 + g) * s.stride + off) as *mut v128, acc[g]);
        }
        off += 16;
    }
}
