# One test of brine_embed, run with cmake -P. Variables: EMBED, ARCH, MODEL, INPUT, and either
# COMPARE and EXPECTED (the outputs must agree with torch's, as embed_compare judges) or REFUSAL
# (a regular expression: the run must fail, print no outputs, and say why on stderr).
if(DEFINED COMPARE)
    # A pipe, so that a failing run of either program fails the test.
    execute_process(COMMAND ${EMBED} ${ARCH} ${MODEL} ${INPUT} COMMAND ${COMPARE} ${EXPECTED}
        RESULTS_VARIABLE codes ERROR_VARIABLE err)
    if(NOT codes STREQUAL "0;0")
        message(FATAL_ERROR "brine_embed ${ARCH} ${MODEL}: exit codes ${codes} (brine_embed;embed_compare)\n${err}")
    endif()
else()
    execute_process(COMMAND ${EMBED} ${ARCH} ${MODEL} ${INPUT}
        RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(code EQUAL 0 OR NOT out STREQUAL "" OR NOT err MATCHES "${REFUSAL}")
        message(FATAL_ERROR "brine_embed ${ARCH} ${MODEL}: expected a refusal matching '${REFUSAL}', "
            "got exit ${code}\nstdout:\n${out}\nstderr:\n${err}")
    endif()
    message(STATUS "refused as expected: ${err}")
endif()
