/*
 * src/report/json_verdict.h: provenance, errors, verdicts and conversion
 * reports as JSON, for every command that reports on records.
 *
 * Every function returns a new reference owned by the caller (json_decref),
 * or NULL when out of memory. Keys come in a fixed order.
 */
#ifndef RS_REPORT_JSON_VERDICT_H
#define RS_REPORT_JSON_VERDICT_H

#include <jansson.h>
#include <rollsafe/rollsafe.h>

/**
 * {"flag_key","variant","writer_id","write_time","write_time_us"}: strings
 * not recorded are null; write_time is RFC 3339 UTC with microseconds, null
 * when the time is unknown (0) or not representable.
 */
json_t *rs__json_provenance(const rs_provenance *provenance);

/** {"code": rs_error_name, "message", "offset"}; offset omitted when none. */
json_t *rs__json_error(const rs_error *err);

/**
 * {"reader_version", ["reader_framing",] "verdict", "reasons":
 * [{"verdict","code","path","field","offset","text"}], "reasons_omitted"}; a
 * reason's offset is omitted when it has none.
 *
 * @param reader_framing "raw" or "envelope", or NULL to leave it out
 */
json_t *rs__json_verdict(const rs_classification *classification,
                         const char *reader_framing);

/** [{"kind","path","field","text"}] for the losses of a conversion (NULL: []).
 */
json_t *rs__json_losses(const rs_conversion *conversion);

#endif
