# zcoap_target_warnings(<target>): the project's warning set, per target (never global flags, so
# a consumer doing add_subdirectory(zcoap) keeps its own flags). -Werror when ZCOAP_WERROR is ON.
#
# Each flag is probed once with the current C compiler and dropped only if the compiler does not
# know it, so the same list works with gcc and clang.
include_guard(GLOBAL)
include(CheckCCompilerFlag)

set(ZCOAP_WARNING_FLAGS
    -Wall
    -Wextra
    -Wpedantic
    -Wshadow
    -Wconversion
    -Wsign-conversion
    -Wcast-qual
    -Wstrict-prototypes
    -Wmissing-prototypes
    -Wcast-align
    -Wpointer-arith
    -Wwrite-strings
    -Wundef
    -Wvla
    -Wformat=2
    -Wimplicit-fallthrough)

set(_zcoap_supported_warnings "")
foreach(flag IN LISTS ZCOAP_WARNING_FLAGS)
    string(MAKE_C_IDENTIFIER "ZCOAP_HAS_C_FLAG${flag}" var)
    check_c_compiler_flag("${flag}" ${var})
    if(${var})
        list(APPEND _zcoap_supported_warnings "${flag}")
    else()
        message(STATUS "zcoap: ${CMAKE_C_COMPILER_ID} lacks ${flag}, not used")
    endif()
endforeach()
set(ZCOAP_SUPPORTED_WARNING_FLAGS "${_zcoap_supported_warnings}"
    CACHE INTERNAL "Warning flags the C compiler accepts")
unset(_zcoap_supported_warnings)

function(zcoap_target_warnings tgt)
    target_compile_options(${tgt}
                           PRIVATE "$<$<COMPILE_LANGUAGE:C>:${ZCOAP_SUPPORTED_WARNING_FLAGS}>")
    if(ZCOAP_WERROR)
        target_compile_options(${tgt} PRIVATE $<$<COMPILE_LANGUAGE:C>:-Werror>)
    endif()
endfunction()
