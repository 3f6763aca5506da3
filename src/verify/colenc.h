/*
 * src/verify/colenc.h: column encodings, how a column holds a record's
 * bytes: as they are (binary), or as base64 or hex text.
 *
 * This is neither a database matter nor a protobuf one, so it lives apart
 * from both: the adapters (src/store) hand out and take the column's stored
 * value as it is, text or bytes, and the codec sees only record bytes. The
 * scan and fix engines turn one into the other here, at the edge between
 * the two; `inspect` uses the same decoding for the text it is given.
 *
 * Decoding accepts every variant of an encoding and says which one a value
 * used (colenc_variant), so that a value written back (a fix) takes the
 * same form as the value it replaces: base64 with the standard or the
 * URL-safe alphabet, padded or not; hex with or without psql's leading
 * "\x", in upper or lower case. Internal to the CLI.
 */
#ifndef RS_VERIFY_COLENC_H
#define RS_VERIFY_COLENC_H

#include <stddef.h>
#include <stdint.h>

typedef enum colenc_kind {
  COLENC_BINARY = 0, /**< the column holds the record bytes themselves */
  COLENC_BASE64 = 1, /**< base64 text (RFC 4648 sections 4 and 5) */
  COLENC_HEX = 2     /**< hex text, two digits a byte */
} colenc_kind;

/** The form of one encoded value, as decoding found it. */
typedef struct colenc_variant {
  colenc_kind kind;
  /** base64: the URL-safe alphabet ('-' and '_' for 62 and 63). */
  unsigned url_safe : 1;
  /** base64: ends in '=' padding to a multiple of four characters. */
  unsigned padded : 1;
  /** hex: starts with "\x", as PostgreSQL writes bytea. */
  unsigned prefix : 1;
  /** hex: upper-case digits A-F. */
  unsigned upper : 1;
} colenc_variant;

/*
 * Where a value says nothing of a trait (no character 62 or 63, a length
 * that needs no padding, no digit above 9), decoding reports the default
 * form: standard alphabet, padded, lower case. Writing such a value back
 * in that form changes nothing its readers can tell, except when they
 * insist on one alphabet or on no padding while the value never showed it.
 */

/** "binary", "base64", "hex"; NULL for an unknown kind. */
const char *colenc_name(colenc_kind kind);

/** Sets *out to the kind named @p name. 0, or -1 for an unknown name. */
int colenc_from_name(const char *name, colenc_kind *out);

/** Why a value does not decode: one line, and the offset it names. */
typedef struct colenc_error {
  size_t offset;
  char message[128];
} colenc_error;

/** The most bytes a value of @p len characters decodes to. */
size_t colenc_decoded_max(colenc_kind kind, size_t len);

/**
 * Decodes one stored value. @p out holds at least colenc_decoded_max()
 * bytes and never overlaps @p in. No whitespace or line breaks are taken:
 * a stored value is one token.
 *
 * @param[out] out_len the number of decoded bytes
 * @param[out] variant the form the value used (may be NULL)
 * @param err filled on failure, e.g. "not base64: invalid character '!'
 *        at offset 12" (may be NULL)
 * @return 0, or -1 when the value is not in @p kind's form
 */
int colenc_decode(colenc_kind kind, const uint8_t *in, size_t len, uint8_t *out,
                  size_t *out_len, colenc_variant *variant, colenc_error *err);

/** The length of @p len bytes encoded in @p variant's form. */
size_t colenc_encoded_len(const colenc_variant *variant, size_t len);

/**
 * Encodes @p len bytes in @p variant's form into @p out, which holds
 * colenc_encoded_len() bytes (no NUL is added).
 * @return the number of characters written
 */
size_t colenc_encode(const colenc_variant *variant, const uint8_t *in,
                     size_t len, uint8_t *out);

#endif
