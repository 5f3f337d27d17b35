# Builds and runs the consumer program one way (MODE = find_package | add_subdirectory |
# single_header), or the program that replaces every policy slot (MODE = slots, against the
# installed package), in a fresh directory under WORK_DIR; fails on any step.
#   -DMODE=... -DBRINE_SOURCE_DIR=... -DBRINE_BUILD_DIR=... -DWORK_DIR=... -DCXX=...
cmake_minimum_required(VERSION 3.16)

function(run_step)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT code EQUAL 0)
        string(REPLACE ";" " " shown "${ARGN}")
        message(FATAL_ERROR "step failed (${code}): ${shown}\n${out}\n${err}")
    endif()
    message(STATUS "${out}")
endfunction()

set(consumers "${BRINE_SOURCE_DIR}/tests/consumers")
set(work "${WORK_DIR}/${MODE}")
file(REMOVE_RECURSE "${work}")
file(MAKE_DIRECTORY "${work}")

# Installs only the library component's files into a private prefix, then builds the project in
# `source` against it, as a user of the installed package would.
function(build_against_install source)
    set(prefix "${work}/prefix")
    run_step(${CMAKE_COMMAND} --install "${BRINE_BUILD_DIR}" --prefix "${prefix}")
    run_step(${CMAKE_COMMAND} -S "${source}" -B "${work}/build" -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${prefix})
    run_step(${CMAKE_COMMAND} --build "${work}/build")
endfunction()

if(MODE STREQUAL "find_package")
    build_against_install("${consumers}/find_package")
    run_step("${work}/build/consumer")
elseif(MODE STREQUAL "slots")
    build_against_install("${consumers}/slots")
    run_step("${work}/build/slots" "${BRINE_SOURCE_DIR}/tests/fixtures/torch" "${work}")
elseif(MODE STREQUAL "add_subdirectory")
    run_step(${CMAKE_COMMAND} -S "${consumers}/add_subdirectory" -B "${work}/build"
        -DCMAKE_CXX_COMPILER=${CXX} -DBRINE_SOURCE_DIR=${BRINE_SOURCE_DIR})
    run_step(${CMAKE_COMMAND} --build "${work}/build")
    run_step("${work}/build/consumer")
elseif(MODE STREQUAL "single_header")
    # The single header alone: one compiler command, no CMake, no include/ directory.
    file(COPY "${BRINE_SOURCE_DIR}/single_include/brine/brine.hpp" DESTINATION "${work}/vendor/brine")
    run_step(${CXX} -std=c++17 -O1 -Wall -Wextra -Wpedantic -Werror -I "${work}/vendor"
        "${consumers}/consumer.cpp" -o "${work}/consumer")
    run_step("${work}/consumer")
else()
    message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
