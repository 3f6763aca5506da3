/*
 * src/report/format_version.h: the version of every JSON document rollsafe
 * prints (scan, fix, restore, runs, purge, diff, inspect, demo), their
 * "format_version" member. SARIF output has its own version and none of
 * ours.
 *
 * It goes up by one when a document changes incompatibly: a member renamed,
 * removed, or given another type or meaning, an enum value dropped. Adding
 * a member or a reason code does not change it (docs/reports.md). The
 * schemas of schema/json/ describe this version.
 */
#ifndef RS_REPORT_FORMAT_VERSION_H
#define RS_REPORT_FORMAT_VERSION_H

#define RS_REPORT_FORMAT_VERSION 1

#endif
