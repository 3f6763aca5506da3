#ifndef RS_VERIFY_SCAN_H
#define RS_VERIFY_SCAN_H
#endif
