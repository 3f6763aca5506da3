/*
 * src/cli/input.h: reading one record from a file or standard input, as
 * binary or as hex or base64 text.
 */
#ifndef RS_CLI_INPUT_H
#define RS_CLI_INPUT_H

#include <stddef.h>
#include <stdint.h>

typedef enum cli_input_format {
  CLI_INPUT_BINARY = 0,
  CLI_INPUT_HEX = 1,
  CLI_INPUT_BASE64 = 2
} cli_input_format;

/**
 * Reads a whole file, or standard input when @p path is NULL or "-", and
 * decodes it as @p format. Errors are printed, one line naming the input.
 *
 * @param[out] out the bytes, owned by the caller; free(). Set on success
 *        only; never NULL on success (an empty input gives a 1-byte buffer).
 * @param[out] len number of bytes
 * @param max_input inputs longer than this are refused (a usage error)
 * @return 0, CLI_EXIT_IO (cannot open or read; the message names the file
 *         and the system's reason), CLI_EXIT_USAGE (too long, or bad text:
 *         the message names the offset of the offending character)
 */
int cli_read_input(uint8_t **out, size_t *len, const char *cmd,
                   const char *path, cli_input_format format, size_t max_input);

/** How text decoding failed. */
typedef enum cli_text_error {
  CLI_TEXT_OK = 0,
  CLI_TEXT_BAD_CHAR = 1,   /**< a character outside the alphabet */
  CLI_TEXT_TRUNCATED = 2,  /**< the input ends in the middle of a byte */
  CLI_TEXT_BAD_PADDING = 3 /**< base64 '=' where it cannot be */
} cli_text_error;

/**
 * Decodes hex text, ignoring ASCII whitespace and a leading "\x" (psql's
 * text form of bytea), in place: the bytes are written to the start of
 * @p buf.
 *
 * @param[out] out_len number of decoded bytes
 * @param[out] bad_offset offset in @p buf of the offending character (for
 *        CLI_TEXT_TRUNCATED, of the unpaired digit)
 */
cli_text_error cli_hex_decode(uint8_t *buf, size_t len, size_t *out_len,
                              size_t *bad_offset);

/**
 * Decodes base64 (standard or URL-safe alphabet, padding optional),
 * ignoring ASCII whitespace, in place.
 */
cli_text_error cli_base64_decode(uint8_t *buf, size_t len, size_t *out_len,
                                 size_t *bad_offset);

#endif
