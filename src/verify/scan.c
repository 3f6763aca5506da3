/* src/verify/scan.c: the scan engine (being written). */
#include "verify/scan.h"
