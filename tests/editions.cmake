# Protobuf editions and extensions (tests/editions/): descriptor sets of
# `edition = "2023"` files, built with buf (npm @bufbuild/buf, installed by
# .ci/packages.sh's rs_install_buf under RS_NPM_PREFIX: Debian 12's protoc
# cannot compile editions), judged by rollsafe diff and scan against the
# proto2/proto3 files with the same wire meaning, which protoc compiles and
# real readers read: Python's protobuf, protoc-c generated C, and the C++,
# Java and Go readers of tests/differential/runtimes/ (test_runtimes.py's
# builders, from the Debian packages, in the work folder). A missing buf or
# a reader that cannot be built fails the test, never skips it.
if(TARGET rollsafe_cli)
  if(DEFINED ENV{RS_NPM_PREFIX})
    set(rs_npm_prefix $ENV{RS_NPM_PREFIX})
  else()
    set(rs_npm_prefix /var/cache/rollsafe/npm)
  endif()
  find_program(RS_BUF buf HINTS ${rs_npm_prefix}/node_modules/.bin
               NO_DEFAULT_PATH)
  find_program(RS_ED_PROTOC protoc REQUIRED)
  find_program(RS_ED_PROTOC_C protoc-c REQUIRED)
  find_program(RS_ED_CC NAMES cc gcc REQUIRED)
  # test_runtimes.py's builders run g++, go, java and javac by name.
  find_program(RS_ED_CXX g++ REQUIRED)
  find_program(RS_ED_GO go REQUIRED)
  find_program(RS_ED_JAVA java REQUIRED)
  find_program(RS_ED_JAVAC javac REQUIRED)
  add_test(NAME editions
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/editions/test_editions.py
            --rollsafe $<TARGET_FILE:rollsafe_cli>
            --buf ${RS_BUF}
            --protoc ${RS_ED_PROTOC} --protoc-c ${RS_ED_PROTOC_C}
            --cc ${RS_ED_CC}
            --work ${CMAKE_CURRENT_BINARY_DIR}/editions-work)
  set_tests_properties(editions PROPERTIES LABELS editions)
endif()
