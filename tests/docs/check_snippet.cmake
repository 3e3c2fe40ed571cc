# cmake -DDOC=page.md -DSOURCE=file.c -DMARKER=text -P check_snippet.cmake
#
# The first ``` code block after the line of DOC containing MARKER quotes SOURCE: every line of
# it, with /* comments */ removed and whitespace trimmed, must be a line of SOURCE (treated the
# same way), in the same order. So a page that walks through a compiled example cannot drift
# from it: change the example and this fails until the page follows.
foreach(var DOC SOURCE MARKER)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "check_snippet.cmake: -D${var}= missing")
    endif()
endforeach()

# Lines of a file, comments removed and trimmed, empty ones dropped. Semicolons (CMake's list
# separator) are replaced by a placeholder first.
function(code_lines text out_var)
    string(REPLACE ";" "<semicolon>" text "${text}")
    string(REPLACE "\n" ";" lines "${text}")
    set(result "")
    foreach(line IN LISTS lines)
        string(REGEX REPLACE "/\\*.*\\*/" "" line "${line}")
        string(STRIP "${line}" line)
        if(NOT line STREQUAL "")
            list(APPEND result "${line}")
        endif()
    endforeach()
    set(${out_var} "${result}" PARENT_SCOPE)
endfunction()

file(READ "${DOC}" doc_text)
string(FIND "${doc_text}" "${MARKER}" marker_at)
if(marker_at EQUAL -1)
    message(FATAL_ERROR "${DOC}: no line with \"${MARKER}\"")
endif()
string(SUBSTRING "${doc_text}" ${marker_at} -1 after_marker)
if(NOT after_marker MATCHES "```[^\n]*\n(.*)")
    message(FATAL_ERROR "${DOC}: no ``` code block after \"${MARKER}\"")
endif()
set(rest "${CMAKE_MATCH_1}")
string(FIND "${rest}" "\n```" fence_at)
string(SUBSTRING "${rest}" 0 ${fence_at} block)
code_lines("${block}" block_lines)

file(READ "${SOURCE}" source_text)
code_lines("${source_text}" source_lines)
list(LENGTH source_lines source_count)

# Each block line must match a source line after the one the previous block line matched.
set(next 0)
foreach(line IN LISTS block_lines)
    set(found -1)
    foreach(i RANGE ${next} ${source_count})
        if(i LESS source_count)
            list(GET source_lines ${i} candidate)
            if(candidate STREQUAL line)
                set(found ${i})
                break()
            endif()
        endif()
    endforeach()
    if(found EQUAL -1)
        string(REPLACE "<semicolon>" ";" line "${line}")
        message(FATAL_ERROR "${DOC}: this line of the snippet is not in ${SOURCE} "
                            "(in this order): ${line}")
    endif()
    math(EXPR next "${found} + 1")
endforeach()
list(LENGTH block_lines checked)
message(STATUS "${DOC}: ${checked} lines of the snippet found in ${SOURCE}")
