# Man pages and bash completion of the rollsafe tool, generated at build
# time from the tool itself: the help text is the one source (help2man makes
# rollsafe(1) and rollsafe-COMMAND(1) of `rollsafe [COMMAND] --help`), the
# option tables say what completes (cmake/gen_completion.sh). Installed with
# the tool (component cli):
#   share/man/man1/rollsafe.1.gz, rollsafe-<command>.1.gz
#   share/bash-completion/completions/rollsafe
# RS_MAN=OFF builds neither (for a build machine without help2man).
option(RS_MAN "Generate man pages (help2man) and the bash completion" ON)
if(NOT RS_MAN OR NOT TARGET rollsafe_cli)
  return()
endif()
find_program(RS_HELP2MAN help2man)
if(NOT RS_HELP2MAN)
  message(FATAL_ERROR "help2man not found: it makes the man pages from the "
                      "help text. Install it (Debian: help2man) or configure "
                      "with -DRS_MAN=OFF.")
endif()

# The commands of `rollsafe --help`; tests/conventions checks that the two
# lists agree.
set(RS_CLI_COMMANDS inspect scan fix restore runs purge diff merge demo)

set(RS_MAN_DIR ${PROJECT_BINARY_DIR}/man)
set(RS_MAN_PAGES)
set(RS_MAN_PAGES_GZ)
foreach(cmd "" ${RS_CLI_COMMANDS})
  if(cmd STREQUAL "")
    set(page ${RS_MAN_DIR}/rollsafe.1)
  else()
    set(page ${RS_MAN_DIR}/rollsafe-${cmd}.1)
  endif()
  add_custom_command(
    OUTPUT ${page}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${RS_MAN_DIR}
    COMMAND ${CMAKE_COMMAND} -DROLLSAFE=$<TARGET_FILE:rollsafe_cli>
            -DHELP2MAN=${RS_HELP2MAN}
            -DWRAPPER=${PROJECT_SOURCE_DIR}/cmake/help2man-help.sh
            -DVERSION=${PROJECT_VERSION} -DOUT=${page} -DCOMMAND=${cmd}
            "-DDESCRIPTION=${PROJECT_DESCRIPTION}"
            -DINCLUDE=${PROJECT_SOURCE_DIR}/man/rollsafe.h2m
            -P ${PROJECT_SOURCE_DIR}/cmake/man.cmake
    DEPENDS rollsafe_cli ${PROJECT_SOURCE_DIR}/cmake/man.cmake
            ${PROJECT_SOURCE_DIR}/cmake/help2man-help.sh
            ${PROJECT_SOURCE_DIR}/man/rollsafe.h2m
    COMMENT "help2man ${page}"
    VERBATIM)
  list(APPEND RS_MAN_PAGES ${page})
  # Installed compressed, as Debian keeps man pages (-n: no name or time in
  # the gzip header, so the same page gives the same bytes).
  add_custom_command(
    OUTPUT ${page}.gz
    COMMAND gzip -9nkf ${page}
    DEPENDS ${page}
    VERBATIM)
  list(APPEND RS_MAN_PAGES_GZ ${page}.gz)
endforeach()

set(RS_COMPLETION ${PROJECT_BINARY_DIR}/completion/rollsafe)
add_custom_command(
  OUTPUT ${RS_COMPLETION}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/completion
  COMMAND sh ${PROJECT_SOURCE_DIR}/cmake/gen_completion.sh
          $<TARGET_FILE:rollsafe_cli> ${RS_COMPLETION}
  DEPENDS rollsafe_cli ${PROJECT_SOURCE_DIR}/cmake/gen_completion.sh
  COMMENT "bash completion of rollsafe"
  VERBATIM)

add_custom_target(rollsafe_docs ALL
  DEPENDS ${RS_MAN_PAGES} ${RS_MAN_PAGES_GZ} ${RS_COMPLETION})

install(FILES ${RS_MAN_PAGES_GZ} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        COMPONENT cli)
install(FILES ${RS_COMPLETION}
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        COMPONENT cli)
