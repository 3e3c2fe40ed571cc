# Runs one libFuzzer binary for a bounded time; used by the fuzz_run_* tests.
#   cmake -DFUZZER=... -DSEEDS=dir -DWORK_DIR=dir -DDICT=file -DSECONDS=n -P run_fuzzer.cmake
# The committed seeds are copied into WORK_DIR/corpus (in the build tree), which the fuzzer
# grows, so the repository is never modified and later runs start from what earlier ones found.
# Any crash, leak, timeout or failed property makes the fuzzer exit non-zero and this fail.
cmake_minimum_required(VERSION 3.25)

foreach(var FUZZER SEEDS WORK_DIR DICT SECONDS)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "run_fuzzer.cmake: -D${var}=... is required")
    endif()
endforeach()
if(DEFINED ENV{ZCOAP_FUZZ_SECONDS} AND NOT "$ENV{ZCOAP_FUZZ_SECONDS}" STREQUAL "")
    set(SECONDS "$ENV{ZCOAP_FUZZ_SECONDS}")
endif()

file(MAKE_DIRECTORY "${WORK_DIR}/corpus")
file(REMOVE_RECURSE "${WORK_DIR}/artifacts")
file(MAKE_DIRECTORY "${WORK_DIR}/artifacts")
file(GLOB seeds LIST_DIRECTORIES false "${SEEDS}/*")
if(NOT seeds)
    message(FATAL_ERROR "no seed files in ${SEEDS}")
endif()
file(COPY ${seeds} DESTINATION "${WORK_DIR}/corpus")

message(STATUS "fuzzing ${FUZZER} for ${SECONDS} s, corpus ${WORK_DIR}/corpus")
execute_process(
    COMMAND "${FUZZER}" -max_total_time=${SECONDS} -max_len=1500 -timeout=10
            -rss_limit_mb=2048 -print_final_stats=1 "-dict=${DICT}"
            "-artifact_prefix=${WORK_DIR}/artifacts/" "${WORK_DIR}/corpus"
    RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    file(GLOB found "${WORK_DIR}/artifacts/*")
    message(FATAL_ERROR "fuzzer failed (${rc}); inputs: ${found}\n"
                        "Reproduce with: ${FUZZER} <input>. Once fixed, add the input to "
                        "${SEEDS} so the replay test keeps it fixed.")
endif()
