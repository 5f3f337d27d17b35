# CLI checks: `brine sha256` agrees with coreutils' sha256sum on a real file, and an unreadable
# file exits 2 with a message. -DBRINE=<path> -DSAMPLE=<file>
cmake_minimum_required(VERSION 3.16)
execute_process(COMMAND "${BRINE}" sha256 "${SAMPLE}" RESULT_VARIABLE code OUTPUT_VARIABLE ours)
execute_process(COMMAND sha256sum "${SAMPLE}" OUTPUT_VARIABLE theirs)
string(SUBSTRING "${ours}" 0 64 ours)
string(SUBSTRING "${theirs}" 0 64 theirs)
if(NOT code EQUAL 0 OR NOT ours STREQUAL theirs)
    message(FATAL_ERROR "brine sha256 gave '${ours}' (exit ${code}), sha256sum '${theirs}'")
endif()
execute_process(COMMAND "${BRINE}" sha256 "${SAMPLE}.does-not-exist" RESULT_VARIABLE code ERROR_VARIABLE message)
if(NOT code EQUAL 2 OR NOT message MATCHES "io.open_failed")
    message(FATAL_ERROR "a missing file gave exit ${code}: ${message}")
endif()

# `brine dis`: a torch checkpoint lists clean (exit 0) with its globals allowed; a hostile pickle
# exits 1 with the refused global named on its line.
execute_process(COMMAND "${BRINE}" dis "${SAMPLE}" RESULT_VARIABLE code OUTPUT_VARIABLE listing)
if(NOT code EQUAL 0 OR NOT listing MATCHES "_rebuild_tensor_v2' +\\(allowed\\)" OR NOT listing MATCHES "0 finding")
    message(FATAL_ERROR "brine dis of the sample: exit ${code}\n${listing}")
endif()
execute_process(COMMAND "${BRINE}" dis "${HOSTILE}" RESULT_VARIABLE code OUTPUT_VARIABLE listing)
if(NOT code EQUAL 1 OR NOT listing MATCHES "refused: builtins\\.eval")
    message(FATAL_ERROR "brine dis of a hostile pickle: exit ${code}\n${listing}")
endif()
