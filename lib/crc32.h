/*
 * crc32.h: CRC-32 (ISO-HDLC, zlib's crc32(): reflected polynomial
 * 0xEDB88320, pre- and post-inverted), the checksum of binlog events.
 * Internal.
 */
#ifndef CDC_CRC32_H
#define CDC_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc (0 to start) over p[0..n), like zlib's crc32(crc, p, n).
 * Uses carry-less multiplication where the CPU has it (x86-64 PCLMULQDQ,
 * in AVX encoding where there is AVX, on 256- or 512-bit registers where
 * there is VPCLMULQDQ, detected at run time), zlib otherwise. Thread-safe. */
uint32_t cdc__crc32(uint32_t crc, const void *p, size_t n);

/* The two paths, for tests: zlib's table-driven one, and the folding one
 * (which falls back to zlib when the CPU lacks the instructions, or off
 * x86-64). cdc__crc32_has_clmul() says which one the latter really ran. */
uint32_t cdc__crc32_portable(uint32_t crc, const void *p, size_t n);
uint32_t cdc__crc32_clmul(uint32_t crc, const void *p, size_t n);
int cdc__crc32_has_clmul(void);
/* The folding path in SSE encoding, which cdc__crc32_clmul leaves for
 * the AVX encoding of the same code where cdc__crc32_has_avx(); the same
 * fallback to zlib. */
uint32_t cdc__crc32_clmul_sse(uint32_t crc, const void *p, size_t n);
int cdc__crc32_has_avx(void);
/* The wide roads, bits 256 (VPCLMULQDQ with AVX2) or 512 (with
 * AVX-512F), which cdc__crc32_clmul takes for 128 bytes or more, resp.
 * 256, where the CPU has them: the road itself for such lengths, else
 * what cdc__crc32_clmul does. cdc__crc32_has_wide(bits) says whether the
 * CPU has it. */
uint32_t cdc__crc32_clmul_wide(int bits, uint32_t crc, const void *p, size_t n);
int cdc__crc32_has_wide(int bits);

#endif /* CDC_CRC32_H */
