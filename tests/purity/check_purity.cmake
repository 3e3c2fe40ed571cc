# cmake -DNM=<nm> -DOBJDUMP=<objdump> -DCORE=<libzcoap> -DCANARY=<canary lib> -P check_purity.cmake
#
# Lists the symbols a library references (nm) and rejects the forbidden ones: the core must not
# allocate, print, touch sockets or read clocks (DESIGN §1), and must not know libuv. It also
# rejects writable global objects (objdump: objects in .data/.bss; tables of pointers in
# .data.rel.ro are read-only after relocation and fine): the core keeps no global state.
cmake_minimum_required(VERSION 3.25) # policies for this -P script

set(forbidden_exact
    # allocation
    malloc calloc realloc reallocarray free aligned_alloc posix_memalign memalign valloc
    # printf family and stdio output (gcc turns printf("x\n") into puts)
    printf fprintf sprintf snprintf vprintf vfprintf vsprintf vsnprintf dprintf vdprintf
    asprintf vasprintf puts fputs putchar fputc putc fwrite perror
    __printf_chk __fprintf_chk __sprintf_chk __snprintf_chk __vprintf_chk __vfprintf_chk
    __vsprintf_chk __vsnprintf_chk
    # sockets
    socket bind connect sendto recvfrom sendmsg recvmsg send recv
    # clocks
    clock_gettime gettimeofday time clock)

# Sets <out_var> to the sorted list of forbidden symbols found in <lib>.
function(find_forbidden lib out_var)
    execute_process(COMMAND "${NM}" "${lib}"
                    OUTPUT_VARIABLE listing ERROR_VARIABLE nm_err RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "nm failed on ${lib}: ${nm_err}")
    endif()
    string(REPLACE "\n" ";" lines "${listing}")
    set(found "")
    foreach(line IN LISTS lines)
        # "<addr> T name", "                 U name@GLIBC_2.2.5", "file.o:" headers
        if(NOT line MATCHES "^[0-9a-fA-F ]* ([A-Za-z]) ([^ @]+)")
            continue()
        endif()
        set(kind "${CMAKE_MATCH_1}")
        set(sym "${CMAKE_MATCH_2}")
        if(sym MATCHES "^uv_")
            list(APPEND found "${sym}") # any libuv symbol, referenced or defined
        elseif(kind STREQUAL "U" AND sym IN_LIST forbidden_exact)
            list(APPEND found "${sym}")
        endif()
    endforeach()
    list(REMOVE_DUPLICATES found)
    list(SORT found)
    set(${out_var} "${found}" PARENT_SCOPE)
endfunction()

# Appends "<name> (writable global)" to <out_var> for each object in a writable data section.
function(find_mutable_globals lib out_var)
    execute_process(COMMAND "${OBJDUMP}" -t "${lib}"
                    OUTPUT_VARIABLE listing ERROR_VARIABLE err RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "objdump failed on ${lib}: ${err}")
    endif()
    string(REPLACE "\n" ";" lines "${listing}")
    set(found "${${out_var}}")
    foreach(line IN LISTS lines)
        # "<addr> <7 flag chars> <section>\t<size> <name>"; flag O marks an object
        if(NOT line MATCHES "^[0-9a-fA-F]+ (.......) ([^ \t]+)[ \t]+[0-9a-fA-F]+ (.+)$")
            continue()
        endif()
        set(flags "${CMAKE_MATCH_1}")
        set(section "${CMAKE_MATCH_2}")
        set(name "${CMAKE_MATCH_3}")
        # Sanitizer and coverage instrumentation adds its own writable objects.
        if(name MATCHES "^(__odr_asan|_?__asan|__sancov|__llvm_|__profc|__profd)")
            continue()
        endif()
        if(flags MATCHES "O" AND section MATCHES "^(\\.(t?data|t?bss)|\\*COM\\*)"
           AND NOT section MATCHES "^\\.data\\.rel\\.ro")
            list(APPEND found "${name} (writable global)")
        endif()
    endforeach()
    set(${out_var} "${found}" PARENT_SCOPE)
endfunction()

# 1. The checker must catch each kind in the canary.
find_forbidden("${CANARY}" canary_found)
find_mutable_globals("${CANARY}" canary_found)
set(canary_expected clock_gettime malloc printf sendto uv_run
                    "purity_canary_calls (writable global)")
foreach(sym IN LISTS canary_expected)
    if(NOT sym IN_LIST canary_found)
        message(FATAL_ERROR "checker is broken: the canary's ${sym} was not detected "
                            "(found: ${canary_found})")
    endif()
endforeach()
message(STATUS "checker rejects the canary as expected: ${canary_found}")

# 2. The core must be clean.
find_forbidden("${CORE}" core_found)
find_mutable_globals("${CORE}" core_found)
if(core_found)
    message(FATAL_ERROR "core library ${CORE} breaks the purity rules: ${core_found}")
endif()
message(STATUS "core library is pure: no allocator, libuv, printing, socket or clock symbol, "
               "no writable global")
