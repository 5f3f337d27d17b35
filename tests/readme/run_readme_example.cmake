# One README example test: the ```cpp block of README.md whose opening fence is on line LINE must
# compile against include/ with -std=c++17 -Wall -Wextra -Wpedantic -Werror (a consumer's flags,
# as in tests/consumers/), and a program must also link and exit 0.
#   cmake -DLINE=... -DSOURCE_DIR=<brine's checkout> -DCXX=... -DWORK=<scratch dir> -P run_readme_example.cmake
#
# What the test does with a block is read from the block itself, or from a marker: an HTML comment
# (hidden on GitHub) on the line right above the fence.
#
#   no marker                 namespace-scope code (types, functions, aliases): compiled as it is;
#                             a block with `int main` is a program: linked and run without arguments
#   <!-- readme-test: run ARGS -->
#                             a program, run with ARGS (space-separated; one starting with `tests/`
#                             names a file of the checkout) in an empty scratch directory
#   <!-- readme-test: then: STATEMENTS -->
#                             namespace-scope code, then STATEMENTS in a function after it: a use
#                             that instantiates what the block declares (an alias alone checks nothing)
#   <!-- readme-test: statements -->
#   <!-- readme-test: statements; given: DECLARATIONS -->
#                             the body of a function returning int; DECLARATIONS (C++, at namespace
#                             scope) declare what the block takes from the reader's own code, such as
#                             its input or its fail() handler; the block's # lines go above the function
#   <!-- readme-test: statements after the block above -->
#                             statements that go on from the previous ```cpp block (itself statements),
#                             in a nested scope of the same function, so they see its variables
#
# A block that includes nothing is compiled after #include <brine/brine.hpp>: the README shows that
# include once. Fragments (then/statements) are compiled with -Wno-unused-variable and
# -Wno-unused-but-set-variable, because a fragment stops where the reader's code would go on to use
# what it made. Every line is written under a #line directive naming README.md, so the compiler's
# errors point into the README.
cmake_minimum_required(VERSION 3.16)
include(${CMAKE_CURRENT_LIST_DIR}/readme_blocks.cmake)

foreach(required IN ITEMS LINE SOURCE_DIR CXX WORK)
    if(NOT DEFINED ${required})
        message(FATAL_ERROR "run_readme_example.cmake needs -D${required}=...")
    endif()
endforeach()

set(readme "${SOURCE_DIR}/README.md")
brine_readme_lines(lines "${readme}")
brine_readme_cpp_fences(fences lines)
list(FIND fences ${LINE} index)
if(index EQUAL -1)
    message(FATAL_ERROR "README.md:${LINE} no longer opens a ```cpp block (README.md changed since "
        "CMake registered this test): re-run cmake to register the blocks it has now")
endif()

# block_<fence>_code: the block's encoded lines; block_<fence>_marker: the marker's text or "".
function(read_block fence)
    set(number ${fence})
    set(code)
    while(TRUE)
        list(GET lines ${number} line)  # line number + 1: the list is 0-based
        math(EXPR number "${number} + 1")
        if(line MATCHES "^```[ \t]*$")  # the closing fence, as brine_readme_cpp_fences found it
            break()
        endif()
        list(APPEND code "${line}")
    endwhile()
    set(marker "")
    math(EXPR above "${fence} - 2")
    if(above GREATER_EQUAL 0)
        list(GET lines ${above} line)
        if(line MATCHES "^<!-- readme-test:(.*)-->[ \t]*$")
            string(STRIP "${CMAKE_MATCH_1}" marker)
            brine_readme_decode(marker "${marker}")  # its ';' separate its parts
        elseif(line MATCHES "readme-test")
            math(EXPR above "${fence} - 1")
            message(FATAL_ERROR "README.md:${above}: a readme-test marker must be one line, "
                "`<!-- readme-test: ... -->`, right above the ```cpp fence")
        endif()
    endif()
    set(block_${fence}_code "${code}" PARENT_SCOPE)
    set(block_${fence}_marker "${marker}" PARENT_SCOPE)
endfunction()

# Appends the encoded line `number` of the README to the variable named out, under a #line.
macro(append_readme_line out number text)
    string(APPEND ${out} "#line ${number} \"README.md\"\n${text}\n")
endmacro()

read_block(${LINE})
set(marker "${block_${LINE}_marker}")
set(code "${block_${LINE}_code}")
math(EXPR marker_line "${LINE} - 1")
set(given "")
set(then "")
set(args)
set(chain ${LINE})  # the statement blocks of one function, outermost first
if(marker STREQUAL "")
    set(kind namespace)
    if(code MATCHES "int main[ \t]*\\(")
        set(kind program)
    endif()
elseif(marker MATCHES "^run( (.*))?$")
    set(kind program)
    separate_arguments(args UNIX_COMMAND "${CMAKE_MATCH_2}")
elseif(marker MATCHES "^then:(.*)$")
    set(kind namespace)
    set(then "${CMAKE_MATCH_1}")
