# Rewrites INPUT with brine (REWRITE tool) into OUTPUT, then checks OUTPUT against INPUT with the
# Python checker. -DREWRITE= -DPYTHON= -DCHECKER= -DINPUT= -DOUTPUT= [-DFLAGS=a;b]
cmake_minimum_required(VERSION 3.16)
file(REMOVE "${OUTPUT}")
execute_process(COMMAND "${REWRITE}" "${INPUT}" "${OUTPUT}" RESULT_VARIABLE code)
if(NOT code EQUAL 0)
    message(FATAL_ERROR "brine could not rewrite ${INPUT} (exit ${code})")
endif()
execute_process(COMMAND "${PYTHON}" "${CHECKER}" ${FLAGS} "${INPUT}" "${OUTPUT}" RESULT_VARIABLE code)
if(NOT code EQUAL 0)
    message(FATAL_ERROR "the rewritten archive failed the independent checks (exit ${code})")
endif()
