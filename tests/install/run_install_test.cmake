# cmake -DZCOAP_BUILD_DIR=.. -DZCOAP_SOURCE_DIR=.. -DCONSUMER_DIR=.. -DWORK_DIR=.. \
#       -DC_COMPILER=.. -DC_FLAGS=.. -DGENERATOR=.. -P run_install_test.cmake
cmake_minimum_required(VERSION 3.25) # policies for this -P script

# Runs a command; stops the test with its output if it fails.
function(run what)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${what} failed (${rc}):\n${ARGN}\n${out}")
    endif()
    message(STATUS "${what}: ok")
    set(run_output "${out}" PARENT_SCOPE)
endfunction()

# Runs a consumer program and checks what it prints.
function(check_consumer what exe)
    run("${what}: run" "${exe}")
    if(NOT run_output MATCHES "parsed CON GET mid=0x1234")
        message(FATAL_ERROR "${what}: unexpected output:\n${run_output}")
    endif()
endfunction()

set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

run("install" "${CMAKE_COMMAND}" --install "${ZCOAP_BUILD_DIR}" --prefix "${prefix}")
foreach(header zcoap/zcoap.h zcoap/msg.h zcoap/uv.h)
    if(NOT EXISTS "${prefix}/include/${header}")
        message(FATAL_ERROR "install: ${header} missing under ${prefix}/include")
    endif()
endforeach()

set(common_args -G "${GENERATOR}" "-DCMAKE_C_COMPILER=${C_COMPILER}" "-DCMAKE_C_FLAGS=${C_FLAGS}")

# (a) find_package(zcoap) against the installed tree.
run("find_package: configure" "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${WORK_DIR}/pkg"
    ${common_args} "-DCMAKE_PREFIX_PATH=${prefix}")
run("find_package: build" "${CMAKE_COMMAND}" --build "${WORK_DIR}/pkg")
check_consumer("find_package" "${WORK_DIR}/pkg/zcoap_consumer")

# (b) pkg-config, with nothing but the compiler.
file(GLOB_RECURSE pc_files "${prefix}/zcoap-uv.pc")
if(NOT pc_files)
    message(FATAL_ERROR "pkg-config: zcoap-uv.pc not installed under ${prefix}")
endif()
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir "${pc_file}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
run("pkg-config" pkg-config --cflags --libs zcoap-uv zcoap)
string(STRIP "${run_output}" pc_flags)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
separate_arguments(c_flags UNIX_COMMAND "${C_FLAGS}")
run("pkg-config: compile" "${C_COMPILER}" -std=c11 ${c_flags} "${CONSUMER_DIR}/main.c"
    -o "${WORK_DIR}/zcoap_consumer_pc" ${pc_flags})
check_consumer("pkg-config" "${WORK_DIR}/zcoap_consumer_pc")

# (c) add_subdirectory on the source tree: tests, examples and benchmarks default to off there.
run("add_subdirectory: configure" "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${WORK_DIR}/sub"
    ${common_args} "-DZCOAP_SOURCE_DIR=${ZCOAP_SOURCE_DIR}")
run("add_subdirectory: build" "${CMAKE_COMMAND}" --build "${WORK_DIR}/sub" --parallel 2)
check_consumer("add_subdirectory" "${WORK_DIR}/sub/zcoap_consumer")