elseif(marker STREQUAL "statements after the block above")
    set(kind statements)
    set(fence ${LINE})
    while(block_${fence}_marker STREQUAL "statements after the block above")
        list(FIND fences ${fence} index)
        if(index EQUAL 0)
            message(FATAL_ERROR "README.md:${fence}: 'statements after the block above', but no "
                "```cpp block is above it")
        endif()
        math(EXPR index "${index} - 1")
        list(GET fences ${index} fence)
        read_block(${fence})
        if(NOT block_${fence}_marker MATCHES "^statements")
            message(FATAL_ERROR "README.md:${LINE}: 'statements after the block above', but the "
                "block above (line ${fence}) is not marked statements")
        endif()
        list(INSERT chain 0 ${fence})
    endwhile()
    if(block_${fence}_marker MATCHES "^statements; given:(.*)$")
        set(given "${CMAKE_MATCH_1}")
        math(EXPR marker_line "${fence} - 1")
    endif()
elseif(marker MATCHES "^statements(; given:(.*))?$")
    set(kind statements)
    set(given "${CMAKE_MATCH_2}")
else()
    message(FATAL_ERROR "README.md:${marker_line}: unknown readme-test marker '${marker}'; one of: "
        "'run ARGS', 'then: STATEMENTS', 'statements', 'statements; given: DECLARATIONS', "
        "'statements after the block above' (tests/readme/run_readme_example.cmake)")
endif()

# The translation unit: directives first, then <brine/brine.hpp> if the blocks include nothing,
# then the code (for statements: the given declarations and a function around the chain's bodies).
list(GET chain 0 outermost)
set(top "")
set(body "")
set(includes FALSE)
foreach(fence IN LISTS chain)
    set(number ${fence})
    if(NOT fence EQUAL outermost)  # a continuation: a nested scope
        string(APPEND body "{\n")
    endif()
    foreach(line IN LISTS block_${fence}_code)
        math(EXPR number "${number} + 1")
        if(line MATCHES "^[ \t]*#[ \t]*include")
            set(includes TRUE)
        endif()
        if(kind STREQUAL "statements" AND line MATCHES "^[ \t]*#")
            append_readme_line(top ${number} "${line}")
        else()
            append_readme_line(body ${number} "${line}")
        endif()
    endforeach()
endforeach()
if(NOT includes)
    string(APPEND top "#include <brine/brine.hpp>\n")
endif()
set(tu "${top}")
if(kind STREQUAL "statements")
    append_readme_line(tu ${marker_line} "${given}")
    string(APPEND tu "int readme_example() {\n${body}")
    foreach(fence IN LISTS chain)  # closes the continuations' scopes
        if(NOT fence EQUAL outermost)
            string(APPEND tu "}\n")
        endif()
    endforeach()
    string(APPEND tu "return 0;\n}\n")
else()
    string(APPEND tu "${body}")
    if(NOT then STREQUAL "")
        append_readme_line(tu ${marker_line} "int readme_then() {\n${then}\nreturn 0;\n}")
    endif()
endif()
brine_readme_decode(tu "${tu}")

set(work "${WORK}/${LINE}")
file(REMOVE_RECURSE "${work}")
file(MAKE_DIRECTORY "${work}")
set(source "${work}/readme_${LINE}.cpp")
file(WRITE "${source}" "${tu}")

# Reports a block that does not compile: the compiler's whole output as it printed it, then (last,
# where a reader looks first) the block's README line and the first error alone.
function(fail_block output)
    # A regex, not a list of lines: compiler messages contain ';'.
    string(REGEX MATCH "[^\n]*error: [^\n]*" first "${output}")
    message(NOTICE "${output}")
    message(FATAL_ERROR "README.md:${LINE}: the ```cpp block (${kind}) does not compile; the first "
        "error:\n  ${first}\n(translation unit: ${source})")
endfunction()

set(flags -std=c++17 -Wall -Wextra -Wpedantic -Werror "-I${SOURCE_DIR}/include")
if(kind STREQUAL "program")
    # -pthread: brine::brine links Threads::Threads (seal and verify hash on several threads).
    set(command ${CXX} ${flags} -O0 -pthread "${source}" -o "${work}/example")
else()
    set(command ${CXX} ${flags} -fsyntax-only "${source}")
    if(kind STREQUAL "statements" OR NOT then STREQUAL "")
        list(APPEND command -Wno-unused-variable -Wno-unused-but-set-variable)
    endif()
endif()
# From the checkout, so that the #line "README.md" names resolve and the compiler quotes the README.
execute_process(COMMAND ${command} WORKING_DIRECTORY "${SOURCE_DIR}"
    RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT code EQUAL 0)
    fail_block("${out}${err}")
endif()
if(NOT kind STREQUAL "program")
    message(STATUS "README.md:${LINE}: compiles (${kind})")
    return()
endif()

set(run_args)
foreach(arg IN LISTS args)
    if(arg MATCHES "^tests/")
        if(NOT EXISTS "${SOURCE_DIR}/${arg}")
            message(FATAL_ERROR "README.md:${marker_line}: the marker names ${arg}, which does not exist")
        endif()
        set(arg "${SOURCE_DIR}/${arg}")
    endif()
    list(APPEND run_args "${arg}")
endforeach()
file(MAKE_DIRECTORY "${work}/run")
execute_process(COMMAND "${work}/example" ${run_args} WORKING_DIRECTORY "${work}/run" TIMEOUT 60
    RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT code EQUAL 0)
    string(REPLACE ";" " " shown "${args}")
    message(NOTICE "${out}${err}")
    message(FATAL_ERROR "README.md:${LINE}: the ```cpp program, run as `example ${shown}`, "
        "exited with ${code} (its output is above)")
endif()
message(STATUS "README.md:${LINE}: compiles, runs and exits 0:\n${out}${err}")
