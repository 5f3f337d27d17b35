# Settings that change types change the inline namespace (config.hpp): two translation units built
# with the same settings link; built with different BRINE_CALLER_ARENA or BRINE_HAS_THREADS they
# do not (an undefined symbol), rather than running with mismatched layouts.
#   cmake -DCXX=... -DINCLUDE=... -DDIR=... -DWORK=... -P run_abi_mismatch.cmake
file(MAKE_DIRECTORY ${WORK})
function(link_pair name define_flags call_flags expect_success)
    separate_arguments(define_flags)
    separate_arguments(call_flags)
    execute_process(COMMAND ${CXX} -std=c++17 -I${INCLUDE} ${define_flags} -c ${DIR}/define.cpp -o ${WORK}/${name}_define.o
        RESULT_VARIABLE a)
    execute_process(COMMAND ${CXX} -std=c++17 -I${INCLUDE} ${call_flags} -c ${DIR}/call.cpp -o ${WORK}/${name}_call.o
        RESULT_VARIABLE b)
    if(NOT a EQUAL 0 OR NOT b EQUAL 0)
        message(FATAL_ERROR "${name}: the translation units do not compile")
    endif()
    execute_process(COMMAND ${CXX} ${WORK}/${name}_define.o ${WORK}/${name}_call.o -o ${WORK}/${name}
        RESULT_VARIABLE linked ERROR_VARIABLE err)
    if(expect_success AND NOT linked EQUAL 0)
        message(FATAL_ERROR "${name}: same settings must link:\n${err}")
    endif()
    if(NOT expect_success AND linked EQUAL 0)
        message(FATAL_ERROR "${name}: different settings linked; they must not")
    endif()
    if(NOT expect_success AND NOT err MATCHES "abi_marker")
        message(FATAL_ERROR "${name}: the link failed for another reason:\n${err}")
    endif()
endfunction()
link_pair(same "" "" TRUE)
link_pair(same_arena "-DBRINE_CALLER_ARENA=1" "-DBRINE_CALLER_ARENA=1" TRUE)
link_pair(arena "" "-DBRINE_CALLER_ARENA=1" FALSE)
link_pair(threads "" "-DBRINE_HAS_THREADS=0" FALSE)
link_pair(both "-DBRINE_CALLER_ARENA=1" "-DBRINE_HAS_THREADS=0" FALSE)
