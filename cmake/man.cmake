# man.cmake: one man page from the help text, through help2man. Script mode:
#   cmake -DROLLSAFE=BIN -DHELP2MAN=help2man -DWRAPPER=help2man-help.sh
#         -DVERSION=0.1.0 -DOUT=rollsafe-scan.1 [-DCOMMAND=scan]
#         -DDESCRIPTION="..." -DINCLUDE=rollsafe.h2m -P man.cmake
# The page of `rollsafe COMMAND` is rollsafe-COMMAND(1), its NAME line the
# command's summary in `rollsafe --help`; without COMMAND it is rollsafe(1)
# with DESCRIPTION and the sections of INCLUDE. Every page gets a SEE ALSO.
cmake_minimum_required(VERSION 3.18)

execute_process(COMMAND ${ROLLSAFE} --help OUTPUT_VARIABLE main_help
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "man.cmake: '${ROLLSAFE} --help' failed (${rc})")
endif()
# The commands and their summaries: "  NAME   summary" under "Commands:".
string(REGEX MATCH "Commands:\n(  [a-z][^\n]*\n)+" list "${main_help}")
string(REGEX MATCHALL "  [a-z][a-z-]* +[^\n]*" lines "${list}")
set(commands)
foreach(line ${lines})
  string(REGEX REPLACE "^  ([a-z-]+) +(.*)$" "\\1" name "${line}")
  string(REGEX REPLACE "^  ([a-z-]+) +(.*)$" "\\2" summary "${line}")
  list(APPEND commands ${name})
  set(summary_${name} "${summary}")
endforeach()

get_filename_component(dir ${OUT} DIRECTORY)
set(include_file ${OUT}.h2m)
if(COMMAND)
  if(NOT DEFINED summary_${COMMAND})
    message(FATAL_ERROR "man.cmake: '${COMMAND}' is not in the Commands of "
                        "'${ROLLSAFE} --help'")
  endif()
  set(name rollsafe-${COMMAND})
  set(description "${summary_${COMMAND}}")
  file(WRITE ${include_file} "[SEE ALSO]\n.BR rollsafe (1)\n")
else()
  set(name rollsafe)
  set(description "${DESCRIPTION}")
  set(see "")
  list(GET commands -1 last)
  foreach(c ${commands})
    if(c STREQUAL last)
      string(APPEND see ".BR rollsafe-${c} (1)\n")
    else()
      string(APPEND see ".BR rollsafe-${c} (1),\n")
    endif()
  endforeach()
  file(READ ${INCLUDE} extra)
  file(WRITE ${include_file} "${extra}\n[SEE ALSO]\n${see}")
endif()

execute_process(
  COMMAND ${CMAKE_COMMAND} -E env ROLLSAFE=${ROLLSAFE} RS_MAN_COMMAND=${COMMAND}
          ${HELP2MAN} --no-info --no-discard-stderr
          --version-string=${name}\ ${VERSION}
          "--name=${description}" --section=1 --manual=rollsafe
          --source=rollsafe\ ${VERSION} --include=${include_file}
          --output=${OUT}.tmp ${WRAPPER}
  RESULT_VARIABLE rc ERROR_VARIABLE err)
file(REMOVE ${include_file})
if(NOT rc EQUAL 0)
  file(REMOVE ${OUT}.tmp)
  message(FATAL_ERROR "man.cmake: help2man for ${name} failed: ${err}")
endif()
file(RENAME ${OUT}.tmp ${OUT})
